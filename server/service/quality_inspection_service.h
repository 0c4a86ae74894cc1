// lineserve.v1.QualityInspection over the callback API.
//
// A thin adapter over the inference pipeline: the request becomes an
// InferenceRequest whose one sample is the preprocessed image (decoded on the
// gRPC thread), and the outcome becomes an InspectResponse. The batcher's
// completion finishes the call from a worker thread; no gRPC thread ever
// waits for a batch.
#ifndef LINESERVE_SERVER_SERVICE_QUALITY_INSPECTION_SERVICE_H_
#define LINESERVE_SERVER_SERVICE_QUALITY_INSPECTION_SERVICE_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "lineserve/v1/quality_inspection.grpc.pb.h"
#include "server/inference/cancellation.h"
#include "server/inference/inference_observer.h"
#include "server/inference/inference_pipeline.h"

namespace lineserve {

inline constexpr char kDefaultInspectionModel[] = "quality_inspection";

// InspectStream: requests read and not yet answered on one stream, at most.
// At the bound the server stops reading that stream until an answer has
// been written, so a client that does not read its answers cannot make the
// server buffer them without limit.
inline constexpr int kMaxStreamOutstanding = 64;

class QualityInspectionService final
    : public lineserve::v1::QualityInspection::CallbackService {
 public:
  // `pipeline` and `observer` (null: none) must outlive the service.
  QualityInspectionService(const InferencePipeline* pipeline,
                           InferenceObserver* observer);

  grpc::ServerUnaryReactor* Inspect(
      grpc::CallbackServerContext* context,
      const lineserve::v1::InspectRequest* request,
      lineserve::v1::InspectResponse* response) override;

  grpc::ServerBidiReactor<lineserve::v1::InspectRequest,
                          lineserve::v1::InspectResponse>*
  InspectStream(grpc::CallbackServerContext* context) override;

  using Done =
      std::function<void(absl::Status, lineserve::v1::InspectResponse)>;

  // Which RPC a request came in on: metrics count by method, and a stream
  // needs request_id to match answers to requests.
  enum class Call { kInspect, kInspectStream };

  // Validates, preprocesses and submits one request; `done` is called
  // exactly once, maybe before this returns (on a refusal), maybe later
  // from a batcher worker. `cancellation` (may be null) covers the call.
  void Submit(const grpc::CallbackServerContext& context,
              const lineserve::v1::InspectRequest& request, Call call,
              std::shared_ptr<Cancellation> cancellation, Done done) const;

 private:
  const InferencePipeline* pipeline_;
  InferenceObserver* observer_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_QUALITY_INSPECTION_SERVICE_H_
