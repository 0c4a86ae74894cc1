// lineserve.v1.QualityInspection over the callback API.
//
// Handlers decode and preprocess on the gRPC thread, hand the sample to the
// model's batcher and return at once; the batcher's completion finishes the
// call from a worker thread. No gRPC thread ever waits for a batch.
#ifndef LINESERVE_SERVER_SERVICE_QUALITY_INSPECTION_SERVICE_H_
#define LINESERVE_SERVER_SERVICE_QUALITY_INSPECTION_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "lineserve/v1/quality_inspection.grpc.pb.h"
#include "server/common/clock.h"
#include "server/repository/model_repository.h"
#include "server/service/service_observer.h"

namespace lineserve {

inline constexpr char kDefaultInspectionModel[] = "quality_inspection";

class QualityInspectionService final
    : public lineserve::v1::QualityInspection::CallbackService {
 public:
  // `repository`, `clock` and `observer` must outlive the service.
  QualityInspectionService(const ModelRepository* repository, Clock* clock,
                           ServiceObserver* observer);

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
  // from a batcher worker. `context` must stay alive until then.
  void Submit(const grpc::CallbackServerContext& context,
              const lineserve::v1::InspectRequest& request, Call call,
              Done done);

 private:
  const ModelRepository* repository_;
  Clock* clock_;
  ServiceObserver* observer_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_QUALITY_INSPECTION_SERVICE_H_
