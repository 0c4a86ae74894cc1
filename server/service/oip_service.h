// inference.GRPCInferenceService (the Open Inference Protocol over gRPC): a
// thin adapter over the same inference pipeline and batchers as the domain
// API. Every model is served as tensors:
//   - image classification: input "image" BYTES [N] (or [N, 1]) of encoded
//     images, or the model's preprocessed FP32 input [N, C, H, W]; outputs
//     "probabilities" FP32 [N, labels], "verdict" BYTES [N] ("ok" or
//     "defect"), "defect_class" BYTES [N] ("" when ok), "defect_probability"
//     FP32 [N];
//   - tabular regression: one input per feature, named as the feature, [N]
//     or [N, 1] (numbers FP32, FP64, INT32 or INT64; categories BYTES), or
//     the model's encoded FP32 input [N, width]; output named as the
//     model's output, FP32 [N, 1];
//   - tensor models: the declared inputs and outputs, batch first.
// Outputs come back raw when the request's inputs were raw, typed
// otherwise, filtered to the requested outputs; the request id is echoed.
// Name, datatype and shape mismatches are INVALID_ARGUMENT naming the
// tensor. Readiness follows the repository like grpc.health.v1 does.
#ifndef LINESERVE_SERVER_SERVICE_OIP_SERVICE_H_
#define LINESERVE_SERVER_SERVICE_OIP_SERVICE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "inference/grpc_service.grpc.pb.h"
#include "server/inference/cancellation.h"
#include "server/inference/inference_pipeline.h"
#include "server/repository/model_repository.h"

namespace lineserve {

// Samples (the first dimension of every input) one ModelInfer may carry,
// as many as a Predict's rows.
inline constexpr int64_t kMaxOipBatch = 4096;

class OipService final
    : public inference::GRPCInferenceService::CallbackService {
 public:
  // Both must outlive the service.
  OipService(const InferencePipeline* pipeline,
             const ModelRepository* repository)
      : pipeline_(pipeline), repository_(repository) {}

  grpc::ServerUnaryReactor* ServerLive(
      grpc::CallbackServerContext* context,
      const inference::ServerLiveRequest* request,
      inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(
      grpc::CallbackServerContext* context,
      const inference::ServerReadyRequest* request,
      inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(
      grpc::CallbackServerContext* context,
      const inference::ModelReadyRequest* request,
      inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(
      grpc::CallbackServerContext* context,
      const inference::ServerMetadataRequest* request,
      inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(
      grpc::CallbackServerContext* context,
      const inference::ModelMetadataRequest* request,
      inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelInfer(
      grpc::CallbackServerContext* context,
      const inference::ModelInferRequest* request,
      inference::ModelInferResponse* response) override;

  // The protocol's logic, for any transport (gRPC here, HTTP/JSON in
  // OipHttpHandler).
  // Name and version (the project's, from CMake).
  inference::ServerMetadataResponse ServerInfo() const;
  bool ServerIsReady() const;
  // NOT_FOUND for an unknown model or version, INVALID_ARGUMENT for a
  // version that is not a number.
  absl::StatusOr<bool> ModelIsReady(const std::string& name,
                                    const std::string& version) const;
  absl::StatusOr<inference::ModelMetadataResponse> Metadata(
      const std::string& name, const std::string& version) const;
  // How outputs travel: raw when the inputs were raw (gRPC's rule), or
  // always typed (REST renders typed contents as JSON).
  enum class OutputForm { kLikeInputs, kTyped };
  // ModelInfer: fills `response` and calls `done` exactly once (maybe on a
  // batcher worker); `request` and `response` must stay alive until then.
  // `source` is logged with the outcome; the request's id, when set, is its
  // request id.
  void Infer(const inference::ModelInferRequest* request,
             inference::ModelInferResponse* response, absl::Duration timeout,
             std::shared_ptr<Cancellation> cancellation,
             std::function<void(absl::Status)> done,
             OutputForm form = OutputForm::kLikeInputs,
             RequestSource source = {}) const;

 private:
  const InferencePipeline* pipeline_;
  const ModelRepository* repository_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_OIP_SERVICE_H_
