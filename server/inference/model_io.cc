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

}  // namespace

absl::StatusOr<Sample> ImageSample(const ServableModel& model,
                                   absl::string_view encoded,
                                   preprocess::ImageQualityReport* quality) {
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
                                model.decode_memory(), quality);
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
  const auto& classification = model.config().classification();
  const int k = classification.labels_size();
  int ok_index = 0;
  for (int i = 0; i < k; ++i) {
    if (classification.labels(i) == classification.ok_label()) ok_index = i;
  }
  Classification out;
  out.probabilities =
      postprocess::Softmax(result.outputs[0].values<float>(), k);
  const float threshold = classification.has_defect_threshold()
                              ? classification.defect_threshold()
                              : postprocess::kDefaultDefectThreshold;
  out.decision =
      postprocess::Decide(out.probabilities.data(), k, ok_index, threshold);
  return out;
}

float RegressionValue(const InferenceResult& result) {
  if (result.outputs.empty() || result.outputs[0].ElementCount() < 1) {
    return 0.0f;
  }
  return result.outputs[0].values<float>()[0];
}

}  // namespace lineserve
