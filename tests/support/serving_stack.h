// The whole server in-process for integration tests: a model repository
// over a folder, the inference pipeline, the domain gRPC services on
// 127.0.0.1:0 with truthful health, model control (and a poller in poll
// mode), and a real client connected to them. Both integration suites
// start it the same way, so they test the same wiring main() does.
//
// Not thread-safe to create or destroy; the client and repository may be
// used from any thread in between.
#ifndef LINESERVE_TESTS_SUPPORT_SERVING_STACK_H_
#define LINESERVE_TESTS_SUPPORT_SERVING_STACK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/lineserve_client.h"
#include "server/backends/backend_registry.h"
#include "server/http/http_server.h"
#include "server/inference/inference_observer.h"
#include "server/inference/inference_pipeline.h"
#include "server/repository/model_repository.h"
#include "server/repository/observer_list.h"
#include "server/repository/repository_poller.h"
#include "server/security/tls_credentials.h"
#include "server/service/domain_services.h"
#include "server/service/health_reporter.h"
#include "server/service/line_server.h"
#include "server/service/oip_http.h"

namespace lineserve::testing {

struct ServingStackOptions {
  // The model repository folder. Required.
  std::string root;
  // Backends by platform; required, not owned, must outlive the stack.
  const BackendRegistry* backends = nullptr;
  // Optional metrics hooks (not owned; must outlive the stack).
  BatcherObserverFactory batcher_observers;
  RepositoryObserver* repository_observer = nullptr;
  InferenceObserver* inference_observer = nullptr;
  // Model control (see ModelService); poll rescans every poll_interval.
  ModelControlMode mode = ModelControlMode::kNone;
  absl::Duration poll_interval = absl::Milliseconds(100);
  std::string admin_token;
  // Optional, not owned: the decode budget image models share (see
  // ModelRepositoryOptions::decode_memory).
  preprocess::DecodeMemory* decode_memory = nullptr;
  // Also serve the Open Inference Protocol's REST endpoints on 127.0.0.1:0
  // (see http_port()).
  bool http = false;
  size_t http_max_body_bytes = 1 << 20;
  // TLS (mutual with a client CA) on gRPC and HTTP; the stack's client()
  // connects with client_tls.
  TlsCredentials tls;
  ClientTlsOptions client_tls;
  // Serve gRPC reflection (LineServerOptions::reflection).
  bool reflection = false;
};

class ServingStack {
 public:
  // Loads every model (LoadAll must succeed) and starts serving.
  static absl::StatusOr<std::unique_ptr<ServingStack>> Start(
      const ServingStackOptions& options);

  // Stops the server (grace 5 s), then unloads the models.
  ~ServingStack();

  ModelRepository& repository() { return *repository_; }
  // Null unless mode is kPoll.
  RepositoryPoller* poller() { return poller_.get(); }
  LineServer& server() { return *server_; }
  LineserveClient& client() { return *client_; }
  int port() const { return server_->port(); }
  // The HTTP listener's port; 0 unless options.http.
  int http_port() const { return http_ ? http_->port() : 0; }
  // "127.0.0.1:<port>".
  std::string address() const;

 private:
  ServingStack() = default;

  HealthReporter health_;
  std::unique_ptr<RepositoryObserverList> observers_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferencePipeline> pipeline_;
  std::unique_ptr<RepositoryPoller> poller_;
  std::unique_ptr<DomainServices> services_;
  std::unique_ptr<LineServer> server_;
  std::unique_ptr<OipHttp> oip_http_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<LineserveClient> client_;
};

}  // namespace lineserve::testing

#endif  // LINESERVE_TESTS_SUPPORT_SERVING_STACK_H_
