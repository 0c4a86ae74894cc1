#include "server/batching/dynamic_batcher.h"

#include <atomic>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_backend.h"
#include "tests/support/fake_clock.h"

namespace lineserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

using ::lineserve::testing::FakeBackend;
using ::lineserve::testing::Floats;

// Every wait in these tests is bounded: a bug fails the test instead of
// hanging it.
const absl::Duration kTimeout = ::lineserve::testing::kTestTimeout;

// One FP32 input "x" [2]; output "y" [3]: each input value doubled, then the
// size of the batch the sample ran in.
std::shared_ptr<FakeBackend> DoublingBackend() {
  return std::make_shared<FakeBackend>(
      std::vector<TensorSpec>{{"x", DataType::kFp32, {2}}},
      std::vector<TensorSpec>{{"y", DataType::kFp32, {3}}},
      [](const std::vector<Tensor>& inputs,
         int batch_size) -> absl::StatusOr<std::vector<Tensor>> {
        const float* x = inputs[0].values<float>();
        Tensor y = Tensor::Zeros("y", DataType::kFp32, {batch_size, 3});
        float* out = y.mutable_values<float>();
        for (int b = 0; b < batch_size; ++b) {
          out[b * 3] = x[b * 2] * 2;
          out[b * 3 + 1] = x[b * 2 + 1] * 2;
          out[b * 3 + 2] = batch_size;
        }
        return std::vector<Tensor>{std::move(y)};
      });
}

// Where a task's `done` reports; counts calls to catch a second one.
struct Outcome {
  absl::Notification done;
  std::atomic<int> calls{0};
  absl::Status status;
  InferenceResult result;

  bool Wait() { return done.WaitForNotificationWithTimeout(kTimeout); }
};

std::unique_ptr<InferenceTask> MakeTask(
    float x, Outcome* outcome, absl::Time deadline = absl::InfiniteFuture()) {
  auto task = std::make_unique<InferenceTask>();
  task->inputs.push_back(Tensor::FromFloats("x", {2}, {x, x + 10}));
  task->deadline = deadline;
  task->done = [outcome](absl::Status status, InferenceResult result) {
    if (outcome->calls.fetch_add(1) > 0) {
      ADD_FAILURE() << "done called twice";
      return;
    }
    outcome->status = std::move(status);
    outcome->result = std::move(result);
    outcome->done.Notify();
  };
  return task;
}

// The classic rule (wait_when_idle): a partial batch waits out the delay
// even on an idle batcher, which most tests here pin down. The default,
// an idle batcher running a request at once, has tests of its own below.
DynamicBatcherOptions Options(int max_batch_size, absl::Duration delay,
                              int max_queue_size = 64) {
  DynamicBatcherOptions options;
  options.queue.max_batch_size = max_batch_size;
  options.queue.max_queue_delay = delay;
  options.queue.max_queue_size = max_queue_size;
  options.model_name = "fake_model";
  options.wait_when_idle = true;
  return options;
}

// The default rule on a fake clock.
DynamicBatcherOptions DefaultRule(int max_batch_size, absl::Duration delay,
                                  Clock* clock) {
  DynamicBatcherOptions options = Options(max_batch_size, delay);
  options.wait_when_idle = false;
  options.clock = clock;
  return options;
}

std::unique_ptr<DynamicBatcher> MakeBatcher(
    const DynamicBatcherOptions& options,
    std::shared_ptr<FakeBackend> backend) {
  absl::StatusOr<std::unique_ptr<DynamicBatcher>> batcher =
      DynamicBatcher::Create(options, std::move(backend));
  EXPECT_TRUE(batcher.ok()) << batcher.status();
  return batcher.ok() ? std::move(batcher).value() : nullptr;
}

