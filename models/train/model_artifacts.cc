#include "models/train/model_artifacts.h"

#include <unistd.h>

#include <filesystem>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/message_differencer.h"
#include "models/base/status_macros.h"
#include "models/config/model_config.h"

namespace lineserve::train {
namespace fs = std::filesystem;
using lineserve::v1::ModelConfig;

int64_t NextModelVersion(const std::string& model_dir) {
  int64_t largest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(model_dir, ec)) {
    int64_t version = 0;
    if (entry.is_directory() &&
        absl::SimpleAtoi(entry.path().filename().string(), &version) &&
        version > largest) {
      largest = version;
    }
  }
  return largest + 1;
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

namespace {

// The parts of a config that must match the artifact a version holds.
ModelConfig ModelDefiningPart(const ModelConfig& config) {
  ModelConfig part;
  part.set_name(config.name());
  part.set_task(config.task());
  *part.mutable_input() = config.input();
  *part.mutable_output() = config.output();
  if (config.has_image()) *part.mutable_image() = config.image();
  if (config.has_tabular()) *part.mutable_tabular() = config.tabular();
  if (config.has_classification()) {
    *part.mutable_classification()->mutable_labels() =
        config.classification().labels();
    part.mutable_classification()->set_ok_label(
        config.classification().ok_label());
  }
  return part;
}

}  // namespace

absl::Status ReconcileModelConfig(const std::string& model_dir,
                                  const ModelConfig& proposed, bool overwrite) {
  const std::string path = (fs::path(model_dir) / "config.pbtxt").string();
  std::error_code ec;
  if (!fs::exists(path, ec) || overwrite) {
    return WriteModelConfig(path, proposed);
  }
  ASSIGN_OR_RETURN(ModelConfig existing, LoadModelConfig(path));
  if (!google::protobuf::util::MessageDifferencer::Equals(
          ModelDefiningPart(existing), ModelDefiningPart(proposed))) {
    return absl::FailedPreconditionError(absl::StrCat(
        path,
        " describes a different model (inputs, preprocessing or labels "
        "differ from what was trained); pass --overwrite-config to replace "
        "it, which also makes older versions under it unusable"));
  }
  ModelConfig merged = existing;
  if (proposed.has_classification() &&
      proposed.classification().has_defect_threshold()) {
    merged.mutable_classification()->set_defect_threshold(
        proposed.classification().defect_threshold());
  }
  if (google::protobuf::util::MessageDifferencer::Equals(merged, existing)) {
    return absl::OkStatus();
  }
  return WriteModelConfig(path, merged);
}

}  // namespace lineserve::train
