// lineserve-cli perf: a bounded load test of QualityInspection.Inspect or
// EfficiencyPrediction.Predict, after Triton's perf_analyzer.
//
// The recipe: check the options into one StepOptions per load level, build
// the requests, make one probe call (so a wrong address or model fails at
// once instead of as a table of errors), then run the levels in order
// (perf_load.h) and report each as it finishes (perf_report.h).
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "client/cli/perf_load.h"
#include "client/cli/perf_report.h"
#include "client/cli/perf_stats.h"
#include "client/lineserve_client.h"
#include "models/base/command_line.h"
#include "models/base/file_util.h"
#include "models/data/csv_table.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {
namespace {

using perf::StepOptions;

// Bounds a typo cannot get past: each closed-loop call in flight and each
// open-loop worker is a thread.
constexpr int kMaxThreads = 4096;

struct PerfOptions {
  Common common;
  std::string file, rows, model, line_column = "team";
  bool health = false;
  int rows_per_request = 1;
  // 0 / "" when not given: the load is chosen in MakeSteps.
  int concurrency = 0;
  std::string concurrency_range;
  double request_rate = 0;
  std::string request_rate_range;
  std::string arrivals = "constant";
  uint64_t seed = 1;
  int max_threads = 64;
  int warmup = 16;
  double warmup_seconds = 0;
  int window_ms = 1000;
  int requests = 0;
  int max_windows = 10;
  double stability_percent = 10;
  std::string csv;
};

// What is sent, and how one worker sends it.
struct Workload {
  std::string api;    // "inspect", "predict" or "health"
  std::string model;  // for the report
  int rows_per_request = 1;
  perf::SendFn send;
};

// One client (channel) per worker index, as separate callers would have.
using Clients = std::vector<std::unique_ptr<LineserveClient>>;

// Returns the exit code to end with (after --help or a usage error), or
// nullopt to go on.
std::optional<int> ParseOptions(const std::vector<std::string>& args,
                                PerfOptions& o) {
  CommandLine cli(
      "lineserve-cli perf (--file IMG | --rows CSV | --health) [options]",
      absl::StrCat(
          "Load-tests a lineserve server, like Triton's perf_analyzer: sends\n"
          "one image to QualityInspection.Inspect (--file) or rows of a CSV\n"
          "table, --rows-per-request per call taken in turn, to\n"
          "EfficiencyPrediction.Predict (--rows). --health sends\n"
          "grpc.health.v1 Check instead: an RPC that runs no model, the\n"
          "floor under every inference call's latency.\n"
          "\n"
          "Closed loop (the default, concurrency 1): --concurrency-range\n"
          "START:END[:STEP] calls in flight, each from its own thread, back\n"
          "to back. STEP adds (default 1); xK multiplies, so 1:64:x2 runs\n"
          "1, 2, 4, ..., 64. --concurrency N is N:N.\n"
          "Open loop: --request-rate R or --request-rate-range\n"
          "START:END[:STEP] calls per second, sent on schedule (--arrivals\n"
          "constant, or poisson with exponential gaps from --seed) by up to\n"
          "--max-threads workers. Latency counts from the scheduled time, so\n"
          "a call that waited for a worker is charged for it; the report\n"
          "says when the client fell behind.\n"
          "\n"
          "Each level is a step: a warm-up (--warmup calls or\n"
          "--warmup-seconds), then windows of --window-ms (or of --requests\n"
          "finished calls) until the last 3 agree on throughput and p95\n"
          "latency within --stability-percent, at most --max-windows. A step\n"
          "reports its last (up to) 3 windows. Every step is bounded, but\n"
          "this is a load generator: point it only at your own server.\n"
          "Exit status 1 when any call failed, 2 on a bad option.\n\n",
          perf::kPerfFieldsHelp));
  o.common.AddTo(cli);
  cli.AddString("file", &o.file, "image (PNG/JPEG) to send to Inspect");
  cli.AddString("rows", &o.rows, "CSV table whose rows are sent to Predict");
  cli.AddBool("health", &o.health,
              "send grpc.health.v1 Check (no model): the RPC's own cost");
  cli.AddInt("rows-per-request", &o.rows_per_request,
             "table rows per Predict call");
  cli.AddString("line-column", &o.line_column,
                "column whose value labels each row's line (--rows)");
  cli.AddString("model", &o.model, "model name (default: the service's)");
  cli.AddInt("concurrency", &o.concurrency,
             "calls in flight (closed loop), same as N:N (0: unset)");
  cli.AddString("concurrency-range", &o.concurrency_range,
                "START:END[:STEP|:xK] calls in flight (closed loop)");
  cli.AddDouble("request-rate", &o.request_rate,
                "calls per second (open loop)");
  cli.AddString("request-rate-range", &o.request_rate_range,
                "START:END[:STEP|:xK] calls per second (open loop)");
  cli.AddString("arrivals", &o.arrivals, "open-loop gaps: constant or poisson");
  cli.AddUint64("seed", &o.seed, "seed of the poisson schedule");
  cli.AddInt("max-threads", &o.max_threads,
             "open-loop workers (most calls in flight); closed-loop bound");
  cli.AddInt("warmup", &o.warmup, "unmeasured calls at the start of a step");
  cli.AddDouble("warmup-seconds", &o.warmup_seconds,
                "unmeasured seconds instead (when > 0)");
  cli.AddInt("window-ms", &o.window_ms, "measurement window, ms");
  cli.AddInt("requests", &o.requests,
             "count windows instead: finished calls per window (when > 0)");
  cli.AddInt("max-windows", &o.max_windows, "most windows per step");
  cli.AddDouble("stability-percent", &o.stability_percent,
                "how close the last 3 windows must be");
  cli.AddString("csv", &o.csv, "also write the steps to this CSV file");
  return cli.ParseForMain(args, kProgram);
}

// Checks the options into one StepOptions per load level, in order.
absl::StatusOr<std::vector<StepOptions>> MakeSteps(const PerfOptions& o) {
  auto bad = [](const std::string& why) {
    return absl::InvalidArgumentError(why);
  };
  if (!o.file.empty() + !o.rows.empty() + o.health != 1) {
    return bad(
        "give exactly one of --file IMG (Inspect), --rows CSV (Predict) and "
        "--health");
  }
  if (o.rows_per_request < 1) return bad("--rows-per-request must be >= 1");
  if (o.concurrency < 0) return bad("--concurrency must be >= 1");
  if (o.request_rate < 0) return bad("--request-rate must be > 0");
  const bool closed = o.concurrency > 0 || !o.concurrency_range.empty();
  const bool open = o.request_rate > 0 || !o.request_rate_range.empty();
  if (closed && open) {
    return bad(
        "give a concurrency (closed loop) or a request rate (open "
        "loop), not both");
  }
  if (o.concurrency > 0 && !o.concurrency_range.empty()) {
    return bad("give --concurrency or --concurrency-range, not both");
  }
  if (o.request_rate > 0 && !o.request_rate_range.empty()) {
    return bad("give --request-rate or --request-rate-range, not both");
  }
  if (o.max_threads < 1 || o.max_threads > kMaxThreads) {
    return bad(absl::StrCat("--max-threads must be 1..", kMaxThreads));
  }
  if (o.warmup < 0 || o.warmup_seconds < 0) {
    return bad("--warmup and --warmup-seconds must be >= 0");
  }
  if (o.window_ms < 1) return bad("--window-ms must be >= 1");
  if (o.requests < 0) return bad("--requests must be >= 0");
  if (o.max_windows < 1) return bad("--max-windows must be >= 1");
  if (o.stability_percent < 0) return bad("--stability-percent must be >= 0");
  auto arrivals = perf::ParseArrivals(o.arrivals);
  if (!arrivals.ok()) return arrivals.status();

  std::vector<double> levels = {1};
  const std::string& range = open ? o.request_rate_range : o.concurrency_range;
  if (!range.empty()) {
    auto parsed = perf::ParseLoadRange(range, /*integers=*/!open);
    if (!parsed.ok()) return parsed.status();
    levels = *std::move(parsed);
  } else if (open) {
    levels = {o.request_rate};
  } else if (closed) {
    levels = {static_cast<double>(o.concurrency)};
  }
  if (!open && levels.back() > o.max_threads) {
    return bad(absl::StrCat("concurrency ", levels.back(),
                            " is more than --max-threads ", o.max_threads,
                            " (a thread per call in flight)"));
  }
  std::vector<StepOptions> steps;
  for (double level : levels) {
    StepOptions step;
    if (open) {
      step.request_rate = level;
    } else {
      step.concurrency = static_cast<int>(level);
    }
    step.arrivals = *arrivals;
    step.seed = o.seed;
    step.max_threads = o.max_threads;
    step.warmup_calls = o.warmup;
    step.warmup_time = absl::Seconds(o.warmup_seconds);
    step.window = absl::Milliseconds(o.window_ms);
    step.window_calls = o.requests;
    step.max_windows = o.max_windows;
    step.stability_percent = o.stability_percent;
    steps.push_back(step);
  }
  return steps;
}

perf::ServerSplit Split(const lineserve::v1::ServerTiming& timing) {
  perf::ServerSplit split;
  split.queue_us = timing.queue_microseconds();
  split.compute_us = timing.compute_microseconds();
  split.batch_size = timing.batch_size();
  return split;
}

absl::StatusOr<Workload> InspectWorkload(const PerfOptions& o,
                                         const Clients& clients) {
  auto image = ReadFile(o.file);
  if (!image.ok()) return image.status();
  auto request = std::make_shared<lineserve::v1::InspectRequest>();
  request->set_image(*std::move(image));
  request->mutable_model()->set_name(o.model);
  Workload workload;
  workload.api = "inspect";
  workload.model = o.model.empty() ? "quality_inspection" : o.model;
  workload.send = [&clients,
                   request](int worker) -> absl::StatusOr<perf::ServerSplit> {
    auto response = clients[worker]->Inspect(*request);
    if (!response.ok()) return response.status();
    return Split(response->timing());
  };
  return workload;
}

// The table is cut into calls of rows_per_request rows taken in turn, the
// last one wrapping round to the first rows, and the calls are built once
// so building is not in the latencies; the workers cycle through them.
absl::StatusOr<Workload> PredictWorkload(const PerfOptions& o,
                                         const Clients& clients) {
  auto table = data::ReadCsv(o.rows);
  if (!table.ok()) return table.status();
  if (table->rows.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(o.rows, ": no rows"));
  }
  auto columns = FindFeatureColumns(*clients[0], o.model, *table);
  if (!columns.ok()) return columns.status();
  const auto line_index = table->ColumnIndex(o.line_column);
  const size_t rows = table->rows.size();
  const size_t per_call = static_cast<size_t>(o.rows_per_request);
  auto requests =
      std::make_shared<std::vector<lineserve::v1::PredictRequest>>();
  for (size_t start = 0; start < rows; start += per_call) {
    lineserve::v1::PredictRequest& request = requests->emplace_back();
    request.mutable_model()->set_name(o.model);
    for (size_t i = 0; i < per_call; ++i) {
      AddFeatureRow(*table, *columns, line_index, (start + i) % rows, request);
    }
  }
  auto next = std::make_shared<std::atomic<uint64_t>>(0);
  Workload workload;
  workload.api = "predict";
  workload.model = o.model.empty() ? "efficiency_prediction" : o.model;
  workload.rows_per_request = o.rows_per_request;
  workload.send = [&clients, requests,
                   next](int worker) -> absl::StatusOr<perf::ServerSplit> {
    const auto& request = (*requests)[next->fetch_add(1) % requests->size()];
    auto response = clients[worker]->Predict(request);
    if (!response.ok()) return response.status();
    return Split(response->timing());
  };
  return workload;
}