TEST(DynamicBatcherTest, AnswersEachTaskWithItsOwnOutput) {
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(Options(4, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[4];
  for (int i = 0; i < 4; ++i) batcher->Submit(MakeTask(i, &outcomes[i]));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(outcomes[i].Wait());
    ASSERT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_THAT(Floats(outcomes[i].result.outputs[0]),
                ElementsAre(2 * i, 2 * (i + 10), 4));
    EXPECT_EQ(outcomes[i].result.batch_size, 4);
    EXPECT_GE(outcomes[i].result.queue_time, absl::ZeroDuration());
    EXPECT_GE(outcomes[i].result.compute_time, absl::ZeroDuration());
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(4));
}

TEST(DynamicBatcherTest, BurstOfConcurrentSubmitsRunsAsOneBatch) {
  constexpr int kN = 16;
  auto backend = DoublingBackend();
  // The batch can only close when full, whatever the thread interleaving.
  auto batcher =
      MakeBatcher(Options(kN, absl::InfiniteDuration(), kN), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[kN];
  absl::Notification go;
  std::vector<std::thread> clients;
  for (int i = 0; i < kN; ++i) {
    clients.emplace_back([&, i] {
      ASSERT_TRUE(go.WaitForNotificationWithTimeout(kTimeout));
      batcher->Submit(MakeTask(i, &outcomes[i]));
    });
  }
  go.Notify();
  for (std::thread& client : clients) client.join();
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(outcomes[i].Wait());
    ASSERT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_THAT(Floats(outcomes[i].result.outputs[0]),
                ElementsAre(2 * i, 2 * (i + 10), kN));
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(kN));
}

TEST(DynamicBatcherTest, ReleasesPartialBatchAfterDelayWithRealClock) {
  // The one test on real time: the real clock's sleep ends by itself.
  auto backend = DoublingBackend();
  const absl::Duration delay = absl::Microseconds(200);
  auto batcher = MakeBatcher(Options(8, delay), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  batcher->Submit(MakeTask(1, &outcome));
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.result.batch_size, 1);
  EXPECT_GE(outcome.result.queue_time, delay);
}

TEST(DynamicBatcherTest, FakeClockWakesTheSleepingWorkerAtTheDelay) {
  FakeClock clock;
  auto backend = DoublingBackend();
  DynamicBatcherOptions options = Options(8, absl::Seconds(1.5));
  options.clock = &clock;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  batcher->Submit(MakeTask(1, &outcome));
  clock.Advance(absl::Seconds(1));
  EXPECT_FALSE(outcome.done.HasBeenNotified());
  // No Wake(): advancing the clock past the delay wakes the worker.
  clock.Advance(absl::Seconds(0.5));
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.result.batch_size, 1);
  EXPECT_EQ(outcome.result.queue_time, absl::Seconds(1.5));
}

TEST(DynamicBatcherTest, ReportsExactTimesWithFakeClock) {
  FakeClock clock;
  auto backend = DoublingBackend();
  backend->AdvanceDuringRun(&clock, absl::Milliseconds(3));
  DynamicBatcherOptions options = Options(8, absl::Milliseconds(10));
  options.clock = &clock;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  batcher->Submit(MakeTask(1, &outcome));
  EXPECT_FALSE(outcome.done.HasBeenNotified());
  clock.Advance(absl::Milliseconds(10));
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.result.queue_time, absl::Milliseconds(10));
  EXPECT_EQ(outcome.result.compute_time, absl::Milliseconds(3));
  EXPECT_EQ(outcome.result.batch_size, 1);
}

TEST(DynamicBatcherTest, IdleBatcherRunsARequestAtOnce) {
  FakeClock clock;
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(DefaultRule(8, absl::Seconds(1), &clock), backend);
  ASSERT_NE(batcher, nullptr);
  EXPECT_FALSE(DynamicBatcherOptions().wait_when_idle);
  Outcome outcome;
  batcher->Submit(MakeTask(1, &outcome));
  // No clock advance: nothing computes, so nothing is worth waiting for.
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.result.queue_time, absl::ZeroDuration());
  EXPECT_EQ(outcome.result.batch_size, 1);
}

