#include "server/service/line_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/service/malformed_request_interceptor.h"

namespace lineserve {
namespace {

// Reflection for this server as its options say. Linking gRPC's reflection
// library registers its plugin for every ServerBuilder of the process (a
// static initializer), so the option removes it, or adds it once.
class ReflectionOption : public grpc::ServerBuilderOption {
 public:
  explicit ReflectionOption(bool enabled) : enabled_(enabled) {}

  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    const std::string name =
        grpc::reflection::ProtoServerReflectionPlugin().name();
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [&name](const auto& plugin) {
                                    return plugin->name() == name;
                                  }),
                   plugins->end());
    if (enabled_) {
      plugins->push_back(
          std::make_unique<grpc::reflection::ProtoServerReflectionPlugin>());
    }
  }

 private:
  const bool enabled_;
};

std::shared_ptr<grpc::ServerCredentials> Credentials(
    const TlsCredentials& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      tls.mutual() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_root_certs = tls.client_ca_pem;
  options.pem_key_cert_pairs.push_back(
      {tls.private_key_pem, tls.cert_chain_pem});
  return grpc::SslServerCredentials(options);
}

}  // namespace

absl::StatusOr<std::unique_ptr<LineServer>> LineServer::Start(
    const LineServerOptions& options,
    const std::vector<HostedService>& services) {
  std::unique_ptr<LineServer> server(new LineServer());
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetOption(std::make_unique<ReflectionOption>(options.reflection));
  builder.AddListeningPort(options.address, Credentials(options.tls),
                           &server->port_);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  std::vector<
      std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(MalformedRequestInterceptorFactory());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
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
