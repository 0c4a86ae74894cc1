// Reading, validating and writing a model's config.pbtxt.
//
// The schema is lineserve.v1.ModelConfig (proto/lineserve/v1/
// model_config.proto), in protobuf text format. Every error names the file
// and, for syntax errors, line and column, for semantic ones the field
// ("config.pbtxt: image.width must be > 0"), so an operator can fix the file
// without reading code. Stateless functions, callable from any thread.
#ifndef LINESERVE_MODELS_CONFIG_MODEL_CONFIG_H_
#define LINESERVE_MODELS_CONFIG_MODEL_CONFIG_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lineserve/v1/model_config.pb.h"

namespace lineserve {

// Defaults the server applies to fields a config leaves unset.
inline constexpr absl::string_view kDefaultPlatform = "torchscript";
inline constexpr absl::string_view kDefaultDevice = "auto";
inline constexpr int kDefaultMaxQueueSize = 256;

// Fills unset fields with their defaults: platform, device, instance_count 1,
// version_policy latest 1, max_queue_size when batching, preferred batch size
// max_batch_size, warm-up at batch sizes 1 and max_batch_size.
void ApplyModelConfigDefaults(lineserve::v1::ModelConfig& config);

// The bound of the model's batch queue: dynamic_batching.max_queue_size,
// or kDefaultMaxQueueSize when unset (also without batching, where defaults
// leave it 0). The servable's batcher and the queue-capacity metric both use
// this, so an alert on depth / capacity sees the bound that refuses.
int MaxQueueSize(const lineserve::v1::ModelConfig& config);

// Checks the meaning of a config (after defaults): names, task and matching
// preprocessing, tensor specs consistent with the preprocessing and labels,
// batching bounds, device syntax, version policy. INVALID_ARGUMENT with the
// field's path on the first problem found.
absl::Status ValidateModelConfig(const lineserve::v1::ModelConfig& config);

// Parses text, applies defaults and validates. `source` names the text in
// error messages (usually the file path).
absl::StatusOr<lineserve::v1::ModelConfig> ParseModelConfig(
    absl::string_view text, absl::string_view source);

// Reads and parses the file at `path` (NOT_FOUND when absent).
absl::StatusOr<lineserve::v1::ModelConfig> LoadModelConfig(
    const std::string& path);

// Text format of `config`, with a header comment saying what wrote it.
std::string ModelConfigToText(const lineserve::v1::ModelConfig& config);

// Validates and writes `config` to `path` atomically.
absl::Status WriteModelConfig(const std::string& path,
                              const lineserve::v1::ModelConfig& config);

// Self-contained versions. What a version's answers depend on (task,
// tensors, image or feature preprocessing, labels, decision threshold,
// description): its contract, stored in the version folder as
// kVersionContractFile (ModelConfig's contract fields in protobuf JSON).
// config.pbtxt keeps the serving settings (batching, instances, device,
// version policy, warm-up), so retraining never changes how an older
// version answers. A config.pbtxt that still declares a contract (the older
// layout) serves the versions that have no model.json.
inline constexpr char kVersionContractFile[] = "model.json";

// Whether `config` declares any contract field.
bool HasContract(const lineserve::v1::ModelConfig& config);
// The contract fields of `config` / everything else.
lineserve::v1::ModelConfig ContractOf(const lineserve::v1::ModelConfig& config);
lineserve::v1::ModelConfig ServingOf(const lineserve::v1::ModelConfig& config);

// Parses a version's model.json: INVALID_ARGUMENT (naming `source`) for bad
// JSON, unknown fields, serving settings, or no contract at all.
absl::StatusOr<lineserve::v1::ModelConfig> ParseVersionContract(
    absl::string_view json, absl::string_view source);
absl::StatusOr<lineserve::v1::ModelConfig> LoadVersionContract(
    const std::string& path);
// Writes ContractOf(config) as JSON, atomically.
absl::Status WriteVersionContract(const std::string& path,
                                  const lineserve::v1::ModelConfig& config);

// The config one version runs with: `serving`'s settings and `contract`'s
// contract, validated (errors name `source`).
absl::StatusOr<lineserve::v1::ModelConfig> ApplyVersionContract(
    const lineserve::v1::ModelConfig& serving,
    const lineserve::v1::ModelConfig& contract, absl::string_view source);

// The config of the version in `version_dir`: its model.json over
// `serving`, or `serving` itself when it has no model.json and `serving`
// declares a contract (FAILED_PRECONDITION when neither does).
absl::StatusOr<lineserve::v1::ModelConfig> LoadVersionConfig(
    const lineserve::v1::ModelConfig& serving, const std::string& version_dir);

}  // namespace lineserve

#endif  // LINESERVE_MODELS_CONFIG_MODEL_CONFIG_H_
