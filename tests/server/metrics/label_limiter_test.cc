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

// The probe of issue 13: one 1 MB line_id made /metrics 21 MB.
TEST(LabelLimiterTest, LongValuesAreCutToTheDocumentedLength) {
  LabelLimiter limiter({{}, /*max_values=*/4});
  const std::string huge(1 << 20, 'l');
  const LabelLimiter::Result first = limiter.Limit(huge);
  EXPECT_EQ(first.value, std::string(kMaxLabelValueBytes, 'l'));
  EXPECT_FALSE(first.folded);
  // Values sharing their first 64 bytes share one series.
  EXPECT_EQ(limiter.Limit(huge + "other-end").value, first.value);
  EXPECT_EQ(limiter.Limit("short").value, "short");
  // Never inside a UTF-8 character: 63 ASCII bytes and a 2-byte "é".
  const std::string accented = std::string(63, 'a') + "\xC3\xA9";
  EXPECT_EQ(limiter.Limit(accented).value, std::string(63, 'a'));
}

TEST(LabelLimiterTest, LongAllowedValuesMatchTheirCutRequests) {
  const std::string line(100, 'a');
  LabelLimiter limiter({{line}, /*max_values=*/1});
  const LabelLimiter::Result kept = limiter.Limit(line);
  EXPECT_EQ(kept.value, std::string(kMaxLabelValueBytes, 'a'));
  EXPECT_FALSE(kept.folded);
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
