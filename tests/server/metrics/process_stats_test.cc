#include "server/metrics/process_stats.h"

#include <unistd.h>

#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

// A real /proc/<pid>/stat line, with a command name holding spaces and a
// parenthesis: utime 250, stime 50, starttime 1000, vsize 8192000, rss 300.
constexpr char kStat[] =
    "4242 (my (odd) server) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 "
    "20 0 9 0 1000 8192000 300 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 "
    "17 1 0 0 0 0 0";

TEST(ProcessStatsTest, ParsesStatLineInSecondsAndBytes) {
  auto stats = ParseProcStat(kStat, /*ticks_per_second=*/100,
                             /*page_bytes=*/4096,
                             /*boot_time_seconds=*/1'700'000'000);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_DOUBLE_EQ(stats->cpu_seconds, 3.0);
  EXPECT_EQ(stats->virtual_memory_bytes, 8192000);
  EXPECT_EQ(stats->resident_memory_bytes, 300 * 4096);
  EXPECT_DOUBLE_EQ(stats->start_time_seconds, 1'700'000'010.0);
}

TEST(ProcessStatsTest, RejectsTextThatIsNotAStatLine) {
  EXPECT_FALSE(ParseProcStat("garbage", 100, 4096, 0).ok());
  EXPECT_FALSE(ParseProcStat("1 (x) S 1 2 3", 100, 4096, 0).ok());
  EXPECT_FALSE(ParseProcStat(kStat, /*ticks_per_second=*/0, 4096, 0).ok());
}

TEST(ProcessStatsTest, ReadsPlausibleValuesForThisProcess) {
  auto stats = ReadProcessStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GE(stats->cpu_seconds, 0);
  EXPECT_GT(stats->resident_memory_bytes, 0);
  EXPECT_GE(stats->virtual_memory_bytes, stats->resident_memory_bytes);
  EXPECT_GE(stats->open_fds, 3);  // stdin, stdout, stderr at least
  EXPECT_GE(stats->max_fds, stats->open_fds);
  // This test binary started within the last day, and not in the future
  // (btime is whole seconds: allow a second of rounding).
  const double now = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch());
  EXPECT_LE(stats->start_time_seconds, now + 1);
  EXPECT_GT(stats->start_time_seconds, now - 86400);
}

}  // namespace
}  // namespace lineserve
