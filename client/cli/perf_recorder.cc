#include "client/cli/perf_recorder.h"

#include <iterator>
#include <utility>

namespace lineserve::cli::perf {

Recorder::Recorder(std::function<absl::Time()> now)
    : now_(std::move(now)), start_(now_()) {}

void Recorder::Add(Call call) {
  absl::MutexLock lock(&mu_);
  // Stamped under the lock so `done` grows with the order of calls_: a cut
  // at time t then takes exactly the calls stamped before t.
  call.done = now_();
  calls_.push_back(std::move(call));
}

Window Recorder::Cut() {
  absl::MutexLock lock(&mu_);
  Window window;
  window.start = start_;
  window.end = start_ = now_();
  window.calls.swap(calls_);
  return window;
}

Window Recorder::CutAfter(int count) {
  if (count <= 0) return Cut();
  const size_t wanted = static_cast<size_t>(count);
  auto enough = [this, wanted]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return calls_.size() >= wanted;
  };
  absl::MutexLock lock(&mu_, absl::Condition(&enough));
  Window window;
  window.start = start_;
  window.end = start_ = calls_[wanted - 1].done;
  window.calls.assign(std::make_move_iterator(calls_.begin()),
                      std::make_move_iterator(calls_.begin() + wanted));
  calls_.erase(calls_.begin(), calls_.begin() + wanted);
  return window;
}

}  // namespace lineserve::cli::perf
