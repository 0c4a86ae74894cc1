// Fuzz target: an EfficiencyPrediction.Predict request as it arrives (the
// serialized lineserve.v1.PredictRequest), validated and encoded as the
// service does (server/service/efficiency_prediction_service.cc): the row
// count bounds, each row's map of named numbers or categories into a
// preprocess::FeatureRow, then FeatureSample (server/inference/model_io.h)
// with the golden efficiency model's encoder: the service's own
// PredictSamples.
//
// Checked beyond "no crash, no sanitizer report": an accepted row gives the
// model's input size, all finite; a refused request is INVALID_ARGUMENT.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "google/protobuf/stubs/logging.h"
#include "lineserve/v1/efficiency_prediction.pb.h"
#include "models/preprocess/tabular_encoder.h"
#include "server/inference/model_io.h"
#include "server/service/efficiency_prediction_service.h"
#include "tests/fuzz/fuzz_serving.h"

namespace lineserve::fuzzing {
namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "predict_request_fuzzer: %s\n", what);
    std::abort();
  }
}

// The service's PredictSamples, checking each sample it accepts.
absl::Status RowSamples(const ServableModel& model,
                        const lineserve::v1::PredictRequest& request) {
  absl::StatusOr<std::vector<Sample>> samples = PredictSamples(model, request);
  if (!samples.ok()) return samples.status();
  const size_t width = model.tabular_encoder()->width();
  for (const Sample& sample : *samples) {
    Check(sample.size() == 1, "not one input tensor");
    const Tensor& input = sample[0];
    Check(static_cast<size_t>(input.ElementCount()) == width,
          "input tensor of the wrong size");
    const float* values = input.values<float>();
    for (size_t j = 0; j < width; ++j) {
      Check(std::isfinite(values[j]), "a model input value is not finite");
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace lineserve::fuzzing

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Strings that are not UTF-8 fail to parse, as gRPC refuses them, and
  // protobuf would log each one: silence that.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lineserve::fuzzing;
  static const std::shared_ptr<const lineserve::ServableModel> efficiency =
      FuzzServing::Get().Model(kEfficiencyModel);
  lineserve::v1::PredictRequest request;
  // gRPC refuses what does not parse before the service sees it.
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  absl::Status status = RowSamples(*efficiency, request);
  Check(status.ok() || status.code() == absl::StatusCode::kInvalidArgument,
        "a bad request is not INVALID_ARGUMENT");
  return 0;
}
