#include "server/service/model_service.h"

#include "server/service/grpc_status.h"

namespace lineserve {

grpc::ServerUnaryReactor* ModelService::ListModels(
    grpc::CallbackServerContext* context,
    const lineserve::v1::ListModelsRequest* /*request*/,
    lineserve::v1::ListModelsResponse* response) {
  for (auto& status : repository_->List()) {
    *response->add_models() = std::move(status);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* ModelService::GetModel(
    grpc::CallbackServerContext* context,
    const lineserve::v1::GetModelRequest* request,
    lineserve::v1::ModelStatus* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (request->name().empty()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "name: required"));
    return reactor;
  }
  auto status = repository_->GetStatus(request->name());
  if (status.ok()) *response = *std::move(status);
  reactor->Finish(status.ok() ? grpc::Status::OK
                              : ToGrpcStatus(status.status()));
  return reactor;
}

}  // namespace lineserve
