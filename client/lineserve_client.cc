#include "client/lineserve_client.h"

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include "absl/strings/str_cat.h"
#include "models/base/file_util.h"

namespace lineserve {
namespace {

// PEM files are small; a larger one is not what the caller meant.
constexpr size_t kMaxPemBytes = 1 << 20;

absl::StatusOr<std::string> ReadPem(const std::string& what,
                                    const std::string& path) {
  absl::StatusOr<std::string> pem = ReadFile(path, kMaxPemBytes);
  if (!pem.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", pem.status().message()));
  }
  return pem;
}

std::shared_ptr<grpc::ChannelCredentials> Credentials(
    const ClientTlsOptions& tls) {
  if (!tls.enabled) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.root_certs_pem;
  ssl.pem_cert_chain = tls.cert_chain_pem;
  ssl.pem_private_key = tls.private_key_pem;
  return grpc::SslCredentials(ssl);
}

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(timeout));
}

template <typename Response, typename Call>
absl::StatusOr<Response> Unary(absl::Duration timeout, Call&& call) {
  grpc::ClientContext context;
  SetDeadline(context, timeout);
  Response response;
  grpc::Status status = call(&context, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  return response;
}

}  // namespace

absl::StatusOr<ClientTlsOptions> ReadClientTlsFiles(
    const std::string& ca_path, const std::string& cert_path,
    const std::string& key_path, const std::string& server_name) {
  if (cert_path.empty() != key_path.empty()) {
    return absl::InvalidArgumentError(
        "a TLS client certificate needs its key, and a key its certificate");
  }
  ClientTlsOptions tls;
  tls.enabled = true;
  tls.server_name = server_name;
  if (!ca_path.empty()) {
    absl::StatusOr<std::string> ca = ReadPem("TLS CA", ca_path);
    if (!ca.ok()) return ca.status();
    tls.root_certs_pem = *std::move(ca);
  }
  if (!cert_path.empty()) {
    absl::StatusOr<std::string> cert = ReadPem("TLS certificate", cert_path);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem("TLS key", key_path);
    if (!key.ok()) return key.status();
    tls.cert_chain_pem = *std::move(cert);
    tls.private_key_pem = *std::move(key);
  }
  return tls;
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

LineserveClient::LineserveClient(const ClientOptions& options)
    : options_(options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  if (options.tls.enabled && !options.tls.server_name.empty()) {
    args.SetSslTargetNameOverride(options.tls.server_name);
  }
  channel_ =
      grpc::CreateCustomChannel(options.server, Credentials(options.tls), args);
  inspection_ = lineserve::v1::QualityInspection::NewStub(channel_);
  efficiency_ = lineserve::v1::EfficiencyPrediction::NewStub(channel_);
  models_ = lineserve::v1::ModelService::NewStub(channel_);
  health_ = grpc::health::v1::Health::NewStub(channel_);
}

absl::StatusOr<lineserve::v1::InspectResponse> LineserveClient::Inspect(
    const lineserve::v1::InspectRequest& request) const {
  return Unary<lineserve::v1::InspectResponse>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        return inspection_->Inspect(c, request, r);
      });
}

absl::StatusOr<lineserve::v1::PredictResponse> LineserveClient::Predict(
    const lineserve::v1::PredictRequest& request) const {
  return Unary<lineserve::v1::PredictResponse>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        return efficiency_->Predict(c, request, r);
      });
}

absl::StatusOr<lineserve::v1::ListModelsResponse> LineserveClient::ListModels()
    const {
  return Unary<lineserve::v1::ListModelsResponse>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        return models_->ListModels(c, lineserve::v1::ListModelsRequest(), r);
      });
}

absl::StatusOr<lineserve::v1::ModelStatus> LineserveClient::GetModel(
    const std::string& name) const {
  lineserve::v1::GetModelRequest request;
  request.set_name(name);
  return Unary<lineserve::v1::ModelStatus>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        return models_->GetModel(c, request, r);
      });
}

absl::StatusOr<lineserve::v1::RepositoryIndexResponse>
LineserveClient::RepositoryIndex() const {
  return Unary<lineserve::v1::RepositoryIndexResponse>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        return models_->RepositoryIndex(
            c, lineserve::v1::RepositoryIndexRequest(), r);
      });
}

namespace {

lineserve::v1::ModelControlRequest ControlRequest(const std::string& name) {
  lineserve::v1::ModelControlRequest request;
  request.set_name(name);
  return request;
}

// The admin token, when there is one, on a control call.
void Authorize(grpc::ClientContext* context, const std::string& token) {
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
}

}  // namespace

absl::StatusOr<lineserve::v1::ModelStatus> LineserveClient::LoadModel(
    const std::string& name) const {
  return Unary<lineserve::v1::ModelStatus>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        Authorize(c, options_.admin_token);
        return models_->LoadModel(c, ControlRequest(name), r);
      });
}

absl::Status LineserveClient::UnloadModel(const std::string& name) const {
  return Unary<lineserve::v1::ModelControlResponse>(
             options_.timeout,
             [&](grpc::ClientContext* c, auto* r) {
               Authorize(c, options_.admin_token);
               return models_->UnloadModel(c, ControlRequest(name), r);
             })
      .status();
}

absl::StatusOr<lineserve::v1::ModelStatus> LineserveClient::ReloadModel(
    const std::string& name) const {
  return Unary<lineserve::v1::ModelStatus>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        Authorize(c, options_.admin_token);
        return models_->ReloadModel(c, ControlRequest(name), r);
      });
}

absl::StatusOr<bool> LineserveClient::Health(const std::string& service) const {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  auto response = Unary<grpc::health::v1::HealthCheckResponse>(
      options_.timeout, [&](grpc::ClientContext* c, auto* r) {
        return health_->Check(c, request, r);
      });
  if (!response.ok()) return response.status();
  return response->status() == grpc::health::v1::HealthCheckResponse::SERVING;
}

}  // namespace lineserve
