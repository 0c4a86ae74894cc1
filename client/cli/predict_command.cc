// lineserve-cli predict: the rows of a CSV table, sent in chunks to
// EfficiencyPrediction.Predict, one line per row.
#include <algorithm>
#include <cstddef>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "client/lineserve_client.h"
#include "models/base/command_line.h"
#include "models/data/csv_table.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {
namespace {

// The request for rows [start, end) of `table`.
lineserve::v1::PredictRequest BuildRequest(
    const data::CsvTable& table, const FeatureColumns& columns,
    const std::optional<size_t>& line_index, const std::string& model,
    int start, int end) {
  lineserve::v1::PredictRequest request;
  request.mutable_model()->set_name(model);
  for (int r = start; r < end; ++r) {
    AddFeatureRow(table, columns, line_index, r, request);
  }
  return request;
}

void PrintPredictions(const Common& common,
                      const lineserve::v1::PredictResponse& response) {
  for (const auto& p : response.predictions()) {
    if (common.json) {
      std::cout << nlohmann::json{{"row", std::stoi(p.row_id())},
                                  {"efficiency", p.efficiency()},
                                  {"model",
                                   response.answered_by().model_name()},
                                  {"model_version",
                                   response.answered_by().model_version()}}
                       .dump()
                << std::endl;
    } else {
      std::cout << absl::StrFormat("row %-5s efficiency %.3f  (%s v%d)\n",
                                   p.row_id(), p.efficiency(),
                                   response.answered_by().model_name(),
                                   response.answered_by().model_version());
    }
  }
}

// The server names a bad row by its index in the request ("rows[3]: ...");
// the user knows the file: "row 68 (line 69): ...", rows counted from 1
// below the header, as the answers' row ids are.
absl::Status InFileTerms(const absl::Status& status,
                         const data::CsvTable& table, int start) {
  absl::string_view message = status.message();
  if (!absl::ConsumePrefix(&message, "rows[")) return status;
  const size_t close = message.find(']');
  int index = 0;
  if (close == absl::string_view::npos ||
      !absl::SimpleAtoi(message.substr(0, close), &index) || index < 0 ||
      start + index >= static_cast<int>(table.rows.size())) {
    return status;
  }
  const int row = start + index;
  return absl::Status(status.code(),
                      absl::StrCat("row ", row + 1, " (line ", table.lines[row],
                                   ")", message.substr(close + 1)));
}

}  // namespace

int RunPredict(const std::vector<std::string>& args) {
  Common common;
  std::string csv, model, line_column = "team";
  int rows_per_request = 64;
  CommandLine cli(
      "lineserve-cli predict --csv FILE [options]",
      "Sends the rows of a CSV table (like the training table) to\n"
      "EfficiencyPrediction.Predict. Only the columns the model uses are\n"
      "sent (so a target column is ignored): numbers as numbers, other text\n"
      "as categories, blank cells left out.");
  common.AddTo(cli);
  cli.AddString("csv", &csv, "the table", true);
  cli.AddString("model", &model, "model name (default: the service's)");
  cli.AddInt("rows-per-request", &rows_per_request, "rows sent per call");
  cli.AddString("line-column", &line_column,
                "column whose value labels each row's line in metrics");
  std::string delimiter;
  cli.AddString("delimiter", &delimiter,
                "the table's delimiter: \",\", \";\" or tab (default: found "
                "from the header)");
  if (auto code = cli.ParseForMain(args, kProgram)) return *code;
  data::CsvOptions csv_options;
  if (!delimiter.empty()) {
    absl::StatusOr<char> parsed = data::ParseDelimiter(delimiter);
    if (!parsed.ok()) {
      std::cerr << kProgram << ": --delimiter: " << parsed.status().message()
                << "\n";
      return 2;
    }
    csv_options.delimiter = *parsed;
  }
  auto table = data::ReadCsv(csv, csv_options);
  if (!table.ok()) {
    std::cerr << kProgram << ": " << table.status().message() << "\n";
    return 1;
  }
  const LineserveClient client = common.Client();
  // The model's config names its features; asking first lets a table with
  // extra columns (the target, ids) be sent as it is.
  auto used = FindFeatureColumns(client, model, *table);
  if (!used.ok()) {
    PrintError(common, {{"csv", csv}}, used.status());
    return 1;
  }
  const auto line_index = table->ColumnIndex(line_column);
  int failures = 0;
  const int n = static_cast<int>(table->rows.size());
  for (int start = 0; start < n; start += rows_per_request) {
    const int end = std::min(n, start + std::max(1, rows_per_request));
    auto response = client.Predict(
        BuildRequest(*table, *used, line_index, model, start, end));
    if (!response.ok()) {
      PrintError(common, {{"csv", csv}, {"rows", {start + 1, end}}},
                 InFileTerms(response.status(), *table, start));
      ++failures;
      continue;
    }
    PrintPredictions(common, *response);
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace lineserve::cli
