#include "models/config/model_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/json_util.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/preprocess/image_preprocessor.h"
#include "models/preprocess/tabular_encoder.h"

namespace lineserve {
namespace {

using lineserve::v1::ModelConfig;
using lineserve::v1::TensorSpec;

// Config files are small; anything larger is a mistake, not a config.
constexpr size_t kMaxConfigBytes = 1 << 20;

// Keeps the first syntax error with the offending line quoted: protobuf's
// messages ("Expected integer, got: ...") do not name the field.
class CollectFirstError : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectFirstError(absl::string_view text) : text_(text) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (!error_.empty()) return;
    // The tokenizer counts from zero; editors count from one.
    error_ = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    std::vector<absl::string_view> lines = absl::StrSplit(text_, '\n');
    if (line >= 0 && line < static_cast<int>(lines.size())) {
      absl::string_view quoted = absl::StripAsciiWhitespace(lines[line]);
      if (!quoted.empty()) absl::StrAppend(&error_, " (in: ", quoted, ")");
    }
  }
  const std::string& error() const { return error_; }

 private:
  absl::string_view text_;
  std::string error_;
};

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", problem));
}

bool IsValidModelName(absl::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

absl::Status ValidateDevice(absl::string_view device) {
  if (device == "auto" || device == "cpu" || device == "cuda") {
    return absl::OkStatus();
  }
  int index = 0;
  if (absl::ConsumePrefix(&device, "cuda:") &&
      absl::SimpleAtoi(device, &index) && index >= 0) {
    return absl::OkStatus();
  }
  return FieldError("device", "must be \"auto\", \"cpu\" or \"cuda:N\"");
}

absl::Status ValidateTensors(
    const google::protobuf::RepeatedPtrField<TensorSpec>& specs,
    absl::string_view field) {
  if (specs.empty()) return FieldError(field, "needs at least one tensor");
  absl::flat_hash_set<std::string> names;
  for (int i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const std::string path = absl::StrCat(field, "[", i, "]");
    if (spec.name().empty()) return FieldError(path, "needs a name");
    if (!names.insert(spec.name()).second) {
      return FieldError(path,
                        absl::StrCat("repeats the name \"", spec.name(), "\""));
    }
    if (spec.data_type() == lineserve::v1::TYPE_INVALID) {
      return FieldError(absl::StrCat(path, ".data_type"), "must be set");
    }
    if (spec.dims().empty()) {
      return FieldError(absl::StrCat(path, ".dims"), "must not be empty");
    }
    for (int64_t dim : spec.dims()) {
      if (dim == 0 || dim < -1) {
        return FieldError(absl::StrCat(path, ".dims"),
                          "must be positive or -1 (variable)");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ExpectDims(const TensorSpec& spec, absl::string_view field,
                        const std::vector<int64_t>& expected,
                        absl::string_view because) {
  const std::vector<int64_t> got(spec.dims().begin(), spec.dims().end());
  if (got != expected) {
    return FieldError(
        field, absl::StrCat("is [", absl::StrJoin(got, ", "), "] but ", because,
                            " gives [", absl::StrJoin(expected, ", "), "]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateClassification(const ModelConfig& config) {
  if (!config.has_classification()) {
    return FieldError("classification", "is required for image classification");
  }
  const auto& classification = config.classification();
  if (classification.labels().empty()) {
    return FieldError("classification.labels", "must not be empty");
  }
  absl::flat_hash_set<std::string> labels;
  for (const std::string& label : classification.labels()) {
    if (label.empty()) {
      return FieldError("classification.labels", "contains an empty label");
    }
    if (!labels.insert(label).second) {
      return FieldError("classification.labels",
                        absl::StrCat("repeats \"", label, "\""));
    }
  }
  if (!labels.contains(classification.ok_label())) {
    return FieldError("classification.ok_label",
                      absl::StrCat("\"", classification.ok_label(),
                                   "\" is not one of the labels"));
  }
  if (classification.has_defect_threshold()) {
    const float t = classification.defect_threshold();
    if (!(t > 0.0f && t < 1.0f)) {
      return FieldError("classification.defect_threshold", "must be in (0, 1)");
    }
  }
  if (classification.has_cell_threshold()) {
    const float t = classification.cell_threshold();
    if (!(t > 0.0f && t < 1.0f)) {
      return FieldError("classification.cell_threshold", "must be in (0, 1)");
    }
  }
  RETURN_IF_ERROR(ExpectDims(config.output(0), "output[0].dims",
                             {classification.labels_size()},
                             "classification.labels"));
  if (config.output_size() < 2) return absl::OkStatus();
  // The defect map: every label's probability per cell of a grid.
  const TensorSpec& cells = config.output(1);
  if (cells.data_type() != lineserve::v1::TYPE_FP32) {
    return FieldError("output[1].data_type",
                      "must be TYPE_FP32 (a defect map)");
  }
  if (cells.dims_size() != 3 || cells.dims(0) != classification.labels_size() ||
      cells.dims(1) < 1 || cells.dims(2) < 1) {
    return FieldError(
        "output[1].dims",
        absl::StrCat("is [", absl::StrJoin(cells.dims(), ", "),
                     "] but a defect map is [labels, rows, columns] with ",
                     classification.labels_size(),
                     " labels and at least one row and column"));
  }
  return absl::OkStatus();
}

// Image and tabular models take the preprocessing's floats as one FP32
// tensor; their answers are FP32 too.
absl::Status ExpectOneFloatTensor(
    const google::protobuf::RepeatedPtrField<TensorSpec>& specs,
    absl::string_view field) {
  if (specs.size() != 1) {
    return FieldError(field, absl::StrCat("must hold exactly one tensor for "
                                          "this task, has ",
                                          specs.size()));
  }
  if (specs[0].data_type() != lineserve::v1::TYPE_FP32) {
    return FieldError(absl::StrCat(field, "[0].data_type"),
                      "must be TYPE_FP32 for this task");
  }
  return absl::OkStatus();
}

absl::Status ValidateTask(const ModelConfig& config) {
  if (config.task() == lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION ||
      config.task() == lineserve::v1::TASK_KIND_TABULAR_REGRESSION) {
    RETURN_IF_ERROR(ExpectOneFloatTensor(config.input(), "input"));
    // An image classifier's second output is its defect map (checked with
    // the classification).
    if (config.task() == lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION &&
        config.output_size() > 2) {
      return FieldError("output",
                        absl::StrCat("holds the scores and at most a defect "
                                     "map for this task, has ",
                                     config.output_size()));
    }
    if (config.task() != lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION ||
        config.output_size() != 2) {
      RETURN_IF_ERROR(ExpectOneFloatTensor(config.output(), "output"));
    } else if (config.output(0).data_type() != lineserve::v1::TYPE_FP32) {
      return FieldError("output[0].data_type",
                        "must be TYPE_FP32 for this task");
    }
  }
  switch (config.task()) {
    case lineserve::v1::TASK_KIND_TENSOR:
      if (config.has_image() || config.has_tabular() ||
          config.has_classification()) {
        return FieldError(config.has_image()     ? "image"
                          : config.has_tabular() ? "tabular"
                                                 : "classification",
                          "does not apply to a tensor model");
      }
      return absl::OkStatus();
    case lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION: {
      if (!config.has_image()) {
        return FieldError("image", "is required for image classification");
      }
      if (config.has_tabular()) {
        return FieldError("tabular", "does not apply to image classification");
      }
      auto preprocessor = preprocess::ImagePreprocessor::Create(config.image());
      RETURN_IF_ERROR(preprocessor.status());
      RETURN_IF_ERROR(
          ExpectDims(config.input(0), "input[0].dims",
                     {preprocessor->channels(), preprocessor->height(),
                      preprocessor->width()},
                     "image preprocessing"));
      return ValidateClassification(config);
    }
    case lineserve::v1::TASK_KIND_TABULAR_REGRESSION: {
      if (!config.has_tabular()) {
        return FieldError("tabular", "is required for tabular regression");
      }
      if (config.has_image() || config.has_classification()) {
        return FieldError(config.has_image() ? "image" : "classification",
                          "does not apply to tabular regression");
      }
      if (config.tabular().features().empty()) {
        return FieldError("tabular.features", "must not be empty");
      }
      auto encoder = preprocess::TabularEncoder::Create(config.tabular());
      RETURN_IF_ERROR(encoder.status());
      RETURN_IF_ERROR(ExpectDims(config.input(0), "input[0].dims",
                                 {static_cast<int64_t>(encoder->width())},
                                 "tabular.features"));
      return ExpectDims(config.output(0), "output[0].dims", {1},
                        "a regression");
    }
    default:
      return FieldError("task", "must be set");
  }
}

absl::Status ValidateBatching(const ModelConfig& config) {
  if (config.max_batch_size() < 0) {
    return FieldError("max_batch_size", "must be >= 0");
  }
  const int max_batch = std::max(1, config.max_batch_size());
  const auto& batching = config.dynamic_batching();
  if (batching.max_queue_delay_microseconds() < 0) {
    return FieldError("dynamic_batching.max_queue_delay_microseconds",
                      "must be >= 0");
  }
  if (batching.default_timeout_microseconds() < 0) {
    return FieldError("dynamic_batching.default_timeout_microseconds",
                      "must be >= 0");
  }
  if (batching.max_queue_size() < 0) {
    return FieldError("dynamic_batching.max_queue_size", "must be >= 0");
  }
  for (int size : batching.preferred_batch_size()) {
    if (size < 1 || size > max_batch) {
      return FieldError(
          "dynamic_batching.preferred_batch_size",
          absl::StrCat("value ", size, " is outside [1, ", max_batch, "]"));
    }
  }
  if (config.instance_count() < 0) {
    return FieldError("instance_count",
                      "must be >= 0 (0: the server's default)");
  }
  for (int size : config.warmup().batch_sizes()) {
    if (size < 1 || size > max_batch) {
      return FieldError(
          "warmup.batch_sizes",
          absl::StrCat("value ", size, " is outside [1, ", max_batch, "]"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateVersionPolicy(const lineserve::v1::VersionPolicy& policy) {
  switch (policy.policy_case()) {
    case lineserve::v1::VersionPolicy::kLatest:
      if (policy.latest().num_versions() < 1) {
        return FieldError("version_policy.latest.num_versions", "must be >= 1");
      }
      return absl::OkStatus();
    case lineserve::v1::VersionPolicy::kSpecific:
      if (policy.specific().versions().empty()) {
        return FieldError("version_policy.specific.versions",
                          "must not be empty");
      }
      for (int64_t v : policy.specific().versions()) {
        if (v < 1) {
          return FieldError("version_policy.specific.versions", "must be >= 1");
        }
      }
      return absl::OkStatus();
    case lineserve::v1::VersionPolicy::kAll:
      return absl::OkStatus();
    default:
      return FieldError("version_policy", "must be set");
  }
}

}  // namespace

int MaxQueueSize(const ModelConfig& config) {
  const int configured = config.dynamic_batching().max_queue_size();
  return configured > 0 ? configured : kDefaultMaxQueueSize;
}

void ApplyModelConfigDefaults(ModelConfig& config) {
  if (config.platform().empty())
    config.set_platform(std::string(kDefaultPlatform));
  if (config.device().empty()) config.set_device(std::string(kDefaultDevice));
  if (config.version_policy().policy_case() ==
      lineserve::v1::VersionPolicy::POLICY_NOT_SET) {
    config.mutable_version_policy()->mutable_latest()->set_num_versions(1);
  }
  if (config.max_batch_size() > 0) {
    auto* batching = config.mutable_dynamic_batching();
    if (batching->max_queue_size() == 0) {
      batching->set_max_queue_size(kDefaultMaxQueueSize);
    }
    if (batching->preferred_batch_size().empty()) {
      batching->add_preferred_batch_size(config.max_batch_size());
    }
  }
  if (config.warmup().batch_sizes().empty()) {
    config.mutable_warmup()->add_batch_sizes(1);
    if (config.max_batch_size() > 1) {
      config.mutable_warmup()->add_batch_sizes(config.max_batch_size());
    }
  }
}

absl::Status ValidateModelConfig(const ModelConfig& config) {
  if (!IsValidModelName(config.name())) {
    return FieldError("name",
                      "must be 1-128 characters of letters, digits, '_', '-' "
                      "or '.', not starting with '.'");
  }
  // Which platforms exist is the server's backend registry's business; here
  // only the spelling of a registry key.
  if (config.platform().empty() ||
      !std::all_of(
          config.platform().begin(), config.platform().end(), [](char c) {
            return absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_';
          })) {
    return FieldError("platform",
                      absl::StrCat("\"", config.platform(),
                                   "\" is not a platform name (lower-case "
                                   "letters, digits and '_', e.g. \"",
                                   kDefaultPlatform, "\")"));
  }
  // A config.pbtxt of serving settings only: each version folder brings its
  // contract (model.json).
  if (HasContract(config)) {
    RETURN_IF_ERROR(ValidateTensors(config.input(), "input"));
    RETURN_IF_ERROR(ValidateTensors(config.output(), "output"));
    RETURN_IF_ERROR(ValidateTask(config));
  }
  RETURN_IF_ERROR(ValidateBatching(config));
  RETURN_IF_ERROR(ValidateDevice(config.device()));
  return ValidateVersionPolicy(config.version_policy());
}

absl::StatusOr<ModelConfig> ParseModelConfig(absl::string_view text,
                                             absl::string_view source) {
  ModelConfig config;
  google::protobuf::TextFormat::Parser parser;
  CollectFirstError errors(text);
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":", errors.error()));
  }
  ApplyModelConfigDefaults(config);
  RETURN_IF_ERROR(AnnotateStatus(ValidateModelConfig(config), source));
  return config;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path, kMaxConfigBytes));
  return ParseModelConfig(text, path);
}

std::string ModelConfigToText(const ModelConfig& config) {
  std::string text;
  google::protobuf::TextFormat::Printer printer;
  printer.PrintToString(config, &text);
  return absl::StrCat(
      "# lineserve model config (schema: lineserve.v1.ModelConfig in "
      "proto/lineserve/v1/model_config.proto)\n",
      text);
}

absl::Status WriteModelConfig(const std::string& path,
                              const ModelConfig& config) {
  RETURN_IF_ERROR(AnnotateStatus(ValidateModelConfig(config), path));
  return WriteFileAtomically(path, ModelConfigToText(config));
}

bool HasContract(const ModelConfig& config) {
  return config.task() != lineserve::v1::TASK_KIND_UNSPECIFIED ||
         !config.input().empty() || !config.output().empty() ||
         config.has_image() || config.has_tabular() ||
         config.has_classification();
}

ModelConfig ContractOf(const ModelConfig& config) {
  ModelConfig contract;
  contract.set_task(config.task());
  contract.set_description(config.description());
  *contract.mutable_input() = config.input();
  *contract.mutable_output() = config.output();
  if (config.has_image()) *contract.mutable_image() = config.image();
  if (config.has_tabular()) *contract.mutable_tabular() = config.tabular();
  if (config.has_classification()) {
    *contract.mutable_classification() = config.classification();
  }
  return contract;
}

ModelConfig ServingOf(const ModelConfig& config) {
  ModelConfig serving = config;
  serving.clear_task();
  serving.clear_description();
  serving.clear_input();
  serving.clear_output();
  serving.clear_image();
  serving.clear_tabular();
  serving.clear_classification();
  return serving;
}

absl::StatusOr<ModelConfig> ParseVersionContract(absl::string_view json,
                                                 absl::string_view source) {
  ModelConfig contract;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      std::string(json), &contract, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": ", std::string(parsed.message())));
  }
  if (ServingOf(contract).ByteSizeLong() != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        source,
        ": holds serving settings (name, platform, batching, device, "
        "version_policy, warmup belong in config.pbtxt)"));
  }
  if (!HasContract(contract)) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": declares no task, tensors or preprocessing"));
  }
  return contract;
}

