// Metrics end to end: the real server on 127.0.0.1:0 with /metrics on
// 127.0.0.1:0, tiny linear models (the fake backend: the metrics do not
// depend on the model's framework), the real client. After known traffic
// the exposition read over HTTP must count exactly what was sent, pass
// `promtool check metrics`, and be scraped by a real Prometheus whose query
// API gives back the request count and a latency quantile.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/lineserve_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "models/config/model_config.h"
#include "models/preprocess/image.h"
#include "models/preprocess/image_encode.h"
#include "nlohmann/json.hpp"
#include "server/metrics/server_metrics.h"
#include "server/repository/model_repository.h"
#include "tests/support/exposition.h"
#include "tests/support/fake_backend.h"
#include "tests/support/http_get.h"
#include "tests/support/serving_stack.h"
#include "tests/support/test_configs.h"

extern char** environ;

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using testing::Exposition;
using testing::Labels;
using ::testing::Optional;

constexpr char kQuality[] = "quality_inspection";
constexpr char kEfficiency[] = "efficiency_prediction";
constexpr char kBroken[] = "broken_model";

// The absolute path of `name` on PATH, or "" when it is not installed.
std::string FindProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "", ':', absl::SkipEmpty())) {
    const fs::path candidate = fs::path(std::string(dir)) / name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

// A program the test starts, stopped (SIGTERM, then SIGKILL) and reaped by
// its pid when the test ends.
class ChildProcess {
 public:
  // Runs argv[0] with its output in `log_path`.
  static std::optional<ChildProcess> Start(const std::vector<std::string>& argv,
                                           const std::string& log_path) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<char*> args;
    for (const std::string& arg : argv) {
      args.push_back(const_cast<char*>(arg.c_str()));
    }
    args.push_back(nullptr);
    pid_t pid = 0;
    const int error =
        posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) return std::nullopt;
    return ChildProcess(pid);
  }

  ChildProcess(ChildProcess&& other) : pid_(other.pid_) { other.pid_ = 0; }
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess() { Stop(); }

  // True while it has not exited.
  bool Running() {
    if (pid_ == 0) return false;
    if (waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = 0;
    return pid_ != 0;
  }

  void Stop() {
    if (!Running()) return;
    kill(pid_, SIGTERM);
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    while (Running() && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
    }
    if (Running()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      pid_ = 0;
    }
  }

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

// Encodes a 4x4 grey image of one shade: the test model calls white "ok"
// and black "scratch".
std::string Png(float shade) {
  preprocess::Image image;
  image.width = 4;
  image.height = 4;
  image.channels = 1;
  image.data.assign(16, shade);
  return *preprocess::EncodePng(image);
}

class MetricsIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = lineserve::testing::MakeTempDir("lineserve_metrics");
    // Image model: logits (sum of normalised pixels, 0), so white images
    // are "ok" and black ones "scratch".
    lineserve::testing::LinearModel quality;
    quality.inputs = 4;
    quality.weights = {1, 0, 1, 0, 1, 0, 1, 0};
    quality.bias = {0, 0};
    AddModel(lineserve::testing::ImageConfig(kQuality), quality);
    lineserve::testing::LinearModel efficiency;
    efficiency.inputs = 3;
    efficiency.weights = {0.1f, 0.2f, 0.3f};
    efficiency.bias = {0.5f};
    AddModel(lineserve::testing::TabularConfig(kEfficiency, 3), efficiency);
    // A model whose only version does not load.
    AddModel(lineserve::testing::ImageConfig(kBroken), quality);
    ASSERT_TRUE(WriteFileAtomically((fs::path(root_) / kBroken / "1" /
                                     lineserve::testing::kFakeArtifact)
                                        .string(),
                                    "not a model")
                    .ok());

    ServerMetricsOptions metrics_options;
    metrics_options.address = "127.0.0.1:0";
    auto metrics = ServerMetrics::Create(std::move(metrics_options));
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = *std::move(metrics);

    ASSERT_TRUE(lineserve::testing::RegisterFakeBackend(backends_).ok());
    lineserve::testing::ServingStackOptions options;
    options.root = root_;
    options.backends = &backends_;
    options.batcher_observers = metrics_->batcher_observer_factory();
    options.repository_observer = metrics_.get();
    options.inference_observer = metrics_.get();
    auto stack = lineserve::testing::ServingStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    metrics_->SetModelStatusSource(
        [repository = &stack_->repository()] { return repository->List(); });
    client_ = &stack_->client();
  }

  void TearDown() override {
    if (metrics_) metrics_->SetModelStatusSource(nullptr);
    stack_.reset();
    metrics_.reset();
    fs::remove_all(root_);
  }

  void AddModel(lineserve::v1::ModelConfig config,
                const lineserve::testing::LinearModel& model) {
    config.set_platform(lineserve::testing::kFakePlatform);
    const fs::path dir = fs::path(root_) / config.name();
    fs::create_directories(dir / "1");
    ASSERT_TRUE(WriteModelConfig((dir / "config.pbtxt").string(), config).ok());
    ASSERT_TRUE(
        lineserve::testing::WriteFakeModel(
            (dir / "1" / lineserve::testing::kFakeArtifact).string(), model)
            .ok());
  }

  absl::Status Inspect(const std::string& image,
                       const std::string& model = kQuality) {
    lineserve::v1::InspectRequest request;
    request.mutable_model()->set_name(model);
    request.set_image(image);
    request.set_line_id("line-1");
    request.set_station_id("cam-2");
    return client_->Inspect(request).status();
  }

  absl::Status Predict(int rows) {
    lineserve::v1::PredictRequest request;
    request.mutable_model()->set_name(kEfficiency);
    for (int i = 0; i < rows; ++i) {
      auto* row = request.add_rows();
      row->set_line_id("line-1");
      auto& features = *row->mutable_features();
      features["f0"].set_number(1);
      features["f1"].set_number(i);
      features["f2"].set_number(0.5);
    }
    return client_->Predict(request).status();
  }

  // Sends the stream's requests, each answered in order; a request without
  // an id is refused by the server.
  void InspectStream(const std::vector<std::string>& request_ids) {
    auto stub = lineserve::v1::QualityInspection::NewStub(client_->channel());
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    auto stream = stub->InspectStream(&context);
    for (const std::string& id : request_ids) {
      lineserve::v1::InspectRequest request;
      request.set_request_id(id);
      request.set_image(Png(1.0f));
      request.set_line_id("line-1");
      request.set_station_id("cam-2");
      ASSERT_TRUE(stream->Write(request));
    }
    stream->WritesDone();
    lineserve::v1::InspectResponse response;
    int answers = 0;
    while (stream->Read(&response)) ++answers;
    ASSERT_TRUE(stream->Finish().ok());
    EXPECT_EQ(answers, static_cast<int>(request_ids.size()));
  }

  absl::StatusOr<std::string> ScrapeText() {
    auto response = lineserve::testing::HttpGet(metrics_->port(), "/metrics");
    if (!response.ok()) return response.status();
    if (response->status != 200) {
      return absl::InternalError(absl::StrCat("HTTP ", response->status));
    }
    return response->body;
  }

  // A missing tool skips on a developer's machine and fails in CI, which
  // must run every check.
  static bool ToolMissing(const std::string& path, const std::string& name) {
    if (!path.empty()) return false;
    EXPECT_EQ(std::getenv("CI"), nullptr)
        << name << " is required in CI (Debian package prometheus)";
    return true;
  }

  std::string root_;
  BackendRegistry backends_;
  std::unique_ptr<ServerMetrics> metrics_;
  std::unique_ptr<lineserve::testing::ServingStack> stack_;
  LineserveClient* client_ = nullptr;  // the stack's
};

