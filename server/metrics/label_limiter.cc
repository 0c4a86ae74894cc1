#include "server/metrics/label_limiter.h"

#include "models/base/client_text.h"

namespace lineserve {
namespace {

// Allowed values as Limit() compares them: cut like every request's value.
absl::flat_hash_set<std::string> CutToLabelLength(
    const std::vector<std::string>& values) {
  absl::flat_hash_set<std::string> cut;
  for (const std::string& value : values) {
    cut.emplace(TruncateUtf8(value, kMaxLabelValueBytes));
  }
  return cut;
}

}  // namespace

LabelLimiter::LabelLimiter(LabelLimiterOptions options)
    : allowed_(CutToLabelLength(options.allowed)),
      max_values_(options.max_values) {}

LabelLimiter::Result LabelLimiter::Limit(absl::string_view value) {
  if (value.empty()) return {kUnknownLabelValue, false};
  value = TruncateUtf8(value, kMaxLabelValueBytes);
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
