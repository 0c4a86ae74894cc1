#include "server/metrics/server_metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <iterator>
#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "models/config/model_config.h"
#include "server/metrics/label_limiter.h"
#include "server/metrics/metrics_http_server.h"
#include "server/metrics/process_stats.h"

namespace lineserve {
namespace {

namespace pm = prometheus;

// Histogram buckets, chosen for this workload (README.md, "Metrics").
// Histograms rather than summaries: buckets add up across replicas, so
// histogram_quantile over sum by (le) gives a fleet-wide quantile.
//
// Request duration: CPU inference takes 5-400 ms end to end, plus queueing.
// Steps of about 1.5x between 5 ms and 500 ms keep the error of an
// interpolated p50/p95/p99 within a third of the value there; the tail
// buckets up to 10 s still place timeouts and stalls.
constexpr double kRequestSeconds[] = {
    0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.035, 0.05, 0.075,
    0.1,   0.15,   0.2,   0.3,    0.4,  0.5,   0.75,  1,     2.5,  10};
// Compute (one Backend::Run, a whole batch): the same range without
// queueing; small tabular models finish well under a millisecond.
constexpr double kComputeSeconds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025,
    0.035,  0.05,    0.075,  0.1,   0.15,   0.2,   0.3,    0.4,  0.6,   1};
// Queue wait: from 0.1 ms (an idle server answering at once) to the
// configured max_queue_delay (a few ms) and up to 1 s under overload.
constexpr double kQueueSeconds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                    0.005,  0.01,    0.025,  0.05,  0.1,
                                    0.25,   0.5,     1,      2.5};
// Formed batch sizes: powers of two up to the largest max_batch_size used.
constexpr double kBatchSizes[] = {1, 2, 4, 8, 16, 32, 64, 128};
// Predicted efficiency (actual / standard output): plants run between about
// 0.3 and 1.0 and above 1 on good days; finer steps where targets sit.
constexpr double kEfficiency[] = {0.1,  0.2, 0.3,  0.4, 0.5,  0.6,
                                  0.65, 0.7, 0.75, 0.8, 0.85, 0.9,
                                  0.95, 1,   1.05, 1.1, 1.2};

template <size_t N>
pm::Histogram::BucketBoundaries Buckets(const double (&bounds)[N]) {
  return pm::Histogram::BucketBoundaries(std::begin(bounds), std::end(bounds));
}

constexpr char kNoVersion[] = "none";
constexpr char kUnknownModel[] = "unknown";

std::string VersionLabel(int64_t version) {
  return version > 0 ? absl::StrCat(version) : kNoVersion;
}

std::string CodeLabel(absl::StatusCode code) {
  // Abseil's names are gRPC's ("INVALID_ARGUMENT"); "" for codes outside
  // the canonical set.
  std::string name = absl::StatusCodeToString(code);
  return name.empty() ? "UNKNOWN" : name;
}

// Histograms are looked up by labels once and then reused: Family::Add
// builds a whole histogram (its buckets included) on every call before it
// finds the existing one.
class HistogramSeries {
 public:
  HistogramSeries(pm::Family<pm::Histogram>& family,
                  pm::Histogram::BucketBoundaries buckets)
      : family_(family), buckets_(std::move(buckets)) {}

  pm::Histogram& Get(const pm::Labels& labels) {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = series_.try_emplace(labels, nullptr);
    if (inserted) it->second = &family_.Add(labels, buckets_);
    return *it->second;
  }

 private:
  pm::Family<pm::Histogram>& family_;
  const pm::Histogram::BucketBoundaries buckets_;
  absl::Mutex mu_;
  std::map<pm::Labels, pm::Histogram*> series_ ABSL_GUARDED_BY(mu_);
};

// Families computed when scraped, beside the registry's.
class FunctionCollectable final : public pm::Collectable {
 public:
  using Collector = std::function<std::vector<pm::MetricFamily>()>;
  explicit FunctionCollectable(Collector collect)
      : collect_(std::move(collect)) {}
  std::vector<pm::MetricFamily> Collect() const override { return collect_(); }

 private:
  const Collector collect_;
};

