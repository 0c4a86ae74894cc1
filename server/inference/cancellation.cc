#include "server/inference/cancellation.h"

#include <algorithm>

namespace lineserve {

void Cancellation::Cancel() {
  std::vector<std::weak_ptr<const ServableModel>> watched;
  {
    absl::MutexLock lock(&mu_);
    cancelled_.store(true, std::memory_order_release);
    watched.swap(watched_);
  }
  for (const auto& weak : watched) {
    if (std::shared_ptr<const ServableModel> model = weak.lock()) {
      model->Wake();
    }
  }
}

void Cancellation::Watch(const std::shared_ptr<const ServableModel>& model) {
  if (model == nullptr) return;
  {
    absl::MutexLock lock(&mu_);
    if (!IsCancelled()) {
      // A stream sends many requests to few models: keep one entry each.
      const bool known =
          std::any_of(watched_.begin(), watched_.end(), [&](const auto& weak) {
            return !weak.owner_before(model) && !model.owner_before(weak);
          });
      if (!known) watched_.push_back(model);
      return;
    }
  }
  model->Wake();
}

}  // namespace lineserve
