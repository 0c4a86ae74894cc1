#include "server/metrics/metrics_http_server.h"

#include <utility>

namespace lineserve {

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& address, Render render, const TlsCredentials& tls) {
  HttpServerOptions options;
  options.address = address;
  options.tls = tls;
  // Scrapes are small and few: two polling threads serve any number of
  // idle connections.
  options.threads = 2;
  options.max_connections = 64;
  options.max_body_bytes = 0;
  absl::StatusOr<std::unique_ptr<HttpServer>> http = HttpServer::Start(
      options, [render = std::move(render)](const HttpRequest& request) {
        if (request.method != "GET" && request.method != "HEAD") {
          return HttpResponse{405, "text/plain", "only GET /metrics\n"};
        }
        if (request.path != "/metrics") {
          return HttpResponse{404, "text/plain", "metrics are at /metrics\n"};
        }
        return HttpResponse{200, "text/plain; version=0.0.4; charset=utf-8",
                            render()};
      });
  if (!http.ok()) return http.status();
  return std::unique_ptr<MetricsHttpServer>(
      new MetricsHttpServer(*std::move(http)));
}

}  // namespace lineserve
