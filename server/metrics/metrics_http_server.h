// The HTTP endpoint Prometheus scrapes (--metrics-address): GET /metrics
// answers with what a callback renders; other paths get 404, other methods
// 405.
//
// It is the same multi-threaded libmicrohttpd listener as the Open
// Inference Protocol's (server/http), restricted to /metrics: an idle or
// slow client holds one connection slot, never the scrape. (Not
// prometheus::Exposer: its civetweb starts threads with a fixed 100 KiB
// stack, which cannot hold the static TLS of a process with LibTorch, so it
// never starts inside lineserve-server.)
//
// Thread-safety: port() from any thread; the destructor stops accepting,
// closes the connections and joins the threads.
#ifndef LINESERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_
#define LINESERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/http/http_server.h"
#include "server/security/tls_credentials.h"

namespace lineserve {

class MetricsHttpServer {
 public:
  // Renders the body of GET /metrics (Prometheus text format 0.0.4). Called
  // on the listener's threads, possibly at once: must be thread-safe.
  using Render = std::function<std::string()>;

  // Listens on `address`: "host:port", "[ipv6]:port" or ":port" (every
  // interface); port 0 picks a free port. With `tls`, HTTPS only (mutual
  // with a client CA: scrapers present a client certificate).
  // INVALID_ARGUMENT for an address that does not parse or resolve,
  // UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, Render render,
      const TlsCredentials& tls = {});

  // The port listened on (the one picked, for port 0).
  int port() const { return http_->port(); }

 private:
  explicit MetricsHttpServer(std::unique_ptr<HttpServer> http)
      : http_(std::move(http)) {}

  std::unique_ptr<HttpServer> http_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_
