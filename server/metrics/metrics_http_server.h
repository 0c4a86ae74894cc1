// The HTTP endpoint Prometheus scrapes: GET /metrics answers with what a
// callback renders, everything else with 404 (405 for other methods).
//
// Why not prometheus::Exposer: it runs civetweb, whose Debian build (1.15)
// starts every thread with a fixed 100 KiB stack, and glibc refuses to start
// a thread whose stack cannot hold the process's static TLS. LibTorch with
// OpenBLAS and glog brings more than that, so inside lineserve-server the
// Exposer never starts ("null context when constructing CivetServer").
// This server uses one std::thread with the default stack.
//
// One connection at a time, Connection: close, 5 s I/O timeout per
// connection: scrapes come every few seconds and take milliseconds, and a
// stalled client only delays the next scrape. Rendering runs on the
// server's thread.
//
// Thread-safety: port() from any thread; the destructor stops accepting,
// finishes the connection in progress and joins the thread.
#ifndef LINESERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_
#define LINESERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace lineserve {

class MetricsHttpServer {
 public:
  // Renders the body of GET /metrics (Prometheus text format 0.0.4). Called
  // on the server's thread; must be thread-safe with respect to the rest of
  // the program.
  using Render = std::function<std::string()>;

  // Listens on `address`: "host:port", "[ipv6]:port" or ":port" (every
  // interface); port 0 picks a free port. INVALID_ARGUMENT for an address
  // that does not parse or resolve, UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& address, Render render);

  ~MetricsHttpServer();

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port listened on (the one picked, for port 0).
  int port() const { return port_; }

 private:
  MetricsHttpServer(int listen_fd, int wake_read_fd, int wake_write_fd,
                    int port, Render render);

  void Serve();
  void Answer(int connection) const;

  const int listen_fd_;
  // A pipe: the destructor writes to wake the accept loop's poll.
  const int wake_read_fd_;
  const int wake_write_fd_;
  const int port_;
  const Render render_;
  std::thread thread_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_METRICS_METRICS_HTTP_SERVER_H_
