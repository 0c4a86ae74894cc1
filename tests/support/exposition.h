// Reads Prometheus text exposition (format 0.0.4) back into samples, so
// tests can check families, labels and values instead of matching text.
#ifndef LINESERVE_TESTS_SUPPORT_EXPOSITION_H_
#define LINESERVE_TESTS_SUPPORT_EXPOSITION_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace lineserve::testing {

using Labels = std::map<std::string, std::string>;

struct Sample {
  std::string name;  // as written: histograms give name_bucket/_sum/_count
  Labels labels;
  double value = 0;
};

struct Exposition {
  std::vector<Sample> samples;
  // From "# TYPE name type" lines: family name -> counter, gauge, ...
  std::map<std::string, std::string> types;

  // The value of the sample named `name` whose labels are exactly
  // `labels`; nullopt when there is none.
  std::optional<double> Value(absl::string_view name,
                              const Labels& labels = {}) const;
  // The sum over samples named `name` whose labels include `labels`.
  double Sum(absl::string_view name, const Labels& labels = {}) const;
  // How many samples named `name` there are.
  int Count(absl::string_view name) const;
};

// Parses `text`; lines it cannot read are skipped (tests then miss the
// sample they look for and say so).
Exposition ParseExposition(absl::string_view text);

}  // namespace lineserve::testing

#endif  // LINESERVE_TESTS_SUPPORT_EXPOSITION_H_
