#include "client/cli/perf_stats.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace lineserve::cli::perf {
namespace {

// Levels are sums or products of doubles: 0.1 + 0.1 + 0.1 must still reach
// an END of 0.3.
constexpr double kRangeSlack = 1e-9;

bool IsWhole(double v) { return std::floor(v) == v; }

absl::Status RangeError(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("bad range '", text, "': ", why));
}

bool ParseFinite(absl::string_view text, double* value) {
  return absl::SimpleAtod(absl::StripAsciiWhitespace(text), value) &&
         std::isfinite(*value);
}

// max <= min * (1 + percent / 100), with all-zero counting as stable.
bool WithinPercent(const std::vector<double>& values, double percent) {
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  if (*lo <= 0) return *hi <= 0;
  return *hi <= *lo * (1 + percent / 100);
}

}  // namespace

absl::StatusOr<std::vector<double>> ParseLoadRange(absl::string_view text,
                                                   bool integers) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  if (parts.size() > 3) {
    return RangeError(text, "expected START:END[:STEP]");
  }
  double start = 0, end = 0;
  if (!ParseFinite(parts[0], &start)) {
    return RangeError(text, "START is not a number");
  }
  end = start;
  if (parts.size() > 1 && !ParseFinite(parts[1], &end)) {
    return RangeError(text, "END is not a number");
  }
  if (start <= 0) return RangeError(text, "START must be > 0");
  if (start > end) return RangeError(text, "START is greater than END");
  if (integers && !(IsWhole(start) && IsWhole(end))) {
    return RangeError(text, "START and END must be whole numbers");
  }
  bool multiply = false;
  double step = 1;
  if (parts.size() == 3) {
    absl::string_view step_text = absl::StripAsciiWhitespace(parts[2]);
    multiply = !step_text.empty() &&
               (step_text.front() == 'x' || step_text.front() == 'X');
    if (multiply) step_text.remove_prefix(1);
    if (!ParseFinite(step_text, &step)) {
      return RangeError(text, "STEP must be a number or xFACTOR");
    }
    if (multiply && step <= 1) {
      return RangeError(text, "a step xFACTOR needs FACTOR > 1");
    }
    if (!multiply && step <= 0) return RangeError(text, "STEP must be > 0");
    if (integers && !multiply && !IsWhole(step)) {
      return RangeError(text, "STEP must be a whole number");
    }
  }
  std::vector<double> levels;
  const double limit = end * (1 + kRangeSlack);
  for (int i = 0;; ++i) {
    // Linear levels are computed from the index, not summed, so a long
    // range does not drift away from END.
    double level = multiply ? start * std::pow(step, i) : start + i * step;
    if (level > limit) break;
    if (integers) level = std::round(level);
    if (!levels.empty() && levels.back() == level) continue;
    if (static_cast<int>(levels.size()) == kMaxLoadLevels) {
      return RangeError(text,
                        absl::StrCat("more than ", kMaxLoadLevels, " levels"));
    }
    levels.push_back(level);
  }
  return levels;
}

double Percentile(const std::vector<double>& sorted, double fraction) {
  const double n = static_cast<double>(sorted.size());
  // The slack keeps 0.95 * 20 (= 19.000000000000004) at rank 19.
  const double rank = std::ceil(fraction * n - kRangeSlack);
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, n)) - 1;
  return sorted[index];
}

WindowMeasure Measure(const Window& window) {
  std::vector<double> latencies;
  for (const Call& call : window.calls) {
    if (call.status.ok()) {
      latencies.push_back(absl::ToDoubleMilliseconds(call.latency));
    }
  }
  WindowMeasure measure;
  const double seconds = absl::ToDoubleSeconds(window.end - window.start);
  if (seconds > 0) measure.throughput_rps = latencies.size() / seconds;
  if (!latencies.empty()) {
    std::sort(latencies.begin(), latencies.end());
    measure.latency_ms_p95 = Percentile(latencies, 0.95);
  }
  return measure;
}

