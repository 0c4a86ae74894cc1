// A small synchronous C++ client for lineserve's gRPC APIs.
//
// One channel per client, plaintext or TLS (mutual TLS with a client
// certificate); calls are thread-safe and may run concurrently.
// Every call carries the configured timeout as its gRPC deadline. Errors
// come back as absl::Status with the server's code and message.
#ifndef LINESERVE_CLIENT_LINESERVE_CLIENT_H_
#define LINESERVE_CLIENT_LINESERVE_CLIENT_H_

#include <grpcpp/channel.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "lineserve/v1/efficiency_prediction.grpc.pb.h"
#include "lineserve/v1/model_service.grpc.pb.h"
#include "lineserve/v1/quality_inspection.grpc.pb.h"

namespace lineserve {

// TLS for the channel. PEM text, not paths, so a caller may hold it in
// memory; ReadClientTlsFiles() reads files.
struct ClientTlsOptions {
  // false: a plaintext channel (the other fields are ignored).
  bool enabled = false;
  // Certificate authorities trusted to sign the server's certificate;
  // empty: gRPC's default roots (the system's).
  std::string root_certs_pem;
  // For mutual TLS: this client's certificate chain and its private key;
  // both or neither.
  std::string cert_chain_pem;
  std::string private_key_pem;
  // The name the server's certificate must hold, instead of the host in
  // ClientOptions::server (e.g. connecting to an IP address whose
  // certificate names a host). Empty: the host.
  std::string server_name;
};

// TLS options from PEM files: `ca_path` (empty: default roots), `cert_path`
// and `key_path` (both or neither). INVALID_ARGUMENT naming the file that
// cannot be read, or when only one of cert and key is given.
absl::StatusOr<ClientTlsOptions> ReadClientTlsFiles(
    const std::string& ca_path, const std::string& cert_path,
    const std::string& key_path, const std::string& server_name = "");

struct ClientOptions {
  std::string server = "127.0.0.1:8500";  // host:port
  absl::Duration timeout = absl::Seconds(10);
  int max_message_bytes = 16 << 20;
  // Sent as `authorization: Bearer <admin_token>` on the model-control
  // calls (LoadModel, UnloadModel, ReloadModel) when not empty.
  std::string admin_token;
  // Plaintext unless tls.enabled.
  ClientTlsOptions tls;
};

class LineserveClient {
 public:
  explicit LineserveClient(const ClientOptions& options);

  absl::StatusOr<lineserve::v1::InspectResponse> Inspect(
      const lineserve::v1::InspectRequest& request) const;
  absl::StatusOr<lineserve::v1::PredictResponse> Predict(
      const lineserve::v1::PredictRequest& request) const;
  absl::StatusOr<lineserve::v1::ListModelsResponse> ListModels() const;
  absl::StatusOr<lineserve::v1::ModelStatus> GetModel(
      const std::string& name) const;
  absl::StatusOr<lineserve::v1::RepositoryIndexResponse> RepositoryIndex()
      const;
  // Model control; the server wants options.admin_token.
  absl::StatusOr<lineserve::v1::ModelStatus> LoadModel(
      const std::string& name) const;
  absl::Status UnloadModel(const std::string& name) const;
  absl::StatusOr<lineserve::v1::ModelStatus> ReloadModel(
      const std::string& name) const;
  // grpc.health.v1 Check: true when SERVING. `service` empty asks for the
  // server as a whole.
  absl::StatusOr<bool> Health(const std::string& service = "") const;

  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  ClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<lineserve::v1::QualityInspection::Stub> inspection_;
  std::unique_ptr<lineserve::v1::EfficiencyPrediction::Stub> efficiency_;
  std::unique_ptr<lineserve::v1::ModelService::Stub> models_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

// grpc::Status -> absl::Status (same code numbers).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace lineserve

#endif  // LINESERVE_CLIENT_LINESERVE_CLIENT_H_
