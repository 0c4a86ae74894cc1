#include "server/metrics/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "models/base/status_macros.h"

namespace lineserve {
namespace {

// Fields of /proc/<pid>/stat (proc(5)), counted from 1 as the manual does.
constexpr int kUtimeField = 14;
constexpr int kStimeField = 15;
constexpr int kStartTimeField = 22;
constexpr int kVsizeField = 23;
constexpr int kRssField = 24;
// The first field after "pid (comm)" is field 3.
constexpr int kFirstFieldAfterComm = 3;

absl::StatusOr<std::string> ReadProcFile(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read ", path));
  }
  return text.str();
}

absl::StatusOr<int64_t> BootTimeSeconds() {
  ASSIGN_OR_RETURN(const std::string stat, ReadProcFile("/proc/stat"));
  for (absl::string_view line : absl::StrSplit(stat, '\n')) {
    int64_t seconds = 0;
    if (absl::ConsumePrefix(&line, "btime ") &&
        absl::SimpleAtoi(line, &seconds)) {
      return seconds;
    }
  }
  return absl::FailedPreconditionError("/proc/stat has no btime line");
}

}  // namespace

absl::StatusOr<ProcessStats> ParseProcStat(absl::string_view stat,
                                           int64_t ticks_per_second,
                                           int64_t page_bytes,
                                           int64_t boot_time_seconds) {
  // The command name may hold spaces and parentheses: the fields start
  // after its last ')'.
  const size_t comm_end = stat.rfind(')');
  if (comm_end == absl::string_view::npos || ticks_per_second <= 0) {
    return absl::InvalidArgumentError("not a /proc/<pid>/stat line");
  }
  const std::vector<absl::string_view> fields =
      absl::StrSplit(stat.substr(comm_end + 1), ' ', absl::SkipWhitespace());
  auto field = [&](int number, int64_t* value) {
    const size_t index = number - kFirstFieldAfterComm;
    return index < fields.size() && absl::SimpleAtoi(fields[index], value);
  };
  int64_t utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  if (!field(kUtimeField, &utime) || !field(kStimeField, &stime) ||
      !field(kStartTimeField, &start_ticks) || !field(kVsizeField, &vsize) ||
      !field(kRssField, &rss_pages)) {
    return absl::InvalidArgumentError(
        "/proc/<pid>/stat line with missing or non-numeric fields");
  }
  const double ticks = static_cast<double>(ticks_per_second);
  ProcessStats stats;
  stats.cpu_seconds = static_cast<double>(utime + stime) / ticks;
  stats.virtual_memory_bytes = vsize;
  stats.resident_memory_bytes = rss_pages * page_bytes;
  stats.start_time_seconds =
      static_cast<double>(boot_time_seconds) + start_ticks / ticks;
  return stats;
}

absl::StatusOr<ProcessStats> ReadProcessStats() {
  ASSIGN_OR_RETURN(const std::string stat, ReadProcFile("/proc/self/stat"));
  ASSIGN_OR_RETURN(const int64_t boot_time, BootTimeSeconds());
  auto stats = ParseProcStat(stat, sysconf(_SC_CLK_TCK), sysconf(_SC_PAGESIZE),
                             boot_time);
  if (!stats.ok())
    return absl::FailedPreconditionError(stats.status().message());

  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end;
       !ec && it != end; it.increment(ec)) {
    ++stats->open_fds;
  }
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot list /proc/self/fd: ", ec.message()));
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    stats->max_fds = static_cast<int64_t>(limit.rlim_cur);
  }
  return stats;
}

}  // namespace lineserve