bool IsStable(const std::vector<WindowMeasure>& windows, double percent) {
  if (windows.size() < static_cast<size_t>(kStableWindows)) return false;
  std::vector<double> throughput, latency;
  for (auto it = windows.end() - kStableWindows; it != windows.end(); ++it) {
    throughput.push_back(it->throughput_rps);
    latency.push_back(it->latency_ms_p95);
  }
  return WithinPercent(throughput, percent) && WithinPercent(latency, percent);
}

absl::StatusOr<Arrivals> ParseArrivals(absl::string_view text) {
  if (text == "constant") return Arrivals::kConstant;
  if (text == "poisson") return Arrivals::kPoisson;
  return absl::InvalidArgumentError(
      absl::StrCat("bad arrivals '", text, "': expected constant or poisson"));
}

const char* ArrivalsName(Arrivals arrivals) {
  return arrivals == Arrivals::kPoisson ? "poisson" : "constant";
}

ArrivalSchedule::ArrivalSchedule(double rate_per_second, Arrivals arrivals,
                                 uint64_t seed)
    : rate_per_second_(rate_per_second),
      arrivals_(arrivals),
      engine_(seed),
      gap_seconds_(rate_per_second) {}

absl::Duration ArrivalSchedule::Next() {
  if (arrivals_ == Arrivals::kConstant) {
    return absl::Seconds(++sends_ / rate_per_second_);
  }
  offset_seconds_ += gap_seconds_(engine_);
  return absl::Seconds(offset_seconds_);
}

StepStats Summarise(const std::vector<Window>& windows) {
  StepStats stats;
  std::vector<double> latencies;
  std::map<absl::StatusCode, ErrorCount> errors;
  double queue_us = 0, compute_us = 0, batch = 0;
  int calls = 0;
  for (const Window& window : windows) {
    stats.seconds += absl::ToDoubleSeconds(window.end - window.start);
    for (const Call& call : window.calls) {
      ++calls;
      if (call.send_delay > kLateSend) ++stats.delayed_requests;
      if (!call.status.ok()) {
        ErrorCount& error = errors[call.status.code()];
        if (error.count++ == 0) {
          error.code = call.status.code();
          error.first_message = std::string(call.status.message());
        }
        ++stats.failures;
        continue;
      }
      latencies.push_back(absl::ToDoubleMilliseconds(call.latency));
      queue_us += call.server.queue_us;
      compute_us += call.server.compute_us;
      batch += call.server.batch_size;
    }
  }
  for (auto& [code, error] : errors) stats.errors.push_back(std::move(error));
  stats.client_kept_up = stats.delayed_requests <= kMaxLateFraction * calls;
  stats.requests = static_cast<int>(latencies.size());
  if (stats.seconds > 0) {
    stats.throughput_rps = stats.requests / stats.seconds;
    stats.achieved_rate_rps = calls / stats.seconds;
  }
  if (latencies.empty()) return stats;
  const double n = static_cast<double>(latencies.size());
  double total_ms = 0;
  for (double ms : latencies) total_ms += ms;
  std::sort(latencies.begin(), latencies.end());
  stats.latency_ms_p50 = Percentile(latencies, 0.50);
  stats.latency_ms_p90 = Percentile(latencies, 0.90);
  stats.latency_ms_p95 = Percentile(latencies, 0.95);
  stats.latency_ms_p99 = Percentile(latencies, 0.99);
  stats.latency_ms_mean = total_ms / n;
  stats.mean_queue_us = queue_us / n;
  stats.mean_compute_us = compute_us / n;
  stats.mean_batch_size = batch / n;
  stats.mean_client_overhead_us = stats.latency_ms_mean * 1000 -
                                  stats.mean_queue_us - stats.mean_compute_us;
  return stats;
}

}  // namespace lineserve::cli::perf
