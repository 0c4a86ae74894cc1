#include "server/metrics/server_metrics.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/config/model_config.h"
#include "tests/support/exposition.h"
#include "tests/support/http_get.h"

namespace lineserve {
namespace {

using lineserve::v1::ModelConfig;
using lineserve::v1::ModelStatus;
using testing::Exposition;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;
using testing::ParseExposition;

std::unique_ptr<ServerMetrics> NewMetrics(ServerMetricsOptions options = {}) {
  auto metrics = ServerMetrics::Create(std::move(options));
  EXPECT_TRUE(metrics.ok()) << metrics.status();
  return metrics.ok() ? *std::move(metrics) : nullptr;
}

Exposition Scrape(const ServerMetrics& metrics) {
  return ParseExposition(metrics.Render());
}

ModelConfig Config(const std::string& name, int max_queue_size) {
  ModelConfig config;
  config.set_name(name);
  config.mutable_dynamic_batching()->set_max_queue_size(max_queue_size);
  return config;
}

ModelStatus Status(
    const std::string& name,
    std::vector<std::pair<int64_t, lineserve::v1::VersionState>> versions) {
  ModelStatus status;
  status.set_name(name);
  for (const auto& [version, state] : versions) {
    auto* v = status.add_versions();
    v->set_version(version);
    v->set_state(state);
    if (state == lineserve::v1::VERSION_STATE_READY) {
      status.set_default_version(version);
    }
  }
  return status;
}

TEST(ServerMetricsTest, CountsRequestsByMethodModelVersionAndCode) {
  auto metrics = NewMetrics();
  metrics->OnVersionLoaded("quality", 1, absl::OkStatus());
  for (int i = 0; i < 3; ++i) {
    metrics->OnRequest("Inspect", "quality", 1, absl::OkStatus(),
                       absl::Milliseconds(20));
  }
  metrics->OnRequest("Inspect", "quality", 1,
                     absl::InvalidArgumentError("image"),
                     absl::Microseconds(300));
  // Unresolved: a known model keeps its name, anything else is "unknown".
  metrics->OnRequest("Inspect", "quality", 0, absl::UnavailableError("x"),
                     absl::Microseconds(100));
  metrics->OnRequest("Predict", "made-up-1", 0, absl::NotFoundError("x"),
                     absl::Microseconds(100));
  metrics->OnRequest("Predict", "made-up-2", 0, absl::NotFoundError("x"),
                     absl::Microseconds(100));

  const Exposition e = Scrape(*metrics);
  EXPECT_EQ(e.types.at("lineserve_requests_total"), "counter");
  EXPECT_EQ(e.types.at("lineserve_request_duration_seconds"), "histogram");
  EXPECT_THAT(e.Value("lineserve_requests_total", {{"method", "Inspect"},
                                                   {"model", "quality"},
                                                   {"version", "1"},
                                                   {"code", "OK"}}),
              Optional(3.0));
  EXPECT_THAT(
      e.Value("lineserve_requests_total", {{"method", "Inspect"},
                                           {"model", "quality"},
                                           {"version", "1"},
                                           {"code", "INVALID_ARGUMENT"}}),
      Optional(1.0));
  EXPECT_THAT(e.Value("lineserve_requests_total", {{"method", "Inspect"},
                                                   {"model", "quality"},
                                                   {"version", "none"},
                                                   {"code", "UNAVAILABLE"}}),
              Optional(1.0));
  EXPECT_THAT(e.Value("lineserve_requests_total", {{"method", "Predict"},
                                                   {"model", "unknown"},
                                                   {"version", "none"},
                                                   {"code", "NOT_FOUND"}}),
              Optional(2.0));
  const testing::Labels inspect_v1{
      {"method", "Inspect"}, {"model", "quality"}, {"version", "1"}};
  EXPECT_THAT(e.Value("lineserve_request_duration_seconds_count", inspect_v1),
              Optional(4.0));
  EXPECT_NEAR(*e.Value("lineserve_request_duration_seconds_sum", inspect_v1),
              0.0603, 1e-9);
  testing::Labels le = inspect_v1;
  le["le"] = "0.01";
  EXPECT_THAT(e.Value("lineserve_request_duration_seconds_bucket", le),
              Optional(1.0));
  le["le"] = "0.025";
  EXPECT_THAT(e.Value("lineserve_request_duration_seconds_bucket", le),
              Optional(4.0));
}

TEST(ServerMetricsTest, BatcherObserverReportsBatchesQueueAndCapacity) {
  auto metrics = NewMetrics();
  std::unique_ptr<BatcherObserver> observer =
      metrics->batcher_observer_factory()(Config("tabular", 7), 2);
  observer->OnQueueDepth(3);
  observer->OnBatch(4, absl::Milliseconds(20));
  observer->OnBatch(1, absl::Milliseconds(5));
  for (int i = 0; i < 5; ++i) {
    observer->OnTaskDone(absl::OkStatus(), absl::Milliseconds(2));
  }
  // Refused at Submit: never queued, so no queue time.
  observer->OnTaskDone(absl::ResourceExhaustedError("full"),
                       absl::ZeroDuration());

  const Exposition e = Scrape(*metrics);
  const testing::Labels v2{{"model", "tabular"}, {"version", "2"}};
  EXPECT_THAT(e.Value("lineserve_inferences_total", v2), Optional(5.0));
  EXPECT_THAT(e.Value("lineserve_executions_total", v2), Optional(2.0));
  EXPECT_THAT(e.Value("lineserve_queue_depth", v2), Optional(3.0));
  EXPECT_THAT(e.Value("lineserve_queue_capacity", v2), Optional(7.0));
  EXPECT_THAT(e.Value("lineserve_queue_duration_seconds_count", v2),
              Optional(5.0));
  EXPECT_THAT(e.Value("lineserve_compute_duration_seconds_count", v2),
              Optional(2.0));
  EXPECT_THAT(e.Value("lineserve_batch_size_count", v2), Optional(2.0));
  EXPECT_THAT(e.Value("lineserve_batch_size_sum", v2), Optional(5.0));
  testing::Labels le = v2;
  le["le"] = "2";
  EXPECT_THAT(e.Value("lineserve_batch_size_bucket", le), Optional(1.0));
  le["le"] = "128";  // the largest documented bucket, then +Inf
  EXPECT_THAT(e.Value("lineserve_batch_size_bucket", le), Optional(2.0));
  EXPECT_EQ(e.types.at("lineserve_queue_depth"), "gauge");
  EXPECT_EQ(e.types.at("lineserve_batch_size"), "histogram");

  // A config without a bound gets the server's default one.
  metrics->batcher_observer_factory()(Config("unbounded", 0), 1);
  EXPECT_THAT(
      Scrape(*metrics).Value("lineserve_queue_capacity",
                             {{"model", "unbounded"}, {"version", "1"}}),
      Optional(static_cast<double>(kDefaultMaxQueueSize)));
}

TEST(ServerMetricsTest, ModelReadinessIsReadFromTheSourceAtScrapeTime) {
  auto metrics = NewMetrics();
  EXPECT_THAT(Scrape(*metrics).Value("lineserve_models_loaded"), Optional(0.0));

  std::vector<ModelStatus> models = {
      Status("quality", {{1, lineserve::v1::VERSION_STATE_READY},
                         {2, lineserve::v1::VERSION_STATE_FAILED}}),
      Status("broken", {{0, lineserve::v1::VERSION_STATE_FAILED}})};
  metrics->SetModelStatusSource([&models] { return models; });
  Exposition e = Scrape(*metrics);
  EXPECT_EQ(e.types.at("lineserve_model_ready"), "gauge");
  EXPECT_THAT(e.Value("lineserve_model_ready",
                      {{"model", "quality"}, {"version", "1"}}),
              Optional(1.0));
  EXPECT_THAT(e.Value("lineserve_model_ready",
                      {{"model", "quality"}, {"version", "2"}}),
              Optional(0.0));
  EXPECT_THAT(e.Value("lineserve_model_ready",
                      {{"model", "broken"}, {"version", "none"}}),
              Optional(0.0));
  EXPECT_THAT(e.Value("lineserve_models_loaded"), Optional(1.0));

  // Version 1 unloaded, version 3 serving: 1 no longer reports ready.
  models = {Status("quality", {{3, lineserve::v1::VERSION_STATE_READY}})};
  e = Scrape(*metrics);
  EXPECT_EQ(e.Value("lineserve_model_ready",
                    {{"model", "quality"}, {"version", "1"}}),
            std::nullopt);
  EXPECT_THAT(e.Value("lineserve_model_ready",
                      {{"model", "quality"}, {"version", "3"}}),
              Optional(1.0));

  metrics->SetModelStatusSource(nullptr);
  e = Scrape(*metrics);
  EXPECT_EQ(e.Count("lineserve_model_ready"), 0);
  EXPECT_THAT(e.Value("lineserve_models_loaded"), Optional(0.0));
}

TEST(ServerMetricsTest, CountsLoadFailuresAndReloads) {
  auto metrics = NewMetrics();
  metrics->OnVersionLoaded("quality", 1, absl::OkStatus());
  metrics->OnVersionLoaded("quality", 2, absl::InternalError("corrupt"));
  metrics->OnVersionLoaded("tabular", 1, absl::OkStatus());
  metrics->OnReload("quality", absl::OkStatus());
  metrics->OnReload("quality", absl::InternalError("corrupt"));
  // A name with no model behind it never becomes a label.
  metrics->OnReload("no-such-model", absl::NotFoundError("no config"));

  const Exposition e = Scrape(*metrics);
  EXPECT_THAT(
      e.Value("lineserve_model_load_failures_total", {{"model", "quality"}}),
      Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_model_load_failures_total", {{"model", "tabular"}}),
      Optional(0.0));
  EXPECT_THAT(e.Value("lineserve_model_reloads_total", {{"model", "quality"}}),
              Optional(2.0));
  EXPECT_THAT(e.Value("lineserve_model_reloads_total", {{"model", "tabular"}}),
              Optional(0.0));
  EXPECT_THAT(e.Value("lineserve_model_reloads_total", {{"model", "unknown"}}),
              Optional(1.0));
}

TEST(ServerMetricsTest, BusinessLabelsAreBounded) {
  ServerMetricsOptions options;
  options.max_label_values = 2;
  options.allowed_stations = {"cam-1"};
  auto metrics = NewMetrics(std::move(options));
  metrics->OnInspection("line-a", "cam-1", false, "");
  metrics->OnInspection("line-b", "cam-1", true, "scratch");
  metrics->OnInspection("line-c", "cam-9", true, "dent");  // both folded
  metrics->OnInspection("", "", false, "");
  metrics->OnPrediction("line-a", 0.82);
  metrics->OnPrediction("line-d", 0.4);  // folded

  const Exposition e = Scrape(*metrics);
  EXPECT_THAT(
      e.Value("lineserve_inspections_total", {{"line", "line-a"},
                                              {"station", "cam-1"},
                                              {"verdict", "ok"},
                                              {"defect_class", "none"}}),
      Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_inspections_total", {{"line", "line-b"},
                                              {"station", "cam-1"},
                                              {"verdict", "defect"},
                                              {"defect_class", "scratch"}}),
      Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_inspections_total", {{"line", "other"},
                                              {"station", "other"},
                                              {"verdict", "defect"},
                                              {"defect_class", "dent"}}),
      Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_inspections_total", {{"line", "unknown"},
                                              {"station", "unknown"},
                                              {"verdict", "ok"},
                                              {"defect_class", "none"}}),
      Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_predicted_efficiency_count", {{"line", "line-a"}}),
      Optional(1.0));
  EXPECT_THAT(e.Value("lineserve_predicted_efficiency_bucket",
                      {{"line", "line-a"}, {"le", "0.85"}}),
              Optional(1.0));
  EXPECT_THAT(e.Value("lineserve_predicted_efficiency_bucket",
                      {{"line", "line-a"}, {"le", "0.8"}}),
              Optional(0.0));
  EXPECT_THAT(
      e.Value("lineserve_predicted_efficiency_count", {{"line", "other"}}),
      Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_label_values_folded_total", {{"label", "line"}}),
      Optional(2.0));
  EXPECT_THAT(
      e.Value("lineserve_label_values_folded_total", {{"label", "station"}}),
      Optional(1.0));
}

