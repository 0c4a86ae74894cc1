// lineserve's domain API as one bundle: QualityInspection and
// EfficiencyPrediction (adapters over one inference pipeline) and
// ModelService (the repository's status), ready to hand to LineServer.
#ifndef LINESERVE_SERVER_SERVICE_DOMAIN_SERVICES_H_
#define LINESERVE_SERVER_SERVICE_DOMAIN_SERVICES_H_

#include <vector>

#include "server/inference/inference_observer.h"
#include "server/inference/inference_pipeline.h"
#include "server/repository/model_repository.h"
#include "server/service/efficiency_prediction_service.h"
#include "server/service/line_server.h"
#include "server/service/model_service.h"
#include "server/service/quality_inspection_service.h"

namespace lineserve {

class DomainServices {
 public:
  // Every pointer must outlive the services; `observer` may be null.
  DomainServices(const InferencePipeline* pipeline,
                 const ModelRepository* repository, InferenceObserver* observer)
      : inspection_(pipeline, observer),
        efficiency_(pipeline, observer),
        models_(repository) {}

  DomainServices(const DomainServices&) = delete;
  DomainServices& operator=(const DomainServices&) = delete;

  std::vector<HostedService> hosted() {
    return {{&inspection_, "lineserve.v1.QualityInspection"},
            {&efficiency_, "lineserve.v1.EfficiencyPrediction"},
            {&models_, "lineserve.v1.ModelService"}};
  }

 private:
  QualityInspectionService inspection_;
  EfficiencyPredictionService efficiency_;
  ModelService models_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_DOMAIN_SERVICES_H_
