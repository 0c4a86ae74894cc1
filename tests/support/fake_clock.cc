#include "tests/support/fake_clock.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace lineserve {

absl::Time FakeClock::Now() const {
  absl::MutexLock lock(&mu_);
  return now_;
}

void FakeClock::WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                          absl::Time deadline) const {
  auto waiter = std::make_shared<Waiter>(Waiter{cv, mu, deadline});
  {
    absl::MutexLock lock(&mu_);
    // The caller holds *mu from its check of the time through the Wait
    // below, and Advance takes *mu before signalling: no wake-up is lost.
    if (deadline <= now_) return;
    waiters_.push_back(waiter);
    waiters_cv_.SignalAll();
  }
  cv->Wait(mu);
  waiter->active = false;
  absl::MutexLock lock(&mu_);
  waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), waiter),
                 waiters_.end());
}

void FakeClock::Advance(absl::Duration d) {
  std::vector<std::shared_ptr<Waiter>> due;
  {
    absl::MutexLock lock(&mu_);
    now_ += d;
    for (const auto& waiter : waiters_) {
      if (waiter->deadline <= now_) due.push_back(waiter);
    }
  }
  for (const auto& waiter : due) {
    absl::MutexLock lock(waiter->mu);
    if (waiter->active) waiter->cv->SignalAll();
  }
}

bool FakeClock::WaitForTimedWaiters(int n, absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (TimedWaitersLocked() < n) {
    if (waiters_cv_.WaitWithDeadline(&mu_, deadline)) {
      return TimedWaitersLocked() >= n;
    }
  }
  return true;
}

int FakeClock::timed_waiters() const {
  absl::MutexLock lock(&mu_);
  return TimedWaitersLocked();
}

int FakeClock::TimedWaitersLocked() const {
  return static_cast<int>(
      std::count_if(waiters_.begin(), waiters_.end(), [](const auto& waiter) {
        return waiter->deadline != absl::InfiniteFuture();
      }));
}

}  // namespace lineserve
