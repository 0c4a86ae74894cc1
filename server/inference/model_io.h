// What image-classification and tabular-regression models take and give,
// shared by every front end: the request's image or feature row becomes the
// model's one FP32 input through the same preprocessing the trainer used,
// and the model's output becomes probabilities and a verdict, or a value.
//
// Stateless functions; any thread.
#ifndef LINESERVE_SERVER_INFERENCE_MODEL_IO_H_
#define LINESERVE_SERVER_INFERENCE_MODEL_IO_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/postprocess/classification.h"
#include "models/postprocess/defect_map.h"
#include "models/preprocess/image_preprocessor.h"
#include "models/preprocess/tabular_encoder.h"
#include "server/batching/inference_task.h"
#include "server/inference/inference_pipeline.h"
#include "server/repository/servable_model.h"

namespace lineserve {

// Decodes and preprocesses `encoded` (PNG or JPEG bytes) for an image model.
// INVALID_ARGUMENT (or RESOURCE_EXHAUSTED above the size limits or the
// model's decode memory) from the preprocessing; FAILED_PRECONDITION for a
// model without image input. With `quality`, the frame's camera check is
// written there; with `placement`, where the image landed in the input.
absl::StatusOr<Sample> ImageSample(
    const ServableModel& model, absl::string_view encoded,
    preprocess::ImageQualityReport* quality = nullptr,
    preprocess::InputPlacement* placement = nullptr);

// Encodes one row of named features for a tabular model. INVALID_ARGUMENT
// naming the feature; FAILED_PRECONDITION for a model without tabular input.
absl::StatusOr<Sample> FeatureSample(const ServableModel& model,
                                     const preprocess::FeatureRow& row);

struct Classification {
  // One per classification label, in the config's order; they sum to 1.
  std::vector<float> probabilities;
  postprocess::Decision decision;
};

// The verdict for one image from the model's logits (output 0), with the
// config's labels, ok label and defect threshold.
Classification Classify(const ServableModel& model,
                        const InferenceResult& result);

// Whether the model computes a defect map: an image classifier with an
// output[1] of [labels, rows, columns] cell probabilities.
bool HasDefectMap(const ServableModel& model);

// One image's defect map from output[1], with the config's ok label and
// defect threshold, in the pixels of the image `placement` describes, for
// an image whose verdict was a defect or not (see BuildDefectMap). An empty
// map when the model has none.
postprocess::DefectMap DefectMapOf(const ServableModel& model,
                                   const InferenceResult& result,
                                   const preprocess::InputPlacement& placement,
                                   bool defect_verdict);

// The predicted value of a regression (output 0, first element).
float RegressionValue(const InferenceResult& result);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_INFERENCE_MODEL_IO_H_
