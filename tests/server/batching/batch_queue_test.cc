#include "server/batching/batch_queue.h"

#include <memory>
#include <optional>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const absl::Time kT0 = absl::UnixEpoch() + absl::Hours(1);

// A task tagged by its only input value, so batches can be checked by id.
std::unique_ptr<InferenceTask> MakeTask(
    float id, absl::Time deadline = absl::InfiniteFuture()) {
  auto task = std::make_unique<InferenceTask>();
  task->inputs.push_back(Tensor::FromFloats("id", {1}, {id}));
  task->deadline = deadline;
  return task;
}

std::vector<float> Ids(const std::vector<std::unique_ptr<InferenceTask>>& v) {
  std::vector<float> ids;
  for (const auto& task : v) ids.push_back(task->inputs[0].values<float>()[0]);
  return ids;
}

BatchQueueOptions Options(int max_batch_size, absl::Duration delay,
                          std::vector<int> preferred = {},
                          int max_queue_size = 100) {
  BatchQueueOptions options;
  options.max_batch_size = max_batch_size;
  options.max_queue_delay = delay;
  options.preferred_batch_sizes = std::move(preferred);
  options.max_queue_size = max_queue_size;
  return options;
}

void EnqueueOk(BatchQueue& queue, float id, absl::Time now,
               absl::Time deadline = absl::InfiniteFuture()) {
  std::unique_ptr<InferenceTask> task = MakeTask(id, deadline);
  ASSERT_TRUE(queue.Enqueue(task, now).ok());
  EXPECT_EQ(task, nullptr);
}

TEST(BatchQueueTest, EnqueueTakesTaskAndStampsEnqueueTime) {
  BatchQueue queue(Options(4, absl::Milliseconds(5)));
  std::unique_ptr<InferenceTask> task = MakeTask(1);
  InferenceTask* raw = task.get();
  ASSERT_TRUE(queue.Enqueue(task, kT0).ok());
  EXPECT_EQ(task, nullptr);
  EXPECT_EQ(raw->enqueue_time, kT0);
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BatchQueueTest, FullQueueRefusesAndCallerKeepsOwnership) {
  BatchQueue queue(Options(8, absl::Seconds(1), {}, /*max_queue_size=*/2));
  EnqueueOk(queue, 1, kT0);
  EnqueueOk(queue, 2, kT0);

  std::unique_ptr<InferenceTask> third = MakeTask(3);
  InferenceTask* raw = third.get();
  absl::Status status = queue.Enqueue(third, kT0);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("max_queue_size 2"));
  ASSERT_EQ(third.get(), raw);
  EXPECT_EQ(third->inputs[0].values<float>()[0], 3.0f);
  EXPECT_EQ(third->enqueue_time, absl::InfinitePast());
  EXPECT_EQ(queue.size(), 2u);
}

TEST(BatchQueueTest, EnqueueAllTakesAnyRequestIntoAnEmptyQueue) {
  BatchQueue queue(Options(8, absl::Seconds(1), {}, /*max_queue_size=*/2));
  std::vector<std::unique_ptr<InferenceTask>> tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(MakeTask(i));
  ASSERT_TRUE(queue.EnqueueAll(tasks, kT0).ok());
  EXPECT_TRUE(tasks.empty());
  EXPECT_EQ(queue.size(), 5u);
  EXPECT_THAT(Ids(queue.Poll(kT0, /*flush=*/true).batch),
              ElementsAre(0, 1, 2, 3, 4));
}

TEST(BatchQueueTest, EnqueueAllIsAllOrNothingOnABusyQueue) {
  BatchQueue queue(Options(8, absl::Seconds(1), {}, /*max_queue_size=*/3));
  EnqueueOk(queue, 9, kT0);
  std::vector<std::unique_ptr<InferenceTask>> fits;
  fits.push_back(MakeTask(1));
  fits.push_back(MakeTask(2));
  ASSERT_TRUE(queue.EnqueueAll(fits, kT0).ok());
  std::vector<std::unique_ptr<InferenceTask>> refused;
  refused.push_back(MakeTask(3));
  const absl::Status status = queue.EnqueueAll(refused, kT0);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(),
              HasSubstr("3 of max_queue_size 3 samples queued, the request "
                        "has 1"));
  ASSERT_EQ(refused.size(), 1u);
  ASSERT_NE(refused[0], nullptr);
  EXPECT_EQ(refused[0]->enqueue_time, absl::InfinitePast());
  EXPECT_EQ(queue.size(), 3u);
}

