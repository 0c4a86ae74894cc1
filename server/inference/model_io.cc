#include "server/inference/model_io.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace lineserve {
namespace {

// The model's one FP32 input, sized by its declared dims.
Tensor InputTensor(const ServableModel& model) {
  const TensorSpec& spec = model.inputs()[0];
  return Tensor::Zeros(spec.name, DataType::kFp32, spec.dims);
}

int OkIndex(const ServableModel& model) {
  const auto& classification = model.config().classification();
  for (int i = 0; i < classification.labels_size(); ++i) {
    if (classification.labels(i) == classification.ok_label()) return i;
  }
  return 0;
}

float DefectThreshold(const ServableModel& model) {
  const auto& classification = model.config().classification();
  return classification.has_defect_threshold()
             ? classification.defect_threshold()
             : postprocess::kDefaultDefectThreshold;
}

// The defect map's cells: their own threshold when the model records one.
float CellThreshold(const ServableModel& model) {
  const auto& classification = model.config().classification();
  return classification.has_cell_threshold() ? classification.cell_threshold()
                                             : DefectThreshold(model);
}

}  // namespace

absl::StatusOr<Sample> ImageSample(const ServableModel& model,
                                   absl::string_view encoded,
                                   preprocess::ImageQualityReport* quality,
                                   preprocess::InputPlacement* placement) {
  const preprocess::ImagePreprocessor* preprocessor =
      model.image_preprocessor();
  if (preprocessor == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", model.name(), "' takes no images"));
  }
  // ServableModel::Create checked that the input holds output_size() floats.
  Tensor input = InputTensor(model);
  if (absl::Status status =
          preprocessor->Process(encoded, input.mutable_values<float>(),
                                model.decode_memory(), quality, placement);
      !status.ok()) {
    return status;
  }
  Sample sample;
  sample.push_back(std::move(input));
  return sample;
}

absl::StatusOr<Sample> FeatureSample(const ServableModel& model,
                                     const preprocess::FeatureRow& row) {
  const preprocess::TabularEncoder* encoder = model.tabular_encoder();
  if (encoder == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", model.name(), "' takes no feature rows"));
  }
  Tensor input = InputTensor(model);
  if (absl::Status status = encoder->Encode(row, input.mutable_values<float>());
      !status.ok()) {
    return status;
  }
  Sample sample;
  sample.push_back(std::move(input));
  return sample;
}

Classification Classify(const ServableModel& model,
                        const InferenceResult& result) {
  const int k = model.config().classification().labels_size();
  Classification out;
  out.probabilities =
      postprocess::Softmax(result.outputs[0].values<float>(), k);
  out.decision = postprocess::Decide(out.probabilities.data(), k,
                                     OkIndex(model), DefectThreshold(model));
  return out;
}

bool HasDefectMap(const ServableModel& model) {
  return model.config().task() ==
             lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION &&
         model.outputs().size() >= 2 && model.outputs()[1].dims.size() == 3;
}

postprocess::DefectMap DefectMapOf(const ServableModel& model,
                                   const InferenceResult& result,
                                   const preprocess::InputPlacement& placement,
                                   bool defect_verdict) {
  if (!HasDefectMap(model) || result.outputs.size() < 2) return {};
  const Tensor& cells = result.outputs[1];
  // Shape [labels, rows, columns] per sample, as the backend checked.
  const std::vector<int64_t>& dims = model.outputs()[1].dims;
  if (cells.ElementCount() != dims[0] * dims[1] * dims[2]) return {};
  return postprocess::BuildDefectMap(
      cells.values<float>(), static_cast<int>(dims[0]),
      static_cast<int>(dims[1]), static_cast<int>(dims[2]), OkIndex(model),
      CellThreshold(model), placement, defect_verdict);
}

float RegressionValue(const InferenceResult& result) {
  if (result.outputs.empty() || result.outputs[0].ElementCount() < 1) {
    return 0.0f;
  }
  return result.outputs[0].values<float>()[0];
}

}  // namespace lineserve
