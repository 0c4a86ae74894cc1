// The arithmetic of `lineserve-cli perf`: load ranges, percentiles, the
// stability rule, open-loop arrival schedules and the summary of a step's
// calls.
//
// Contract: no threads, no clock, no gRPC; every function is pure and every
// object is used from one thread, so all of it is unit-tested
// (tests/client/perf_stats_test.cc). Times arrive as values (the recorder
// stamps them), which keeps the rules here independent of the wall clock.
#ifndef LINESERVE_CLIENT_CLI_PERF_STATS_H_
#define LINESERVE_CLIENT_CLI_PERF_STATS_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace lineserve::cli::perf {

// The server's account of one answered call (lineserve.v1.ServerTiming),
// copied out of the proto so this library builds without gRPC.
struct ServerSplit {
  int64_t queue_us = 0;
  int64_t compute_us = 0;
  int batch_size = 0;
};

// One finished call, answered or failed.
struct Call {
  // Closed loop: from send to answer. Open loop: from the scheduled send
  // time, so a call that waited for a free worker is charged for the wait
  // (no coordinated omission).
  absl::Duration latency;
  // Open loop: how long after its scheduled time the call left; zero in a
  // closed loop, which has no schedule.
  absl::Duration send_delay;
  absl::Status status;
  ServerSplit server;  // meaningful only when status is OK
  // When the recorder received the call; orders calls into windows.
  absl::Time done;
};

// A measurement window: the calls that finished in [start, end).
struct Window {
  absl::Time start;
  absl::Time end;
  std::vector<Call> calls;
};

// The most levels one range may expand to: a typo such as 1:100000 should
// be refused, not run for hours.
inline constexpr int kMaxLoadLevels = 1000;

// Parses a load range as perf_analyzer writes it, START:END[:STEP], or a
// single level N (same as N:N). A numeric STEP is added (default 1:
// START, START+STEP, ... up to END); "xK" multiplies instead (1:64:x2 gives
// 1, 2, 4, ..., 64). No level exceeds END. With `integers` (concurrency)
// START, END and a linear STEP must be whole numbers, and multiplied levels
// are rounded (repeats dropped). INVALID_ARGUMENT,
// quoting `text`, when it is malformed, START <= 0, START > END, STEP <= 0,
// K <= 1 or it gives more than kMaxLoadLevels levels.
absl::StatusOr<std::vector<double>> ParseLoadRange(absl::string_view text,
                                                   bool integers);

// Nearest-rank percentile: the smallest value of `sorted` (ascending, not
// empty) with at least `fraction` (0..1] of the values at or below it.
// Never interpolates, so it is always a latency that was measured.
double Percentile(const std::vector<double>& sorted, double fraction);

// What the stability rule compares between windows.
struct WindowMeasure {
  double throughput_rps = 0;  // answered calls per second
  double latency_ms_p95 = 0;  // of the answered calls; 0 when none
};

WindowMeasure Measure(const Window& window);

// The number of most recent windows the stability rule compares.
inline constexpr int kStableWindows = 3;

// True when there are at least kStableWindows windows and, over the last
// kStableWindows of them, the largest throughput is within `percent` of the
// smallest (max <= min * (1 + percent / 100)) and so is the p95 latency.
// A quantity that is zero in one of those windows is stable only if it is
// zero in all of them.
bool IsStable(const std::vector<WindowMeasure>& windows, double percent);

enum class Arrivals { kConstant, kPoisson };

// "constant" or "poisson"; INVALID_ARGUMENT otherwise.
absl::StatusOr<Arrivals> ParseArrivals(absl::string_view text);
const char* ArrivalsName(Arrivals arrivals);

// The send times of an open loop at `rate_per_second`, as offsets from the
// loop's start. Constant: one every 1/rate. Poisson: independent
// exponential gaps of mean 1/rate drawn from a std::mt19937_64 seeded with
// `seed`, so the same seed replays the same schedule (within one standard
// library). Not thread-safe: the load generator serialises Next().
class ArrivalSchedule {
 public:
  // `rate_per_second` must be > 0.
  ArrivalSchedule(double rate_per_second, Arrivals arrivals, uint64_t seed);

  // The offset of the next send; never decreases.
  absl::Duration Next();

 private:
  double rate_per_second_;
  Arrivals arrivals_;
  std::mt19937_64 engine_;
  std::exponential_distribution<double> gap_seconds_;
  // Constant: the index of the next send (offsets are computed from it, not
  // summed, so they do not drift). Poisson: the running sum of gaps.
  int64_t sends_ = 0;
  double offset_seconds_ = 0;
};

// A call that left more than this after its scheduled time was held up by
// the client (all workers busy); sleeping threads wake well within it.
inline constexpr absl::Duration kLateSend = absl::Milliseconds(1);
// An open loop "kept up" while at most this fraction of its calls were
// late: a few late wake-ups on a busy client machine are not a client that
// cannot hold the rate.
inline constexpr double kMaxLateFraction = 0.10;

// The failures of one status code in a step.
struct ErrorCount {
  absl::StatusCode code = absl::StatusCode::kUnknown;
  int count = 0;
  std::string first_message;
};

// What a step reports, over the windows it keeps.
struct StepStats {
  int requests = 0;  // answered OK
  int failures = 0;
  double seconds = 0;         // the windows' total length
  double throughput_rps = 0;  // answered calls per second
  // Finished calls (answered or failed) per second: in an open loop, the
  // rate the client achieved.
  double achieved_rate_rps = 0;
  // Of the answered calls.
  double latency_ms_p50 = 0;
  double latency_ms_p90 = 0;
  double latency_ms_p95 = 0;
  double latency_ms_p99 = 0;
  double latency_ms_mean = 0;
  // The server's split of the answered calls (means), and what is left of
  // the mean latency: network, (de)serialisation and the client.
  double mean_queue_us = 0;
  double mean_compute_us = 0;
  double mean_batch_size = 0;
  double mean_client_overhead_us = 0;
  // Calls that left more than kLateSend after their scheduled time.
  int delayed_requests = 0;
  bool client_kept_up = true;
  std::vector<ErrorCount> errors;  // ordered by code
};

// Summarises the calls of `windows` taken together.
StepStats Summarise(const std::vector<Window>& windows);

}  // namespace lineserve::cli::perf

#endif  // LINESERVE_CLIENT_CLI_PERF_STATS_H_
