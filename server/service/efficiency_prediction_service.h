// lineserve.v1.EfficiencyPrediction over the callback API. Every row of a
// request becomes one batcher task, so rows of concurrent requests share
// batches; the call finishes when its last row is answered.
#ifndef LINESERVE_SERVER_SERVICE_EFFICIENCY_PREDICTION_SERVICE_H_
#define LINESERVE_SERVER_SERVICE_EFFICIENCY_PREDICTION_SERVICE_H_

#include "lineserve/v1/efficiency_prediction.grpc.pb.h"
#include "server/common/clock.h"
#include "server/repository/model_repository.h"
#include "server/service/service_observer.h"

namespace lineserve {

inline constexpr char kDefaultEfficiencyModel[] = "efficiency_prediction";
// More rows than this in one request is INVALID_ARGUMENT: split them.
inline constexpr int kMaxRowsPerRequest = 4096;

class EfficiencyPredictionService final
    : public lineserve::v1::EfficiencyPrediction::CallbackService {
 public:
  // `repository`, `clock` and `observer` must outlive the service.
  EfficiencyPredictionService(const ModelRepository* repository, Clock* clock,
                              ServiceObserver* observer);

  grpc::ServerUnaryReactor* Predict(
      grpc::CallbackServerContext* context,
      const lineserve::v1::PredictRequest* request,
      lineserve::v1::PredictResponse* response) override;

 private:
  const ModelRepository* repository_;
  Clock* clock_;
  ServiceObserver* observer_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_EFFICIENCY_PREDICTION_SERVICE_H_
