#include "server/repository/repository_poller.h"

#include <pthread.h>

#include "absl/time/clock.h"
#include "models/base/log.h"

namespace lineserve {

RepositoryPoller::RepositoryPoller(ModelRepository* repository,
                                   absl::Duration interval, Clock* clock)
    : repository_(repository),
      interval_(interval),
      clock_(clock != nullptr ? clock : Clock::Real()),
      thread_([this] { Loop(); }) {}

RepositoryPoller::~RepositoryPoller() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  thread_.join();
}

int64_t RepositoryPoller::polls() const {
  absl::MutexLock lock(&mu_);
  return polls_;
}

bool RepositoryPoller::WaitForPollsAbove(int64_t polls,
                                         absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (polls_ <= polls) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) return polls_ > polls;
  }
  return true;
}

void RepositoryPoller::Loop() {
  pthread_setname_np(pthread_self(), "repo-poller");
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    const absl::Time next = clock_->Now() + interval_;
    while (!stop_ && clock_->Now() < next) {
      clock_->WaitUntil(&cv_, &mu_, next);
    }
    if (stop_) return;
    mu_.Unlock();
    // Loading and warming up take long: never under the lock.
    absl::Status status = repository_->Rescan();
    if (!status.ok()) {
      LogWarning("repository", "repository poll failed",
                 {{"error", status.message()}});
    }
    mu_.Lock();
    ++polls_;
    cv_.SignalAll();
  }
}

}  // namespace lineserve