TEST(BatchQueueTest, PollFreesQueueSlots) {
  BatchQueue queue(Options(1, absl::Seconds(1), {}, /*max_queue_size=*/1));
  EnqueueOk(queue, 1, kT0);
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), ElementsAre(1));
  EnqueueOk(queue, 2, kT0);
}

TEST(BatchQueueTest, NullTaskIsInvalid) {
  BatchQueue queue(Options(1, absl::Seconds(1)));
  std::unique_ptr<InferenceTask> task;
  EXPECT_EQ(queue.Enqueue(task, kT0).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BatchQueueTest, ReleasesPartialBatchAtDelayAndNotBefore) {
  const absl::Duration delay = absl::Milliseconds(10);
  BatchQueue queue(Options(8, delay));
  EnqueueOk(queue, 1, kT0);
  EnqueueOk(queue, 2, kT0 + absl::Milliseconds(3));

  EXPECT_TRUE(queue.Poll(kT0, false).empty());
  EXPECT_TRUE(queue.Poll(kT0 + delay - absl::Microseconds(1), false).empty());
  EXPECT_EQ(queue.size(), 2u);

  EXPECT_THAT(Ids(queue.Poll(kT0 + delay, false).batch), ElementsAre(1, 2));
  EXPECT_TRUE(queue.empty());
}

TEST(BatchQueueTest, DelayCountsFromOldestQueuedTask) {
  const absl::Duration delay = absl::Milliseconds(10);
  BatchQueue queue(Options(2, delay));
  EnqueueOk(queue, 1, kT0);
  EnqueueOk(queue, 2, kT0 + absl::Milliseconds(4));
  EnqueueOk(queue, 3, kT0 + absl::Milliseconds(8));
  // Full batch of two at once; task 3 then waits its own delay.
  EXPECT_THAT(Ids(queue.Poll(kT0 + absl::Milliseconds(8), false).batch),
              ElementsAre(1, 2));
  EXPECT_TRUE(queue.Poll(kT0 + absl::Milliseconds(17), false).empty());
  EXPECT_THAT(Ids(queue.Poll(kT0 + absl::Milliseconds(18), false).batch),
              ElementsAre(3));
}

TEST(BatchQueueTest, ZeroDelayReleasesAtOnce) {
  BatchQueue queue(Options(8, absl::ZeroDuration()));
  EnqueueOk(queue, 1, kT0);
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), ElementsAre(1));
}

TEST(BatchQueueTest, MaxBatchSizeClosesImmediately) {
  BatchQueue queue(Options(3, absl::Hours(1)));
  EnqueueOk(queue, 1, kT0);
  EnqueueOk(queue, 2, kT0);
  EXPECT_TRUE(queue.Poll(kT0, false).empty());
  EnqueueOk(queue, 3, kT0);
  EnqueueOk(queue, 4, kT0);
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), ElementsAre(1, 2, 3));
  EXPECT_EQ(queue.size(), 1u);
  EXPECT_TRUE(queue.Poll(kT0, false).empty());
}

TEST(BatchQueueTest, PreferredSizeClosesImmediately) {
  BatchQueue queue(Options(8, absl::Hours(1), {2}));
  EnqueueOk(queue, 1, kT0);
  EXPECT_TRUE(queue.Poll(kT0, false).empty());
  EnqueueOk(queue, 2, kT0);
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), ElementsAre(1, 2));
}

TEST(BatchQueueTest, TakesLargestPreferredSizeThatFits) {
  BatchQueue queue(Options(8, absl::Hours(1), {4, 2, 4}));
  for (int i = 1; i <= 7; ++i) EnqueueOk(queue, i, kT0);
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), ElementsAre(1, 2, 3, 4));
  // Three left: two is the largest preferred size that fits.
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), ElementsAre(5, 6));
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), IsEmpty());
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BatchQueueTest, MaxBatchSizeWinsOverSmallerPreferredSize) {
  BatchQueue queue(Options(4, absl::Hours(1), {2}));
  for (int i = 1; i <= 5; ++i) EnqueueOk(queue, i, kT0);
  EXPECT_THAT(Ids(queue.Poll(kT0, false).batch), ElementsAre(1, 2, 3, 4));
}

