// One step of `lineserve-cli perf`: drives a load on worker threads, warms
// up, measures windows until they are stable or the bound is reached, and
// stops the load.
//
// Two loads, as in Triton's perf_analyzer:
//  - closed loop: `concurrency` threads each keep one call in flight, back
//    to back, so the server's speed sets the rate;
//  - open loop: calls leave on a schedule (`request_rate`, constant or
//    Poisson gaps) from a pool of `max_threads` workers, so a slow server
//    does not slow the schedule until every worker is busy; latency is then
//    counted from the scheduled time and the late sends are reported.
//
// Contract: RunStep blocks the calling thread for the whole step. `send` is
// called concurrently from the worker threads, each passing its own index
// (0 .. workers-1), and must be thread-safe; it performs one call and
// returns the server's timing or the call's error. The step is bounded:
// warm-up plus at most `max_windows` windows (each `window` long, or
// `window_calls` calls each bounded by the caller's gRPC deadline).
#ifndef LINESERVE_CLIENT_CLI_PERF_LOAD_H_
#define LINESERVE_CLIENT_CLI_PERF_LOAD_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/cli/perf_stats.h"

namespace lineserve::cli::perf {

using SendFn = std::function<absl::StatusOr<ServerSplit>(int worker)>;

struct StepOptions {
  // Exactly one is > 0: calls in flight (closed loop) or calls per second
  // (open loop).
  int concurrency = 0;
  double request_rate = 0;
  // Open loop only: the gaps between sends, their seed, and the workers
  // that send (the most calls that can be in flight).
  Arrivals arrivals = Arrivals::kConstant;
  uint64_t seed = 1;
  int max_threads = 64;
  // Unmeasured start of the step: `warmup_time` when > 0, else the first
  // `warmup_calls` finished calls.
  int warmup_calls = 0;
  absl::Duration warmup_time = absl::ZeroDuration();
  // Each window is `window_calls` finished calls when > 0, else `window`
  // of wall time.
  absl::Duration window = absl::Seconds(1);
  int window_calls = 0;
  int max_windows = 10;
  // See IsStable.
  double stability_percent = 10;
};

struct StepResult {
  // Over the last (up to kStableWindows) windows.
  StepStats stats;
  int windows = 0;  // measured
  bool stable = false;
};

StepResult RunStep(const StepOptions& options, const SendFn& send);

// The number of worker threads, and so of distinct `worker` indices, that
// RunStep uses for `options`.
int Workers(const StepOptions& options);

}  // namespace lineserve::cli::perf

#endif  // LINESERVE_CLIENT_CLI_PERF_LOAD_H_
