// Dynamic batching in front of one Backend (one model version).
//
// Request threads Submit single-sample tasks; `num_workers` worker threads
// (config.pbtxt's instance_count) take batches from a BatchQueue, stack each
// named input along a new first dimension, call Backend::Run once per batch
// outside the lock, split each output and answer every task through its
// `done` callback. Samples whose variable (-1) dims differ cannot share a
// tensor: a batch holding several shapes runs once per shape, in order.
//
// Ownership: the batcher shares the Backend (a model version stays alive
// while its batcher runs) and owns each task from Submit until `done`.
// The Clock and the observer are borrowed and must outlive the batcher.
//
// Threads: every method may be called from any thread, concurrently, and
// from inside `done` callbacks; Shutdown and the destructor block until the
// queue is drained (see Shutdown for the call from a worker thread).
#ifndef LINESERVE_SERVER_BATCHING_DYNAMIC_BATCHER_H_
#define LINESERVE_SERVER_BATCHING_DYNAMIC_BATCHER_H_

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/backends/backend.h"
#include "server/batching/batch_queue.h"
#include "server/batching/inference_task.h"
#include "server/common/clock.h"

namespace lineserve {

// Hooks for metrics. Every method may be called concurrently from worker
// threads and from Submit callers; implementations must be thread-safe,
// cheap, and must not call into the batcher. The defaults do nothing.
class BatcherObserver {
 public:
  virtual ~BatcherObserver() = default;

  // After every Backend::Run, successful or not.
  virtual void OnBatch(int /*batch_size*/, absl::Duration /*compute_time*/) {}

  // Whenever the number of queued (not yet computing) tasks changes. Called
  // with the batcher's lock held, so successive values arrive in order and a
  // gauge set from here is never left stale.
  virtual void OnQueueDepth(int /*depth*/) {}

  // Once per submitted task, just before its `done`, with the same status
  // and queue time (zero for tasks refused at Submit).
  virtual void OnTaskDone(const absl::Status& /*status*/,
                          absl::Duration /*queue_time*/) {}
};

struct DynamicBatcherOptions {
  // Batch size, delay, preferred sizes and queue bound; see BatchQueueOptions.
  BatchQueueOptions queue;

  // Worker threads, each running at most one batch at a time (instance_count).
  // >= 1.
  int num_workers = 1;

  // Source of enqueue times, deadline checks and timings, and what the
  // workers sleep on (Clock::WaitUntil), so a fake clock drives them
  // without real time passing. Not owned; null means Clock::Real().
  Clock* clock = Clock::Real();

  // Used in status messages and worker thread names.
  std::string model_name;

  // false (default): a free worker takes whatever is queued at once (up to
  // max_batch_size): an idle batcher adds no delay, and batches form from
  // the requests that queue while every worker computes. true: a partial
  // batch waits out max_queue_delay even with a worker free (the classic
  // rule, for backends that gain much from fuller batches, like GPUs).
  bool wait_when_idle = false;

  // Optional metrics hooks. Not owned; must outlive the batcher.
  BatcherObserver* observer = nullptr;
};

class DynamicBatcher {
 public:
  // Validates `options` (INVALID_ARGUMENT naming the option) and starts the
  // workers. `backend` must not be null.
  static absl::StatusOr<std::unique_ptr<DynamicBatcher>> Create(
      const DynamicBatcherOptions& options, std::shared_ptr<Backend> backend);

  // Shutdown(): drains the queue and joins the workers (see Shutdown for a
  // destructor running on a worker thread).
  ~DynamicBatcher();

  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Takes ownership of `task` and guarantees its `done` is called exactly
  // once, never with the batcher's lock held:
  //   - on the calling thread, before Submit returns, with
  //     INVALID_ARGUMENT   the inputs do not match backend->inputs() (count,
  //                        name, type, dims or buffer; the message names
  //                        the tensor);
  //     UNAVAILABLE        Shutdown() has begun;
  //     RESOURCE_EXHAUSTED the queue holds max_queue_size tasks;
  //   - otherwise later, on a worker thread, with
  //     DEADLINE_EXCEEDED  the deadline passed before compute;
  //     CANCELLED          is_cancelled() turned true before compute;
  //     the backend's error (every task of the failing batch gets it);
  //     OK and the task's output.
  // Never blocks on compute: it only takes the lock to enqueue.
  void Submit(std::unique_ptr<InferenceTask> task);

  // The samples of one request, admitted together or refused together, with
  // Submit's guarantees for each task: when any task's inputs are invalid,
  // the batcher is shutting down, or the queue cannot take them all
  // (BatchQueue::EnqueueAll: an empty queue takes any number), every task
  // is answered with that error before SubmitAll returns. So a request is
  // never half computed because the queue filled up under it.
  void SubmitAll(std::vector<std::unique_ptr<InferenceTask>> tasks);

  // Answers every queued task whose deadline has passed or whose
  // is_cancelled() is true, on the calling thread, and makes the workers
  // look at the queue now. Call it when a queued task's is_cancelled() has
  // turned true (e.g. from a gRPC reactor's OnCancel): it leaves the queue
  // at once even while every worker is busy (or stuck) in a forward pass.
  void Wake();

  // Stops accepting (later Submits get UNAVAILABLE), lets the workers compute
  // everything already queued without waiting for max_queue_delay, and joins
  // them: when it returns every accepted task has been answered. Idempotent;
  // concurrent callers all return after the drain. Blocks as long as a
  // Backend::Run in progress does.
  //
  // On a worker thread (from a `done` callback or an observer) it cannot wait
  // for a drain that thread takes part in: it only begins the shutdown and
  // returns. The destructor on a worker thread (the callback dropped the last
  // reference to the model version) joins the other workers and detaches the
  // calling one, which answers the rest of its own batch afterwards and then
  // exits; the observer and clock must outlive that too.
  void Shutdown();

  // Tasks waiting in the queue, not counting those being computed.
  int queue_depth() const;

 private:
  // Everything the workers touch. Workers share ownership of it, so a batcher
  // destroyed from inside a `done` callback (its model version's last
  // reference dropped on a worker thread) leaves that worker a live Core to
  // return into; see Shutdown().
  class Core;

  explicit DynamicBatcher(std::shared_ptr<Core> core);

  const std::shared_ptr<Core> core_;
  absl::Mutex join_mu_;  // serializes concurrent Shutdown calls
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BATCHING_DYNAMIC_BATCHER_H_
