// The batching decision, as pure logic: which queued tasks form the next
// batch, and which are dropped because their deadline passed or their client
// went away.
//
// BatchQueue owns no thread and never reads a clock: every call takes `now`,
// so tests drive it with explicit instants. DynamicBatcher wraps it with
// workers, a Clock and a lock.
//
// Thread-safety: none; the owner serializes all calls (DynamicBatcher holds
// its mutex around them).
#ifndef LINESERVE_SERVER_BATCHING_BATCH_QUEUE_H_
#define LINESERVE_SERVER_BATCHING_BATCH_QUEUE_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/batching/inference_task.h"

namespace lineserve {

// Mirrors config.pbtxt's `max_batch_size` and `dynamic_batching { ... }`.
struct BatchQueueOptions {
  // Most samples in one backend run. >= 1.
  int max_batch_size = 1;

  // How long the oldest queued task may wait for others to join it before a
  // partial batch is released (max_queue_delay_microseconds). >= 0; zero
  // releases whatever is queued at once; InfiniteDuration() releases only
  // full or preferred-size batches (and everything on flush).
  absl::Duration max_queue_delay = absl::ZeroDuration();

  // Batch sizes the backend runs best at, in samples; each in
  // 1..max_batch_size, any order, duplicates ignored. As soon as the queue
  // holds at least one of them, the largest that fits is released without
  // waiting for max_queue_delay. Empty: only max_batch_size and the delay
  // close a batch.
  std::vector<int> preferred_batch_sizes;

  // Most tasks waiting in the queue (tasks already handed out for compute do
  // not count). >= 1. Enqueue beyond it is refused with RESOURCE_EXHAUSTED.
  int max_queue_size = 1;
};

class BatchQueue {
 public:
  // What one Poll removed from the queue. The caller now owns every task in
  // it and must answer each one.
  struct PollResult {
    // Deadline <= now: answer DEADLINE_EXCEEDED.
    std::vector<std::unique_ptr<InferenceTask>> expired;
    // is_cancelled() returned true (and the deadline had not passed): answer
    // CANCELLED.
    std::vector<std::unique_ptr<InferenceTask>> cancelled;
    // The next batch in FIFO order; empty when no batch is due.
    std::vector<std::unique_ptr<InferenceTask>> batch;

    bool empty() const {
      return expired.empty() && cancelled.empty() && batch.empty();
    }
  };

  // OK, or INVALID_ARGUMENT naming the first offending option.
  static absl::Status Validate(const BatchQueueOptions& options);

  // `options` must pass Validate() (checked with assert in debug builds).
  explicit BatchQueue(const BatchQueueOptions& options);

  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  // Takes `task` (leaving it null) and stamps its enqueue_time with `now`.
  // When the queue already holds max_queue_size tasks it returns
  // RESOURCE_EXHAUSTED and leaves `task` with the caller, untouched, so the
  // caller can answer it. A null task is INVALID_ARGUMENT.
  absl::Status Enqueue(std::unique_ptr<InferenceTask>& task, absl::Time now);

  // The samples of one request, admitted together or not at all: they fit
  // when the queue is empty (so a request of any size is taken by an idle
  // model; the front end bounds its samples) or when queue and request
  // together stay within max_queue_size. On RESOURCE_EXHAUSTED every task
  // stays with the caller, untouched. Null tasks are INVALID_ARGUMENT.
  absl::Status EnqueueAll(std::vector<std::unique_ptr<InferenceTask>>& tasks,
                          absl::Time now);

  // First removes every expired and cancelled task, then releases a batch
  // from the remaining ones, oldest first, when
  //   - at least max_batch_size are queued: max_batch_size of them;
  //   - else at least one preferred size is queued: the largest such size;
  //   - else the oldest has waited >= max_queue_delay, or `flush` (the
  //     batcher's call when draining at shutdown, and whenever a free worker
  //     polls unless wait_when_idle): all of them (fewer than
  //     max_batch_size).
  // Expired and cancelled tasks never reach a batch and never count towards
  // its size. Calls each remaining task's is_cancelled() once.
  PollResult Poll(absl::Time now, bool flush);

  // Only the first step of Poll: removes every expired and cancelled task
  // (the result's batch is empty). For answering them while every worker is
  // computing.
  PollResult RemoveDead(absl::Time now);

  // When Poll next has something to do without a new Enqueue: the earliest
  // of (oldest enqueue_time + max_queue_delay) and the earliest deadline.
  // nullopt when empty. Cancellation is not time-driven, so it is not
  // covered: a cancelled task is noticed at the next Poll.
  std::optional<absl::Time> NextWakeUp() const;

  size_t size() const { return tasks_.size(); }
  bool empty() const { return tasks_.empty(); }
  const BatchQueueOptions& options() const { return options_; }

 private:
  // How many tasks (all live) to release from the front now; 0 for none.
  size_t BatchSizeToRelease(absl::Time now, bool flush) const;

  BatchQueueOptions options_;  // preferred_batch_sizes sorted, unique
  std::deque<std::unique_ptr<InferenceTask>> tasks_;  // FIFO
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BATCHING_BATCH_QUEUE_H_
