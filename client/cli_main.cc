// lineserve-cli: talk to a lineserve server from a shell or a script.
//
//   lineserve-cli inspect FILE...          verdict per image
//   lineserve-cli predict --csv FILE       efficiency per row
//   lineserve-cli models                   what is loaded
//   lineserve-cli health [SERVICE]         serving or not
//
// Common options: --server HOST:PORT, --timeout SECONDS, --json (one JSON
// object per answer). The exit status is non-zero when any call failed.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "client/lineserve_client.h"
#include "models/data/csv_table.h"
#include "nlohmann/json.hpp"
#include "server/common/command_line.h"
#include "server/common/file_util.h"

namespace lineserve {
namespace {

constexpr char kProgram[] = "lineserve-cli";

constexpr char kUsage[] =
    "usage: lineserve-cli COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  inspect FILE...     send images (PNG/JPEG) for quality inspection\n"
    "  predict --csv FILE  send table rows for efficiency prediction\n"
    "  models              list the loaded models and versions\n"
    "  health [SERVICE]    ask the gRPC health service\n"
    "  perf --file IMG     load test: latency and throughput of Inspect\n"
    "\n"
    "`lineserve-cli COMMAND --help` lists a command's options.\n";

struct Common {
  std::string server = "127.0.0.1:8500";
  double timeout_seconds = 10;
  bool json = false;

