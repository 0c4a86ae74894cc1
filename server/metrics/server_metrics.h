// Prometheus metrics for lineserve-server: the one place that knows
// prometheus-cpp (this header does not include it, so the rest of the
// server builds without its headers).
//
// ServerMetrics listens to the server's seams and exports what they report:
//   - InferenceObserver (the gRPC services): requests by method, model,
//     version and code, request duration, inspections by line, station,
//     verdict and defect class, predicted efficiency by line;
//   - the BatcherObservers it makes for each model version
//     (batcher_observer_factory(), for ModelRepositoryOptions): inferences,
//     executions, queue and compute duration, batch size, queue depth and
//     capacity;
//   - RepositoryObserver (the model repository): load failures, reloads;
//   - a model status source read at scrape time (SetModelStatusSource):
//     model ready state and models loaded, so a version that was replaced or
//     unloaded stops reporting ready the moment it goes;
//   - /proc at scrape time: the standard process_* metrics;
//   - an optional GpuMemoryReader at scrape time: GPU memory per device.
// The metric names and buckets are listed in server_metrics.cc and README.md.
//
// Cardinality: line and station come from requests and pass through a
// LabelLimiter each; a model label is a model the repository knows (else
// "unknown"), a version label a version that answered (else "none").
//
// Ownership and threads: every method may be called from any thread at the
// same time. ServerMetrics must outlive the repository and servers it
// observes (their observers point into it) and the model status source must
// stay valid until replaced: clear it before destroying what it reads.
#ifndef LINESERVE_SERVER_METRICS_SERVER_METRICS_H_
#define LINESERVE_SERVER_METRICS_SERVER_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lineserve/v1/model_config.pb.h"
#include "lineserve/v1/model_service.pb.h"
#include "server/batching/dynamic_batcher.h"
#include "server/inference/inference_observer.h"
#include "server/metrics/gpu_memory.h"
#include "server/repository/repository_observer.h"
#include "server/security/tls_credentials.h"

namespace lineserve {

inline constexpr int kDefaultMaxLabelValues = 32;

struct ServerMetricsOptions {
  // host:port where GET /metrics is served, e.g. "0.0.0.0:8502"; port 0
  // picks a free port (see port()). Empty: no HTTP endpoint (Render() still
  // works, for tests and tools).
  std::string address;
  // HTTPS on `address` (mutual TLS with a client CA); empty: plaintext.
  TlsCredentials tls;

  // Allow-lists for the line and station labels; empty: keep the first
  // max_label_values distinct values seen. Other values export as "other".
  std::vector<std::string> allowed_lines;
  std::vector<std::string> allowed_stations;
  int max_label_values = kDefaultMaxLabelValues;

  // Export process_* metrics read from /proc at scrape time.
  bool process_metrics = true;

  // GPU memory source; null exports no lineserve_gpu_* families.
  std::unique_ptr<GpuMemoryReader> gpu;
};

class ServerMetrics final : public InferenceObserver,
                            public RepositoryObserver {
 public:
  // Statuses of every model, as ModelRepository::List() gives them.
  using ModelStatusSource =
      std::function<std::vector<lineserve::v1::ModelStatus>()>;
  // Same signature as BatcherObserverFactory (model_repository.h).
  using BatcherObserverFactoryFn =
      std::function<std::unique_ptr<BatcherObserver>(
          const lineserve::v1::ModelConfig& config, int64_t version)>;

  // Registers the metric families and, when options.address is set, starts
  // serving /metrics there: UNAVAILABLE when the address cannot be bound,
  // INVALID_ARGUMENT for a negative max_label_values.
  static absl::StatusOr<std::unique_ptr<ServerMetrics>> Create(
      ServerMetricsOptions options);

  // Stops the HTTP endpoint (waiting for scrapes in progress).
  ~ServerMetrics() override;

  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // The port /metrics is served on; 0 when there is no HTTP endpoint.
  int port() const;

  // For ModelRepositoryOptions::observer_factory: one observer per model
  // version, writing that version's batcher metrics.
  BatcherObserverFactoryFn batcher_observer_factory();

  // Where model ready state and models loaded come from at scrape time;
  // null (the default) exports every model as not loaded. Waits for a
  // scrape reading the previous source to finish, so after it returns the
  // previous source is never called again.
  void SetModelStatusSource(ModelStatusSource source);

  // The exposition text GET /metrics would return now.
  std::string Render() const;

  // InferenceObserver.
  void OnRequest(absl::string_view method, absl::string_view model,
                 int64_t version, const absl::Status& status,
                 absl::Duration duration) override;
  void OnImageQualityIssue(absl::string_view line, absl::string_view station,
                           absl::string_view issue) override;
  void OnInspection(absl::string_view line, absl::string_view station,
                    bool defect, absl::string_view defect_class) override;
  void OnPrediction(absl::string_view line, double efficiency) override;
  void OnAdminRefused(absl::string_view method,
                      absl::string_view reason) override;

  // RepositoryObserver.
  void OnVersionLoaded(absl::string_view model, int64_t version,
                       const absl::Status& status) override;
  void OnReload(absl::string_view model, const absl::Status& status) override;

 private:
  class Impl;  // everything that touches prometheus-cpp
  explicit ServerMetrics(std::unique_ptr<Impl> impl);

  const std::unique_ptr<Impl> impl_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_METRICS_SERVER_METRICS_H_
