#include "client/cli/perf_report.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace lineserve::cli::perf {
namespace {

// The CSV columns, in order: every JSON field but the `errors` array.
constexpr const char* kCsvColumns[] = {"model",
                                       "api",
                                       "mode",
                                       "concurrency",
                                       "request_rate",
                                       "arrivals",
                                       "rows_per_request",
                                       "windows",
                                       "stable",
                                       "requests",
                                       "failures",
                                       "seconds",
                                       "throughput_rps",
                                       "achieved_rate_rps",
                                       "latency_ms_p50",
                                       "latency_ms_p90",
                                       "latency_ms_p95",
                                       "latency_ms_p99",
                                       "latency_ms_mean",
                                       "mean_queue_us",
                                       "mean_compute_us",
                                       "mean_batch_size",
                                       "mean_client_overhead_us",
                                       "delayed_requests",
                                       "client_kept_up"};

// Sub-microsecond digits of a latency and sub-milli-request rates are
// noise; rounding keeps the lines short.
double Round(double value, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

bool IsOpenLoop(const StepReport& report) {
  return report.options.request_rate > 0;
}

// RFC 4180: quote a cell holding a comma, quote or line break.
std::string CsvCell(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

std::string Level(const StepReport& report) {
  if (IsOpenLoop(report)) {
    return absl::StrFormat("rate %g/s", report.options.request_rate);
  }
  return absl::StrFormat("concurrency %d", report.options.concurrency);
}

}  // namespace

const char kPerfFieldsHelp[] =
    "Fields, one JSON object (--json) or CSV row (--csv) per step, same\n"
    "names in both:\n"
    "  model, api (inspect|predict), mode (concurrency|request_rate),\n"
    "  concurrency (0 in open loop), request_rate (requested calls/s; 0 in\n"
    "  closed loop), arrivals (constant|poisson; \"\" in closed loop),\n"
    "  rows_per_request, windows (measured), stable (as above),\n"
    "  requests (answered) and failures in the reported windows (the last\n"
    "  up to 3), seconds (their length), throughput_rps (answered calls/s),\n"
    "  achieved_rate_rps (finished calls/s), latency_ms_p50, _p90, _p95,\n"
    "  _p99, _mean (answered calls; in open loop from the scheduled send\n"
    "  time, so time waiting for a free worker counts), mean_queue_us,\n"
    "  mean_compute_us, mean_batch_size (the server's ServerTiming),\n"
    "  mean_client_overhead_us (mean latency - queue - compute: network,\n"
    "  serialisation, client), delayed_requests (left > 1 ms after their\n"
    "  scheduled time), client_kept_up (<= 10% delayed), errors (JSON only:\n"
    "  [{code, count, message}] with each code's first message; the CSV has\n"
    "  first_error instead).\n";

nlohmann::ordered_json StepJson(const StepReport& report) {
  const StepOptions& o = report.options;
  const StepStats& s = report.result.stats;
  const bool open = IsOpenLoop(report);
  nlohmann::ordered_json errors = nlohmann::ordered_json::array();
  for (const ErrorCount& e : s.errors) {
    errors.push_back({{"code", absl::StatusCodeToString(e.code)},
                      {"count", e.count},
                      {"message", e.first_message}});
  }
  return {{"model", report.model},
          {"api", report.api},
          {"mode", open ? "request_rate" : "concurrency"},
          {"concurrency", open ? 0 : o.concurrency},
          {"request_rate", open ? o.request_rate : 0.0},
          {"arrivals", open ? ArrivalsName(o.arrivals) : ""},
          {"rows_per_request", report.rows_per_request},
          {"windows", report.result.windows},
          {"stable", report.result.stable},
          {"requests", s.requests},
          {"failures", s.failures},
          {"seconds", Round(s.seconds, 4)},
          {"throughput_rps", Round(s.throughput_rps, 3)},
          {"achieved_rate_rps", Round(s.achieved_rate_rps, 3)},
          {"latency_ms_p50", Round(s.latency_ms_p50, 3)},
          {"latency_ms_p90", Round(s.latency_ms_p90, 3)},
          {"latency_ms_p95", Round(s.latency_ms_p95, 3)},
          {"latency_ms_p99", Round(s.latency_ms_p99, 3)},
          {"latency_ms_mean", Round(s.latency_ms_mean, 3)},
          {"mean_queue_us", Round(s.mean_queue_us, 1)},
          {"mean_compute_us", Round(s.mean_compute_us, 1)},
          {"mean_batch_size", Round(s.mean_batch_size, 3)},
          {"mean_client_overhead_us", Round(s.mean_client_overhead_us, 1)},
          {"delayed_requests", s.delayed_requests},
          {"client_kept_up", s.client_kept_up},
          {"errors", errors}};
}

std::string CsvHeader() {
  return absl::StrCat(absl::StrJoin(kCsvColumns, ","), ",first_error");
}

std::string CsvRow(const StepReport& report) {
  const nlohmann::ordered_json json = StepJson(report);
  std::vector<std::string> cells;
  for (const char* column : kCsvColumns) {
    const auto& value = json.at(column);
    cells.push_back(
        CsvCell(value.is_string() ? value.get<std::string>() : value.dump()));
  }
  const auto& errors = report.result.stats.errors;
  cells.push_back(errors.empty() ? ""
                                 : CsvCell(absl::StrCat(
                                       absl::StatusCodeToString(errors[0].code),
                                       ": ", errors[0].first_message)));
  return absl::StrJoin(cells, ",");
}

std::string TableHeader(bool open_loop) {
  return absl::StrCat(
      open_loop ? absl::StrFormat("%8s %9s %6s ", "rate/s", "achieved", "late")
                : absl::StrFormat("%11s ", "concurrency"),
      absl::StrFormat("%9s %8s %8s %8s %8s %8s %8s %8s %6s %8s %6s %7s %6s",
                      "answers/s", "p50 ms", "p90 ms", "p95 ms", "p99 ms",
                      "mean ms", "queue us", "comp us", "batch", "ovhd us",
                      "failed", "windows", "stable"));
}

std::string TableRow(const StepReport& report) {
  const StepStats& s = report.result.stats;
  return absl::StrCat(
      IsOpenLoop(report)
          ? absl::StrFormat("%8.1f %9.1f %6d ", report.options.request_rate,
                            s.achieved_rate_rps, s.delayed_requests)
          : absl::StrFormat("%11d ", report.options.concurrency),
      absl::StrFormat(
          "%9.1f %8.2f %8.2f %8.2f %8.2f %8.2f %8.0f %8.0f %6.2f %8.0f %6d "
          "%7d %6s",
          s.throughput_rps, s.latency_ms_p50, s.latency_ms_p90,
          s.latency_ms_p95, s.latency_ms_p99, s.latency_ms_mean,
          s.mean_queue_us, s.mean_compute_us, s.mean_batch_size,
          s.mean_client_overhead_us, s.failures, report.result.windows,
          report.result.stable ? "yes" : "no"));
}

std::vector<std::string> Notes(const StepReport& report) {
  const StepStats& s = report.result.stats;
  const int calls = s.requests + s.failures;
  std::vector<std::string> notes;
  if (s.failures > 0) {
    std::vector<std::string> codes;
    for (const ErrorCount& e : s.errors) {
      codes.push_back(absl::StrFormat("%s x%d (first: %s)",
                                      absl::StatusCodeToString(e.code), e.count,
                                      e.first_message));
    }
    notes.push_back(absl::StrFormat("%s: %d of %d calls failed: %s",
                                    Level(report), s.failures, calls,
                                    absl::StrJoin(codes, "; ")));
  }
  if (!report.result.stable) {
    notes.push_back(absl::StrFormat(
        "%s: not stable within %g%% after %d window(s); the row is the last "
        "%d (longer windows, --window-ms or --requests, even out noise)",
        Level(report), report.options.stability_percent, report.result.windows,
        std::min(report.result.windows, kStableWindows)));
  }
  if (!s.client_kept_up) {
    notes.push_back(absl::StrFormat(
        "%s: the client fell behind its schedule (achieved %.1f/s): %d of %d "
        "calls left more than 1 ms late (all %d workers busy, or the client "
        "short of CPU); raise --max-threads or lower the rate",
        Level(report), s.achieved_rate_rps, s.delayed_requests, calls,
        report.options.max_threads));
  }
  return notes;
}

}  // namespace lineserve::cli::perf
