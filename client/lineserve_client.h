// A small synchronous C++ client for lineserve's gRPC APIs.
//
// One channel per client; calls are thread-safe and may run concurrently.
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

struct ClientOptions {
  std::string server = "127.0.0.1:8500";  // host:port
  absl::Duration timeout = absl::Seconds(10);
  int max_message_bytes = 16 << 20;
  // Sent as `authorization: Bearer <admin_token>` on the model-control
  // calls (LoadModel, UnloadModel, ReloadModel) when not empty.
  std::string admin_token;
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
