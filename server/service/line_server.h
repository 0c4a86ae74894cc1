// The gRPC server: the services it is given, health checking (overall and
// per service) and, when asked for, reflection on one port; plaintext, TLS,
// or mutual TLS (clients must present a certificate signed by the
// options' client CA; the handshake refuses the others).
#ifndef LINESERVE_SERVER_SERVICE_LINE_SERVER_H_
#define LINESERVE_SERVER_SERVICE_LINE_SERVER_H_

#include <grpcpp/impl/codegen/service_type.h>
#include <grpcpp/server.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/security/tls_credentials.h"

namespace lineserve {

// One service to host, with the name health checks know it by
// ("lineserve.v1.QualityInspection").
struct HostedService {
  grpc::Service* service = nullptr;  // not owned
  std::string name;
  // The model whose readiness decides the service's health (see
  // HealthReporter); empty: serving whenever the process is.
  std::string model;
};

// Health-check names beside the services': the process is up (liveness),
// and every model in the repository has a ready version (readiness, also
// the overall "" status).
inline constexpr char kLivenessService[] = "lineserve.liveness";
inline constexpr char kReadinessService[] = "lineserve.readiness";

struct LineServerOptions {
  // host:port; port 0 picks a free port (see LineServer::port()).
  std::string address = "0.0.0.0:8500";
  // Largest request or response message, bytes; camera images must fit.
  int max_message_bytes = 16 << 20;
  // TLS with this certificate and key (mutual with a client CA); empty:
  // plaintext.
  TlsCredentials tls;
  // Serve grpc.reflection (grpcurl lists and describes the services without
  // the protos): convenient in development, a map of the API for anyone
  // who can connect in production, so off unless asked for.
  bool reflection = false;
};

// Thread-safe: Shutdown() may be called from any thread (e.g. a signal
// watcher) while Wait() blocks in another.
class LineServer {
 public:
  // Builds and starts the server hosting `services`, which must outlive it.
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<LineServer>> Start(
      const LineServerOptions& options,
      const std::vector<HostedService>& services);

  ~LineServer();

  int port() const { return port_; }

  // Sets the grpc.health.v1 status of `service` ("" is the overall one).
  // Ignored once Shutdown() has begun: then everything is NOT_SERVING.
  void SetServingStatus(const std::string& service, bool serving);

  // Health goes NOT_SERVING, new calls are refused, calls in flight get
  // until `grace` to finish (then they are cancelled). Idempotent.
  void Shutdown(absl::Duration grace);

  // Blocks until Shutdown() has finished.
  void Wait();

 private:
  LineServer() = default;

  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  absl::Mutex health_mu_;
  bool shutting_down_ ABSL_GUARDED_BY(health_mu_) = false;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_LINE_SERVER_H_
