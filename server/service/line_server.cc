#include "server/service/line_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace lineserve {
namespace {

constexpr const char* kServices[] = {
    "lineserve.v1.QualityInspection",
    "lineserve.v1.EfficiencyPrediction",
    "lineserve.v1.ModelService",
};

ServiceObserver* NullObserver() {
  static ServiceObserver* observer = new ServiceObserver();
  return observer;
}

}  // namespace

ServiceObserver* ServiceObserver::Null() { return NullObserver(); }

absl::StatusOr<std::unique_ptr<LineServer>> LineServer::Start(
    const LineServerOptions& options, ModelRepository* repository) {
  std::unique_ptr<LineServer> server(new LineServer());
  server->observer_ =
      options.observer != nullptr ? options.observer : ServiceObserver::Null();
  server->inspection_ = std::make_unique<QualityInspectionService>(
      repository, options.clock, server->observer_);
  server->efficiency_ = std::make_unique<EfficiencyPredictionService>(
      repository, options.clock, server->observer_);
  server->models_ = std::make_unique<ModelService>(repository);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.RegisterService(server->inspection_.get());
  builder.RegisterService(server->efficiency_.get());
  builder.RegisterService(server->models_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.address));
  }
  grpc::HealthCheckServiceInterface* health =
      server->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  for (const char* service : kServices) {
    health->SetServingStatus(service, true);
  }
  return server;
}

LineServer::~LineServer() { Shutdown(absl::ZeroDuration()); }

void LineServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  // Load balancers and probes see NOT_SERVING first; then the port stops
  // taking calls and the ones already accepted finish.
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(grace));
}

void LineServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace lineserve