  void AddTo(CommandLine& cli) {
    cli.AddString("server", &server, "server address host:port");
    cli.AddDouble("timeout", &timeout_seconds, "deadline of each call, s");
    cli.AddBool("json", &json, "print one JSON object per answer");
  }
  ClientOptions Options() const {
    ClientOptions options;
    options.server = server;
    options.timeout = absl::Seconds(timeout_seconds);
    return options;
  }
  LineserveClient Client() const { return LineserveClient(Options()); }
};

void PrintError(const Common& common, const nlohmann::json& context,
                const absl::Status& status) {
  if (common.json) {
    nlohmann::json j = context;
    j["error"] = {{"code", absl::StatusCodeToString(status.code())},
                  {"message", std::string(status.message())}};
    std::cout << j.dump() << std::endl;
  } else {
    std::cerr << kProgram << ": " << context.dump() << ": "
              << absl::StatusCodeToString(status.code()) << ": "
              << status.message() << "\n";
  }
}

int RunInspect(const std::vector<std::string>& args) {
  Common common;
  std::string line, station, model;
  int64_t version = 0;
  CommandLine cli("lineserve-cli inspect [options] FILE...",
                  "Sends each image to QualityInspection.Inspect and prints "
                  "the verdict.");
  common.AddTo(cli);
  cli.AddString("line", &line, "production line id (labels metrics)");
  cli.AddString("station", &station, "camera station id");
  cli.AddString("model", &model, "model name (default: the service's)");
  int version_flag = 0;
  cli.AddInt("version", &version_flag, "model version (0: newest)");
  if (auto code = cli.ParseForMain(args, kProgram, true)) return *code;
  version = version_flag;
  if (cli.positional().empty()) {
    std::cerr << kProgram << ": inspect needs at least one FILE\n";
    return 2;
  }
  const LineserveClient client = common.Client();
  int failures = 0;
  for (const std::string& file : cli.positional()) {
    const nlohmann::json context = {{"file", file}};
    auto bytes = ReadFile(file);
    if (!bytes.ok()) {
      PrintError(common, context, bytes.status());
      ++failures;
      continue;
    }
    lineserve::v1::InspectRequest request;
    request.set_request_id(file);
    request.set_image(*std::move(bytes));
    request.set_line_id(line);
    request.set_station_id(station);
    request.set_part_id(file);
    request.mutable_model()->set_name(model);
    request.mutable_model()->set_version(version);
    auto response = client.Inspect(request);
    if (!response.ok()) {
      PrintError(common, context, response.status());
      ++failures;
      continue;
    }
    const bool defect = response->verdict() == lineserve::v1::VERDICT_DEFECT;
    if (common.json) {
      nlohmann::json scores = nlohmann::json::object();
      for (const auto& s : response->scores())
        scores[s.label()] = s.probability();
      std::cout
          << nlohmann::json{{"file", file},
                            {"verdict", defect ? "DEFECT" : "OK"},
                            {"defect_class", response->defect_class()},
                            {"defect_probability",
                             response->defect_probability()},
                            {"scores", scores},
                            {"model", response->answered_by().model_name()},
                            {"model_version",
                             response->answered_by().model_version()},
                            {"queue_us",
                             response->timing().queue_microseconds()},
                            {"compute_us",
                             response->timing().compute_microseconds()},
                            {"batch_size", response->timing().batch_size()}}
                 .dump()
          << std::endl;
    } else {
      std::cout << absl::StrFormat(
          "%-40s %-6s %-10s p(defect)=%.3f  %s v%d  queue %dus compute %dus "
          "batch %d\n",
          file, defect ? "DEFECT" : "OK", response->defect_class(),
          response->defect_probability(), response->answered_by().model_name(),
          response->answered_by().model_version(),
          response->timing().queue_microseconds(),
          response->timing().compute_microseconds(),
          response->timing().batch_size());
    }
  }
  return failures == 0 ? 0 : 1;
}

int RunPredict(const std::vector<std::string>& args) {
  Common common;
  std::string csv, model, line_column = "team";
  int rows_per_request = 64;
  CommandLine cli(
      "lineserve-cli predict --csv FILE [options]",
      "Sends the rows of a CSV table (like the training table) to\n"
      "EfficiencyPrediction.Predict. Only the columns the model uses are\n"
      "sent (so a target column is ignored): numbers as numbers, other text\n"
      "as categories, blank cells left out.");
  common.AddTo(cli);
  cli.AddString("csv", &csv, "the table", true);
  cli.AddString("model", &model, "model name (default: the service's)");
  cli.AddInt("rows-per-request", &rows_per_request, "rows sent per call");
  cli.AddString("line-column", &line_column,
                "column whose value labels each row's line in metrics");
  if (auto code = cli.ParseForMain(args, kProgram)) return *code;
  auto table = data::ReadCsv(csv);
  if (!table.ok()) {
    std::cerr << kProgram << ": " << table.status().message() << "\n";
    return 1;
  }
  const LineserveClient client = common.Client();
  auto status =
      client.GetModel(model.empty() ? "efficiency_prediction" : model);
  if (!status.ok()) {
    PrintError(common, {{"csv", csv}}, status.status());
    return 1;
  }
  std::vector<std::pair<size_t, std::string>> used;  // csv column, feature
  for (const auto& feature : status->config().tabular().features()) {
    if (auto column = table->ColumnIndex(feature.name())) {
      used.emplace_back(*column, feature.name());
    }
  }
  const auto line_index = table->ColumnIndex(line_column);
  int failures = 0;
  const int n = static_cast<int>(table->rows.size());
  for (int start = 0; start < n; start += rows_per_request) {
    const int end = std::min(n, start + std::max(1, rows_per_request));
    lineserve::v1::PredictRequest request;
    request.mutable_model()->set_name(model);
    for (int r = start; r < end; ++r) {
      auto* row = request.add_rows();
      row->set_row_id(std::to_string(r + 1));
      if (line_index) row->set_line_id(table->rows[r][*line_index]);
      for (const auto& [column, name] : used) {
        const std::string& cell = table->rows[r][column];
        lineserve::v1::FeatureValue value;
        if (auto number = data::ParseNumber(cell)) {
          value.set_number(*number);
        } else if (!cell.empty()) {
          value.set_category(cell);
        } else {
          continue;
        }
        (*row->mutable_features())[name] = value;
      }
    }
    auto response = client.Predict(request);
    if (!response.ok()) {
      PrintError(common, {{"csv", csv}, {"rows", {start + 1, end}}},
                 response.status());
      ++failures;
      continue;
    }
    for (const auto& p : response->predictions()) {
      if (common.json) {
        std::cout << nlohmann::json{{"row", std::stoi(p.row_id())},
                                    {"efficiency", p.efficiency()},
                                    {"model",
                                     response->answered_by().model_name()},
                                    {"model_version",
                                     response->answered_by().model_version()}}
                         .dump()
                  << std::endl;
      } else {
        std::cout << absl::StrFormat("row %-5s efficiency %.3f  (%s v%d)\n",
                                     p.row_id(), p.efficiency(),
                                     response->answered_by().model_name(),
                                     response->answered_by().model_version());
      }
    }
  }
  return failures == 0 ? 0 : 1;
}

int RunModels(const std::vector<std::string>& args) {
  Common common;
  CommandLine cli("lineserve-cli models [options]",
                  "Lists the models the server has, their versions and "
                  "states.");
  common.AddTo(cli);
  if (auto code = cli.ParseForMain(args, kProgram)) return *code;
  auto models = common.Client().ListModels();
  if (!models.ok()) {
    PrintError(common, {{"call", "ListModels"}}, models.status());
    return 1;
  }
  for (const auto& m : models->models()) {
    if (common.json) {
      nlohmann::json versions = nlohmann::json::array();
      for (const auto& v : m.versions()) {
        versions.push_back(
            {{"version", v.version()},
             {"state", lineserve::v1::VersionState_Name(v.state())},
             {"device", v.device()},
             {"message", v.message()}});
      }
      std::cout << nlohmann::json{{"model", m.name()},
                                  {"default_version", m.default_version()},
                                  {"versions", versions}}
                       .dump()
                << std::endl;
      continue;
    }
    std::cout << m.name() << " (default version " << m.default_version()
              << ", max batch " << m.config().max_batch_size() << ")\n";
    for (const auto& v : m.versions()) {
      std::cout << "  v" << v.version() << "  "
                << lineserve::v1::VersionState_Name(v.state()) << "  "
                << v.device() << (v.message().empty() ? "" : "  ")
                << v.message() << "\n";
    }
  }
  return 0;
}

int RunHealth(const std::vector<std::string>& args) {
  Common common;
  CommandLine cli("lineserve-cli health [options] [SERVICE]",
                  "Asks grpc.health.v1.Health/Check for the server (or one "
                  "service, e.g. lineserve.v1.QualityInspection).");
  common.AddTo(cli);
  if (auto code = cli.ParseForMain(args, kProgram, true)) return *code;
  const std::string service =
      cli.positional().empty() ? "" : cli.positional()[0];
  auto serving = common.Client().Health(service);
  if (!serving.ok()) {
    PrintError(common, {{"service", service}}, serving.status());
    return 1;
  }
  if (common.json) {
    std::cout << nlohmann::json{{"service", service},
                                {"status",
                                 *serving ? "SERVING" : "NOT_SERVING"}}
                     .dump()
              << std::endl;
  } else {
    std::cout << (service.empty() ? "server" : service) << ": "
              << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
  }
  return *serving ? 0 : 1;
}

int RunPerf(const std::vector<std::string>& args) {
  Common common;
  std::string file, model;
  int concurrency = 1, requests = 200, warmup = 16;
  CommandLine cli(
      "lineserve-cli perf --file IMG [options]",
      "Sends the same image with QualityInspection.Inspect from\n"
      "--concurrency clients (one channel each, one call in flight each)\n"
      "until --requests calls are answered; reports throughput, latency\n"
      "percentiles and the server's batch size, queue and compute time.\n"
      "Bounded by --requests: run it only against your own server.");
  common.AddTo(cli);
  cli.AddString("file", &file, "PNG or JPEG image", true);
  cli.AddString("model", &model, "model name (default: the service's)");
  cli.AddInt("concurrency", &concurrency, "clients calling at once");
  cli.AddInt("requests", &requests, "measured calls, all clients together");
  cli.AddInt("warmup", &warmup, "unmeasured calls first");
  if (auto code = cli.ParseForMain(args, kProgram)) return *code;
  auto image = ReadFile(file);
  if (!image.ok()) {
    std::cerr << kProgram << ": " << image.status().message() << "\n";
    return 1;
  }
  concurrency = std::max(1, concurrency);
  lineserve::v1::InspectRequest request;
  request.set_image(*image);
  request.mutable_model()->set_name(model);

  std::vector<std::unique_ptr<LineserveClient>> clients;
  for (int i = 0; i < concurrency; ++i) {
    clients.push_back(std::make_unique<LineserveClient>(common.Options()));
  }
  for (int i = 0; i < warmup; ++i) {
    if (auto r = clients[i % concurrency]->Inspect(request); !r.ok()) {
      PrintError(common, {{"call", "warmup"}}, r.status());
      return 1;
    }
  }
  struct Sample {
    double latency_ms;
    int batch_size;
    int64_t queue_us, compute_us;
  };
  std::mutex mu;
  std::vector<Sample> samples;
  std::atomic<int> next{0}, failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c) {
    threads.emplace_back([&, c] {
      while (next++ < requests) {
        const absl::Time t0 = absl::Now();
        auto r = clients[c]->Inspect(request);
        const double ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
        if (!r.ok()) {
          ++failures;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        samples.push_back({ms, r->timing().batch_size(),
                           r->timing().queue_microseconds(),
                           r->timing().compute_microseconds()});
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (samples.empty()) {
    std::cerr << kProgram << ": every call failed\n";
    return 1;
  }
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) {
              return a.latency_ms < b.latency_ms;
            });
  auto pct = [&](double q) {
    return samples[std::min(samples.size() - 1,
                            static_cast<size_t>(q * samples.size()))]
        .latency_ms;
  };
  double batch = 0, queue = 0, compute = 0;
  for (const Sample& s : samples) {
    batch += s.batch_size;
    queue += s.queue_us;
    compute += s.compute_us;
  }
  const double n = static_cast<double>(samples.size());
  const nlohmann::json result = {
      {"model", model.empty() ? "quality_inspection" : model},
      {"concurrency", concurrency},
      {"requests", samples.size()},
      {"failures", failures.load()},
      {"seconds", seconds},
      {"throughput_rps", n / seconds},
      {"latency_ms_p50", pct(0.50)},
      {"latency_ms_p90", pct(0.90)},
      {"latency_ms_p99", pct(0.99)},
      {"mean_batch_size", batch / n},
      {"mean_queue_us", queue / n},
      {"mean_compute_us", compute / n}};
  if (common.json) {
    std::cout << result.dump() << std::endl;
  } else {
    std::cout << absl::StrFormat(
        "%s: %d clients, %d calls in %.2f s: %.1f req/s; latency p50 %.2f ms "
        "p90 %.2f ms p99 %.2f ms; server batch %.2f, queue %.0f us, compute "
        "%.0f us\n",
        result["model"].get<std::string>(), concurrency,
        static_cast<int>(samples.size()), seconds, n / seconds, pct(0.5),
        pct(0.9), pct(0.99), batch / n, queue / n, compute / n);
  }
  return failures == 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "inspect") return RunInspect(args);
  if (command == "predict") return RunPredict(args);
  if (command == "models") return RunModels(args);
  if (command == "health") return RunHealth(args);
  if (command == "perf") return RunPerf(args);
  std::cerr << kProgram << ": unknown command '" << command << "'\n\n"
            << kUsage;
  return 2;
}

}  // namespace
}  // namespace lineserve

int main(int argc, char** argv) { return lineserve::Main(argc, argv); }
