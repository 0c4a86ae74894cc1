// A multi-threaded HTTP/1.1 server (Debian's libmicrohttpd) for /metrics and
// the Open Inference Protocol's REST endpoints. libmicrohttpd reads and
// writes every connection without blocking and runs a pool of polling
// threads, so a slow or idle client holds a connection slot, not a thread:
// it cannot stall the others. Connections, per-connection memory (request
// line and headers), bodies and idle time are bounded; the threads' stack
// size is set explicitly (civetweb's fixed 100 KiB cannot hold the
// thread-local storage of a process with LibTorch).
//
// The handler runs on a pool thread, once per complete request; it must be
// thread-safe and should answer within a request's time (it may block on
// inference). Start/destroy from one thread.
//
// With TLS material in the options the listener speaks HTTPS only; with a
// client CA too (mutual TLS) libmicrohttpd merely asks for a client
// certificate, so every request is checked here before the handler runs: a
// connection without a certificate signed by that CA gets 403 and is closed.
#ifndef LINESERVE_SERVER_HTTP_HTTP_SERVER_H_
#define LINESERVE_SERVER_HTTP_HTTP_SERVER_H_

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/security/tls_credentials.h"

struct MHD_Daemon;

namespace lineserve {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // without the query string
  std::string body;
  // Request headers, names in lower case.
  std::map<std::string, std::string> headers;
  // The client's address, "ipv4:10.1.2.3:50522" or "ipv6:[::1]:50522" (as
  // gRPC spells peers); empty when unknown.
  std::string peer;

  // The header's value, or "" (name in lower case).
  const std::string& Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest& request)>;

struct HttpServerOptions {
  // "host:port", "[ipv6]:port" or ":port" (every interface); the host may
  // be a name. Port 0 picks a free port (see HttpServer::port()).
  std::string address = "0.0.0.0:8000";
  // Polling threads; each serves its share of the connections.
  int threads = 4;
  // Open connections at most; more are refused at accept.
  int max_connections = 256;
  // A connection idle this long is closed.
  absl::Duration idle_timeout = absl::Seconds(10);
  // Larger request bodies get 413.
  size_t max_body_bytes = 16 << 20;
  // Per connection: request line, headers and buffers (431/413 beyond).
  size_t connection_memory_bytes = 64 << 10;
  size_t thread_stack_bytes = 1 << 20;
  // HTTPS with this certificate and key; a client CA in it makes it mutual
  // TLS (see the header comment). Empty: plaintext HTTP.
  TlsCredentials tls;
};

class HttpServer {
 public:
  // Listens and starts the threads. INVALID_ARGUMENT for a bad address,
  // UNAVAILABLE when it cannot listen (or TLS cannot be set up with the
  // options' material).
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(
      const HttpServerOptions& options, HttpHandler handler);
  // Stops accepting, closes the connections, joins the threads.
  ~HttpServer();

  int port() const { return port_; }

  // For libmicrohttpd's callbacks.
  struct Connection;
  const HttpServerOptions& options() const { return options_; }
  const HttpHandler& handler() const { return handler_; }

 private:
  HttpServer(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {}

  const HttpServerOptions options_;
  const HttpHandler handler_;
  MHD_Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_HTTP_HTTP_SERVER_H_
