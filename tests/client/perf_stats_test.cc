#include "client/cli/perf_stats.h"

#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::cli::perf {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<double> Levels(absl::string_view text, bool integers) {
  auto levels = ParseLoadRange(text, integers);
  EXPECT_TRUE(levels.ok()) << text << ": " << levels.status();
  return levels.ok() ? *levels : std::vector<double>{};
}

std::string RangeError(absl::string_view text, bool integers) {
  auto levels = ParseLoadRange(text, integers);
  EXPECT_EQ(levels.status().code(), absl::StatusCode::kInvalidArgument) << text;
  return std::string(levels.status().message());
}

TEST(PerfStatsTest, LinearRangeStepsByOneByDefault) {
  EXPECT_THAT(Levels("1:4", true), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(Levels("2:10:3", true), ElementsAre(2, 5, 8));
  EXPECT_THAT(Levels("8", true), ElementsAre(8));
  EXPECT_THAT(Levels("3:3", true), ElementsAre(3));
}

TEST(PerfStatsTest, MultiplyingRangeDoubles) {
  EXPECT_THAT(Levels("1:64:x2", true), ElementsAre(1, 2, 4, 8, 16, 32, 64));
  EXPECT_THAT(Levels("1:10:x3", true), ElementsAre(1, 3, 9));
  // Whole levels are rounded and repeats dropped.
  EXPECT_THAT(Levels("1:10:x1.5", true), ElementsAre(1, 2, 3, 5, 8));
}

TEST(PerfStatsTest, RateRangesMayBeFractional) {
  EXPECT_THAT(Levels("0.5:2:0.5", false), ElementsAre(0.5, 1, 1.5, 2));
  // 0.1 + 0.1 + 0.1 overshoots 0.3 in binary; the slack keeps the END.
  EXPECT_EQ(Levels("0.1:0.3:0.1", false).size(), 3u);
  EXPECT_THAT(Levels("10:40:x2", false), ElementsAre(10, 20, 40));
}

TEST(PerfStatsTest, RefusesBadRanges) {
  EXPECT_THAT(RangeError("4:1", true), HasSubstr("START is greater than END"));
  EXPECT_THAT(RangeError("0:4", true), HasSubstr("START must be > 0"));
  EXPECT_THAT(RangeError("-1:4", true), HasSubstr("START must be > 0"));
  EXPECT_THAT(RangeError("a:4", true), HasSubstr("START is not a number"));
  EXPECT_THAT(RangeError("1:", true), HasSubstr("END is not a number"));
  EXPECT_THAT(RangeError("1:4:0", true), HasSubstr("STEP must be > 0"));
  EXPECT_THAT(RangeError("1:4:x1", true), HasSubstr("FACTOR > 1"));
  EXPECT_THAT(RangeError("1:4:y", true), HasSubstr("STEP must be a number"));
  EXPECT_THAT(RangeError("1:2:3:4", true), HasSubstr("START:END[:STEP]"));
  EXPECT_THAT(RangeError("1.5:4", true), HasSubstr("whole numbers"));
  EXPECT_THAT(RangeError("1:4:0.5", true), HasSubstr("whole number"));
  EXPECT_THAT(RangeError("1:100000", true), HasSubstr("more than 1000"));
  EXPECT_THAT(RangeError("4:1", true), HasSubstr("'4:1'"));
}

TEST(PerfStatsTest, PercentileIsNearestRank) {
  std::vector<double> values(20);
  std::iota(values.begin(), values.end(), 1.0);  // 1 .. 20
  EXPECT_EQ(Percentile(values, 0.50), 10);
  EXPECT_EQ(Percentile(values, 0.90), 18);
  EXPECT_EQ(Percentile(values, 0.95), 19);
  EXPECT_EQ(Percentile(values, 0.99), 20);
  EXPECT_EQ(Percentile(values, 1.0), 20);
  EXPECT_EQ(Percentile(values, 0.0), 1);
  EXPECT_EQ(Percentile({7.5}, 0.99), 7.5);
}

TEST(PerfStatsTest, StableNeedsThreeWindowsWithinPercent) {
  EXPECT_FALSE(IsStable({}, 10));
  EXPECT_FALSE(IsStable({{100, 5}, {100, 5}}, 10));
  EXPECT_TRUE(IsStable({{100, 5}, {105, 5.2}, {109, 5.4}}, 10));
  // Throughput out of band.
  EXPECT_FALSE(IsStable({{100, 5}, {105, 5}, {111, 5}}, 10));
  // p95 latency out of band.
  EXPECT_FALSE(IsStable({{100, 5}, {100, 6}, {100, 5}}, 10));
  // Only the last three count.
  EXPECT_TRUE(IsStable({{10, 50}, {100, 5}, {100, 5}, {100, 5}}, 10));
  // All zero is stable; zero beside non-zero is not.
  EXPECT_TRUE(IsStable({{0, 0}, {0, 0}, {0, 0}}, 10));
  EXPECT_FALSE(IsStable({{0, 0}, {1, 1}, {1, 1}}, 10));
}

TEST(PerfStatsTest, MeasureCountsAnsweredCallsOnly) {
  Window window;
  window.start = absl::UnixEpoch();
  window.end = window.start + absl::Seconds(2);
  for (int ms = 1; ms <= 4; ++ms) {
    Call call;
    call.latency = absl::Milliseconds(ms);
    window.calls.push_back(call);
  }
  Call failed;
  failed.latency = absl::Seconds(9);
  failed.status = absl::UnavailableError("down");
  window.calls.push_back(failed);
  const WindowMeasure measure = Measure(window);
  EXPECT_DOUBLE_EQ(measure.throughput_rps, 2.0);
  EXPECT_DOUBLE_EQ(measure.latency_ms_p95, 4.0);
}

TEST(PerfStatsTest, ParsesArrivals) {
  EXPECT_EQ(*ParseArrivals("constant"), Arrivals::kConstant);
  EXPECT_EQ(*ParseArrivals("poisson"), Arrivals::kPoisson);
  EXPECT_FALSE(ParseArrivals("bursty").ok());
  EXPECT_STREQ(ArrivalsName(Arrivals::kPoisson), "poisson");
}

TEST(PerfStatsTest, ConstantScheduleDoesNotDrift) {
  ArrivalSchedule schedule(20, Arrivals::kConstant, 1);
  EXPECT_EQ(schedule.Next(), absl::Milliseconds(50));
  EXPECT_EQ(schedule.Next(), absl::Milliseconds(100));
  absl::Duration last;
  for (int i = 3; i <= 1000; ++i) last = schedule.Next();
  EXPECT_EQ(last, absl::Seconds(50));
}

TEST(PerfStatsTest, PoissonScheduleIsSeededWithMeanGapOfOneOverRate) {
  constexpr double kRate = 50;
  constexpr int kSends = 100000;
  ArrivalSchedule a(kRate, Arrivals::kPoisson, 42);
  ArrivalSchedule b(kRate, Arrivals::kPoisson, 42);
  ArrivalSchedule other(kRate, Arrivals::kPoisson, 43);
  absl::Duration previous, last;
  bool differs = false;
  for (int i = 0; i < kSends; ++i) {
    last = a.Next();
    ASSERT_EQ(last, b.Next()) << "send " << i;
    ASSERT_GE(last, previous);
    differs |= other.Next() != last;
    previous = last;
  }
  EXPECT_TRUE(differs);
  // 100000 exponential gaps: the mean's relative standard error is 0.3%,
  // and the seed fixes the draw, so 1% is a bound, not a hope.
  const double mean_gap = absl::ToDoubleSeconds(last) / kSends;
  EXPECT_NEAR(mean_gap, 1 / kRate, 0.01 / kRate);
}

Call Answered(int latency_ms, int64_t queue_us, int64_t compute_us, int batch) {
  Call call;
  call.latency = absl::Milliseconds(latency_ms);
  call.server = {queue_us, compute_us, batch};
  return call;
}

Call Failed(absl::Status status) {
  Call call;
  call.latency = absl::Milliseconds(1);
  call.status = std::move(status);
  return call;
}

TEST(PerfStatsTest, SummariseSplitsLatencyAndGroupsErrorsByCode) {
  Window one, two;
  one.start = absl::UnixEpoch();
  one.end = two.start = one.start + absl::Seconds(1);
  two.end = two.start + absl::Seconds(1);
  one.calls = {Answered(2, 500, 1000, 1), Answered(4, 1500, 1000, 3),
               Failed(absl::UnavailableError("first down"))};
  two.calls = {Answered(6, 1000, 1000, 2),
               Failed(absl::UnavailableError("second down")),
               Failed(absl::DeadlineExceededError("slow"))};
  const StepStats s = Summarise({one, two});
  EXPECT_EQ(s.requests, 3);
  EXPECT_EQ(s.failures, 3);
  EXPECT_DOUBLE_EQ(s.seconds, 2);
  EXPECT_DOUBLE_EQ(s.throughput_rps, 1.5);
  EXPECT_DOUBLE_EQ(s.achieved_rate_rps, 3);
  EXPECT_DOUBLE_EQ(s.latency_ms_p50, 4);
  EXPECT_DOUBLE_EQ(s.latency_ms_p99, 6);
  EXPECT_DOUBLE_EQ(s.latency_ms_mean, 4);
  EXPECT_DOUBLE_EQ(s.mean_queue_us, 1000);
  EXPECT_DOUBLE_EQ(s.mean_compute_us, 1000);
  EXPECT_DOUBLE_EQ(s.mean_batch_size, 2);
  EXPECT_DOUBLE_EQ(s.mean_client_overhead_us, 2000);
  ASSERT_EQ(s.errors.size(), 2u);
  // Ordered by code: DEADLINE_EXCEEDED (4) before UNAVAILABLE (14).
  EXPECT_EQ(s.errors[0].code, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(s.errors[0].count, 1);
  EXPECT_EQ(s.errors[1].code, absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.errors[1].count, 2);
  EXPECT_EQ(s.errors[1].first_message, "first down");
  EXPECT_TRUE(s.client_kept_up);
}

TEST(PerfStatsTest, ClientFellBehindWhenManyCallsLeftLate) {
  Window window;
  window.end = window.start + absl::Seconds(1);
  for (int i = 0; i < 20; ++i) window.calls.push_back(Answered(1, 0, 0, 1));
  window.calls[0].send_delay = absl::Milliseconds(5);
  window.calls[1].send_delay = absl::Milliseconds(5);
  // Exactly the threshold is late, not "more than".
  window.calls[2].send_delay = kLateSend;
  StepStats s = Summarise({window});
  EXPECT_EQ(s.delayed_requests, 2);
  EXPECT_TRUE(s.client_kept_up);  // 2 of 20 is 10%
  window.calls[3].send_delay = absl::Milliseconds(5);
  s = Summarise({window});
  EXPECT_EQ(s.delayed_requests, 3);
  EXPECT_FALSE(s.client_kept_up);
}

TEST(PerfStatsTest, SummaryOfNoAnswersHasNoLatency) {
  Window window;
  window.end = window.start + absl::Seconds(1);
  window.calls = {Failed(absl::NotFoundError("no model"))};
  const StepStats s = Summarise({window});
  EXPECT_EQ(s.requests, 0);
  EXPECT_EQ(s.failures, 1);
  EXPECT_EQ(s.latency_ms_p50, 0);
  EXPECT_EQ(s.mean_client_overhead_us, 0);
}

}  // namespace
}  // namespace lineserve::cli::perf
