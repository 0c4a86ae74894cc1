// The log of requests as they finish, written where the inference pipeline
// reports every outcome (so every front end, gRPC and HTTP, is covered by
// one call): a failed request is one line at warning (error for INTERNAL,
// UNKNOWN, DATA_LOSS) with its code, method, model, version, peer, request
// id and message; a successful one a line at debug.
//
// Failure lines are rate-limited per (method, code): a flood of identical
// failures costs a few lines per second, and the next line written for the
// pair says how many were left out (suppressed=K). Text a client chose (the
// model name, request id, peer, and the message, which may quote them) is
// cut to a bound before it is logged; the logger escapes it.
//
// Thread-safe; Finished() may be called from any thread (a batcher worker
// among them) and never blocks on more than the logger's write.
#ifndef LINESERVE_SERVER_INFERENCE_REQUEST_LOG_H_
#define LINESERVE_SERVER_INFERENCE_REQUEST_LOG_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "models/base/log.h"
#include "server/common/clock.h"
#include "server/common/rate_limiter.h"

namespace lineserve {

// Where a request came from, for the request log only. Client-chosen text:
// the log cuts and escapes it.
struct RequestSource {
  // The front end that took it: "grpc", "http".
  std::string front_end;
  // The client's address as the transport reports it.
  std::string peer;
  // The client's id for the request (a request_id or id field, else an
  // x-request-id header), or empty.
  std::string request_id;
};

struct RequestLogOptions {
  // Not owned; null means Logger::Default().
  Logger* logger = nullptr;
  // Paces the failure lines; not owned, null means Clock::Real().
  Clock* clock = nullptr;
  // Failure lines per second per (method, code) on average, and at once
  // after a quiet spell.
  double failure_lines_per_second = 5;
  double failure_line_burst = 10;
  // The model name, request id and peer are cut to this many bytes (then
  // "..."); the error message to max_message_bytes.
  size_t max_client_value_bytes = 128;
  size_t max_message_bytes = 512;
};

// One finished request, as the front end and the pipeline know it. Views:
// valid for the call only.
struct FinishedRequest {
  // The log component: the front end that took the request ("grpc",
  // "http"); empty logs as "inference".
  absl::string_view front_end;
  absl::string_view method;  // "Inspect", "ModelInfer", ...
  absl::string_view model;
  int64_t version = 0;     // 0: none resolved
  absl::string_view peer;  // "ipv4:10.1.2.3:50522", or empty
  absl::string_view request_id;
  absl::Status status;
  absl::Duration duration;
};

class RequestLog {
 public:
  explicit RequestLog(const RequestLogOptions& options = {});

  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;

  void Finished(const FinishedRequest& request);

 private:
  Logger* const logger_;
  const size_t max_client_value_bytes_;
  const size_t max_message_bytes_;
  RateLimiter limiter_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_INFERENCE_REQUEST_LOG_H_
