#include "server/repository/unloader.h"

#include <pthread.h>

#include <utility>

#include "absl/time/clock.h"

namespace lineserve {

Unloader::Unloader() : thread_([this] { Loop(); }) {}

Unloader::~Unloader() {
  {
    absl::MutexLock lock(&mu_);
    while (pending_ > 0) cv_.Wait(&mu_);
    stop_ = true;
    cv_.SignalAll();
  }
  thread_.join();
}

std::shared_ptr<const ServableModel> Unloader::Share(
    std::unique_ptr<ServableModel> servable) {
  if (servable == nullptr) return nullptr;
  {
    absl::MutexLock lock(&mu_);
    ++pending_;
  }
  return std::shared_ptr<const ServableModel>(
      servable.release(), [this](const ServableModel* released) {
        Release(const_cast<ServableModel*>(released));
      });
}

void Unloader::Release(ServableModel* servable) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(servable);
  cv_.SignalAll();
}

int Unloader::pending() const {
  absl::MutexLock lock(&mu_);
  return pending_;
}

bool Unloader::WaitUntilIdle(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock lock(&mu_);
  while (pending_ > 0) {
    if (cv_.WaitWithDeadline(&mu_, deadline)) return pending_ == 0;
  }
  return true;
}

void Unloader::Loop() {
  pthread_setname_np(pthread_self(), "unloader");
  absl::MutexLock lock(&mu_);
  while (true) {
    while (!queue_.empty()) {
      ServableModel* servable = queue_.front();
      queue_.pop_front();
      // Draining may take as long as a batch: not under the lock, so
      // deleters never wait for it.
      mu_.Unlock();
      delete servable;
      mu_.Lock();
      --pending_;
      cv_.SignalAll();
    }
    if (stop_) return;
    cv_.Wait(&mu_);
  }
}

}  // namespace lineserve