TEST(BatchQueueTest, KeepsFifoOrderAcrossBatches) {
  BatchQueue queue(Options(2, absl::Hours(1)));
  for (int i = 1; i <= 6; ++i) {
    EnqueueOk(queue, i, kT0 + absl::Microseconds(i));
  }
  const absl::Time now = kT0 + absl::Milliseconds(1);
  EXPECT_THAT(Ids(queue.Poll(now, false).batch), ElementsAre(1, 2));
  EXPECT_THAT(Ids(queue.Poll(now, false).batch), ElementsAre(3, 4));
  EXPECT_THAT(Ids(queue.Poll(now, false).batch), ElementsAre(5, 6));
}

TEST(BatchQueueTest, RemovesExpiredBeforeFormingBatch) {
  BatchQueue queue(Options(2, absl::Hours(1)));
  const absl::Time deadline = kT0 + absl::Milliseconds(5);
  EnqueueOk(queue, 1, kT0);
  EnqueueOk(queue, 2, kT0, deadline);
  EnqueueOk(queue, 3, kT0);
  EnqueueOk(queue, 4, kT0);
  // At its deadline task 2 is dead: it takes no slot in the batch.
  BatchQueue::PollResult result = queue.Poll(deadline, false);
  EXPECT_THAT(Ids(result.expired), ElementsAre(2));
  EXPECT_THAT(Ids(result.batch), ElementsAre(1, 3));
  EXPECT_THAT(result.cancelled, IsEmpty());
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BatchQueueTest, TaskIsLiveUntilItsDeadline) {
  BatchQueue queue(Options(2, absl::Hours(1)));
  const absl::Time deadline = kT0 + absl::Milliseconds(5);
  EnqueueOk(queue, 1, kT0, deadline);
  EnqueueOk(queue, 2, kT0);
  BatchQueue::PollResult result =
      queue.Poll(deadline - absl::Microseconds(1), false);
  EXPECT_THAT(result.expired, IsEmpty());
  EXPECT_THAT(Ids(result.batch), ElementsAre(1, 2));
}

TEST(BatchQueueTest, ExpiredTasksDoNotCompleteABatch) {
  BatchQueue queue(Options(2, absl::Hours(1)));
  EnqueueOk(queue, 1, kT0, kT0 + absl::Milliseconds(1));
  EnqueueOk(queue, 2, kT0);
  BatchQueue::PollResult result =
      queue.Poll(kT0 + absl::Milliseconds(1), false);
  EXPECT_THAT(Ids(result.expired), ElementsAre(1));
  EXPECT_THAT(result.batch, IsEmpty());
  EXPECT_EQ(queue.size(), 1u);
}

TEST(BatchQueueTest, RemovesCancelledBeforeFormingBatch) {
  BatchQueue queue(Options(2, absl::Hours(1)));
  bool cancel_two = false;
  EnqueueOk(queue, 1, kT0);
  std::unique_ptr<InferenceTask> two = MakeTask(2);
  two->is_cancelled = [&cancel_two] { return cancel_two; };
  ASSERT_TRUE(queue.Enqueue(two, kT0).ok());
  EnqueueOk(queue, 3, kT0);
  EnqueueOk(queue, 4, kT0);

  cancel_two = true;
  BatchQueue::PollResult result = queue.Poll(kT0, false);
  EXPECT_THAT(Ids(result.cancelled), ElementsAre(2));
  EXPECT_THAT(Ids(result.batch), ElementsAre(1, 3));
  EXPECT_THAT(result.expired, IsEmpty());
}

TEST(BatchQueueTest, ExpiredWinsOverCancelled) {
  BatchQueue queue(Options(2, absl::Hours(1)));
  std::unique_ptr<InferenceTask> task = MakeTask(1, kT0);
  task->is_cancelled = [] { return true; };
  ASSERT_TRUE(queue.Enqueue(task, kT0).ok());
  BatchQueue::PollResult result = queue.Poll(kT0, false);
  EXPECT_THAT(Ids(result.expired), ElementsAre(1));
  EXPECT_THAT(result.cancelled, IsEmpty());
}

