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

namespace lineserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Every wait in these tests is bounded: a bug fails the test instead of
// hanging it.
const absl::Duration kTimeout = absl::Seconds(10);

// Output per sample: each input value doubled, then the size of the batch the
// sample ran in. Records every batch size it sees; can be made to block until
// released, to fail, or to advance a fake clock while it "computes".
class FakeBackend : public Backend {
 public:
  static constexpr size_t kInputSize = 2;

  FakeBackend() = default;
  // Notifies `destroyed` from the destructor.
  explicit FakeBackend(absl::Notification* destroyed) : destroyed_(destroyed) {}
  ~FakeBackend() override {
    if (destroyed_ != nullptr) destroyed_->Notify();
  }

  size_t input_size() const override { return kInputSize; }
  size_t output_size() const override { return kInputSize + 1; }
  std::string device() const override { return "fake"; }

  absl::Status Run(const float* input, int batch_size, float* output) override {
    absl::Notification* release;
    {
      absl::MutexLock lock(&mu_);
      batch_sizes_.push_back(batch_size);
      runs_cv_.SignalAll();
      release = release_;
    }
    if (release != nullptr &&
        !release->WaitForNotificationWithTimeout(kTimeout)) {
      return absl::InternalError("test never released the backend");
    }
    absl::MutexLock lock(&mu_);
    if (clock_ != nullptr) clock_->Advance(compute_time_);
    if (!fail_.ok()) return fail_;
    for (int b = 0; b < batch_size; ++b) {
      for (size_t i = 0; i < kInputSize; ++i) {
        output[b * output_size() + i] = input[b * kInputSize + i] * 2;
      }
      output[b * output_size() + kInputSize] = batch_size;
    }
    return absl::OkStatus();
  }

  // Run blocks until `release` is notified (bounded by kTimeout).
  void BlockUntil(absl::Notification* release) {
    absl::MutexLock lock(&mu_);
    release_ = release;
  }
  void FailWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    fail_ = std::move(status);
  }
  void AdvanceDuringRun(FakeClock* clock, absl::Duration compute_time) {
    absl::MutexLock lock(&mu_);
    clock_ = clock;
    compute_time_ = compute_time;
  }

  // True once `n` Run calls have started. (A CondVar rather than
  // Mutex::Await(Condition): Abseil evaluates a Condition on whichever
  // thread unlocks, which TSan cannot follow in Debian's uninstrumented
  // Abseil.)
  bool WaitForRuns(int n) {
    const absl::Time deadline = absl::Now() + kTimeout;
    absl::MutexLock lock(&mu_);
    while (static_cast<int>(batch_sizes_.size()) < n) {
      if (runs_cv_.WaitWithDeadline(&mu_, deadline)) {
        return static_cast<int>(batch_sizes_.size()) >= n;
      }
    }
    return true;
  }

  std::vector<int> batch_sizes() const {
    absl::MutexLock lock(&mu_);
    return batch_sizes_;
  }

 private:
  absl::Notification* const destroyed_ = nullptr;
  mutable absl::Mutex mu_;
  absl::CondVar runs_cv_;  // signalled when a Run starts
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  absl::Notification* release_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
  FakeClock* clock_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Duration compute_time_ ABSL_GUARDED_BY(mu_);
};

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
  task->input = {x, x + 10};
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