TEST_F(MetricsIntegrationTest, ExpositionCountsTheTrafficSent) {
  constexpr int kOkParts = 4, kDefectParts = 2, kBadImages = 2,
                kUnknownModel = 3, kPredictCalls = 4;
  for (int i = 0; i < kOkParts; ++i) ASSERT_TRUE(Inspect(Png(1.0f)).ok());
  for (int i = 0; i < kDefectParts; ++i) ASSERT_TRUE(Inspect(Png(0.0f)).ok());
  for (int i = 0; i < kBadImages; ++i) {
    ASSERT_EQ(Inspect("garbage").code(), absl::StatusCode::kInvalidArgument);
  }
  for (int i = 0; i < kUnknownModel; ++i) {
    ASSERT_EQ(Inspect(Png(1.0f), "no_such_model").code(),
              absl::StatusCode::kNotFound);
  }
  ASSERT_EQ(Inspect(Png(1.0f), kBroken).code(), absl::StatusCode::kUnavailable);
  InspectStream({"s-1", "", "s-2"});
  // Three calls of one row and one of two rows.
  for (int i = 0; i < kPredictCalls - 1; ++i) ASSERT_TRUE(Predict(1).ok());
  ASSERT_TRUE(Predict(2).ok());
  const int rows = kPredictCalls + 1;
  ASSERT_TRUE(stack_->repository().Reload(kEfficiency).ok());

  auto text = ScrapeText();
  ASSERT_TRUE(text.ok()) << text.status();
  const Exposition e = testing::ParseExposition(*text);

  // Every family has the documented type.
  const std::map<std::string, std::string> types = {
      {"lineserve_requests_total", "counter"},
      {"lineserve_request_duration_seconds", "histogram"},
      {"lineserve_inferences_total", "counter"},
      {"lineserve_executions_total", "counter"},
      {"lineserve_queue_duration_seconds", "histogram"},
      {"lineserve_compute_duration_seconds", "histogram"},
      {"lineserve_batch_size", "histogram"},
      {"lineserve_queue_depth", "gauge"},
      {"lineserve_queue_capacity", "gauge"},
      {"lineserve_model_ready", "gauge"},
      {"lineserve_models_loaded", "gauge"},
      {"lineserve_model_load_failures_total", "counter"},
      {"lineserve_model_reloads_total", "counter"},
      {"lineserve_inspections_total", "counter"},
      {"lineserve_predicted_efficiency", "histogram"},
      {"lineserve_label_values_folded_total", "counter"},
      {"process_cpu_seconds_total", "counter"},
      {"process_resident_memory_bytes", "gauge"},
      {"process_virtual_memory_bytes", "gauge"},
      {"process_open_fds", "gauge"},
      {"process_max_fds", "gauge"},
      {"process_start_time_seconds", "gauge"},
  };
  for (const auto& [family, type] : types) {
    auto found = e.types.find(family);
    ASSERT_NE(found, e.types.end()) << family << " missing";
    EXPECT_EQ(found->second, type) << family;
  }

  // Requests, by method, model, version and code.
  auto requests = [&](const char* method, const char* model,
                      const char* version, const char* code) {
    return e.Value("lineserve_requests_total", {{"method", method},
                                                {"model", model},
                                                {"version", version},
                                                {"code", code}});
  };
  EXPECT_THAT(requests("Inspect", kQuality, "1", "OK"),
              Optional(double{kOkParts + kDefectParts}));
  EXPECT_THAT(requests("Inspect", kQuality, "1", "INVALID_ARGUMENT"),
              Optional(double{kBadImages}));
  EXPECT_THAT(requests("Inspect", "unknown", "none", "NOT_FOUND"),
              Optional(double{kUnknownModel}));
  EXPECT_THAT(requests("Inspect", kBroken, "none", "UNAVAILABLE"),
              Optional(1.0));
  EXPECT_THAT(requests("InspectStream", kQuality, "1", "OK"), Optional(2.0));
  EXPECT_THAT(requests("InspectStream", kQuality, "none", "INVALID_ARGUMENT"),
              Optional(1.0));
  EXPECT_THAT(requests("Predict", kEfficiency, "1", "OK"),
              Optional(double{kPredictCalls}));
  const int answered_by_quality = kOkParts + kDefectParts + kBadImages;
  EXPECT_EQ(e.Sum("lineserve_requests_total"),
            answered_by_quality + kUnknownModel + 1 + 3 + kPredictCalls);
  EXPECT_THAT(
      e.Value("lineserve_request_duration_seconds_count",
              {{"method", "Inspect"}, {"model", kQuality}, {"version", "1"}}),
      Optional(double{answered_by_quality}));
  EXPECT_THAT(
      e.Value(
          "lineserve_request_duration_seconds_count",
          {{"method", "Predict"}, {"model", kEfficiency}, {"version", "1"}}),
      Optional(double{kPredictCalls}));

  // Batcher: every computed sample, in batches that add up.
  const int quality_samples = kOkParts + kDefectParts + 2;  // + stream
  for (const auto& [model, samples] :
       {std::pair<std::string, int>{kQuality, quality_samples},
        std::pair<std::string, int>{kEfficiency, rows}}) {
    const Labels v1{{"model", model}, {"version", "1"}};
    SCOPED_TRACE(model);
    EXPECT_THAT(e.Value("lineserve_inferences_total", v1),
                Optional(double(samples)));
    const double executions =
        e.Value("lineserve_executions_total", v1).value_or(0);
    EXPECT_GE(executions, 1);
    EXPECT_LE(executions, samples);
    EXPECT_THAT(e.Value("lineserve_compute_duration_seconds_count", v1),
                Optional(executions));
    EXPECT_THAT(e.Value("lineserve_batch_size_count", v1),
                Optional(executions));
    EXPECT_THAT(e.Value("lineserve_batch_size_sum", v1),
                Optional(double(samples)));
    EXPECT_THAT(e.Value("lineserve_queue_duration_seconds_count", v1),
                Optional(double(samples)));
    EXPECT_THAT(e.Value("lineserve_queue_depth", v1), Optional(0.0));
    auto status = stack_->repository().GetStatus(model);
    ASSERT_TRUE(status.ok());
    EXPECT_THAT(e.Value("lineserve_queue_capacity", v1),
                Optional(double(MaxQueueSize(status->config()))));
  }

  // Models.
  EXPECT_THAT(
      e.Value("lineserve_model_ready", {{"model", kQuality}, {"version", "1"}}),
      Optional(1.0));
  EXPECT_THAT(e.Value("lineserve_model_ready",
                      {{"model", kEfficiency}, {"version", "1"}}),
              Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_model_ready", {{"model", kBroken}, {"version", "1"}}),
      Optional(0.0));
  EXPECT_THAT(e.Value("lineserve_models_loaded"), Optional(2.0));
  EXPECT_THAT(
      e.Value("lineserve_model_load_failures_total", {{"model", kBroken}}),
      Optional(1.0));
  EXPECT_THAT(
      e.Value("lineserve_model_load_failures_total", {{"model", kQuality}}),
      Optional(0.0));
  EXPECT_THAT(
      e.Value("lineserve_model_reloads_total", {{"model", kEfficiency}}),
      Optional(1.0));
  EXPECT_THAT(e.Value("lineserve_model_reloads_total", {{"model", kQuality}}),
              Optional(0.0));

  // Business.
  EXPECT_THAT(
      e.Value("lineserve_inspections_total", {{"line", "line-1"},
                                              {"station", "cam-2"},
                                              {"verdict", "ok"},
                                              {"defect_class", "none"}}),
      Optional(double{kOkParts + 2}));
  EXPECT_THAT(
      e.Value("lineserve_inspections_total", {{"line", "line-1"},
                                              {"station", "cam-2"},
                                              {"verdict", "defect"},
                                              {"defect_class", "scratch"}}),
      Optional(double{kDefectParts}));
  EXPECT_THAT(
      e.Value("lineserve_predicted_efficiency_count", {{"line", "line-1"}}),
      Optional(double(rows)));
  EXPECT_THAT(
      e.Value("lineserve_label_values_folded_total", {{"label", "line"}}),
      Optional(0.0));

  // Process.
  EXPECT_GT(e.Value("process_resident_memory_bytes").value_or(0), 0);
  EXPECT_GT(e.Value("process_start_time_seconds").value_or(0), 0);
}

