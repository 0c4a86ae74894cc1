#include "models/train/model_artifacts.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/message_differencer.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/config/model_config.h"

namespace lineserve::train {
namespace fs = std::filesystem;
using lineserve::v1::ModelConfig;

std::vector<int64_t> ModelVersions(const std::string& model_dir) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    int64_t version = 0;
    if (entry.is_directory() &&
        absl::SimpleAtoi(entry.path().filename().string(), &version) &&
        version > 0) {
      versions.push_back(version);
    }
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

int64_t NextModelVersion(const std::string& model_dir) {
  const std::vector<int64_t> versions = ModelVersions(model_dir);
  return versions.empty() ? 1 : versions.back() + 1;
}

absl::StatusOr<nlohmann::json> ReadVersionMetrics(
    const std::string& version_dir) {
  const std::string path = absl::StrCat(version_dir, "/metrics.json");
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json metrics =
      nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!metrics.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a JSON object"));
  }
  return metrics;
}

absl::StatusOr<VersionWriter> VersionWriter::Create(
    const std::string& repository, const std::string& model_name) {
  const fs::path model_dir = fs::path(repository) / model_name;
  std::error_code ec;
  fs::create_directories(model_dir, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", model_dir.string(), ": ", ec.message()));
  }
  std::random_device entropy;
  const fs::path staging =
      model_dir / absl::StrCat(".staging-", getpid(), "-", entropy());
  if (!fs::create_directory(staging, ec) || ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", staging.string(), ": ", ec.message()));
  }
  return VersionWriter(model_dir.string(), staging.string());
}

VersionWriter::VersionWriter(VersionWriter&& other) noexcept
    : model_dir_(std::move(other.model_dir_)),
      staging_dir_(std::move(other.staging_dir_)) {
  other.staging_dir_.clear();
}

VersionWriter::~VersionWriter() {
  if (staging_dir_.empty()) return;
  std::error_code ec;
  fs::remove_all(staging_dir_, ec);
}

std::string VersionWriter::StagedPath(const std::string& file_name) const {
  return (fs::path(staging_dir_) / file_name).string();
}

absl::StatusOr<int64_t> VersionWriter::Publish() {
  if (staging_dir_.empty()) {
    return absl::FailedPreconditionError("version already published");
  }
  // Another trainer may publish concurrently: rename(2) onto an existing
  // non-empty directory fails, and then the next number is tried.
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int64_t version = NextModelVersion(model_dir_);
    const fs::path target = fs::path(model_dir_) / std::to_string(version);
    std::error_code ec;
    if (fs::exists(target, ec)) continue;
    fs::rename(staging_dir_, target, ec);
    if (!ec) {
      staging_dir_.clear();
      return version;
    }
    if (ec != std::errc::directory_not_empty && ec != std::errc::file_exists) {
      return absl::InternalError(
          absl::StrCat("cannot publish ", target.string(), ": ", ec.message()));
    }
  }
  return absl::AbortedError("no free version number after 100 attempts");
}

absl::Status ReconcileModelConfig(const std::string& model_dir,
                                  const ModelConfig& proposed, bool overwrite) {
  const std::string path = (fs::path(model_dir) / "config.pbtxt").string();
  std::error_code ec;
  if (!fs::exists(path, ec) || overwrite) {
    return WriteModelConfig(path, ServingOf(proposed));
  }
  // The operator's serving settings stay as they are; the contract travels
  // with the version (model.json). A config that cannot be read would keep
  // the new version from loading: say so now.
  return LoadModelConfig(path).status();
}

absl::StatusOr<std::optional<PublishedVersion>> LatestPublishedVersion(
    const std::string& model_dir) {
  const int64_t version = NextModelVersion(model_dir) - 1;
  std::error_code ec;
  const fs::path config_path = fs::path(model_dir) / "config.pbtxt";
  if (version < 1 || !fs::exists(config_path, ec)) return std::nullopt;
  ASSIGN_OR_RETURN(ModelConfig serving, LoadModelConfig(config_path.string()));
  PublishedVersion latest;
  latest.version = version;
  latest.dir = (fs::path(model_dir) / std::to_string(version)).string();
  ASSIGN_OR_RETURN(latest.config, LoadVersionConfig(serving, latest.dir));
  return latest;
}

std::string ContractChanges(const ModelConfig& before,
                            const ModelConfig& after) {
  namespace pb = google::protobuf;
  pb::util::MessageDifferencer differencer;
  std::string report;
  differencer.ReportDifferencesToString(&report);
  // What a retrain is expected to change: the threshold, the imputation
  // defaults, the description.
  const pb::Descriptor* config = ModelConfig::descriptor();
  differencer.IgnoreField(config->FindFieldByName("description"));
  differencer.IgnoreField(
      lineserve::v1::ClassificationOutput::descriptor()->FindFieldByName(
          "defect_threshold"));
  differencer.IgnoreField(
      lineserve::v1::Feature::descriptor()->FindFieldByName("default_value"));
  differencer.Compare(ContractOf(before), ContractOf(after));
  // The reporter lists the ignored fields too; they are not changes.
  std::string changes;
  for (absl::string_view line :
       absl::StrSplit(report, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "ignored:"))
      absl::StrAppend(&changes, line, "\n");
  }
  return changes;
}

}  // namespace lineserve::train
