// Bounds the values a metric label may take when they come from requests
// (line_id, station_id): every distinct value is a new time series in
// Prometheus, so a client sending a fresh id per request must not be able to
// grow the metric store without bound.
//
// With an allow-list, only those values are kept; without one, the first
// `max_values` distinct values seen are kept, in arrival order. Any other
// value becomes "other"; an empty one becomes "unknown". Values are first cut
// to kMaxLabelValueBytes (at a UTF-8 character boundary), so no series name
// grows with what a client sends: ids that share their first 64 bytes share
// a series.
//
// Thread-safety: Limit() may be called from any thread concurrently.
#ifndef LINESERVE_SERVER_METRICS_LABEL_LIMITER_H_
#define LINESERVE_SERVER_METRICS_LABEL_LIMITER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace lineserve {

inline constexpr char kOtherLabelValue[] = "other";
inline constexpr char kUnknownLabelValue[] = "unknown";
inline constexpr size_t kMaxLabelValueBytes = 64;

struct LabelLimiterOptions {
  // When non-empty, the only values kept (max_values is then ignored).
  std::vector<std::string> allowed;
  // Without an allow-list: how many distinct values are kept. >= 0.
  int max_values = 32;
};

class LabelLimiter {
 public:
  explicit LabelLimiter(LabelLimiterOptions options);

  LabelLimiter(const LabelLimiter&) = delete;
  LabelLimiter& operator=(const LabelLimiter&) = delete;

  struct Result {
    std::string value;
    // True when the value was replaced by "other" (not for "unknown").
    bool folded = false;
  };

  // The label value to export for `value`.
  Result Limit(absl::string_view value);

 private:
  const absl::flat_hash_set<std::string> allowed_;
  const int max_values_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> seen_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_METRICS_LABEL_LIMITER_H_
