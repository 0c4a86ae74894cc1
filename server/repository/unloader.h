// Releases model versions on a thread of its own.
//
// A ServableModel's destructor drains its batcher and joins the batcher's
// workers, so it must not run on one of those workers, yet a request's last
// reference to its model version is often dropped exactly there (inside the
// `done` callback the batcher calls). Share() wraps a servable in a
// shared_ptr whose deleter only hands the object to this unloader; the
// unloader's one thread destroys it. Every thread involved is joined: no
// detached threads, no process-wide state.
//
// Ownership: the owner (the repository) must keep the Unloader alive until
// every handle Share() gave out is gone; the destructor waits for that, then
// destroys what is queued and joins its thread.
//
// Thread-safety: Share(), the deleters and pending() may run on any thread
// concurrently.
#ifndef LINESERVE_SERVER_REPOSITORY_UNLOADER_H_
#define LINESERVE_SERVER_REPOSITORY_UNLOADER_H_

#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/repository/servable_model.h"

namespace lineserve {

class Unloader {
 public:
  Unloader();
  // Waits until every shared handle is released and destroyed, then joins.
  ~Unloader();

  Unloader(const Unloader&) = delete;
  Unloader& operator=(const Unloader&) = delete;

  // The handle the repository hands out; its last copy, wherever it is
  // dropped, queues `servable` for destruction on the unloader's thread.
  std::shared_ptr<const ServableModel> Share(
      std::unique_ptr<ServableModel> servable);

  // Servables shared and not yet destroyed (alive or queued).
  int pending() const;

  // Blocks until pending() is 0 or `timeout` passes; true when it is 0.
  // For tests and for shutdown reports. Not from a batcher worker.
  bool WaitUntilIdle(absl::Duration timeout) const;

 private:
  void Release(ServableModel* servable);
  void Loop();

  mutable absl::Mutex mu_;
  mutable absl::CondVar
      cv_;  // signalled on Release, on each destruction and stop
  std::deque<ServableModel*> queue_ ABSL_GUARDED_BY(mu_);
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_REPOSITORY_UNLOADER_H_
