#include "server/common/rate_limiter.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/support/fake_clock.h"

namespace lineserve {
namespace {

RateLimiterOptions Options(FakeClock* clock, double per_second, double burst) {
  RateLimiterOptions options;
  options.clock = clock;
  options.events_per_second = per_second;
  options.burst = burst;
  return options;
}

// How many of `n` events under `key` pass now.
int Allowed(RateLimiter& limiter, const std::string& key, int n) {
  int allowed = 0;
  for (int i = 0; i < n; ++i) allowed += limiter.Allow(key).allowed ? 1 : 0;
  return allowed;
}

TEST(RateLimiterTest, PassesABurstThenTheRate) {
  FakeClock clock;
  RateLimiter limiter(Options(&clock, 2, 5));
  EXPECT_EQ(Allowed(limiter, "Infer NOT_FOUND", 100), 5);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(Allowed(limiter, "Infer NOT_FOUND", 100), 2);
  clock.Advance(absl::Milliseconds(499));
  EXPECT_EQ(Allowed(limiter, "Infer NOT_FOUND", 100), 0);
  clock.Advance(absl::Milliseconds(1));
  EXPECT_EQ(Allowed(limiter, "Infer NOT_FOUND", 100), 1);
  // A long quiet spell refills to the burst, not beyond.
  clock.Advance(absl::Hours(1));
  EXPECT_EQ(Allowed(limiter, "Infer NOT_FOUND", 100), 5);
}

TEST(RateLimiterTest, TheNextAllowedEventCountsTheSuppressedOnes) {
  FakeClock clock;
  RateLimiter limiter(Options(&clock, 1, 1));
  RateLimiter::Decision first = limiter.Allow("k");
  EXPECT_TRUE(first.allowed);
  EXPECT_EQ(first.suppressed, 0);
  for (int i = 0; i < 41; ++i) {
    RateLimiter::Decision held = limiter.Allow("k");
    EXPECT_FALSE(held.allowed);
    EXPECT_EQ(held.suppressed, 0);
  }
  clock.Advance(absl::Seconds(1));
  RateLimiter::Decision next = limiter.Allow("k");
  EXPECT_TRUE(next.allowed);
  EXPECT_EQ(next.suppressed, 41);
  clock.Advance(absl::Seconds(1));
  EXPECT_EQ(limiter.Allow("k").suppressed, 0);  // reported once
}

TEST(RateLimiterTest, KeysHaveTheirOwnBuckets) {
  FakeClock clock;
  RateLimiter limiter(Options(&clock, 1, 3));
  EXPECT_EQ(Allowed(limiter, "Inspect INVALID_ARGUMENT", 10), 3);
  EXPECT_EQ(Allowed(limiter, "Inspect NOT_FOUND", 10), 3);
  EXPECT_EQ(Allowed(limiter, "Predict INVALID_ARGUMENT", 10), 3);
}

TEST(RateLimiterTest, TooManyKeysForgetTheBuckets) {
  FakeClock clock;
  RateLimiterOptions options = Options(&clock, 1, 1);
  options.max_keys = 2;
  RateLimiter limiter(options);
  EXPECT_TRUE(limiter.Allow("a").allowed);
  EXPECT_TRUE(limiter.Allow("b").allowed);
  EXPECT_FALSE(limiter.Allow("a").allowed);
  // A third key: the table starts over, so "a" has a fresh burst.
  EXPECT_TRUE(limiter.Allow("c").allowed);
  EXPECT_TRUE(limiter.Allow("a").allowed);
}

}  // namespace
}  // namespace lineserve
