// lineserve.v1.ModelService: what is loaded, in which state, with which
// config (answered from the repository's state without touching a model),
// and the model-control RPCs LoadModel, UnloadModel and ReloadModel.
//
// Control is guarded twice. By mode: `none` refuses every control RPC (the
// repository is fixed after start), `poll` allows ReloadModel only (the disk
// decides what is served), `explicit` allows all three. By token: a control
// RPC must carry `authorization: Bearer <admin_token>`; without a configured
// token every control RPC is refused (PERMISSION_DENIED), so control is
// never open by default. A missing or wrong token is UNAUTHENTICATED. The
// token is compared in constant time and never logged or reported.
//
// Loading takes seconds, so control RPCs run on the service's own worker
// thread, one at a time, never on a gRPC callback thread.
#ifndef LINESERVE_SERVER_SERVICE_MODEL_SERVICE_H_
#define LINESERVE_SERVER_SERVICE_MODEL_SERVICE_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "lineserve/v1/model_service.grpc.pb.h"
#include "server/inference/inference_observer.h"
#include "server/inference/request_log.h"
#include "server/repository/model_repository.h"

namespace lineserve {

enum class ModelControlMode { kNone, kPoll, kExplicit };

// "none", "poll", "explicit"; INVALID_ARGUMENT otherwise.
absl::StatusOr<ModelControlMode> ParseModelControlMode(absl::string_view text);
absl::string_view ModelControlModeName(ModelControlMode mode);

struct ModelServiceOptions {
  // Required; not owned, must outlive the service.
  ModelRepository* repository = nullptr;
  ModelControlMode mode = ModelControlMode::kNone;
  // The bearer token control RPCs must present; empty disables control.
  std::string admin_token;
  // Told about refused control calls; not owned, null for none.
  InferenceObserver* observer = nullptr;
  // Logs refused and failed control calls (rate-limited); not owned, null
  // for none. Control calls that succeed are logged at info regardless.
  RequestLog* request_log = nullptr;
};

class ModelService final : public lineserve::v1::ModelService::CallbackService {
 public:
  explicit ModelService(ModelServiceOptions options);
  // Finishes the control calls already accepted, then joins the worker.
  ~ModelService() override;

  grpc::ServerUnaryReactor* ListModels(
      grpc::CallbackServerContext* context,
      const lineserve::v1::ListModelsRequest* request,
      lineserve::v1::ListModelsResponse* response) override;

  grpc::ServerUnaryReactor* GetModel(
      grpc::CallbackServerContext* context,
      const lineserve::v1::GetModelRequest* request,
      lineserve::v1::ModelStatus* response) override;

  grpc::ServerUnaryReactor* RepositoryIndex(
      grpc::CallbackServerContext* context,
      const lineserve::v1::RepositoryIndexRequest* request,
      lineserve::v1::RepositoryIndexResponse* response) override;

  grpc::ServerUnaryReactor* LoadModel(
      grpc::CallbackServerContext* context,
      const lineserve::v1::ModelControlRequest* request,
      lineserve::v1::ModelStatus* response) override;

  grpc::ServerUnaryReactor* UnloadModel(
      grpc::CallbackServerContext* context,
      const lineserve::v1::ModelControlRequest* request,
      lineserve::v1::ModelControlResponse* response) override;

  grpc::ServerUnaryReactor* ReloadModel(
      grpc::CallbackServerContext* context,
      const lineserve::v1::ModelControlRequest* request,
      lineserve::v1::ModelStatus* response) override;

 private:
  // Checks mode and token for `method`; reports refusals to the observer.
  absl::Status Authorize(const grpc::CallbackServerContext& context,
                         absl::string_view method, bool allowed_in_poll) const;
  // Runs `action` on the worker thread, finishing `reactor` with its status;
  // refuses at once when Authorize does. Logs the outcome (`model` is the
  // request's, as sent).
  grpc::ServerUnaryReactor* Control(grpc::CallbackServerContext* context,
                                    absl::string_view method,
                                    absl::string_view model,
                                    bool allowed_in_poll,
                                    std::function<absl::Status()> action);
  void LogControl(absl::string_view method, absl::string_view model,
                  const RequestSource& source,
                  const absl::Status& status) const;
  void WorkerLoop();
  // (Re)loads `name` and fills `response` with its status; `loaded_only`
  // refuses a model that is not loaded (NOT_FOUND). Worker thread only.
  absl::Status Reload(const std::string& name, bool loaded_only,
                      lineserve::v1::ModelStatus* response);

  const ModelServiceOptions options_;
  InferenceObserver* const observer_;

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread worker_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_MODEL_SERVICE_H_
