// Time as an injected dependency: logic asks a Clock, never the system, so
// tests move time by hand and need no sleeps (tests/support/fake_clock.h).
#ifndef LINESERVE_SERVER_COMMON_CLOCK_H_
#define LINESERVE_SERVER_COMMON_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace lineserve {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;

  // Waits as cv->Wait(mu) does (`mu` held on entry and on return) until `cv`
  // is signalled or this clock reaches `deadline` (InfiniteFuture(): only a
  // signal ends the wait). May return early; callers re-check their
  // condition. A fake clock wakes such waiters when it is advanced past
  // their deadline, so a thread sleeping on fake time needs no real time.
  virtual void WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                         absl::Time deadline) const = 0;

  // The process-wide real clock (absl::Now()); never destroyed.
  static Clock* Real();
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_COMMON_CLOCK_H_
