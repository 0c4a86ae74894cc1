#include "server/service/model_service.h"

#include "absl/strings/str_cat.h"

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
  for (auto& status : repository_->List()) {
    if (status.name() == request->name()) {
      *response = std::move(status);
      reactor->Finish(grpc::Status::OK);
      return reactor;
    }
  }
  reactor->Finish(grpc::Status(
      grpc::StatusCode::NOT_FOUND,
      absl::StrCat("model '", request->name(), "' is not in the repository")));
  return reactor;
}

}  // namespace lineserve
