// lineserve.v1.ModelService: what is loaded, in which state, with which
// config. Answers from the repository's state without touching a model.
#ifndef LINESERVE_SERVER_SERVICE_MODEL_SERVICE_H_
#define LINESERVE_SERVER_SERVICE_MODEL_SERVICE_H_

#include "lineserve/v1/model_service.grpc.pb.h"
#include "server/repository/model_repository.h"

namespace lineserve {

class ModelService final : public lineserve::v1::ModelService::CallbackService {
 public:
  // `repository` must outlive the service.
  explicit ModelService(const ModelRepository* repository)
      : repository_(repository) {}

  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const lineserve::v1::ListModelsRequest* request,
      lineserve::v1::ListModelsResponse* response) override;

  grpc::ServerUnaryReactor* GetModel(
      grpc::CallbackServerContext* context,
      const lineserve::v1::GetModelRequest* request,
      lineserve::v1::ModelStatus* response) override;

 private:
  const ModelRepository* repository_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_MODEL_SERVICE_H_