// grpc.health.v1 Check of the whole server: serialisation, the channel and
// the server's gRPC threads, no model and no queue.
Workload HealthWorkload(const Clients& clients) {
  Workload workload;
  workload.api = "health";
  workload.model = "(none)";
  workload.send = [&clients](int worker) -> absl::StatusOr<perf::ServerSplit> {
    auto serving = clients[worker]->Health();
    if (!serving.ok()) return serving.status();
    if (!*serving) return absl::UnavailableError("health: NOT_SERVING");
    return perf::ServerSplit{};
  };
  return workload;
}

std::string Title(const Workload& w, const PerfOptions& o,
                  const StepOptions& step) {
  const bool open = step.request_rate > 0;
  return absl::StrFormat(
      "%s via %s: %s, windows of %s (at most %d per step, stable within "
      "%g%%)",
      w.model,
      w.api == "inspect" ? "Inspect"
                         : (w.api == "predict" ? "Predict" : "Health.Check"),
      open
          ? absl::StrFormat("open loop, %s arrivals, %d workers",
                            perf::ArrivalsName(step.arrivals), step.max_threads)
          : "closed loop",
      o.requests > 0 ? absl::StrFormat("%d calls", o.requests)
                     : absl::StrFormat("%d ms", o.window_ms),
      o.max_windows, o.stability_percent);
}

}  // namespace