TEST(DynamicBatcherTest, RequestsQueuedBehindAComputingBatchRunTogetherNext) {
  FakeClock clock;
  auto backend = DoublingBackend();
  absl::Notification release;
  backend->BlockUntil(&release);
  auto batcher = MakeBatcher(DefaultRule(8, absl::Seconds(1), &clock), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome first, later[3];
  batcher->Submit(MakeTask(0, &first));
  ASSERT_TRUE(backend->WaitForRuns(1));
  for (int i = 0; i < 3; ++i) batcher->Submit(MakeTask(i + 1, &later[i]));
  EXPECT_EQ(batcher->queue_depth(), 3);
  // When the batch in the backend ends, the three queued behind it run as
  // one batch at once, without waiting out the delay (the clock stands).
  release.Notify();
  for (Outcome* outcome : {&first, &later[0], &later[1], &later[2]}) {
    ASSERT_TRUE(outcome->Wait());
    EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(1, 3));
  EXPECT_EQ(later[2].result.batch_size, 3);
}

TEST(DynamicBatcherTest, WhileABatchComputesAFreeWorkerTakesTheNextAtOnce) {
  FakeClock clock;
  auto backend = DoublingBackend();
  absl::Notification release;
  backend->BlockUntil(&release);
  DynamicBatcherOptions options = DefaultRule(8, absl::Seconds(1), &clock);
  options.num_workers = 2;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);
  Outcome first, second, third;
  batcher->Submit(MakeTask(0, &first));
  ASSERT_TRUE(backend->WaitForRuns(1));
  // The second worker is free: it runs the next request on the other core
  // at once (the clock stands), rather than wait for company.
  batcher->Submit(MakeTask(1, &second));
  ASSERT_TRUE(backend->WaitForRuns(2));
  // Both busy: the third queues until a worker is free.
  batcher->Submit(MakeTask(2, &third));
  EXPECT_EQ(batcher->queue_depth(), 1);
  release.Notify();
  for (Outcome* outcome : {&first, &second, &third}) {
    ASSERT_TRUE(outcome->Wait());
    EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(1, 1, 1));
  EXPECT_EQ(second.result.queue_time, absl::ZeroDuration());
}

TEST(DynamicBatcherTest, FullQueueAnswersResourceExhaustedWhileBackendBusy) {
  auto backend = DoublingBackend();
  absl::Notification release;
  backend->BlockUntil(&release);
  auto batcher = MakeBatcher(
      Options(1, absl::ZeroDuration(), /*max_queue_size=*/2), backend);
  ASSERT_NE(batcher, nullptr);

  Outcome running, queued[2], refused;
  batcher->Submit(MakeTask(0, &running));
  ASSERT_TRUE(backend->WaitForRuns(1));
  batcher->Submit(MakeTask(1, &queued[0]));
  batcher->Submit(MakeTask(2, &queued[1]));
  EXPECT_EQ(batcher->queue_depth(), 2);

  batcher->Submit(MakeTask(3, &refused));
  // Answered synchronously, on this thread.
  ASSERT_TRUE(refused.done.HasBeenNotified());
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status.message(), HasSubstr("max_queue_size 2"));
  EXPECT_THAT(refused.status.message(), HasSubstr("fake_model"));

  release.Notify();
  for (Outcome* outcome : {&running, &queued[0], &queued[1]}) {
    ASSERT_TRUE(outcome->Wait());
    EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(1, 1, 1));
}

