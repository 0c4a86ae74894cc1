#include "client/cli/perf_report.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::cli::perf {
namespace {

using ::testing::HasSubstr;

StepReport ClosedLoopReport() {
  StepReport report;
  report.model = "quality_inspection";
  report.api = "inspect";
  report.options.concurrency = 4;
  report.result.windows = 3;
  report.result.stable = true;
  report.result.stats.requests = 24;
  report.result.stats.latency_ms_p95 = 1.23456;
  return report;
}

TEST(PerfReportTest, CsvColumnsAreTheJsonFieldsInOrder) {
  const StepReport report = ClosedLoopReport();
  const nlohmann::ordered_json json = StepJson(report);
  std::vector<std::string> keys;
  for (const auto& [key, value] : json.items()) {
    if (key != "errors") keys.push_back(key);
  }
  keys.push_back("first_error");
  const std::vector<std::string> columns = absl::StrSplit(CsvHeader(), ',');
  EXPECT_EQ(columns, keys);
  const std::vector<std::string> cells = absl::StrSplit(CsvRow(report), ',');
  EXPECT_EQ(cells.size(), columns.size());
}

TEST(PerfReportTest, JsonNamesTheLoadAndRoundsLatency) {
  const auto json = StepJson(ClosedLoopReport());
  EXPECT_EQ(json["mode"], "concurrency");
  EXPECT_EQ(json["concurrency"], 4);
  EXPECT_EQ(json["request_rate"], 0.0);
  EXPECT_EQ(json["arrivals"], "");
  EXPECT_EQ(json["requests"], 24);
  EXPECT_EQ(json["latency_ms_p95"], 1.235);
  EXPECT_TRUE(json["errors"].is_array());

  StepReport open = ClosedLoopReport();
  open.options.request_rate = 20;
  open.options.arrivals = Arrivals::kPoisson;
  const auto open_json = StepJson(open);
  EXPECT_EQ(open_json["mode"], "request_rate");
  EXPECT_EQ(open_json["concurrency"], 0);
  EXPECT_EQ(open_json["arrivals"], "poisson");
}

TEST(PerfReportTest, CsvQuotesTheFirstError) {
  StepReport report = ClosedLoopReport();
  report.result.stats.failures = 2;
  report.result.stats.errors = {
      {absl::StatusCode::kNotFound, 2, "model \"x\", version 3"}};
  const std::string row = CsvRow(report);
  EXPECT_THAT(row, HasSubstr(",\"NOT_FOUND: model \"\"x\"\", version 3\""));
  EXPECT_EQ(StepJson(report)["errors"][0]["count"], 2);
}

TEST(PerfReportTest, TableRowsLineUpWithTheirHeader) {
  StepReport closed = ClosedLoopReport();
  EXPECT_EQ(TableRow(closed).size(), TableHeader(false).size());
  StepReport open = closed;
  open.options.request_rate = 50;
  EXPECT_EQ(TableRow(open).size(), TableHeader(true).size());
}

TEST(PerfReportTest, NotesSayWhatWentWrong) {
  EXPECT_TRUE(Notes(ClosedLoopReport()).empty());
  StepReport report = ClosedLoopReport();
  report.options.request_rate = 500;
  report.options.max_threads = 8;
  report.result.stable = false;
  report.result.windows = 10;
  report.result.stats.failures = 1;
  report.result.stats.errors = {
      {absl::StatusCode::kUnavailable, 1, "connection refused"}};
  report.result.stats.client_kept_up = false;
  const std::vector<std::string> notes = Notes(report);
  ASSERT_EQ(notes.size(), 3u);
  EXPECT_THAT(notes[0], HasSubstr("UNAVAILABLE x1 (first: connection "
                                  "refused)"));
  EXPECT_THAT(notes[1], HasSubstr("not stable"));
  EXPECT_THAT(notes[2], HasSubstr("fell behind"));
  EXPECT_THAT(notes[2], HasSubstr("rate 500/s"));
}

}  // namespace
}  // namespace lineserve::cli::perf
