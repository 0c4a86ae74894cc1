// One request's sample on its way through the dynamic batcher.
//
// The inference pipeline builds an InferenceTask per sample, hands it to
// DynamicBatcher::Submit (which takes ownership) and learns the outcome
// through `done`. The batcher guarantees `done` is called exactly once per
// submitted task, on whichever thread settles it (see dynamic_batcher.h).
#ifndef LINESERVE_SERVER_BATCHING_INFERENCE_TASK_H_
#define LINESERVE_SERVER_BATCHING_INFERENCE_TASK_H_

#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/common/tensor.h"

namespace lineserve {

// What the batcher reports for one task. On an error status `outputs` is
// empty; the timings and batch size are still filled as far as the task got
// (a task that failed inside the backend has all of them, a task refused at
// Submit has none).
struct InferenceResult {
  // One tensor per Backend::outputs() spec, in order, for this sample (the
  // batch dimension removed).
  std::vector<Tensor> outputs;
  // From enqueue to the start of the backend run (or to the moment the task
  // was dropped).
  absl::Duration queue_time = absl::ZeroDuration();
  // Duration of the backend run this task was part of.
  absl::Duration compute_time = absl::ZeroDuration();
  // Number of samples in that backend run; 0 when the task never ran.
  int batch_size = 0;
};

struct InferenceTask {
  // One tensor per Backend::inputs() spec, in order, for this one sample
  // (no batch dimension), already preprocessed. The batcher stacks each
  // along a new first dimension.
  std::vector<Tensor> inputs;

  // Set by the queue when it accepts the task; callers leave it alone.
  absl::Time enqueue_time = absl::InfinitePast();

  // After this instant the task is no longer worth computing: it is dropped
  // before compute and answered DEADLINE_EXCEEDED.
  absl::Time deadline = absl::InfiniteFuture();

  // Optional; true once the client has gone away (e.g. wraps
  // grpc::CallbackServerContext::IsCancelled). Called with the batcher's
  // lock held, from any worker thread, possibly many times: it must be cheap,
  // thread-safe, non-blocking and must not call into the batcher.
  std::function<bool()> is_cancelled;

  // Required. Called exactly once with the outcome; never with the batcher's
  // lock held, so it may Submit again. It runs on a batcher worker thread for
  // everything that reached the queue, so keep it short (finish the RPC,
  // light postprocessing) and never block in it.
  std::function<void(absl::Status, InferenceResult)> done;

  bool IsCancelled() const { return is_cancelled && is_cancelled(); }
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BATCHING_INFERENCE_TASK_H_
