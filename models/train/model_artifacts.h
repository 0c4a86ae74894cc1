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
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lineserve/v1/model_config.pb.h"
#include "nlohmann/json.hpp"

namespace lineserve::train {

// What a training run published.
struct TrainResult {
  int64_t version = 0;
  std::string version_dir;
  nlohmann::json metrics;  // as written to metrics.json
};

// 1 + the largest numeric folder name under model_dir (1 when none).
int64_t NextModelVersion(const std::string& model_dir);

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

// Makes REPO/<model>/config.pbtxt describe `proposed`:
// - absent: writes `proposed`;
// - present and describing the same model (task, tensors, preprocessing,
//   labels): keeps the operator's serving settings (batching, device,
//   instances, version policy) and takes the trained fields that may change
//   per version (decision threshold);
// - present but describing another model: FAILED_PRECONDITION, unless
//   `overwrite` is true, then `proposed` replaces it.
absl::Status ReconcileModelConfig(const std::string& model_dir,
                                  const lineserve::v1::ModelConfig& proposed,
                                  bool overwrite);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_MODEL_ARTIFACTS_H_