TEST(BatchQueueTest, NextWakeUpIsNulloptWhenEmpty) {
  BatchQueue queue(Options(2, absl::Milliseconds(10)));
  EXPECT_EQ(queue.NextWakeUp(), std::nullopt);
}

TEST(BatchQueueTest, NextWakeUpIsOldestEnqueuePlusDelay) {
  BatchQueue queue(Options(8, absl::Milliseconds(10)));
  EnqueueOk(queue, 1, kT0);
  EnqueueOk(queue, 2, kT0 + absl::Milliseconds(4));
  EXPECT_EQ(queue.NextWakeUp(), kT0 + absl::Milliseconds(10));
}

TEST(BatchQueueTest, NextWakeUpIsEarliestDeadlineWhenSooner) {
  BatchQueue queue(Options(8, absl::Milliseconds(10)));
  EnqueueOk(queue, 1, kT0, kT0 + absl::Milliseconds(20));
  EnqueueOk(queue, 2, kT0, kT0 + absl::Milliseconds(3));
  EnqueueOk(queue, 3, kT0, kT0 + absl::Milliseconds(7));
  EXPECT_EQ(queue.NextWakeUp(), kT0 + absl::Milliseconds(3));
  // Once that deadline passes the expired task is gone and the next one
  // counts.
  EXPECT_THAT(Ids(queue.Poll(kT0 + absl::Milliseconds(3), false).expired),
              ElementsAre(2));
  EXPECT_EQ(queue.NextWakeUp(), kT0 + absl::Milliseconds(7));
}

TEST(BatchQueueTest, NextWakeUpIsInfiniteWithInfiniteDelayAndNoDeadline) {
  BatchQueue queue(Options(8, absl::InfiniteDuration()));
  EnqueueOk(queue, 1, kT0);
  EXPECT_EQ(queue.NextWakeUp(), absl::InfiniteFuture());
  EXPECT_TRUE(queue.Poll(kT0 + absl::Hours(1000), false).empty());
}

TEST(BatchQueueTest, FlushReleasesPartialBatchUpToMaxBatchSize) {
  BatchQueue queue(Options(3, absl::InfiniteDuration()));
  for (int i = 1; i <= 5; ++i) EnqueueOk(queue, i, kT0);
  EXPECT_THAT(Ids(queue.Poll(kT0, true).batch), ElementsAre(1, 2, 3));
  EXPECT_THAT(Ids(queue.Poll(kT0, true).batch), ElementsAre(4, 5));
  EXPECT_TRUE(queue.empty());
  EXPECT_TRUE(queue.Poll(kT0, true).empty());
}

TEST(BatchQueueTest, FlushStillDropsExpiredTasks) {
  BatchQueue queue(Options(3, absl::InfiniteDuration()));
  EnqueueOk(queue, 1, kT0, kT0);
  EnqueueOk(queue, 2, kT0);
  BatchQueue::PollResult result = queue.Poll(kT0, true);
  EXPECT_THAT(Ids(result.expired), ElementsAre(1));
  EXPECT_THAT(Ids(result.batch), ElementsAre(2));
}

TEST(BatchQueueTest, ValidateAcceptsGoodOptions) {
  EXPECT_TRUE(
      BatchQueue::Validate(Options(8, absl::Milliseconds(1), {2, 8}, 1)).ok());
  EXPECT_TRUE(BatchQueue::Validate(Options(1, absl::ZeroDuration())).ok());
  EXPECT_TRUE(BatchQueue::Validate(Options(1, absl::InfiniteDuration())).ok());
}

TEST(BatchQueueTest, ValidateNamesTheBadOption) {
  struct Case {
    BatchQueueOptions options;
    const char* name;
  };
  const Case cases[] = {
      {Options(0, absl::Milliseconds(1)), "max_batch_size"},
      {Options(4, -absl::Microseconds(1)), "max_queue_delay"},
      {Options(4, absl::Milliseconds(1), {0}), "preferred_batch_sizes"},
      {Options(4, absl::Milliseconds(1), {2, 5}), "preferred_batch_sizes"},
      {Options(4, absl::Milliseconds(1), {}, 0), "max_queue_size"},
  };
  for (const Case& c : cases) {
    absl::Status status = BatchQueue::Validate(c.options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(status.message(), HasSubstr(c.name));
  }
}

}  // namespace
}  // namespace lineserve
