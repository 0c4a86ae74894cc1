// lineserve's domain API as one bundle: QualityInspection and
// EfficiencyPrediction (adapters over one inference pipeline) and
// ModelService (the repository's status and model control), and the Open
// Inference Protocol's GRPCInferenceService over the same pipeline, ready to
// hand
// to LineServer, each with the model its health follows.
#ifndef LINESERVE_SERVER_SERVICE_DOMAIN_SERVICES_H_
#define LINESERVE_SERVER_SERVICE_DOMAIN_SERVICES_H_

#include <utility>
#include <vector>

#include "server/inference/inference_observer.h"
#include "server/inference/inference_pipeline.h"
#include "server/repository/model_repository.h"
#include "server/service/efficiency_prediction_service.h"
#include "server/service/line_server.h"
#include "server/service/model_service.h"
#include "server/service/oip_service.h"
#include "server/service/quality_inspection_service.h"

namespace lineserve {

class DomainServices {
 public:
  // Every pointer must outlive the services; `observer` may be null.
  DomainServices(const InferencePipeline* pipeline,
                 ModelServiceOptions model_service, InferenceObserver* observer)
      : inspection_(pipeline, observer),
        efficiency_(pipeline, observer),
        oip_(pipeline, model_service.repository),
        models_(std::move(model_service)) {}

  DomainServices(const DomainServices&) = delete;
  DomainServices& operator=(const DomainServices&) = delete;

  // The Open Inference Protocol's logic, for the HTTP front end too.
  const OipService& oip() const { return oip_; }

  std::vector<HostedService> hosted() {
    return {{&inspection_, "lineserve.v1.QualityInspection",
             kDefaultInspectionModel},
            {&efficiency_, "lineserve.v1.EfficiencyPrediction",
             kDefaultEfficiencyModel},
            {&oip_, "inference.GRPCInferenceService", ""},
            {&models_, "lineserve.v1.ModelService", ""}};
  }

 private:
  QualityInspectionService inspection_;
  EfficiencyPredictionService efficiency_;
  OipService oip_;
  ModelService models_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_DOMAIN_SERVICES_H_
