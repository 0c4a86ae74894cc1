// The Open Inference Protocol's HTTP/REST endpoints (and GET /metrics) over
// the same OipService logic as the gRPC front end:
//   GET  /v2                                  server metadata
//   GET  /v2/health/live | /v2/health/ready   200, or 503 when not
//   GET  /v2/models/M[/versions/V]            model metadata
//   GET  /v2/models/M[/versions/V]/ready      200, or 503 when not ready
//   POST /v2/models/M[/versions/V]/infer      the JSON tensor format, or
//        the binary tensor data extension: an Inference-Header-Content-Length
//        header gives the JSON part's length, and inputs whose
//        "parameters" hold "binary_data_size" take that many bytes from
//        the rest of the body, in order (raw: little-endian, BYTES
//        elements behind 4-byte lengths), as tritonclient.http and
//        perf_analyzer send images. Answers are JSON.
//   GET  /metrics                             Prometheus text (when given)
// Errors are {"error": "..."} with the HTTP status of the gRPC code (400
// INVALID_ARGUMENT, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED, 503 UNAVAILABLE,
// 504 DEADLINE_EXCEEDED, ...). Thread-safe; Handle blocks until the
// inference it runs has answered.
#ifndef LINESERVE_SERVER_SERVICE_OIP_HTTP_H_
#define LINESERVE_SERVER_SERVICE_OIP_HTTP_H_

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "server/http/http_server.h"
#include "server/service/oip_service.h"

namespace lineserve {

class OipHttp {
 public:
  // `oip` must outlive this; `metrics` (may be empty) renders /metrics.
  OipHttp(const OipService* oip, std::function<std::string()> metrics,
          absl::Duration infer_timeout = absl::Seconds(30))
      : oip_(oip), metrics_(std::move(metrics)), timeout_(infer_timeout) {}

  HttpResponse Handle(const HttpRequest& request) const;

 private:
  HttpResponse Infer(const std::string& model, const std::string& version,
                     const HttpRequest& request) const;

  const OipService* oip_;
  const std::function<std::string()> metrics_;
  const absl::Duration timeout_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_OIP_HTTP_H_
