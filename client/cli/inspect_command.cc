// lineserve-cli inspect: one Inspect call per image file, one line each;
// with --overlay DIR, each image with its defect map drawn on it as well.
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "client/cli/defect_overlay.h"
#include "client/lineserve_client.h"
#include "models/base/command_line.h"
#include "models/base/file_util.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {
namespace {

// "ok", "blank", "too_small", "wrong_aspect" ("unspecified" from a server
// that does not check).
std::string ImageQualityName(const lineserve::v1::InspectResponse& response) {
  std::string name = lineserve::v1::ImageQuality_Name(response.image_quality());
  name = absl::AsciiStrToLower(absl::StripPrefix(name, "IMAGE_QUALITY_"));
  return name;
}

std::string RegionText(const lineserve::v1::ImageRegion& region) {
  return absl::StrFormat("x=%d y=%d %dx%d", region.x(), region.y(),
                         region.width(), region.height());
}

// `overlay` is the file the defect map was drawn into, empty for none.
void PrintVerdict(const Common& common, const std::string& file,
                  const lineserve::v1::InspectResponse& response,
                  const std::string& overlay) {
  const bool defect = response.verdict() == lineserve::v1::VERDICT_DEFECT;
  const bool has_map = response.has_defect_map();
  const auto& map = response.defect_map();
  if (common.json) {
    nlohmann::json scores = nlohmann::json::object();
    for (const auto& s : response.scores()) scores[s.label()] = s.probability();
    nlohmann::json answer = nlohmann::json{
        {"file", file},
        {"verdict", defect ? "DEFECT" : "OK"},
        {"defect_class", response.defect_class()},
        {"defect_probability", response.defect_probability()},
        {"scores", scores},
        {"model", response.answered_by().model_name()},
        {"model_version", response.answered_by().model_version()},
        {"queue_us", response.timing().queue_microseconds()},
        {"compute_us", response.timing().compute_microseconds()},
        {"batch_size", response.timing().batch_size()},
        {"image_quality", ImageQualityName(response)},
        {"image_quality_detail", response.image_quality_detail()}};
    if (has_map) {
      nlohmann::json region = nullptr;
      if (map.has_defect_region()) {
        const auto& r = map.defect_region();
        region = {{"x", r.x()},
                  {"y", r.y()},
                  {"width", r.width()},
                  {"height", r.height()}};
      }
      answer["defect_region"] = region;
      answer["overlay"] = overlay;
    }
    std::cout << answer.dump() << std::endl;
  } else {
    std::cout << absl::StrFormat(
        "%-40s %-6s %-10s p(defect)=%.3f  %s v%d  queue %dus compute %dus "
        "batch %d\n",
        file, defect ? "DEFECT" : "OK", response.defect_class(),
        response.defect_probability(), response.answered_by().model_name(),
        response.answered_by().model_version(),
        response.timing().queue_microseconds(),
        response.timing().compute_microseconds(),
        response.timing().batch_size());
    // A frame that failed the camera check: its verdict is not to be
    // trusted, which the line must see next to it.
    if (response.image_quality() != lineserve::v1::IMAGE_QUALITY_OK &&
        response.image_quality() != lineserve::v1::IMAGE_QUALITY_UNSPECIFIED) {
      std::cout << absl::StrFormat("%-40s image %s: %s\n", "",
                                   ImageQualityName(response),
                                   response.image_quality_detail());
    }
    if (has_map) {
      std::cout << absl::StrFormat(
          "%-40s %s%s\n", "",
          map.has_defect_region()
              ? "defective region " + RegionText(map.defect_region())
              : std::string("no defective region"),
          overlay.empty() ? "" : "  drawn in " + overlay);
    }
  }
}

// DIR/<name>.png for `file`, numbered when two inputs share a name.
std::string OverlayPath(const std::string& dir, const std::string& file,
                        std::set<std::string>& taken) {
  const std::string stem = std::filesystem::path(file).stem().string();
  std::string path = (std::filesystem::path(dir) / (stem + ".png")).string();
  for (int n = 2; !taken.insert(path).second; ++n) {
    path = (std::filesystem::path(dir) / absl::StrCat(stem, "-", n, ".png"))
               .string();
  }
  return path;
}

}  // namespace

int RunInspect(const std::vector<std::string>& args) {
  Common common;
  std::string line, station, model;
  int64_t version = 0;
  CommandLine cli("lineserve-cli inspect [options] FILE...",
                  "Sends each image to QualityInspection.Inspect and prints "
                  "the verdict.");
  common.AddTo(cli);
  cli.AddString("line", &line, "production line id (labels metrics)");
  cli.AddString("station", &station, "camera station id");
  cli.AddString("model", &model, "model name (default: the service's)");
  // CommandLine has no int64 option; the proto's version is int64.
  int version_flag = 0;
  cli.AddInt("version", &version_flag, "model version (0: newest)");
  std::string overlay_dir;
  cli.AddString("overlay", &overlay_dir,
                "DIR: ask for the defect map and write each image with its "
                "defective region drawn on it to DIR/<name>.png");
  if (auto code = cli.ParseForMain(args, kProgram, true)) return *code;
  version = version_flag;
  if (cli.positional().empty()) {
    std::cerr << kProgram << ": inspect needs at least one FILE\n";
    return 2;
  }
  if (!overlay_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(overlay_dir, error);
    if (error) {
      std::cerr << kProgram << ": --overlay: cannot create " << overlay_dir
                << ": " << error.message() << "\n";
      return 2;
    }
  }
  std::set<std::string> overlays_taken;
  const LineserveClient client = common.Client();
  int failures = 0;
  // A bad file or a failed call is reported and skipped so the other files
  // still get their verdicts; the exit code says something failed.
  for (const std::string& file : cli.positional()) {
    const nlohmann::json context = {{"file", file}};
    auto bytes = ReadFile(file);
    if (!bytes.ok()) {
      PrintLocalError(common, context, bytes.status());
      ++failures;
      continue;
    }
    lineserve::v1::InspectRequest request;
    request.set_request_id(file);
    request.set_image(*std::move(bytes));
    request.set_line_id(line);
    request.set_station_id(station);
    request.set_part_id(file);
    request.mutable_model()->set_name(model);
    request.mutable_model()->set_version(version);
    request.set_return_defect_map(!overlay_dir.empty());
    auto response = client.Inspect(request);
    if (!response.ok()) {
      PrintError(common, context, response.status());
      ++failures;
      continue;
    }
    std::string overlay;
    if (response->has_defect_map()) {
      overlay = OverlayPath(overlay_dir, file, overlays_taken);
      absl::StatusOr<std::string> png =
          DefectOverlayPng(request.image(), response->defect_map());
      absl::Status written = png.status();
      if (written.ok()) written = WriteFileAtomically(overlay, *png);
      if (!written.ok()) {
        PrintLocalError(
            common, context,
            absl::Status(written.code(),
                         absl::StrCat("cannot write the overlay ", overlay,
                                      ": ", written.message())));
        ++failures;
        overlay.clear();
      }
    }
    PrintVerdict(common, file, *response, overlay);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace lineserve::cli