DynamicBatcherOptions Options(int max_batch_size, absl::Duration delay,
                              int max_queue_size = 64) {
  DynamicBatcherOptions options;
  options.queue.max_batch_size = max_batch_size;
  options.queue.max_queue_delay = delay;
  options.queue.max_queue_size = max_queue_size;
  options.model_name = "fake_model";
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
  auto backend = std::make_shared<FakeBackend>();
  auto batcher = MakeBatcher(Options(4, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[4];
  for (int i = 0; i < 4; ++i) batcher->Submit(MakeTask(i, &outcomes[i]));
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(outcomes[i].Wait());
    ASSERT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_THAT(outcomes[i].result.output, ElementsAre(2 * i, 2 * (i + 10), 4));
    EXPECT_EQ(outcomes[i].result.batch_size, 4);
    EXPECT_GE(outcomes[i].result.queue_time, absl::ZeroDuration());
    EXPECT_GE(outcomes[i].result.compute_time, absl::ZeroDuration());
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(4));
}

TEST(DynamicBatcherTest, BurstOfConcurrentSubmitsRunsAsOneBatch) {
  constexpr int kN = 16;
  auto backend = std::make_shared<FakeBackend>();
  // The batch can only close when full, whatever the thread interleaving.
  auto batcher =
      MakeBatcher(Options(kN, absl::InfiniteDuration(), kN), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[kN];
  absl::Notification go;
  std::vector<std::thread> clients;
  for (int i = 0; i < kN; ++i) {
    clients.emplace_back([&, i] {
      go.WaitForNotification();
      batcher->Submit(MakeTask(i, &outcomes[i]));
    });
  }
  go.Notify();
  for (std::thread& client : clients) client.join();
  for (int i = 0; i < kN; ++i) {
    ASSERT_TRUE(outcomes[i].Wait());
    ASSERT_TRUE(outcomes[i].status.ok()) << outcomes[i].status;
    EXPECT_THAT(outcomes[i].result.output,
                ElementsAre(2 * i, 2 * (i + 10), kN));
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(kN));
}

TEST(DynamicBatcherTest, ReleasesPartialBatchAfterDelayWithRealClock) {
  auto backend = std::make_shared<FakeBackend>();
  const absl::Duration delay = absl::Milliseconds(2);
  auto batcher = MakeBatcher(Options(8, delay), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  batcher->Submit(MakeTask(1, &outcome));
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.result.batch_size, 1);
  EXPECT_GE(outcome.result.queue_time, delay);
}

TEST(DynamicBatcherTest, ReportsExactTimesWithFakeClock) {
  FakeClock clock;
  auto backend = std::make_shared<FakeBackend>();
  backend->AdvanceDuringRun(&clock, absl::Milliseconds(3));
  DynamicBatcherOptions options = Options(8, absl::Milliseconds(10));
  options.clock = &clock;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  batcher->Submit(MakeTask(1, &outcome));
  EXPECT_FALSE(outcome.done.HasBeenNotified());
  clock.Advance(absl::Milliseconds(10));
  batcher->Wake();
  ASSERT_TRUE(outcome.Wait());
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.result.queue_time, absl::Milliseconds(10));
  EXPECT_EQ(outcome.result.compute_time, absl::Milliseconds(3));
  EXPECT_EQ(outcome.result.batch_size, 1);
}

TEST(DynamicBatcherTest, FullQueueAnswersResourceExhaustedWhileBackendBusy) {
  auto backend = std::make_shared<FakeBackend>();
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

TEST(DynamicBatcherTest, ExpiredTaskNeverReachesBackend) {
  FakeClock clock;
  auto backend = std::make_shared<FakeBackend>();
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
  EXPECT_THAT(expired.result.output, IsEmpty());
  EXPECT_EQ(expired.result.batch_size, 0);
  for (Outcome& outcome : live) {
    ASSERT_TRUE(outcome.Wait());
    EXPECT_TRUE(outcome.status.ok()) << outcome.status;
    EXPECT_EQ(outcome.result.batch_size, 2);
  }
  // Only the two live tasks ran.
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(2));
}

TEST(DynamicBatcherTest, ExpiresQueuedTaskAtItsDeadlineWithRealClock) {
  auto backend = std::make_shared<FakeBackend>();
  // Nothing but the deadline can wake the worker up.
  auto batcher = MakeBatcher(Options(8, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  batcher->Submit(MakeTask(0, &outcome, absl::Now() + absl::Milliseconds(2)));
  ASSERT_TRUE(outcome.Wait());
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(backend->batch_sizes(), IsEmpty());
}

TEST(DynamicBatcherTest, CancelledTaskIsAnsweredCancelled) {
  FakeClock clock;
  auto backend = std::make_shared<FakeBackend>();
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
  auto backend = std::make_shared<FakeBackend>();
  backend->FailWith(absl::InternalError("boom"));
  auto batcher = MakeBatcher(Options(3, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcomes[3];
  for (int i = 0; i < 3; ++i) batcher->Submit(MakeTask(i, &outcomes[i]));
  for (Outcome& outcome : outcomes) {
    ASSERT_TRUE(outcome.Wait());
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInternal);
    EXPECT_THAT(outcome.status.message(), HasSubstr("boom"));
    EXPECT_THAT(outcome.result.output, IsEmpty());
    EXPECT_EQ(outcome.result.batch_size, 3);
  }
  EXPECT_THAT(backend->batch_sizes(), ElementsAre(3));
}

TEST(DynamicBatcherTest, ShutdownDrainsQueuedTasksThenRefuses) {
  auto backend = std::make_shared<FakeBackend>();
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
    EXPECT_THAT(outcomes[i].result.output, ElementsAre(2 * i, 2 * (i + 10), 3));
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

TEST(DynamicBatcherTest, WrongInputSizeIsInvalidArgument) {
  auto backend = std::make_shared<FakeBackend>();
  auto batcher = MakeBatcher(Options(4, absl::InfiniteDuration()), backend);
  ASSERT_NE(batcher, nullptr);
  Outcome outcome;
  std::unique_ptr<InferenceTask> task = MakeTask(0, &outcome);
  task->input.push_back(1);
  batcher->Submit(std::move(task));
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(outcome.status.message(), HasSubstr("expects 2"));
  EXPECT_EQ(batcher->queue_depth(), 0);
}

TEST(DynamicBatcherTest, WorkersRunBatchesConcurrently) {
  auto backend = std::make_shared<FakeBackend>();
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
  auto backend = std::make_shared<FakeBackend>();
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
  auto backend = std::make_shared<FakeBackend>();
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
  auto backend = std::make_shared<FakeBackend>(&backend_destroyed);
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
  auto backend = std::make_shared<FakeBackend>();
  RecordingObserver observer;
  DynamicBatcherOptions options = Options(2, absl::InfiniteDuration());
  options.observer = &observer;
  auto batcher = MakeBatcher(options, backend);
  ASSERT_NE(batcher, nullptr);

  Outcome bad, good[2];
  std::unique_ptr<InferenceTask> task = MakeTask(0, &bad);
  task->input.clear();
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
  auto backend = std::make_shared<FakeBackend>();

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