TEST(ServerMetricsTest, ExportsProcessMetrics) {
  const Exposition e = Scrape(*NewMetrics());
  for (const char* name :
       {"process_cpu_seconds_total", "process_resident_memory_bytes",
        "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
        "process_start_time_seconds"}) {
    ASSERT_TRUE(e.Value(name).has_value()) << name;
  }
  EXPECT_EQ(e.types.at("process_cpu_seconds_total"), "counter");
  EXPECT_GT(*e.Value("process_resident_memory_bytes"), 0);
  EXPECT_GE(*e.Value("process_open_fds"), 3);

  ServerMetricsOptions options;
  options.process_metrics = false;
  EXPECT_EQ(Scrape(*NewMetrics(std::move(options)))
                .Count("process_resident_memory_bytes"),
            0);
}

class FakeGpu : public GpuMemoryReader {
 public:
  std::vector<GpuMemory> Read() const override {
    return {{0, 100, 1000}, {1, 250, 2000}};
  }
};

TEST(ServerMetricsTest, GpuFamiliesOnlyWithAReader) {
  EXPECT_THAT(NewMetrics()->Render(), Not(HasSubstr("lineserve_gpu")));

  ServerMetricsOptions options;
  options.gpu = std::make_unique<FakeGpu>();
  const Exposition e = Scrape(*NewMetrics(std::move(options)));
  EXPECT_THAT(e.Value("lineserve_gpu_memory_used_bytes", {{"device", "1"}}),
              Optional(250.0));
  EXPECT_THAT(e.Value("lineserve_gpu_memory_total_bytes", {{"device", "0"}}),
              Optional(1000.0));
}

