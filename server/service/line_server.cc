#include "server/service/line_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <chrono>

#include "absl/strings/str_cat.h"

namespace lineserve {

absl::StatusOr<std::unique_ptr<LineServer>> LineServer::Start(
    const LineServerOptions& options,
    const std::vector<HostedService>& services) {
  std::unique_ptr<LineServer> server(new LineServer());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.address, grpc::InsecureServerCredentials(),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  for (const HostedService& hosted : services) {
    builder.RegisterService(hosted.service);
  }
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", options.address));
  }
  grpc::HealthCheckServiceInterface* health =
      server->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kLivenessService, true);
  health->SetServingStatus(kReadinessService, true);
  for (const HostedService& hosted : services) {
    health->SetServingStatus(hosted.name, true);
  }
  return server;
}

LineServer::~LineServer() { Shutdown(absl::ZeroDuration()); }

void LineServer::SetServingStatus(const std::string& service, bool serving) {
  absl::MutexLock lock(&health_mu_);
  if (shutting_down_ || server_ == nullptr) return;
  // The string overload: the bool one sets every service at once.
  server_->GetHealthCheckService()->SetServingStatus(service, serving);
}

void LineServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  {
    absl::MutexLock lock(&health_mu_);
    shutting_down_ = true;
  }
  // Load balancers and probes see NOT_SERVING first; then the port stops
  // taking calls and the ones already accepted finish.
  server_->GetHealthCheckService()->SetServingStatus(false);
  // Draining is not dying: an orchestrator must not restart the process
  // while it finishes what it accepted.
  server_->GetHealthCheckService()->SetServingStatus(kLivenessService, true);
  server_->Shutdown(std::chrono::system_clock::now() +
                    absl::ToChronoMilliseconds(grace));
}

void LineServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace lineserve
