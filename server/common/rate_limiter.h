// Keyed token buckets: how often something (a log line about a failed
// request, per method and code) may happen, with a count of the times it was
// held back, so a flood of identical failures costs a few lines per second
// and the next line says how many were left out.
//
// Each key's bucket holds up to `burst` tokens and refills at
// `events_per_second`; an event takes one token or is suppressed. Time comes
// from the injected Clock: tests move it by hand.
//
// Thread-safe.
#ifndef LINESERVE_SERVER_COMMON_RATE_LIMITER_H_
#define LINESERVE_SERVER_COMMON_RATE_LIMITER_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/common/clock.h"

namespace lineserve {

struct RateLimiterOptions {
  // Average events per second each key passes (the refill rate); > 0.
  double events_per_second = 5;
  // Events a key passes at once after a quiet spell (the bucket size);
  // >= 1.
  double burst = 10;
  // Not owned; null means Clock::Real().
  Clock* clock = nullptr;
  // Keys tracked at most. Keys are the caller's (bounded sets such as
  // method x code); should more come, every bucket is forgotten, which only
  // lets one more burst through.
  size_t max_keys = 1024;
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimiterOptions& options);

  RateLimiter(const RateLimiter&) = delete;
  RateLimiter& operator=(const RateLimiter&) = delete;

  struct Decision {
    // Whether this event may go ahead (took a token).
    bool allowed = false;
    // When allowed: how many events of the key were suppressed since the
    // last allowed one (then reset to 0). 0 when not allowed.
    int64_t suppressed = 0;
  };

  Decision Allow(absl::string_view key);

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time refilled;
    int64_t suppressed = 0;
  };

  const double rate_;
  const double burst_;
  Clock* const clock_;
  const size_t max_keys_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Bucket> buckets_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_COMMON_RATE_LIMITER_H_
