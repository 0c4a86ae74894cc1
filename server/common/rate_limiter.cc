#include "server/common/rate_limiter.h"

#include <algorithm>

namespace lineserve {

RateLimiter::RateLimiter(const RateLimiterOptions& options)
    : rate_(options.events_per_second > 0 ? options.events_per_second : 1),
      burst_(std::max(1.0, options.burst)),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      max_keys_(std::max<size_t>(1, options.max_keys)) {}

RateLimiter::Decision RateLimiter::Allow(absl::string_view key) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  auto found = buckets_.find(key);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_keys_) buckets_.clear();
    found = buckets_.emplace(std::string(key), Bucket{burst_, now, 0}).first;
  }
  Bucket& bucket = found->second;
  // A clock never goes back here, but a real one may: no negative refill.
  const double elapsed =
      std::max(0.0, absl::ToDoubleSeconds(now - bucket.refilled));
  bucket.tokens = std::min(burst_, bucket.tokens + elapsed * rate_);
  bucket.refilled = now;
  Decision decision;
  if (bucket.tokens < 1) {
    ++bucket.suppressed;
    return decision;
  }
  bucket.tokens -= 1;
  decision.allowed = true;
  decision.suppressed = bucket.suppressed;
  bucket.suppressed = 0;
  return decision;
}

}  // namespace lineserve
