// RunStep against a fake send function: count windows only, so the
// assertions are about calls and threads, never about how long anything
// took.
#include "client/cli/perf_load.h"

#include <algorithm>
#include <atomic>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace lineserve::cli::perf {
namespace {

// Answers at once and remembers the worker indices and the most calls it
// saw in flight together.
class FakeServer {
 public:
  SendFn Send() {
    return [this](int worker) -> absl::StatusOr<ServerSplit> {
      const int now = ++in_flight_;
      int seen = max_in_flight_.load();
      while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
      }
      int top = max_worker_.load();
      while (worker > top && !max_worker_.compare_exchange_weak(top, worker)) {
      }
      ++calls_;
      --in_flight_;
      if (fail_) return absl::UnavailableError("fake is down");
      return ServerSplit{10, 20, 1};
    };
  }

  std::atomic<bool> fail_{false};
  std::atomic<int> calls_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  std::atomic<int> max_worker_{-1};
};

StepOptions CountWindows(int calls, int windows) {
  StepOptions options;
  options.warmup_calls = 2;
  options.window_calls = calls;
  options.max_windows = windows;
  return options;
}

TEST(PerfLoadTest, ClosedLoopReportsWholeCountWindows) {
  FakeServer server;
  StepOptions options = CountWindows(5, 2);
  options.concurrency = 3;
  const StepResult result = RunStep(options, server.Send());
  // Two windows cannot be stable (three are compared); both are reported.
  EXPECT_EQ(result.windows, 2);
  EXPECT_FALSE(result.stable);
  EXPECT_EQ(result.stats.requests, 10);
  EXPECT_EQ(result.stats.failures, 0);
  EXPECT_DOUBLE_EQ(result.stats.mean_queue_us, 10);
  EXPECT_DOUBLE_EQ(result.stats.mean_compute_us, 20);
  EXPECT_EQ(result.stats.delayed_requests, 0);
  EXPECT_LE(server.max_in_flight_, 3);
  EXPECT_LE(server.max_worker_, 2);
  EXPECT_GE(server.calls_, 2 + 10);
}

TEST(PerfLoadTest, ReportsAtMostTheLastThreeWindows) {
  FakeServer server;
  StepOptions options = CountWindows(4, 5);
  options.concurrency = 1;
  // Zero tolerance: real latencies never repeat exactly, so all five
  // windows run and the last three are reported.
  options.stability_percent = 0;
  const StepResult result = RunStep(options, server.Send());
  if (!result.stable) {
    EXPECT_EQ(result.windows, 5);
  }
  EXPECT_EQ(result.stats.requests, 4 * std::min(result.windows, 3));
}

TEST(PerfLoadTest, CountsFailuresByCode) {
  FakeServer server;
  server.fail_ = true;
  StepOptions options = CountWindows(3, 1);
  options.concurrency = 2;
  const StepResult result = RunStep(options, server.Send());
  EXPECT_EQ(result.stats.requests, 0);
  EXPECT_EQ(result.stats.failures, 3);
  ASSERT_EQ(result.stats.errors.size(), 1u);
  EXPECT_EQ(result.stats.errors[0].code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(result.stats.errors[0].first_message, "fake is down");
}

TEST(PerfLoadTest, OpenLoopSendsFromBoundedWorkers) {
  FakeServer server;
  StepOptions options = CountWindows(10, 1);
  options.request_rate = 5000;
  options.arrivals = Arrivals::kPoisson;
  options.max_threads = 4;
  EXPECT_EQ(Workers(options), 4);
  const StepResult result = RunStep(options, server.Send());
  EXPECT_EQ(result.windows, 1);
  EXPECT_EQ(result.stats.requests, 10);
  EXPECT_LE(server.max_worker_, 3);
  EXPECT_LE(server.max_in_flight_, 4);
}

}  // namespace
}  // namespace lineserve::cli::perf
