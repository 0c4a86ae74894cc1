// A minimal HTTP/1.0 GET over loopback for tests: scrape /metrics, query
// Prometheus' API. POSIX sockets only, so the tests need no HTTP library.
#ifndef LINESERVE_TESTS_SUPPORT_HTTP_GET_H_
#define LINESERVE_TESTS_SUPPORT_HTTP_GET_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace lineserve::testing {

struct HttpResponse {
  int status = 0;  // e.g. 200
  std::string headers;
  std::string body;
};

// GET http://127.0.0.1:<port><target>. UNAVAILABLE when the connection
// fails or times out, INTERNAL for a reply that is not HTTP.
absl::StatusOr<HttpResponse> HttpGet(
    int port, const std::string& target,
    absl::Duration timeout = absl::Seconds(10));

// `method` `target` with `body` (JSON) over loopback, as HttpGet.
absl::StatusOr<HttpResponse> HttpCall(
    int port, const std::string& method, const std::string& target,
    const std::string& body, absl::Duration timeout = absl::Seconds(10));

// Percent-encodes a query parameter value (RFC 3986 unreserved kept).
std::string UrlEncode(const std::string& value);

// A port that was free on 127.0.0.1 a moment ago, for servers that cannot
// bind port 0 and report the port they got (e.g. Prometheus).
absl::StatusOr<int> PickFreePort();

}  // namespace lineserve::testing

#endif  // LINESERVE_TESTS_SUPPORT_HTTP_GET_H_
