// What every gRPC front end needs to hand a call to the inference pipeline:
// the client's remaining time, where the call came from (for the request
// log) and a unary reactor that turns gRPC's OnCancel into a Cancellation.
#ifndef LINESERVE_SERVER_SERVICE_REQUEST_SUPPORT_H_
#define LINESERVE_SERVER_SERVICE_REQUEST_SUPPORT_H_

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include <memory>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/inference/cancellation.h"
#include "server/inference/inference_pipeline.h"

namespace lineserve {

// How long the client still waits for this call: its deadline minus the
// real time now (gRPC deadlines are wall-clock instants), or
// InfiniteDuration() when it set none. Converted once, here at the wire,
// so everything behind it runs on the pipeline's injected clock.
absl::Duration TimeLeft(const grpc::CallbackServerContext& context);

// The call's source for the request log: front end "grpc", the peer gRPC
// reports, and `request_id` (the request's own id field), or when that is
// empty the call's x-request-id metadata.
RequestSource GrpcRequestSource(const grpc::CallbackServerContext& context,
                                absl::string_view request_id);

// A unary call's reactor: Finish() once; OnCancel (client gone, deadline
// passed) cancels the call's queued work at once; deletes itself when gRPC
// is done with it.
class CancellableUnaryReactor : public grpc::ServerUnaryReactor {
 public:
  CancellableUnaryReactor() : cancellation_(std::make_shared<Cancellation>()) {}

  const std::shared_ptr<Cancellation>& cancellation() const {
    return cancellation_;
  }

  void OnCancel() override { cancellation_->Cancel(); }
  void OnDone() override { delete this; }

 private:
  const std::shared_ptr<Cancellation> cancellation_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_REQUEST_SUPPORT_H_
