#include "tests/support/exposition.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace lineserve::testing {
namespace {

bool Includes(const Labels& labels, const Labels& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const auto& label) {
    auto found = labels.find(label.first);
    return found != labels.end() && found->second == label.second;
  });
}

// `name{a="x",b="y"} 1.5`, escapes \\ \" \n inside values.
bool ParseSample(absl::string_view line, Sample* sample) {
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample->name = std::string(line.substr(0, i));
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (i < line.size() && line[i] != '}') {
      const size_t eq = line.find("=\"", i);
      if (eq == absl::string_view::npos) return false;
      const std::string key(line.substr(i, eq - i));
      std::string value;
      size_t j = eq + 2;
      for (; j < line.size() && line[j] != '"'; ++j) {
        if (line[j] == '\\' && j + 1 < line.size()) {
          ++j;
          value.push_back(line[j] == 'n' ? '\n' : line[j]);
        } else {
          value.push_back(line[j]);
        }
      }
      sample->labels[key] = value;
      i = j + 1;
      if (i < line.size() && line[i] == ',') ++i;
    }
    ++i;  // '}'
  }
  if (i >= line.size()) return false;
  std::vector<absl::string_view> rest =
      absl::StrSplit(line.substr(i), ' ', absl::SkipWhitespace());
  return !rest.empty() && absl::SimpleAtod(rest[0], &sample->value);
}

}  // namespace

std::optional<double> Exposition::Value(absl::string_view name,
                                        const Labels& labels) const {
  for (const Sample& sample : samples) {
    if (sample.name == name && sample.labels == labels) return sample.value;
  }
  return std::nullopt;
}

double Exposition::Sum(absl::string_view name, const Labels& labels) const {
  double sum = 0;
  for (const Sample& sample : samples) {
    if (sample.name == name && Includes(sample.labels, labels)) {
      sum += sample.value;
    }
  }
  return sum;
}

int Exposition::Count(absl::string_view name) const {
  return static_cast<int>(
      std::count_if(samples.begin(), samples.end(),
                    [&](const Sample& sample) { return sample.name == name; }));
}

Exposition ParseExposition(absl::string_view text) {
  Exposition exposition;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    if (absl::ConsumePrefix(&line, "# TYPE ")) {
      std::vector<std::string> parts = absl::StrSplit(line, ' ');
      if (parts.size() == 2) exposition.types[parts[0]] = parts[1];
      continue;
    }
    if (line[0] == '#') continue;
    Sample sample;
    if (ParseSample(line, &sample)) {
      exposition.samples.push_back(std::move(sample));
    }
  }
  return exposition;
}

}  // namespace lineserve::testing
