// A Clock that moves only when told to, for deterministic tests.
//
// Advance() wakes every thread blocked in WaitUntil() whose deadline the new
// time reaches, so a batcher worker sleeping until "2 ms from now" wakes the
// moment a test advances the clock 2 ms: no test waits in real time.
//
// Thread-safe. Advance() locks the mutex each woken waiter passed to
// WaitUntil(), so it must not be called while holding one of those mutexes,
// nor race with destroying an object that waits on this clock.
#ifndef LINESERVE_TESTS_SUPPORT_FAKE_CLOCK_H_
#define LINESERVE_TESTS_SUPPORT_FAKE_CLOCK_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace lineserve {

class FakeClock : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::UnixEpoch() + absl::Hours(1))
      : now_(start) {}

  absl::Time Now() const override;
  void WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                 absl::Time deadline) const override;

  // Moves time forward and wakes the waiters whose deadline has come.
  void Advance(absl::Duration d);

  // Threads currently blocked in WaitUntil() with a finite deadline.
  int timed_waiters() const;

  // Blocks until at least `n` threads wait in WaitUntil() with a finite
  // deadline, or `timeout` real time passed; true when they do. Lets a test
  // advance the clock only once a thread that reads Now() to compute its
  // deadline has done so.
  bool WaitForTimedWaiters(int n, absl::Duration timeout) const;

 private:
  int TimedWaitersLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  struct Waiter {
    absl::CondVar* cv;
    absl::Mutex* mu;
    absl::Time deadline;
    bool active = true;  // guarded by *mu
  };

  mutable absl::Mutex mu_;
  mutable absl::CondVar waiters_cv_;  // signalled when a waiter registers
  absl::Time now_ ABSL_GUARDED_BY(mu_);
  mutable std::vector<std::shared_ptr<Waiter>> waiters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lineserve

#endif  // LINESERVE_TESTS_SUPPORT_FAKE_CLOCK_H_
