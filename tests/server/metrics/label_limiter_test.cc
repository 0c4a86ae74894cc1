#include "server/metrics/label_limiter.h"

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

TEST(LabelLimiterTest, AllowListKeepsOnlyListedValues) {
  LabelLimiter limiter({{"line-1", "line-2"}, /*max_values=*/1});
  EXPECT_EQ(limiter.Limit("line-1").value, "line-1");
  EXPECT_EQ(limiter.Limit("line-2").value, "line-2");  // cap ignored
  const LabelLimiter::Result other = limiter.Limit("line-3");
  EXPECT_EQ(other.value, "other");
  EXPECT_TRUE(other.folded);
  EXPECT_FALSE(limiter.Limit("line-1").folded);
}

TEST(LabelLimiterTest, CapKeepsTheFirstDistinctValues) {
  LabelLimiter limiter({{}, /*max_values=*/2});
  EXPECT_EQ(limiter.Limit("a").value, "a");
  EXPECT_EQ(limiter.Limit("a").value, "a");  // a repeat takes no new slot
  EXPECT_EQ(limiter.Limit("b").value, "b");
  EXPECT_EQ(limiter.Limit("c").value, "other");
  EXPECT_TRUE(limiter.Limit("c").folded);
  EXPECT_EQ(limiter.Limit("a").value, "a");
}

TEST(LabelLimiterTest, EmptyIsUnknownAndNotFolded) {
  LabelLimiter limiter({{}, /*max_values=*/0});
  const LabelLimiter::Result empty = limiter.Limit("");
  EXPECT_EQ(empty.value, "unknown");
  EXPECT_FALSE(empty.folded);
  EXPECT_EQ(limiter.Limit("x").value, "other");  // a zero cap keeps nothing
}

TEST(LabelLimiterTest, ConcurrentCallersNeverExceedTheCap) {
  constexpr int kCap = 5;
  LabelLimiter limiter({{}, kCap});
  absl::Mutex mu;
  std::set<std::string> kept;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string value = limiter.Limit(absl::StrCat(t, "-", i)).value;
        absl::MutexLock lock(&mu);
        kept.insert(value);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  // kCap distinct values plus "other".
  EXPECT_EQ(kept.size(), kCap + 1u);
  EXPECT_EQ(kept.count("other"), 1u);
}

}  // namespace
}  // namespace lineserve
