#include "tests/support/serving_stack.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "models/base/status_macros.h"

namespace lineserve::testing {

absl::StatusOr<std::unique_ptr<ServingStack>> ServingStack::Start(
    const ServingStackOptions& options) {
  std::unique_ptr<ServingStack> stack(new ServingStack());
  ModelRepositoryOptions repository_options;
  repository_options.root = options.root;
  repository_options.decode_memory = options.decode_memory;
  repository_options.backends = options.backends;
  repository_options.observer_factory = options.batcher_observers;
  stack->observers_ =
      std::make_unique<RepositoryObserverList>(std::vector<RepositoryObserver*>{
          options.repository_observer, &stack->health_});
  repository_options.observer = stack->observers_.get();
  ASSIGN_OR_RETURN(stack->repository_,
                   ModelRepository::Create(std::move(repository_options)));
  RETURN_IF_ERROR(stack->repository_->LoadAll());

  InferencePipelineOptions pipeline_options;
  pipeline_options.repository = stack->repository_.get();
  pipeline_options.observer = options.inference_observer;
  stack->pipeline_ = std::make_unique<InferencePipeline>(pipeline_options);
  ModelServiceOptions model_service;
  model_service.repository = stack->repository_.get();
  model_service.mode = options.mode;
  model_service.admin_token = options.admin_token;
  model_service.observer = options.inference_observer;
  stack->services_ = std::make_unique<DomainServices>(
      stack->pipeline_.get(), std::move(model_service),
      options.inference_observer);
  LineServerOptions server_options;
  server_options.address = "127.0.0.1:0";
  server_options.tls = options.tls;
  server_options.reflection = options.reflection;
  ASSIGN_OR_RETURN(
      stack->server_,
      LineServer::Start(server_options, stack->services_->hosted()));
  stack->health_.Attach(stack->server_.get(), stack->repository_.get(),
                        stack->services_->hosted());
  if (options.mode == ModelControlMode::kPoll) {
    stack->poller_ = std::make_unique<RepositoryPoller>(
        stack->repository_.get(), options.poll_interval);
  }
  if (options.http) {
    stack->oip_http_ =
        std::make_unique<OipHttp>(&stack->services_->oip(), nullptr);
    HttpServerOptions http_options;
    http_options.address = "127.0.0.1:0";
    http_options.max_body_bytes = options.http_max_body_bytes;
    http_options.tls = options.tls;
    ASSIGN_OR_RETURN(
        stack->http_,
        HttpServer::Start(http_options, [http = stack->oip_http_.get()](
                                            const HttpRequest& request) {
          return http->Handle(request);
        }));
  }
  ClientOptions client_options;
  client_options.server = stack->address();
  client_options.tls = options.client_tls;
  stack->client_ = std::make_unique<LineserveClient>(client_options);
  return stack;
}

ServingStack::~ServingStack() {
  http_.reset();
  poller_.reset();
  health_.Detach();
  if (server_ != nullptr) server_->Shutdown(absl::Seconds(5));
  server_.reset();
  client_.reset();
  if (repository_ != nullptr) repository_->Shutdown();
  services_.reset();
  pipeline_.reset();
  repository_.reset();
}

std::string ServingStack::address() const {
  return absl::StrCat("127.0.0.1:", server_->port());
}

}  // namespace lineserve::testing
