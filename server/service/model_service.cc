#include "server/service/model_service.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "models/base/log.h"
#include "models/base/status_macros.h"
#include "server/service/grpc_status.h"
#include "server/service/request_support.h"

namespace lineserve {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

// Compares without an early exit, so the time taken does not tell how much
// of a guessed token was right.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? a[i] : 0;
    const unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

absl::StatusOr<ModelControlMode> ParseModelControlMode(absl::string_view text) {
  if (text == "none") return ModelControlMode::kNone;
  if (text == "poll") return ModelControlMode::kPoll;
  if (text == "explicit") return ModelControlMode::kExplicit;
  return absl::InvalidArgumentError(absl::StrCat(
      "model control mode \"", text, "\" is not none, poll or explicit"));
}

absl::string_view ModelControlModeName(ModelControlMode mode) {
  switch (mode) {
    case ModelControlMode::kNone:
      return "none";
    case ModelControlMode::kPoll:
      return "poll";
    case ModelControlMode::kExplicit:
      return "explicit";
  }
  return "none";
}

ModelService::ModelService(ModelServiceOptions options)
    : options_(std::move(options)),
      observer_(options_.observer != nullptr ? options_.observer
                                             : InferenceObserver::Null()),
      worker_([this] { WorkerLoop(); }) {}

ModelService::~ModelService() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  worker_.join();
}

