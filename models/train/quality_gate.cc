#include "models/train/quality_gate.h"

#include <cstdint>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/train/model_artifacts.h"

namespace lineserve::train {

absl::Status ApplyQualityGate(const GateOptions& options, double value,
                              const std::vector<GateReference>& references,
                              nlohmann::json& metrics, std::ostream& log) {
  // Figures within this of each other are equal (printing rounds, and a
  // model reloaded from disk may differ in the last bits).
  constexpr double kTolerance = 1e-9;
  nlohmann::json gate;
  gate["figure"] = options.figure;
  gate["value"] = value;
  gate["higher_is_better"] = options.higher_is_better;
  gate["references"] = nlohmann::json::object();
  std::vector<std::string> worse_than;
  for (const GateReference& reference : references) {
    gate["references"][reference.name] = reference.value;
    const bool worse = options.higher_is_better
                           ? value < reference.value - kTolerance
                           : value > reference.value + kTolerance;
    if (worse) {
      worse_than.push_back(
          absl::StrFormat("%s %.4f", reference.name, reference.value));
    }
  }
  gate["worse_than"] = worse_than;
  gate["passed"] = worse_than.empty();
  gate["forced"] = !worse_than.empty() && options.force;
  metrics["quality_gate"] = gate;

  const std::string figure = absl::StrFormat("%s %.4f", options.figure, value);
  if (worse_than.empty()) {
    log << "quality gate: " << figure << " is not worse than "
        << (references.empty()
                ? "anything (no reference)"
                : absl::StrJoin(references, ", ",
                                [](std::string* out, const GateReference& r) {
                                  absl::StrAppendFormat(out, "%s %.4f", r.name,
                                                        r.value);
                                }))
        << std::endl;
    return absl::OkStatus();
  }
  const std::string why = absl::StrCat(
      figure, " is worse than ", absl::StrJoin(worse_than, ", "),
      options.higher_is_better ? " (higher is better)" : " (lower is better)");
  if (options.force) {
    log << "quality gate: " << why << "; published anyway (--force)"
        << std::endl;
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      absl::StrCat("quality gate: not published: ", why,
                   "; pass --force to publish it anyway"));
}

absl::StatusOr<std::string> FingerprintFiles(
    const std::vector<NamedFile>& files) {
  constexpr uint64_t kOffset = 14695981039346656037ull;
  constexpr uint64_t kPrime = 1099511628211ull;
  uint64_t hash = kOffset;
  const auto mix = [&hash](const char* bytes, size_t n) {
    for (size_t i = 0; i < n; ++i) {
      hash ^= static_cast<unsigned char>(bytes[i]);
      hash *= kPrime;
    }
  };
  std::vector<char> buffer(1 << 16);
  for (const NamedFile& file : files) {
    // The name and its end, then the size: no two lists of files hash the
    // same bytes by moving a boundary.
    mix(file.name.data(), file.name.size());
    mix("\0", 1);
    std::ifstream in(file.path, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(
          absl::StrCat("cannot read ", file.path, " to fingerprint it"));
    }
    uint64_t size = 0;
    while (in) {
      in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      const size_t got = static_cast<size_t>(in.gcount());
      mix(buffer.data(), got);
      size += got;
    }
    const std::string size_text = absl::StrCat(size);
    mix(size_text.data(), size_text.size());
    mix("\0", 1);
  }
  return absl::StrFormat("fnv1a64:%016x", hash);
}

std::optional<double> RecordedOutOfFoldFigure(const std::string& version_dir,
                                              const std::string& published_on,
                                              const DataIdentity& data,
                                              const std::string& figure) {
  const absl::StatusOr<nlohmann::json> read = ReadVersionMetrics(version_dir);
  if (!read.ok()) return std::nullopt;
  const nlohmann::json& metrics = *read;
  const nlohmann::json training = metrics.value("training", nlohmann::json());
  if (!training.is_object() ||
      training.value("published_on", "") != published_on) {
    return std::nullopt;
  }
  const bool same_data =
      training.contains("data_fingerprint")
          ? training.value("data_fingerprint", "") == data.fingerprint
          : training.value(data.key, "") == data.path;
  if (!same_data) return std::nullopt;
  const nlohmann::json scores = metrics.value("defect_score", nlohmann::json());
  if (metrics.contains(figure) && metrics[figure].is_number()) {
    return metrics[figure].get<double>();
  }
  if (scores.is_object() && scores.contains(figure) &&
      scores[figure].is_number()) {
    return scores[figure].get<double>();
  }
  return std::nullopt;
}

}  // namespace lineserve::train