// Issue 13's probe: Predict with 257 rows failed on an idle server whose
// queue holds 256. A request's samples are admitted together: an empty
// queue takes any number, a busy one all or none.
TEST(DynamicBatcherTest, SubmitAllAdmitsARequestLargerThanTheQueueWhenIdle) {
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(
      Options(4, absl::ZeroDuration(), /*max_queue_size=*/2), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[7];
  std::vector<std::unique_ptr<InferenceTask>> tasks;
  for (int i = 0; i < 7; ++i) tasks.push_back(MakeTask(i, &outcomes[i]));
  batcher->SubmitAll(std::move(tasks));
  for (Outcome& outcome : outcomes) {
    ASSERT_TRUE(outcome.Wait());
    EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  }
}

TEST(DynamicBatcherTest, SubmitAllRefusesEveryTaskWhenTheQueueCannotTakeAll) {
  auto backend = DoublingBackend();
  absl::Notification release;
  backend->BlockUntil(&release);
  auto batcher = MakeBatcher(
      Options(1, absl::ZeroDuration(), /*max_queue_size=*/4), backend);
  ASSERT_NE(batcher, nullptr);

  Outcome running, queued, refused[4];
  batcher->Submit(MakeTask(0, &running));
  ASSERT_TRUE(backend->WaitForRuns(1));
  batcher->Submit(MakeTask(1, &queued));
  // 1 queued + 4 > 4: none of the four is taken, all answered at once.
  std::vector<std::unique_ptr<InferenceTask>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(MakeTask(i + 2, &refused[i]));
  batcher->SubmitAll(std::move(tasks));
  for (Outcome& outcome : refused) {
    ASSERT_TRUE(outcome.done.HasBeenNotified());
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(outcome.status.message(),
                HasSubstr("1 of max_queue_size 4 samples queued, the request "
                          "has 4"));
  }
  EXPECT_EQ(batcher->queue_depth(), 1);

  release.Notify();
  for (Outcome* outcome : {&running, &queued}) {
    ASSERT_TRUE(outcome->Wait());
    EXPECT_TRUE(outcome->status.ok()) << outcome->status;
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(1, 1));
}

TEST(DynamicBatcherTest, SubmitAllRefusesEveryTaskWhenOneIsInvalid) {
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(Options(4, absl::ZeroDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome good, bad;
  std::vector<std::unique_ptr<InferenceTask>> tasks;
  tasks.push_back(MakeTask(0, &good));
  tasks.push_back(MakeTask(1, &bad));
  tasks.back()->inputs[0] = Tensor::FromFloats("y", {2}, {1, 2});
  batcher->SubmitAll(std::move(tasks));
  for (Outcome* outcome : {&good, &bad}) {
    ASSERT_TRUE(outcome->done.HasBeenNotified());
    EXPECT_EQ(outcome->status.code(), absl::StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(backend->batch_sizes().empty());
}

TEST(DynamicBatcherTest, ExpiredTaskNeverReachesBackend) {
  FakeClock clock;
  auto backend = DoublingBackend();
  DynamicBatcherOptions options = Options(2, absl::InfiniteDuration());
  options.clock = &clock;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);

  Outcome expired, live[2];
  batcher->Submit(MakeTask(0, &expired, /*deadline=*/clock.Now()));
  batcher->Submit(MakeTask(1, &live[0]));
  batcher->Submit(MakeTask(2, &live[1]));
  ASSERT_TRUE(expired.Wait());
  EXPECT_EQ(expired.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(expired.result.outputs, IsEmpty());
  EXPECT_EQ(expired.result.batch_size, 0);
  for (Outcome& outcome : live) {
    ASSERT_TRUE(outcome.Wait());
    EXPECT_TRUE(outcome.status.ok()) << outcome.status;
    EXPECT_EQ(outcome.result.batch_size, 2);
  }
  // Only the two live tasks ran.
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(2));
}

TEST(DynamicBatcherTest, ExpiresQueuedTaskAtItsDeadline) {
  FakeClock clock;
  auto backend = DoublingBackend();
  DynamicBatcherOptions options = Options(8, absl::InfiniteDuration());
  options.clock = &clock;
  // Nothing but the deadline can wake the worker up.
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  batcher->Submit(MakeTask(0, &outcome, clock.Now() + absl::Milliseconds(2)));
  clock.Advance(absl::Milliseconds(1));
  EXPECT_FALSE(outcome.done.HasBeenNotified());
  clock.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(outcome.Wait());
  EXPECT_EQ(outcome.result.queue_time, absl::Milliseconds(2));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(backend->batch_sizes(), IsEmpty());
}

TEST(DynamicBatcherTest, CancelledTaskIsAnsweredCancelled) {
  FakeClock clock;
  auto backend = DoublingBackend();
  DynamicBatcherOptions options = Options(4, absl::InfiniteDuration());
  options.clock = &clock;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);

  // Cancelled before it was submitted.
  Outcome early;
  std::unique_ptr<InferenceTask> task = MakeTask(0, &early);
  task->is_cancelled = [] { return true; };
  batcher->Submit(std::move(task));
  ASSERT_TRUE(early.Wait());
  EXPECT_EQ(early.status.code(), absl::StatusCode::kCancelled);

  // Cancelled while queued; Wake() gets it answered without waiting for
  // anything else to happen.
  Outcome late;
  std::atomic<bool> cancelled{false};
  task = MakeTask(1, &late);
  task->is_cancelled = [&cancelled] { return cancelled.load(); };
  batcher->Submit(std::move(task));
  EXPECT_FALSE(late.done.HasBeenNotified());
  cancelled = true;
  batcher->Wake();
  ASSERT_TRUE(late.Wait());
  EXPECT_EQ(late.status.code(), absl::StatusCode::kCancelled);

  EXPECT_EQ(batcher->queue_depth(), 0);
  EXPECT_THAT(backend->batch_sizes(), IsEmpty());
}

TEST(DynamicBatcherTest, BackendErrorReachesEveryTaskOfBatch) {
  auto backend = DoublingBackend();
  backend->FailWith(absl::InternalError("boom"));
  auto batcher = MakeBatcher(Options(3, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[3];
  for (int i = 0; i < 3; ++i) batcher->Submit(MakeTask(i, &outcomes[i]));
  for (Outcome& outcome : outcomes) {
    ASSERT_TRUE(outcome.Wait());
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(outcome.status.message(), HasSubstr("boom"));
    EXPECT_THAT(outcome.result.outputs, IsEmpty());
    EXPECT_EQ(outcome.result.batch_size, 3);
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(3));
}

TEST(DynamicBatcherTest, ShutdownDrainsQueuedTasksThenRefuses) {
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(Options(4, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[3];
  for (int i = 0; i < 3; ++i) batcher->Submit(MakeTask(i, &outcomes[i]));
  EXPECT_EQ(batcher->queue_depth(), 3);

  batcher->Shutdown();
  // Answered before Shutdown returned, with results, not errors.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(outcomes[i].done.HasBeenNotified());
    ASSERT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_THAT(Floats(outcomes[i].result.outputs[0]),
                ElementsAre(2 * i, 2 * (i + 10), 3));
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(3));

  Outcome late;
  batcher->Submit(MakeTask(9, &late));
  ASSERT_TRUE(late.done.HasBeenNotified());
  EXPECT_EQ(late.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(late.status.message(),
            "model 'fake_model': shutting down, no longer accepting requests");

  batcher->Shutdown();  // idempotent
  EXPECT_EQ(late.calls.load(), 1);
}

TEST(DynamicBatcherTest, MismatchedInputsAreInvalidArgumentNamingTheTensor) {
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(Options(4, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  const auto refused = [&](std::vector<Tensor> inputs) {
    Outcome outcome;
    auto task = MakeTask(0, &outcome);
    task->inputs = std::move(inputs);
    batcher->Submit(std::move(task));
    EXPECT_TRUE(outcome.done.HasBeenNotified());
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
    return std::string(outcome.status.message());
  };
  EXPECT_THAT(refused({}), HasSubstr("expects 1 input tensor(s), got 0"));
  EXPECT_THAT(refused({Tensor::FromFloats("x", {3}, {1, 2, 3})}),
              HasSubstr("tensor 'x': shape [3], the model takes [2]"));
  EXPECT_THAT(refused({Tensor::Zeros("x", DataType::kInt64, {2})}),
              HasSubstr("tensor 'x': data type INT64, the model takes FP32"));
  EXPECT_THAT(refused({Tensor::FromFloats("z", {2}, {1, 2})}),
              HasSubstr("tensor 'z' given where 'x' is expected"));
  Tensor short_buffer = Tensor::FromFloats("x", {2}, {1, 2});
  short_buffer.data.pop_back();
  EXPECT_THAT(refused({short_buffer}), HasSubstr("needs 8 bytes, got 7"));
  EXPECT_THAT(refused({Tensor::FromFloats("x", {1}, {1})}),
              HasSubstr("model 'fake_model': tensor 'x'"));
  EXPECT_EQ(batcher->queue_depth(), 0);
}

TEST(DynamicBatcherTest, StacksSeveralTypedInputsAndSplitsSeveralOutputs) {
  // "a" FP32 [2] and "n" INT64 [1] in; "sum" FP64 [1] (a0 + a1 + n) and
  // "echo" INT64 [1] (n) out.
  auto backend = std::make_shared<FakeBackend>(
      std::vector<TensorSpec>{{"a", DataType::kFp32, {2}},
                              {"n", DataType::kInt64, {1}}},
      std::vector<TensorSpec>{{"sum", DataType::kFp64, {1}},
                              {"echo", DataType::kInt64, {1}}},
      [](const std::vector<Tensor>& in,
         int batch_size) -> absl::StatusOr<std::vector<Tensor>> {
        EXPECT_EQ(in[0].shape, (std::vector<int64_t>{batch_size, 2}));
        EXPECT_EQ(in[1].shape, (std::vector<int64_t>{batch_size, 1}));
        Tensor sum = Tensor::Zeros("sum", DataType::kFp64, {batch_size, 1});
        Tensor echo = Tensor::Zeros("echo", DataType::kInt64, {batch_size, 1});
        for (int b = 0; b < batch_size; ++b) {
          const int64_t n = in[1].values<int64_t>()[b];
          sum.mutable_values<double>()[b] = in[0].values<float>()[2 * b] +
                                            in[0].values<float>()[2 * b + 1] +
                                            static_cast<double>(n);
          echo.mutable_values<int64_t>()[b] = n;
        }
        return std::vector<Tensor>{std::move(sum), std::move(echo)};
      });
  auto batcher = MakeBatcher(Options(3, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[3];
  for (int i = 0; i < 3; ++i) {
    auto task = MakeTask(0, &outcomes[i]);
    Tensor n = Tensor::Zeros("n", DataType::kInt64, {1});
    n.mutable_values<int64_t>()[0] = 100 * i;
    task->inputs = {Tensor::FromFloats("a", {2}, {1.0f * i, 0.5f}),
                    std::move(n)};
    batcher->Submit(std::move(task));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(outcomes[i].Wait());
    ASSERT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    const std::vector<Tensor>& out = outcomes[i].result.outputs;
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].name, "sum");
    EXPECT_EQ(out[0].shape, (std::vector<int64_t>{1}));
    EXPECT_DOUBLE_EQ(out[0].values<double>()[0], i + 0.5 + 100 * i);
    EXPECT_EQ(out[1].dtype, DataType::kInt64);
    EXPECT_EQ(out[1].values<int64_t>()[0], 100 * i);
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(3));
}

TEST(DynamicBatcherTest, VariableDimsRunOneBackendCallPerShape) {
  // "seq" FP32 [-1] in, "len" FP32 [1] out: the length of each sample.
  auto backend = std::make_shared<FakeBackend>(
      std::vector<TensorSpec>{{"seq", DataType::kFp32, {-1}}},
      std::vector<TensorSpec>{{"len", DataType::kFp32, {1}}},
      [](const std::vector<Tensor>& in,
         int batch_size) -> absl::StatusOr<std::vector<Tensor>> {
        Tensor len = Tensor::Zeros("len", DataType::kFp32, {batch_size, 1});
        for (int b = 0; b < batch_size; ++b) {
          len.mutable_values<float>()[b] = static_cast<float>(in[0].shape[1]);
        }
        return std::vector<Tensor>{std::move(len)};
      });
  auto batcher = MakeBatcher(Options(3, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[3];
  const int lengths[3] = {2, 5, 2};
  for (int i = 0; i < 3; ++i) {
    auto task = MakeTask(0, &outcomes[i]);
    task->inputs = {Tensor::FromFloats("seq", {lengths[i]},
                                       std::vector<float>(lengths[i], 1.0f))};
    batcher->Submit(std::move(task));
  }
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(outcomes[i].Wait());
    ASSERT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_THAT(Floats(outcomes[i].result.outputs[0]), ElementsAre(lengths[i]));
  }
  // One batch of three, run as [2, 2] (two samples) and [1, 5].
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(2, 1));
}

TEST(DynamicBatcherTest, WorkersRunBatchesConcurrently) {
  auto backend = DoublingBackend();
  absl::Notification release;
  backend->BlockUntil(&release);
  DynamicBatcherOptions options = Options(1, absl::ZeroDuration());
  options.num_workers = 2;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[2];
  batcher->Submit(MakeTask(0, &outcomes[0]));
  batcher->Submit(MakeTask(1, &outcomes[1]));
  // Both runs are in the backend at once.
  EXPECT_TRUE(backend->WaitForRuns(2));
  release.Notify();
  for (Outcome& outcome : outcomes) {
    ASSERT_TRUE(outcome.Wait());
    EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  }
}

TEST(DynamicBatcherTest, DoneMaySubmitAgain) {
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(Options(1, absl::ZeroDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome first, second;
  std::unique_ptr<InferenceTask> task = MakeTask(0, &first);
  task->done = [&](absl::Status status, InferenceResult) {
    first.status = status;
    first.done.Notify();
    batcher->Submit(MakeTask(1, &second));
  };
  batcher->Submit(std::move(task));
  ASSERT_TRUE(first.Wait());
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(second.status.ok()) << second.status;
}

TEST(DynamicBatcherTest, ShutdownFromDoneReturnsAtOnce) {
  auto backend = DoublingBackend();
  auto batcher = MakeBatcher(Options(1, absl::ZeroDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  std::unique_ptr<InferenceTask> task = MakeTask(0, &outcome);
  task->done = [&](absl::Status status, InferenceResult) {
    // Must not wait for the drain this very worker takes part in.
    batcher->Shutdown();
    outcome.status = status;
    outcome.done.Notify();
  };
  batcher->Submit(std::move(task));
  ASSERT_TRUE(outcome.Wait());
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  Outcome late;
  batcher->Submit(MakeTask(1, &late));
  EXPECT_EQ(late.status.code(), absl::StatusCode::kUnavailable);
  batcher.reset();  // joins the workers
}

TEST(DynamicBatcherTest, LastReferenceDroppedInsideDoneIsSafe) {
  // A request that holds its model version (and so the batcher) alive until
  // it is answered: when the version was unloaded meanwhile, the batcher is
  // destroyed on its own worker thread.
  absl::Notification backend_destroyed, release;
  auto backend = DoublingBackend();
  backend->NotifyOnDestruction(&backend_destroyed);
  backend->BlockUntil(&release);
  DynamicBatcherOptions options = Options(1, absl::ZeroDuration());
  options.num_workers = 2;
  std::shared_ptr<DynamicBatcher> batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);
  FakeBackend* raw_backend = backend.get();
  backend.reset();

  Outcome first, second;
  std::unique_ptr<InferenceTask> task = MakeTask(0, &first);
  task->done = [&first, handle = batcher](absl::Status status,
                                          InferenceResult) {
    first.status = status;
    first.done.Notify();
  };
  batcher->Submit(std::move(task));
  batcher->Submit(MakeTask(1, &second));
  ASSERT_TRUE(raw_backend->WaitForRuns(2));
  batcher.reset();  // the first task's callback now holds the last reference
  release.Notify();

  ASSERT_TRUE(first.Wait());
  EXPECT_TRUE(first.status.ok()) << first.status;
  ASSERT_TRUE(second.Wait());
  EXPECT_TRUE(second.status.ok()) << second.status;
  // The detached worker exited and released the last share of the backend.
  EXPECT_TRUE(backend_destroyed.WaitForNotificationWithTimeout(kTimeout));
}

class RecordingObserver : public BatcherObserver {
 public:
  void OnBatch(int batch_size, absl::Duration) override {
    absl::MutexLock lock(&mu_);
    batches_.push_back(batch_size);
  }
  void OnQueueDepth(int depth) override {
    absl::MutexLock lock(&mu_);
    depths_.push_back(depth);
  }
  void OnTaskDone(const absl::Status& status, absl::Duration) override {
    absl::MutexLock lock(&mu_);
    codes_.push_back(status.code());
  }

  std::vector<int> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }
  std::vector<int> depths() const {
    absl::MutexLock lock(&mu_);
    return depths_;
  }
  std::vector<absl::StatusCode> codes() const {
    absl::MutexLock lock(&mu_);
    return codes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int> batches_ ABSL_GUARDED_BY(mu_);
  std::vector<int> depths_ ABSL_GUARDED_BY(mu_);
  std::vector<absl::StatusCode> codes_ ABSL_GUARDED_BY(mu_);
};

TEST(DynamicBatcherTest, ObserverSeesEveryTaskBatchAndDepth) {
  auto backend = DoublingBackend();
  RecordingObserver observer;
  DynamicBatcherOptions options = Options(2, absl::InfiniteDuration());
  options.observer = &observer;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);

  Outcome bad, good[2];
  std::unique_ptr<InferenceTask> task = MakeTask(0, &bad);
  task->inputs.clear();
  batcher->Submit(std::move(task));
  batcher->Submit(MakeTask(1, &good[0]));
  batcher->Submit(MakeTask(2, &good[1]));
  for (Outcome& outcome : good) ASSERT_TRUE(outcome.Wait());
  batcher->Shutdown();

  EXPECT_THAT(observer.codes(),
              ElementsAre(absl::StatusCode::kInvalidArgument,
                          absl::StatusCode::kOk, absl::StatusCode::kOk));
  EXPECT_THAT(observer.batches(), ElementsAre(2));
  // One per enqueue, then the batch leaves the queue empty; polls that take
  // nothing report nothing.
  EXPECT_THAT(observer.depths(), ElementsAre(1, 2, 0));
}

TEST(DynamicBatcherTest, CreateRejectsInvalidOptions) {
  auto backend = DoublingBackend();

  DynamicBatcherOptions options = Options(4, absl::Milliseconds(1));
  options.num_workers = 0;
  absl::Status status = DynamicBatcher::Create(options, backend).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("num_workers"));
  EXPECT_THAT(status.message(), HasSubstr("fake_model"));

  options = Options(4, absl::Milliseconds(1));
  options.queue.preferred_batch_sizes = {8};
  status = DynamicBatcher::Create(options, backend).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("preferred_batch_sizes"));

  status = DynamicBatcher::Create(Options(4, absl::Milliseconds(1)), nullptr)
               .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("backend"));
}

}  // namespace
}  // namespace lineserve
