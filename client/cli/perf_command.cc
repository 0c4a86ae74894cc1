// lineserve-cli perf: a bounded load test of QualityInspection.Inspect.
//
// The recipe: parse the options, read the image, warm up, run the measured
// load from --concurrency threads, summarise the answered calls and print.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "client/lineserve_client.h"
#include "models/base/command_line.h"
#include "models/base/file_util.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {
namespace {

struct PerfOptions {
  Common common;
  std::string file, model;
  int concurrency = 1, requests = 200, warmup = 16;
};

// One answered call: the latency seen here and what the server reports.
struct Sample {
  double latency_ms;
  int batch_size;
  int64_t queue_us, compute_us;
};

// The measured phase: the answered calls (in no order) and the failed ones.
struct Load {
  std::vector<Sample> samples;
  int failures = 0;
  double seconds = 0;
};

struct Summary {
  size_t calls = 0;
  double seconds = 0;
  double throughput_rps = 0;
  double latency_ms_p50 = 0, latency_ms_p90 = 0, latency_ms_p99 = 0;
  double mean_batch_size = 0, mean_queue_us = 0, mean_compute_us = 0;
};

// Indexed by thread: thread c calls only through clients[c].
using Clients = std::vector<std::unique_ptr<LineserveClient>>;

// Returns the exit code to end with (after --help or a usage error), or
// nullopt to go on.
std::optional<int> ParseOptions(const std::vector<std::string>& args,
                                PerfOptions& options) {
  CommandLine cli(
      "lineserve-cli perf --file IMG [options]",
      "Sends the same image with QualityInspection.Inspect from\n"
      "--concurrency clients (one channel each, one call in flight each)\n"
      "until --requests calls are answered; reports throughput, latency\n"
      "percentiles and the server's batch size, queue and compute time.\n"
      "Bounded by --requests: run it only against your own server.");
  options.common.AddTo(cli);
  cli.AddString("file", &options.file, "PNG or JPEG image", true);
  cli.AddString("model", &options.model, "model name (default: the service's)");
  cli.AddInt("concurrency", &options.concurrency, "clients calling at once");
  cli.AddInt("requests", &options.requests,
             "measured calls, all clients together");
  cli.AddInt("warmup", &options.warmup, "unmeasured calls first");
  return cli.ParseForMain(args, kProgram);
}

Clients MakeClients(const Common& common, int count) {
  Clients clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<LineserveClient>(common.Options()));
  }
  return clients;
}

// Unmeasured calls, spread over the clients, so connecting and the server's
// first calls are not in the latencies. The first failure ends it and is
// returned.
absl::Status Warmup(const Clients& clients,
                    const lineserve::v1::InspectRequest& request, int calls) {
  for (int i = 0; i < calls; ++i) {
    auto r = clients[i % clients.size()]->Inspect(request);
    if (!r.ok()) return r.status();
  }
  return absl::OkStatus();
}

// Each client's thread calls back to back, one call in flight, until
// `requests` calls have been started by all threads together.
Load RunLoad(const Clients& clients,
             const lineserve::v1::InspectRequest& request, int requests) {
  std::mutex mu;
  std::vector<Sample> samples;
  std::atomic<int> next{0}, failures{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> threads;
  for (size_t c = 0; c < clients.size(); ++c) {
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
  Load load;
  load.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  load.samples = std::move(samples);
  load.failures = failures.load();
  return load;
}

// The latency below which a fraction `q` of the calls fall; `sorted` is
// ordered by latency and not empty.
double Percentile(const std::vector<Sample>& sorted, double q) {
  return sorted[std::min(sorted.size() - 1,
                         static_cast<size_t>(q * sorted.size()))]
      .latency_ms;
}

// `samples` must not be empty.
Summary Summarise(std::vector<Sample> samples, double seconds) {
  std::sort(samples.begin(), samples.end(),
            [](const Sample& a, const Sample& b) {
              return a.latency_ms < b.latency_ms;
            });
  double batch = 0, queue = 0, compute = 0;
  for (const Sample& s : samples) {
    batch += s.batch_size;
    queue += s.queue_us;
    compute += s.compute_us;
  }
  const double n = static_cast<double>(samples.size());
  Summary summary;
  summary.calls = samples.size();
  summary.seconds = seconds;
  summary.throughput_rps = n / seconds;
  summary.latency_ms_p50 = Percentile(samples, 0.50);
  summary.latency_ms_p90 = Percentile(samples, 0.90);
  summary.latency_ms_p99 = Percentile(samples, 0.99);
  summary.mean_batch_size = batch / n;
  summary.mean_queue_us = queue / n;
  summary.mean_compute_us = compute / n;
  return summary;
}

void PrintSummary(const PerfOptions& options, int failures, const Summary& s) {
  const std::string model =
      options.model.empty() ? "quality_inspection" : options.model;
  if (options.common.json) {
    const nlohmann::json result = {{"model", model},
                                   {"concurrency", options.concurrency},
                                   {"requests", s.calls},
                                   {"failures", failures},
                                   {"seconds", s.seconds},
                                   {"throughput_rps", s.throughput_rps},
                                   {"latency_ms_p50", s.latency_ms_p50},
                                   {"latency_ms_p90", s.latency_ms_p90},
                                   {"latency_ms_p99", s.latency_ms_p99},
                                   {"mean_batch_size", s.mean_batch_size},
                                   {"mean_queue_us", s.mean_queue_us},
                                   {"mean_compute_us", s.mean_compute_us}};
    std::cout << result.dump() << std::endl;
  } else {
    std::cout << absl::StrFormat(
        "%s: %d clients, %d calls in %.2f s: %.1f req/s; latency p50 %.2f ms "
        "p90 %.2f ms p99 %.2f ms; server batch %.2f, queue %.0f us, compute "
        "%.0f us\n",
        model, options.concurrency, static_cast<int>(s.calls), s.seconds,
        s.throughput_rps, s.latency_ms_p50, s.latency_ms_p90, s.latency_ms_p99,
        s.mean_batch_size, s.mean_queue_us, s.mean_compute_us);
  }
}

}  // namespace

int RunPerf(const std::vector<std::string>& args) {
  PerfOptions options;
  if (auto code = ParseOptions(args, options)) return *code;
  auto image = ReadFile(options.file);
  if (!image.ok()) {
    std::cerr << kProgram << ": " << image.status().message() << "\n";
    return 1;
  }
  options.concurrency = std::max(1, options.concurrency);
  lineserve::v1::InspectRequest request;
  request.set_image(*std::move(image));
  request.mutable_model()->set_name(options.model);

  const Clients clients = MakeClients(options.common, options.concurrency);
  if (absl::Status status = Warmup(clients, request, options.warmup);
      !status.ok()) {
    PrintError(options.common, {{"call", "warmup"}}, status);
    return 1;
  }
  Load load = RunLoad(clients, request, options.requests);
  if (load.samples.empty()) {
    std::cerr << kProgram << ": every call failed\n";
    return 1;
  }
  PrintSummary(options, load.failures,
               Summarise(std::move(load.samples), load.seconds));
  return load.failures == 0 ? 0 : 1;
}

}  // namespace lineserve::cli