absl::StatusOr<ModelConfig> LoadVersionContract(const std::string& path) {
  ASSIGN_OR_RETURN(std::string json, ReadFile(path, kMaxConfigBytes));
  return ParseVersionContract(json, path);
}

absl::Status WriteVersionContract(const std::string& path,
                                  const ModelConfig& config) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  const auto printed = google::protobuf::util::MessageToJsonString(
      ContractOf(config), &json, options);
  if (!printed.ok()) {
    return absl::InternalError(std::string(printed.message()));
  }
  return WriteFileAtomically(path, json);
}

absl::StatusOr<ModelConfig> ApplyVersionContract(const ModelConfig& serving,
                                                 const ModelConfig& contract,
                                                 absl::string_view source) {
  ModelConfig merged = ServingOf(serving);
  merged.MergeFrom(ContractOf(contract));
  RETURN_IF_ERROR(AnnotateStatus(ValidateModelConfig(merged), source));
  return merged;
}

absl::StatusOr<ModelConfig> LoadVersionConfig(const ModelConfig& serving,
                                              const std::string& version_dir) {
  const std::string path = absl::StrCat(version_dir, "/", kVersionContractFile);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (!HasContract(serving)) {
      return absl::FailedPreconditionError(absl::StrCat(
          version_dir, " has no ", kVersionContractFile,
          " and config.pbtxt declares no task, tensors or preprocessing"));
    }
    return serving;  // the contract lives in config.pbtxt (older layout)
  }
  ASSIGN_OR_RETURN(ModelConfig contract, LoadVersionContract(path));
  return ApplyVersionContract(serving, contract, path);
}

}  // namespace lineserve