int RunPerf(const std::vector<std::string>& args) {
  PerfOptions options;
  if (auto code = ParseOptions(args, options)) return *code;
  auto steps = MakeSteps(options);
  if (!steps.ok()) {
    std::cerr << kProgram << ": perf: " << steps.status().message() << "\n";
    return 2;
  }
  std::ofstream csv;
  if (!options.csv.empty()) {
    csv.open(options.csv);
    if (!csv) {
      std::cerr << kProgram << ": perf: cannot write " << options.csv << "\n";
      return 1;
    }
    csv << perf::CsvHeader() << std::endl;
  }
  int workers = 1;
  for (const StepOptions& step : *steps) {
    workers = std::max(workers, perf::Workers(step));
  }
  Clients clients;
  for (int i = 0; i < workers; ++i) {
    clients.push_back(
        std::make_unique<LineserveClient>(options.common.Options()));
  }
  absl::StatusOr<Workload> workload = options.health ? HealthWorkload(clients)
                                      : options.file.empty()
                                          ? PredictWorkload(options, clients)
                                          : InspectWorkload(options, clients);
  if (!workload.ok()) {
    PrintError(options.common,
               {{"input", options.file.empty() ? options.rows : options.file}},
               workload.status());
    return 1;
  }
  if (auto probe = workload->send(0); !probe.ok()) {
    PrintError(options.common, {{"call", "probe"}, {"api", workload->api}},
               probe.status());
    return 1;
  }

  const bool json = options.common.json;
  if (!json) {
    std::cout << Title(*workload, options, steps->front()) << "\n"
              << perf::TableHeader(steps->front().request_rate > 0)
              << std::endl;
  }
  std::vector<std::string> notes;
  bool failed = false;
  for (const StepOptions& step : *steps) {
    perf::StepReport report;
    report.model = workload->model;
    report.api = workload->api;
    report.rows_per_request = workload->rows_per_request;
    report.options = step;
    report.result = perf::RunStep(step, workload->send);
    failed |= report.result.stats.failures > 0;
    if (json) {
      std::cout << perf::StepJson(report).dump() << std::endl;
    } else {
      std::cout << perf::TableRow(report) << std::endl;
    }
    if (csv.is_open()) csv << perf::CsvRow(report) << std::endl;
    for (std::string& note : perf::Notes(report)) {
      notes.push_back(std::move(note));
    }
  }
  // With --json stdout holds only the steps' objects; the notes repeat what
  // their fields say, for a person watching.
  std::ostream& out = json ? std::cerr : std::cout;
  for (const std::string& note : notes) out << "note: " << note << "\n";
  if (csv.is_open() && !csv) {
    std::cerr << kProgram << ": perf: writing " << options.csv << " failed\n";
    return 1;
  }
  return failed ? 1 : 0;
}

}  // namespace lineserve::cli