void ModelService::WorkerLoop() {
  while (true) {
    std::function<void()> job;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ModelService* self) ABSL_EXCLUSIVE_LOCKS_REQUIRED(self->mu_) {
            return self->stopping_ || !self->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and everything is done
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

grpc::ServerUnaryReactor* ModelService::ListModels(
    grpc::CallbackServerContext* context,
    const lineserve::v1::ListModelsRequest* /*request*/,
    lineserve::v1::ListModelsResponse* response) {
  for (auto& status : options_.repository->List()) {
    *response->add_models() = std::move(status);
  }
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* ModelService::GetModel(
    grpc::CallbackServerContext* context,
    const lineserve::v1::GetModelRequest* request,
    lineserve::v1::ModelStatus* response) {
  if (request->name().empty()) {
    return FinishNow(context, absl::InvalidArgumentError("name: required"));
  }
  auto status = options_.repository->GetStatus(request->name());
  if (status.ok()) *response = *std::move(status);
  return FinishNow(context, status.status());
}

grpc::ServerUnaryReactor* ModelService::RepositoryIndex(
    grpc::CallbackServerContext* context,
    const lineserve::v1::RepositoryIndexRequest* /*request*/,
    lineserve::v1::RepositoryIndexResponse* response) {
  *response = options_.repository->Index();
  return FinishNow(context, absl::OkStatus());
}

absl::Status ModelService::Authorize(const grpc::CallbackServerContext& context,
                                     absl::string_view method,
                                     bool allowed_in_poll) const {
  if (options_.admin_token.empty()) {
    observer_->OnAdminRefused(method, "disabled");
    return absl::PermissionDeniedError(absl::StrCat(
        method, " is disabled: the server runs without --admin-token-file"));
  }
  const auto& metadata = context.client_metadata();
  auto found = metadata.find("authorization");
  if (found == metadata.end()) {
    observer_->OnAdminRefused(method, "missing_token");
    return absl::UnauthenticatedError(absl::StrCat(
        method, " needs `authorization: Bearer <admin token>` metadata"));
  }
  const absl::string_view value(found->second.data(), found->second.size());
  if (!absl::StartsWith(value, kBearer) ||
      !ConstantTimeEquals(value.substr(kBearer.size()), options_.admin_token)) {
    observer_->OnAdminRefused(method, "wrong_token");
    return absl::UnauthenticatedError(
        absl::StrCat(method, ": the admin token is not valid"));
  }
  const ModelControlMode mode = options_.mode;
  if (mode == ModelControlMode::kNone ||
      (mode == ModelControlMode::kPoll && !allowed_in_poll)) {
    observer_->OnAdminRefused(method, "mode");
    return absl::FailedPreconditionError(absl::StrCat(
        method, " is not available in model control mode ",
        ModelControlModeName(mode),
        mode == ModelControlMode::kPoll
            ? " (the repository folder decides; use ReloadModel or explicit)"
            : " (start the server with --model-control-mode explicit)"));
  }
  return absl::OkStatus();
}

void ModelService::LogControl(absl::string_view method, absl::string_view model,
                              const RequestSource& source,
                              const absl::Status& status) const {
  if (status.ok()) {
    // An audit trail: who changed what is served.
    LogInfo("model-control", "control call done",
            {{"method", method},
             {"model", TruncateForLog(model, 128)},
             {"peer", TruncateForLog(source.peer, 128)},
             {"request_id", TruncateForLog(source.request_id, 128)}});
    return;
  }
  if (options_.request_log == nullptr) return;
  FinishedRequest finished;
  finished.front_end = "model-control";
  finished.method = method;
  finished.model = model;
  finished.peer = source.peer;
  finished.request_id = source.request_id;
  finished.status = status;
  options_.request_log->Finished(finished);
}

grpc::ServerUnaryReactor* ModelService::Control(
    grpc::CallbackServerContext* context, absl::string_view method,
    absl::string_view model, bool allowed_in_poll,
    std::function<absl::Status()> action) {
  RequestSource source = GrpcRequestSource(*context, "");
  if (absl::Status allowed = Authorize(*context, method, allowed_in_poll);
      !allowed.ok()) {
    LogControl(method, model, source, allowed);
    return FinishNow(context, allowed);
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::MutexLock lock(&mu_);
  if (stopping_) {
    reactor->Finish(ToGrpcStatus(absl::UnavailableError("shutting down")));
    return reactor;
  }
  queue_.push_back([this, reactor, action = std::move(action),
                    method = std::string(method), model = std::string(model),
                    source = std::move(source)] {
    const absl::Status status = action();
    LogControl(method, model, source, status);
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

absl::Status ModelService::Reload(const std::string& name, bool loaded_only,
                                  lineserve::v1::ModelStatus* response) {
  if (name.empty()) return absl::InvalidArgumentError("name: required");
  if (loaded_only) {
    RETURN_IF_ERROR(options_.repository->GetStatus(name).status());
  }
  absl::Status status = options_.repository->Reload(name);
  auto model = options_.repository->GetStatus(name);
  if (model.ok()) *response = *std::move(model);
  return status;
}

grpc::ServerUnaryReactor* ModelService::LoadModel(
    grpc::CallbackServerContext* context,
    const lineserve::v1::ModelControlRequest* request,
    lineserve::v1::ModelStatus* response) {
  return Control(
      context, "LoadModel", request->name(), false, [this, request, response] {
        return Reload(request->name(), /*loaded_only=*/false, response);
      });
}

grpc::ServerUnaryReactor* ModelService::ReloadModel(
    grpc::CallbackServerContext* context,
    const lineserve::v1::ModelControlRequest* request,
    lineserve::v1::ModelStatus* response) {
  return Control(
      context, "ReloadModel", request->name(), true, [this, request, response] {
        // Reloading is for what is loaded; LoadModel brings in a new model.
        return Reload(request->name(), /*loaded_only=*/true, response);
      });
}

grpc::ServerUnaryReactor* ModelService::UnloadModel(
    grpc::CallbackServerContext* context,
    const lineserve::v1::ModelControlRequest* request,
    lineserve::v1::ModelControlResponse* /*response*/) {
  return Control(context, "UnloadModel", request->name(), false,
                 [this, request] {
                   if (request->name().empty()) {
                     return absl::InvalidArgumentError("name: required");
                   }
                   return options_.repository->Unload(request->name());
                 });
}

}  // namespace lineserve