TEST(ServerMetricsTest, ServesTheSameTextOverHttpOnAPickedPort) {
  ServerMetricsOptions options;
  options.address = "127.0.0.1:0";
  auto metrics = NewMetrics(std::move(options));
  ASSERT_GT(metrics->port(), 0);
  metrics->OnRequest("Inspect", "m", 1, absl::OkStatus(), absl::Seconds(1));

  auto response = testing::HttpGet(metrics->port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  const Exposition e = ParseExposition(response->body);
  EXPECT_THAT(e.Value("lineserve_requests_total", {{"method", "Inspect"},
                                                   {"model", "m"},
                                                   {"version", "1"},
                                                   {"code", "OK"}}),
              Optional(1.0));
  EXPECT_TRUE(e.Value("lineserve_models_loaded").has_value());
  EXPECT_TRUE(e.Value("process_open_fds").has_value());

  // The port is taken now: a second server cannot have it.
  ServerMetricsOptions same_port;
  same_port.address = absl::StrCat("127.0.0.1:", metrics->port());
  auto second = ServerMetrics::Create(std::move(same_port));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(ServerMetricsTest, WithoutAnAddressThereIsNoPort) {
  EXPECT_EQ(NewMetrics()->port(), 0);
}

TEST(ServerMetricsTest, NegativeLabelCapIsInvalid) {
  ServerMetricsOptions options;
  options.max_label_values = -1;
  EXPECT_EQ(ServerMetrics::Create(std::move(options)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lineserve
