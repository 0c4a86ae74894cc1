// The gRPC server: lineserve's services, health checking and reflection on
// one port.
#ifndef LINESERVE_SERVER_SERVICE_LINE_SERVER_H_
#define LINESERVE_SERVER_SERVICE_LINE_SERVER_H_

#include <grpcpp/server.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/common/clock.h"
#include "server/repository/model_repository.h"
#include "server/service/efficiency_prediction_service.h"
#include "server/service/model_service.h"
#include "server/service/quality_inspection_service.h"
#include "server/service/service_observer.h"

namespace lineserve {

struct LineServerOptions {
  // host:port; port 0 picks a free port (see LineServer::port()).
  std::string address = "0.0.0.0:8500";
  // Largest request or response message, bytes; camera images must fit.
  int max_message_bytes = 16 << 20;
  Clock* clock = Clock::Real();
  // Not owned; null for none.
  ServiceObserver* observer = nullptr;
};

// Thread-safe: Shutdown() may be called from any thread (e.g. a signal
// watcher) while Wait() blocks in another.
class LineServer {
 public:
  // Builds and starts the server; `repository` must outlive it.
  static absl::StatusOr<std::unique_ptr<LineServer>> Start(
      const LineServerOptions& options, ModelRepository* repository);

  ~LineServer();

  int port() const { return port_; }

  // Health goes NOT_SERVING, new calls are refused, calls in flight get
  // until `grace` to finish (then they are cancelled). Idempotent.
  void Shutdown(absl::Duration grace);

  // Blocks until Shutdown() has finished.
  void Wait();

 private:
  LineServer() = default;

  ServiceObserver* observer_ = nullptr;
  std::unique_ptr<QualityInspectionService> inspection_;
  std::unique_ptr<EfficiencyPredictionService> efficiency_;
  std::unique_ptr<ModelService> models_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_LINE_SERVER_H_
