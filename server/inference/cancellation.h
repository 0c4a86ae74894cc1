// A client going away, as front ends learn it (gRPC's OnCancel) and the
// batcher needs it: queued tasks of a cancelled call are dropped before
// compute and answered CANCELLED at once, not at the batcher's next poll.
//
// One Cancellation may cover several calls (a stream's requests). Shared by
// the front end, the pipeline and the tasks; thread-safe.
#ifndef LINESERVE_SERVER_INFERENCE_CANCELLATION_H_
#define LINESERVE_SERVER_INFERENCE_CANCELLATION_H_

#include <atomic>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/repository/servable_model.h"

namespace lineserve {

class Cancellation {
 public:
  // True once Cancel() has run. Cheap and lock-free: the batcher asks it
  // under its own lock.
  bool IsCancelled() const {
    return cancelled_.load(std::memory_order_acquire);
  }

  // Marks the calls cancelled and wakes the batcher of every watched model
  // so their queued tasks leave now. Idempotent.
  void Cancel();

  // Wake `model`'s batcher on Cancel() (at once when already cancelled).
  // Holds it weakly: watching never keeps a version loaded.
  void Watch(const std::shared_ptr<const ServableModel>& model);

 private:
  std::atomic<bool> cancelled_{false};
  absl::Mutex mu_;
  std::vector<std::weak_ptr<const ServableModel>> watched_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_INFERENCE_CANCELLATION_H_
