#include "server/common/clock.h"

#include "absl/time/clock.h"

namespace lineserve {
namespace {

class RealClock : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }

  void WaitUntil(absl::CondVar* cv, absl::Mutex* mu,
                 absl::Time deadline) const override {
    if (deadline == absl::InfiniteFuture()) {
      cv->Wait(mu);
    } else {
      cv->WaitWithDeadline(mu, deadline);
    }
  }
};

}  // namespace

Clock* Clock::Real() {
  static Clock* clock = new RealClock();
  return clock;
}

}  // namespace lineserve
