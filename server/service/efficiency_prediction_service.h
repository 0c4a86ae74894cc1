// lineserve.v1.EfficiencyPrediction over the callback API: a thin adapter
// over the inference pipeline. Every row of a request becomes one sample, so
// rows of concurrent requests share batches; the call finishes when its last
// row is answered.
#ifndef LINESERVE_SERVER_SERVICE_EFFICIENCY_PREDICTION_SERVICE_H_
#define LINESERVE_SERVER_SERVICE_EFFICIENCY_PREDICTION_SERVICE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "lineserve/v1/efficiency_prediction.grpc.pb.h"
#include "server/inference/inference_observer.h"
#include "server/inference/inference_pipeline.h"

namespace lineserve {

inline constexpr char kDefaultEfficiencyModel[] = "efficiency_prediction";
// More rows than this in one request is INVALID_ARGUMENT: split them.
inline constexpr int kMaxRowsPerRequest = 4096;

// The request's rows as the model's input samples, validated as Predict
// does (row count, ids, one value per feature, the model's encoder):
// INVALID_ARGUMENT naming the row and field. The service's own conversion,
// also called by the fuzz target.
absl::StatusOr<std::vector<Sample>> PredictSamples(
    const ServableModel& model, const lineserve::v1::PredictRequest& request);

class EfficiencyPredictionService final
    : public lineserve::v1::EfficiencyPrediction::CallbackService {
 public:
  // `pipeline` and `observer` (null: none) must outlive the service.
  EfficiencyPredictionService(const InferencePipeline* pipeline,
                              InferenceObserver* observer);

  grpc::ServerUnaryReactor* Predict(
      grpc::CallbackServerContext* context,
      const lineserve::v1::PredictRequest* request,
      lineserve::v1::PredictResponse* response) override;

 private:
  const InferencePipeline* pipeline_;
  InferenceObserver* observer_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_EFFICIENCY_PREDICTION_SERVICE_H_
