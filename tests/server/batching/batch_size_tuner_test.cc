#include "server/batching/batch_size_tuner.h"

#include <functional>
#include <map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_backend.h"
#include "tests/support/fake_clock.h"

namespace lineserve {
namespace {

using ::lineserve::testing::FakeBackend;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Times per sample in microseconds, one per size of SweepBatchSizes(max).
std::vector<BatchSizeTiming> Timings(int max_batch_size,
                                     const std::vector<double>& per_sample_us) {
  std::vector<BatchSizeTiming> timings;
  const std::vector<int> sizes = SweepBatchSizes(max_batch_size);
  for (size_t i = 0; i < sizes.size(); ++i) {
    timings.push_back({sizes[i], absl::Microseconds(per_sample_us.at(i))});
  }
  return timings;
}

TEST(BatchSizeTunerTest, SweepsPowersOfTwoUpToTheMaximum) {
  EXPECT_THAT(SweepBatchSizes(1), ElementsAre(1));
  EXPECT_THAT(SweepBatchSizes(2), ElementsAre(1, 2));
  EXPECT_THAT(SweepBatchSizes(16), ElementsAre(1, 2, 4, 8, 16));
  EXPECT_THAT(SweepBatchSizes(12), ElementsAre(1, 2, 4, 8, 12));
}

// The figures of BENCHMARKS.md's in-process sweep: the 128 px CNN on 2 CPU
// cores costs about the same per image at every size, the tree model gains
// up to 8 rows and hardly beyond.
TEST(BatchSizeTunerTest, ChoosesTheSmallestSizeAboutAsFastAsTheFastest) {
  EXPECT_EQ(ChooseMaxBatchSize(Timings(16, {14000, 14990, 13050, 13990, 14370}),
                               0.10),
            1);
  EXPECT_EQ(ChooseMaxBatchSize(
                Timings(64, {35.2, 20.3, 16.5, 15.4, 14.0, 15.8, 16.0}), 0.10),
            8);
  // A GPU: every doubling halves the cost per sample.
  EXPECT_EQ(ChooseMaxBatchSize(Timings(8, {800, 400, 200, 100}), 0.10), 8);
  // No tolerance: exactly the fastest.
  EXPECT_EQ(ChooseMaxBatchSize(
                Timings(64, {35.2, 20.3, 16.5, 15.4, 14.0, 15.8, 16.0}), 0.0),
            16);
}

// A backend whose pass at batch b advances `clock` by cost(b, run of that
// size): the tuner's timing is then exact.
std::unique_ptr<FakeBackend> TimedBackend(
    FakeClock& clock, std::function<absl::Duration(int, int)> cost) {
  const TensorSpec in{"x", DataType::kFp32, {3, -1}};
  const TensorSpec out{"y", DataType::kFp32, {1}};
  auto runs = std::make_shared<std::map<int, int>>();
  return std::make_unique<FakeBackend>(
      std::vector<TensorSpec>{in}, std::vector<TensorSpec>{out},
      [&clock, cost, runs](const std::vector<Tensor>& inputs, int batch_size)
          -> absl::StatusOr<std::vector<Tensor>> {
        EXPECT_EQ(inputs.at(0).shape, (std::vector<int64_t>{batch_size, 3, 1}));
        clock.Advance(cost(batch_size, (*runs)[batch_size]++));
        return std::vector<Tensor>{
            Tensor::Zeros("y", DataType::kFp32, {batch_size, 1})};
      });
}

TEST(BatchSizeTunerTest, TimesTheMedianPassAfterTheUntimedOnes) {
  FakeClock clock;
  // A fixed 1 ms per pass plus 0.1 ms per sample; the first two passes of
  // each size (graph optimisation) take a second, and the third of each
  // size is 5 ms slower (noise the median drops).
  auto backend = TimedBackend(clock, [](int b, int run) {
    if (run < 2) return absl::Seconds(1);
    return absl::Milliseconds(1) + b * absl::Microseconds(100) +
           (run == 2 ? absl::Milliseconds(5) : absl::ZeroDuration());
  });
  auto choice = TuneMaxBatchSize(*backend, 8, clock);
  ASSERT_TRUE(choice.ok()) << choice.status();
  ASSERT_EQ(choice->timings.size(), 4u);
  EXPECT_EQ(choice->timings[0].per_sample, absl::Microseconds(1100));
  EXPECT_EQ(choice->timings[1].per_sample, absl::Microseconds(600));
  EXPECT_EQ(choice->timings[2].per_sample, absl::Microseconds(350));
  EXPECT_EQ(choice->timings[3].per_sample, absl::Microseconds(225));
  EXPECT_EQ(choice->max_batch_size, 8);
  EXPECT_EQ(TimingsText(choice->timings),
            "1: 1.1ms 2: 600us 4: 350us 8: 225us");
  // Five passes per size: 2 untimed, 3 timed.
  EXPECT_EQ(backend->batch_sizes().size(), 4u * 5u);
}

TEST(BatchSizeTunerTest, FlatCostPerSampleServesOneAtATime) {
  FakeClock clock;
  auto backend = TimedBackend(
      clock, [](int b, int) { return b * absl::Milliseconds(14); });
  auto choice = TuneMaxBatchSize(*backend, 16, clock);
  ASSERT_TRUE(choice.ok()) << choice.status();
  EXPECT_EQ(choice->max_batch_size, 1);
}

TEST(BatchSizeTunerTest, AFailedPassNamesTheBatchSize) {
  FakeClock clock;
  auto backend =
      TimedBackend(clock, [](int, int) { return absl::Milliseconds(1); });
  backend->FailWith(absl::InternalError("out of memory"));
  auto choice = TuneMaxBatchSize(*backend, 4, clock);
  EXPECT_EQ(choice.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(choice.status().message(), HasSubstr("batch size 1"));
  EXPECT_THAT(choice.status().message(), HasSubstr("out of memory"));
}

}  // namespace
}  // namespace lineserve