pm::MetricFamily NewFamily(std::string name, std::string help,
                           pm::MetricType type) {
  pm::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(pm::MetricFamily& family, double value,
               std::vector<pm::ClientMetric::Label> labels = {}) {
  pm::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == pm::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

pm::MetricFamily OneSample(std::string name, std::string help,
                           pm::MetricType type, double value) {
  pm::MetricFamily family = NewFamily(std::move(name), std::move(help), type);
  AddSample(family, value);
  return family;
}

std::vector<pm::MetricFamily> CollectProcess() {
  absl::StatusOr<ProcessStats> stats = ReadProcessStats();
  // A scrape never fails for want of /proc: the families are left out.
  if (!stats.ok()) return {};
  std::vector<pm::MetricFamily> families;
  families.push_back(OneSample("process_cpu_seconds_total",
                               "Total user and system CPU time spent in "
                               "seconds.",
                               pm::MetricType::Counter, stats->cpu_seconds));
  families.push_back(OneSample(
      "process_resident_memory_bytes", "Resident memory size in bytes.",
      pm::MetricType::Gauge, stats->resident_memory_bytes));
  families.push_back(
      OneSample("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                pm::MetricType::Gauge, stats->virtual_memory_bytes));
  families.push_back(OneSample("process_open_fds",
                               "Number of open file descriptors.",
                               pm::MetricType::Gauge, stats->open_fds));
  if (stats->max_fds > 0) {  // not for an unlimited RLIMIT_NOFILE
    families.push_back(OneSample("process_max_fds",
                                 "Maximum number of open file descriptors.",
                                 pm::MetricType::Gauge, stats->max_fds));
  }
  families.push_back(
      OneSample("process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                pm::MetricType::Gauge, stats->start_time_seconds));
  return families;
}

// One model version's batcher metrics. The series pointers stay valid as
// long as the registry (ServerMetrics outlives the repository).
class VersionObserver final : public BatcherObserver {
 public:
  struct Series {
    pm::Counter* inferences;
    pm::Counter* executions;
    pm::Histogram* queue_duration;
    pm::Histogram* compute_duration;
    pm::Histogram* batch_size;
    pm::Gauge* queue_depth;
  };

  explicit VersionObserver(Series series) : series_(series) {}

  void OnBatch(int batch_size, absl::Duration compute_time) override {
    series_.executions->Increment();
    series_.inferences->Increment(batch_size);
    series_.compute_duration->Observe(absl::ToDoubleSeconds(compute_time));
    series_.batch_size->Observe(batch_size);
  }

  void OnQueueDepth(int depth) override { series_.queue_depth->Set(depth); }

  void OnTaskDone(const absl::Status& status,
                  absl::Duration queue_time) override {
    // Tasks refused at Submit never waited: their zero would only pull the
    // queue-time quantiles down. Their refusals show in requests_total.
    const bool refused =
        queue_time == absl::ZeroDuration() &&
        (absl::IsResourceExhausted(status) || absl::IsUnavailable(status) ||
         absl::IsInvalidArgument(status));
    if (!refused) {
      series_.queue_duration->Observe(absl::ToDoubleSeconds(queue_time));
    }
  }

 private:
  const Series series_;
};

}  // namespace

class ServerMetrics::Impl {
 public:
  explicit Impl(ServerMetricsOptions& options)
      : lines_({options.allowed_lines, options.max_label_values}),
        stations_({options.allowed_stations, options.max_label_values}),
        gpu_(std::move(options.gpu)) {
    collectables_.push_back(registry_);
    collectables_.push_back(std::make_shared<FunctionCollectable>(
        [this] { return CollectModels(); }));
    if (options.process_metrics) {
      collectables_.push_back(
          std::make_shared<FunctionCollectable>(CollectProcess));
    }
    if (gpu_ != nullptr) {
      collectables_.push_back(std::make_shared<FunctionCollectable>(
          [this] { return CollectGpu(); }));
    }
  }

  absl::Status Serve(const std::string& address, const TlsCredentials& tls) {
    auto http = MetricsHttpServer::Start(
        address, [this] { return Render(); }, tls);
    if (!http.ok()) return http.status();
    http_ = *std::move(http);
    return absl::OkStatus();
  }

  int port() const { return http_ == nullptr ? 0 : http_->port(); }

  std::string Render() const {
    std::vector<pm::MetricFamily> families;
    for (const auto& collectable : collectables_) {
      std::vector<pm::MetricFamily> more = collectable->Collect();
      std::move(more.begin(), more.end(), std::back_inserter(families));
    }
    return pm::TextSerializer().Serialize(families);
  }

  void SetModelStatusSource(ModelStatusSource source) {
    absl::MutexLock lock(&source_mu_);
    source_ = std::move(source);
  }

  std::unique_ptr<BatcherObserver> NewBatcherObserver(
      const lineserve::v1::ModelConfig& config, int64_t version) {
    Know(config.name());
    const pm::Labels labels{{"model", config.name()},
                            {"version", VersionLabel(version)}};
    VersionObserver::Series series;
    series.inferences = &inferences_.Add(labels);
    series.executions = &executions_.Add(labels);
    series.queue_duration = &queue_duration_.Get(labels);
    series.compute_duration = &compute_duration_.Get(labels);
    series.batch_size = &batch_size_.Get(labels);
    series.queue_depth = &queue_depth_.Add(labels);
    queue_capacity_.Add(labels).Set(MaxQueueSize(config));
    return std::make_unique<VersionObserver>(series);
  }

  void OnRequest(absl::string_view method, absl::string_view model,
                 int64_t version, const absl::Status& status,
                 absl::Duration duration) {
    // An unresolved request names whatever the client sent: only models the
    // repository knows become labels.
    std::string model_label(model);
    if (version <= 0 && !Known(model)) model_label = kUnknownModel;
    const pm::Labels labels{{"method", std::string(method)},
                            {"model", model_label},
                            {"version", VersionLabel(version)}};
    request_duration_.Get(labels).Observe(absl::ToDoubleSeconds(duration));
    pm::Labels with_code = labels;
    with_code.emplace("code", CodeLabel(status.code()));
    requests_.Add(with_code).Increment();
  }

  void OnInspection(absl::string_view line, absl::string_view station,
                    bool defect, absl::string_view defect_class) {
    std::string class_label = "none";
    if (defect) {
      // Classes come from the model's labels, a bounded set.
      class_label =
          defect_class.empty() ? kUnknownLabelValue : std::string(defect_class);
    }
    inspections_
        .Add({{"line", Limit(lines_, line_folded_, line)},
              {"station", Limit(stations_, station_folded_, station)},
              {"verdict", defect ? "defect" : "ok"},
              {"defect_class", class_label}})
        .Increment();
  }

  void OnImageQualityIssue(absl::string_view line, absl::string_view station,
                           absl::string_view issue) {
    // Issues are preprocess::ImageQualityIssueName's, a bounded set.
    image_quality_issues_
        .Add({{"line", Limit(lines_, line_folded_, line)},
              {"station", Limit(stations_, station_folded_, station)},
              {"issue", std::string(issue)}})
        .Increment();
  }

  void OnPrediction(absl::string_view line, double efficiency) {
    efficiency_.Get({{"line", Limit(lines_, line_folded_, line)}})
        .Observe(efficiency);
  }

  void OnVersionLoaded(absl::string_view model, const absl::Status& status) {
    Know(model);
    const pm::Labels labels{{"model", std::string(model)}};
    // Both counters start at 0 with the model, so rate() and increase()
    // see the first failure or reload.
    pm::Counter& failures = load_failures_.Add(labels);
    reloads_.Add(labels);
    if (!status.ok()) failures.Increment();
  }

  void OnAdminRefused(absl::string_view method, absl::string_view reason) {
    // Both come from a fixed set in ModelService, never from the caller.
    admin_refused_
        .Add({{"method", std::string(method)}, {"reason", std::string(reason)}})
        .Increment();
  }

  void OnReload(absl::string_view model) {
    // Reload() of a name with no folder loads nothing and the name stays
    // unknown: admin input must not become a label.
    reloads_.Add({{"model", Known(model) ? std::string(model) : kUnknownModel}})
        .Increment();
  }

 private:
  static std::string Limit(LabelLimiter& limiter, pm::Counter& folded,
                           absl::string_view value) {
    LabelLimiter::Result result = limiter.Limit(value);
    if (result.folded) folded.Increment();
    return std::move(result.value);
  }

  void Know(absl::string_view model) {
    absl::MutexLock lock(&known_mu_);
    known_models_.emplace(model);
  }

  bool Known(absl::string_view model) const {
    absl::MutexLock lock(&known_mu_);
    return known_models_.contains(model);
  }

  std::vector<pm::MetricFamily> CollectModels() const {
    pm::MetricFamily ready =
        NewFamily("lineserve_model_ready",
                  "1 when the model version is loaded and serving, else 0.",
                  pm::MetricType::Gauge);
    int models_loaded = 0;
    {
      // Held while the source runs: SetModelStatusSource waits for it.
      absl::ReaderMutexLock lock(&source_mu_);
      if (source_) {
        for (const lineserve::v1::ModelStatus& model : source_()) {
          if (model.default_version() != 0) ++models_loaded;
          for (const lineserve::v1::VersionStatus& version : model.versions()) {
            AddSample(ready,
                      version.state() == lineserve::v1::VERSION_STATE_READY
                          ? 1.0
                          : 0.0,
                      {{"model", model.name()},
                       {"version", VersionLabel(version.version())}});
          }
        }
      }
    }
    std::vector<pm::MetricFamily> families;
    if (!ready.metric.empty()) families.push_back(std::move(ready));
    families.push_back(
        OneSample("lineserve_models_loaded",
                  "Models with at least one version loaded and serving.",
                  pm::MetricType::Gauge, models_loaded));
    return families;
  }

  std::vector<pm::MetricFamily> CollectGpu() const {
    pm::MetricFamily used =
        NewFamily("lineserve_gpu_memory_used_bytes",
                  "GPU memory in use on the device, bytes (NVML).",
                  pm::MetricType::Gauge);
    pm::MetricFamily total = NewFamily(
        "lineserve_gpu_memory_total_bytes",
        "GPU memory on the device, bytes (NVML).", pm::MetricType::Gauge);
    for (const GpuMemory& device : gpu_->Read()) {
      const std::string index = absl::StrCat(device.device);
      AddSample(used, static_cast<double>(device.used_bytes),
                {{"device", index}});
      AddSample(total, static_cast<double>(device.total_bytes),
                {{"device", index}});
    }
    if (used.metric.empty()) return {};
    return {std::move(used), std::move(total)};
  }

  const std::shared_ptr<pm::Registry> registry_ =
      std::make_shared<pm::Registry>();

  pm::Family<pm::Counter>& requests_ =
      pm::BuildCounter()
          .Name("lineserve_requests_total")
          .Help(
              "Requests answered, by gRPC method, model, version and gRPC "
              "status code.")
          .Register(*registry_);
  pm::Family<pm::Histogram>& request_duration_family_ =
      pm::BuildHistogram()
          .Name("lineserve_request_duration_seconds")
          .Help("Time from receiving a request to answering it, seconds.")
          .Register(*registry_);
  pm::Family<pm::Counter>& inferences_ =
      pm::BuildCounter()
          .Name("lineserve_inferences_total")
          .Help("Samples computed (rows or images), summed over batches.")
          .Register(*registry_);
  pm::Family<pm::Counter>& executions_ =
      pm::BuildCounter()
          .Name("lineserve_executions_total")
          .Help("Model executions (batches run).")
          .Register(*registry_);
  pm::Family<pm::Histogram>& queue_duration_family_ =
      pm::BuildHistogram()
          .Name("lineserve_queue_duration_seconds")
          .Help("Time a request waited in the batch queue, seconds.")
          .Register(*registry_);
  pm::Family<pm::Histogram>& compute_duration_family_ =
      pm::BuildHistogram()
          .Name("lineserve_compute_duration_seconds")
          .Help("Time one batch took to compute, seconds.")
          .Register(*registry_);
  pm::Family<pm::Histogram>& batch_size_family_ =
      pm::BuildHistogram()
          .Name("lineserve_batch_size")
          .Help("Samples per executed batch.")
          .Register(*registry_);
  pm::Family<pm::Gauge>& queue_depth_ =
      pm::BuildGauge()
          .Name("lineserve_queue_depth")
          .Help("Requests waiting in the batch queue.")
          .Register(*registry_);
  pm::Family<pm::Gauge>& queue_capacity_ =
      pm::BuildGauge()
          .Name("lineserve_queue_capacity")
          .Help(
              "Bound of the batch queue (max_queue_size); a full queue "
              "refuses with RESOURCE_EXHAUSTED.")
          .Register(*registry_);
  pm::Family<pm::Counter>& load_failures_ =
      pm::BuildCounter()
          .Name("lineserve_model_load_failures_total")
          .Help("Model versions (or whole models) that failed to load.")
          .Register(*registry_);
  pm::Family<pm::Counter>& reloads_ =
      pm::BuildCounter()
          .Name("lineserve_model_reloads_total")
          .Help("Reloads of a model requested, successful or not.")
          .Register(*registry_);
  pm::Family<pm::Counter>& admin_refused_ =
      pm::BuildCounter()
          .Name("lineserve_admin_requests_refused_total")
          .Help(
              "Model-control calls refused: no admin token configured, a "
              "missing or wrong token, or not allowed in the control mode.")
          .Register(*registry_);
  pm::Family<pm::Counter>& inspections_ =
      pm::BuildCounter()
          .Name("lineserve_inspections_total")
          .Help(
              "Inspection verdicts by line, station, verdict and defect "
              "class.")
          .Register(*registry_);
  pm::Family<pm::Counter>& image_quality_issues_ =
      pm::BuildCounter()
          .Name("lineserve_image_quality_issues_total")
          .Help(
              "Frames whose camera check failed (blank, too_small, "
              "wrong_aspect) by line and station: the verdicts on them are "
              "not to be trusted.")
          .Register(*registry_);
  pm::Family<pm::Histogram>& efficiency_family_ =
      pm::BuildHistogram()
          .Name("lineserve_predicted_efficiency")
          .Help("Predicted line efficiency (actual / standard output).")
          .Register(*registry_);
  pm::Family<pm::Counter>& folded_ =
      pm::BuildCounter()
          .Name("lineserve_label_values_folded_total")
          .Help(
              "Label values from requests exported as \"other\" because "
              "they are not allowed or over the cap, by label.")
          .Register(*registry_);

  HistogramSeries request_duration_{request_duration_family_,
                                    Buckets(kRequestSeconds)};
  HistogramSeries queue_duration_{queue_duration_family_,
                                  Buckets(kQueueSeconds)};
  HistogramSeries compute_duration_{compute_duration_family_,
                                    Buckets(kComputeSeconds)};
  HistogramSeries batch_size_{batch_size_family_, Buckets(kBatchSizes)};
  HistogramSeries efficiency_{efficiency_family_, Buckets(kEfficiency)};
  pm::Counter& line_folded_ = folded_.Add({{"label", "line"}});
  pm::Counter& station_folded_ = folded_.Add({{"label", "station"}});

  LabelLimiter lines_;
  LabelLimiter stations_;
  const std::unique_ptr<GpuMemoryReader> gpu_;

  mutable absl::Mutex known_mu_;
  absl::flat_hash_set<std::string> known_models_ ABSL_GUARDED_BY(known_mu_);

  mutable absl::Mutex source_mu_;
  ModelStatusSource source_ ABSL_GUARDED_BY(source_mu_);

  // The registry first, then the scrape-time families.
  std::vector<std::shared_ptr<pm::Collectable>> collectables_;
  // Last: destroyed first, so no scrape runs while the rest goes.
  std::unique_ptr<MetricsHttpServer> http_;
};

absl::StatusOr<std::unique_ptr<ServerMetrics>> ServerMetrics::Create(
    ServerMetricsOptions options) {
  if (options.max_label_values < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_label_values must be >= 0, got ", options.max_label_values));
  }
  auto impl = std::make_unique<Impl>(options);
  if (!options.address.empty()) {
    if (absl::Status status = impl->Serve(options.address, options.tls);
        !status.ok()) {
      return status;
    }
  }
  return std::unique_ptr<ServerMetrics>(new ServerMetrics(std::move(impl)));
}

ServerMetrics::ServerMetrics(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

ServerMetrics::~ServerMetrics() = default;

int ServerMetrics::port() const { return impl_->port(); }

ServerMetrics::BatcherObserverFactoryFn
ServerMetrics::batcher_observer_factory() {
  Impl* impl = impl_.get();
  return [impl](const lineserve::v1::ModelConfig& config, int64_t version) {
    return impl->NewBatcherObserver(config, version);
  };
}

void ServerMetrics::SetModelStatusSource(ModelStatusSource source) {
  impl_->SetModelStatusSource(std::move(source));
}

std::string ServerMetrics::Render() const { return impl_->Render(); }

void ServerMetrics::OnRequest(absl::string_view method, absl::string_view model,
                              int64_t version, const absl::Status& status,
                              absl::Duration duration) {
  impl_->OnRequest(method, model, version, status, duration);
}

void ServerMetrics::OnInspection(absl::string_view line,
                                 absl::string_view station, bool defect,
                                 absl::string_view defect_class) {
  impl_->OnInspection(line, station, defect, defect_class);
}

void ServerMetrics::OnImageQualityIssue(absl::string_view line,
                                        absl::string_view station,
                                        absl::string_view issue) {
  impl_->OnImageQualityIssue(line, station, issue);
}

void ServerMetrics::OnPrediction(absl::string_view line, double efficiency) {
  impl_->OnPrediction(line, efficiency);
}

void ServerMetrics::OnVersionLoaded(absl::string_view model,
                                    int64_t /*version*/,
                                    const absl::Status& status) {
  impl_->OnVersionLoaded(model, status);
}

void ServerMetrics::OnReload(absl::string_view model,
                             const absl::Status& /*status*/) {
  impl_->OnReload(model);
}

void ServerMetrics::OnAdminRefused(absl::string_view method,
                                   absl::string_view reason) {
  impl_->OnAdminRefused(method, reason);
}

}  // namespace lineserve
