// Writing a new model version into a model repository.
//
// A version appears atomically: files are written into a hidden staging
// folder beside the versions (REPO/<model>/.staging-*), which is renamed to
// REPO/<model>/<N> only when complete. A server scanning the repository
// never sees a half-written version, and a crash leaves only a hidden
// folder behind.
#ifndef LINESERVE_MODELS_TRAIN_MODEL_ARTIFACTS_H_
#define LINESERVE_MODELS_TRAIN_MODEL_ARTIFACTS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lineserve/v1/model_config.pb.h"
#include "nlohmann/json.hpp"

namespace lineserve::train {

// What a training run published.
struct TrainResult {
  int64_t version = 0;
  std::string version_dir;
  nlohmann::json metrics;   // as written to metrics.json
  std::string report_path;  // its HTML report (html_report.h)
};

// The numeric folder names (> 0) under model_dir, ascending; empty when
// there are none or model_dir cannot be read.
std::vector<int64_t> ModelVersions(const std::string& model_dir);

// 1 + the largest numeric folder name under model_dir (1 when none).
int64_t NextModelVersion(const std::string& model_dir);

// A version folder's metrics.json: NOT_FOUND when it has none,
// INVALID_ARGUMENT naming the file when it is not a JSON object.
absl::StatusOr<nlohmann::json> ReadVersionMetrics(
    const std::string& version_dir);

// Owns a staging folder until Publish(); removes it when destroyed
// unpublished. Not thread-safe; one trainer owns it.
class VersionWriter {
 public:
  // Creates REPO/<model_name> if needed and a fresh staging folder in it.
  static absl::StatusOr<VersionWriter> Create(const std::string& repository,
                                              const std::string& model_name);

  VersionWriter(VersionWriter&& other) noexcept;
  VersionWriter& operator=(VersionWriter&&) = delete;
  ~VersionWriter();

  // Path of `file_name` inside the staging folder.
  std::string StagedPath(const std::string& file_name) const;
  const std::string& model_dir() const { return model_dir_; }

  // Renames the staging folder to the next free version number and returns
  // that number. Call once.
  absl::StatusOr<int64_t> Publish();

 private:
  VersionWriter(std::string model_dir, std::string staging_dir)
      : model_dir_(std::move(model_dir)),
        staging_dir_(std::move(staging_dir)) {}

  std::string model_dir_;
  std::string staging_dir_;  // empty once published or moved from
};

// Makes sure REPO/<model>/config.pbtxt can serve a new version of
// `proposed`: absent (or `overwrite`), it is written with proposed's serving
// settings only (batching, instances, device, version policy, warm-up);
// present, it stays as the operator left it (its error when it cannot be
// read). What the version's answers depend on goes into the version's own
// model.json (WriteVersionContract), never into config.pbtxt.
absl::Status ReconcileModelConfig(const std::string& model_dir,
                                  const lineserve::v1::ModelConfig& proposed,
                                  bool overwrite);

// The newest published version of a model and the config it runs with.
struct PublishedVersion {
  int64_t version = 0;
  std::string dir;
  lineserve::v1::ModelConfig config;
};

// nullopt when REPO/<model> has no version (or no config.pbtxt yet).
absl::StatusOr<std::optional<PublishedVersion>> LatestPublishedVersion(
    const std::string& model_dir);

// Field by field, how the served contract (tensors, preprocessing, labels,
// features) of `after` differs from `before`; empty when clients see no
// change. The decision threshold, imputation defaults and description are
// expected to change with every retrain and are not reported.
std::string ContractChanges(const lineserve::v1::ModelConfig& before,
                            const lineserve::v1::ModelConfig& after);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_MODEL_ARTIFACTS_H_
