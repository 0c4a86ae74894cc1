// The standard Prometheus process metrics, read from Linux's /proc for the
// calling process (prometheus-cpp 1.0 has no process collector).
//
// Stateless; callable from any thread.
#ifndef LINESERVE_SERVER_METRICS_PROCESS_STATS_H_
#define LINESERVE_SERVER_METRICS_PROCESS_STATS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lineserve {

struct ProcessStats {
  // User plus system CPU time since the process started.
  double cpu_seconds = 0;
  int64_t resident_memory_bytes = 0;
  int64_t virtual_memory_bytes = 0;
  int64_t open_fds = 0;
  // The soft RLIMIT_NOFILE (what open() runs into first).
  int64_t max_fds = 0;
  // Unix time the process started, in seconds.
  double start_time_seconds = 0;
};

// Reads /proc/self/stat, /proc/stat (boot time), /proc/self/fd and the fd
// limit. FAILED_PRECONDITION when /proc is unreadable or malformed.
absl::StatusOr<ProcessStats> ReadProcessStats();

// The fields of ProcessStats that /proc/<pid>/stat holds (cpu, memory,
// start), parsed from its text. `ticks_per_second` (sysconf(_SC_CLK_TCK)),
// `page_bytes` and `boot_time_seconds` (/proc/stat's btime) convert the
// kernel's units. INVALID_ARGUMENT when the text is not a stat line.
absl::StatusOr<ProcessStats> ParseProcStat(absl::string_view stat,
                                           int64_t ticks_per_second,
                                           int64_t page_bytes,
                                           int64_t boot_time_seconds);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_METRICS_PROCESS_STATS_H_