TEST_F(MetricsIntegrationTest, PromtoolAcceptsTheExposition) {
  const std::string promtool = FindProgram("promtool");
  if (ToolMissing(promtool, "promtool")) {
    GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  }
  ASSERT_TRUE(Inspect(Png(1.0f)).ok());
  ASSERT_TRUE(Inspect(Png(0.0f)).ok());
  ASSERT_EQ(Inspect("garbage").code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(Predict(2).ok());
  auto text = ScrapeText();
  ASSERT_TRUE(text.ok()) << text.status();

  const std::string input = (fs::path(root_) / "metrics.txt").string();
  const std::string output = (fs::path(root_) / "promtool.out").string();
  ASSERT_TRUE(WriteFileAtomically(input, *text).ok());
  const int status = std::system(
      absl::StrCat(promtool, " check metrics < ", input, " > ", output, " 2>&1")
          .c_str());
  auto report = ReadFile(output);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << (report.ok() ? *report : "");
  // promtool reports lint findings but may still exit 0: there must be none.
  EXPECT_EQ(report.ok() ? *report : "?", "");
}

// Prometheus' instant query `query`, as a number; nullopt while it has no
// numeric answer yet (no data, NaN, or not reachable).
std::optional<double> QueryPrometheus(int port, const std::string& query) {
  auto response = lineserve::testing::HttpGet(
      port, "/api/v1/query?query=" + lineserve::testing::UrlEncode(query),
      absl::Seconds(5));
  if (!response.ok() || response->status != 200) return std::nullopt;
  const nlohmann::json answer = nlohmann::json::parse(
      response->body, nullptr, /*allow_exceptions=*/false);
  if (answer.is_discarded()) return std::nullopt;
  const nlohmann::json result = answer.value("data", nlohmann::json::object())
                                    .value("result", nlohmann::json::array());
  // A vector of one sample: [{"metric": {}, "value": [time, "12"]}].
  if (!result.is_array() || result.size() != 1) return std::nullopt;
  const nlohmann::json& value = result[0]["value"];
  if (!value.is_array() || value.size() != 2 || !value[1].is_string()) {
    return std::nullopt;
  }
  double number = 0;
  if (!absl::SimpleAtod(value[1].get<std::string>(), &number) ||
      std::isnan(number)) {
    return std::nullopt;
  }
  return number;
}

TEST_F(MetricsIntegrationTest, PrometheusScrapesRequestCountAndLatency) {
  const std::string prometheus = FindProgram("prometheus");
  if (ToolMissing(prometheus, "prometheus")) {
    GTEST_SKIP() << "prometheus not installed (Debian package prometheus)";
  }
  // One request before the first scrape: the series exist from Prometheus'
  // first sample on, so rate() sees the traffic that follows as increase.
  ASSERT_TRUE(Inspect(Png(1.0f)).ok());

  auto port = lineserve::testing::PickFreePort();
  ASSERT_TRUE(port.ok()) << port.status();
  const fs::path dir = fs::path(root_) / "prometheus";
  fs::create_directories(dir / "data");
  ASSERT_TRUE(WriteFileAtomically((dir / "prometheus.yml").string(),
                                  absl::StrCat("global:\n"
                                               "  scrape_interval: 1s\n"
                                               "  evaluation_interval: 1s\n"
                                               "scrape_configs:\n"
                                               "  - job_name: lineserve\n"
                                               "    static_configs:\n"
                                               "      - targets: ['127.0.0.1:",
                                               metrics_->port(), "']\n"))
                  .ok());
  const std::string log = (dir / "prometheus.log").string();
  std::optional<ChildProcess> process = ChildProcess::Start(
      {prometheus,
       absl::StrCat("--config.file=", (dir / "prometheus.yml").string()),
       absl::StrCat("--storage.tsdb.path=", (dir / "data").string()),
       absl::StrCat("--web.listen-address=127.0.0.1:", *port),
       "--log.level=warn"},
      log);
  ASSERT_TRUE(process.has_value()) << "cannot start " << prometheus;

  // Polls an external process, so it waits for real, up to a deadline.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  auto wait_for = [&](const std::string& query, auto done) {
    std::optional<double> value;
    while (absl::Now() < deadline && process->Running()) {
      value = QueryPrometheus(*port, query);
      if (value.has_value() && done(*value)) return value;
      absl::SleepFor(absl::Milliseconds(250));
    }
    auto text = ReadFile(log);
    ADD_FAILURE() << "no answer to " << query
                  << " (last: " << (value ? absl::StrCat(*value) : "none")
                  << "); prometheus log:\n"
                  << (text.ok() ? *text : "");
    return value;
  };

  ASSERT_TRUE(wait_for("up{job=\"lineserve\"}", [](double up) {
                return up == 1;
              }).has_value());
  constexpr int kRequests = 10;
  for (int i = 0; i < kRequests; ++i) ASSERT_TRUE(Inspect(Png(1.0f)).ok());

  const std::string count_query =
      "sum(lineserve_requests_total{job=\"lineserve\",method=\"Inspect\","
      "code=\"OK\"})";
  EXPECT_THAT(wait_for(count_query,
                       [](double count) { return count == kRequests + 1; }),
              Optional(double{kRequests + 1}));
  const std::string p50_query =
      "histogram_quantile(0.5, sum by (le) "
      "(rate(lineserve_request_duration_seconds_bucket{job=\"lineserve\"}"
      "[1m])))";
  const std::optional<double> p50 =
      wait_for(p50_query, [](double seconds) { return seconds > 0; });
  ASSERT_TRUE(p50.has_value());
  EXPECT_GT(*p50, 0);
  EXPECT_LT(*p50, 10);  // the largest finite bucket
  process->Stop();
}

}  // namespace
}  // namespace lineserve
