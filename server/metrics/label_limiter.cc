#include "server/metrics/label_limiter.h"

namespace lineserve {

LabelLimiter::LabelLimiter(LabelLimiterOptions options)
    : allowed_(options.allowed.begin(), options.allowed.end()),
      max_values_(options.max_values) {}

LabelLimiter::Result LabelLimiter::Limit(absl::string_view value) {
  if (value.empty()) return {kUnknownLabelValue, false};
  if (!allowed_.empty()) {
    if (allowed_.contains(value)) return {std::string(value), false};
    return {kOtherLabelValue, true};
  }
  absl::MutexLock lock(&mu_);
  if (seen_.contains(value)) return {std::string(value), false};
  if (static_cast<int>(seen_.size()) < max_values_) {
    seen_.emplace(value);
    return {std::string(value), false};
  }
  return {kOtherLabelValue, true};
}

}  // namespace lineserve
