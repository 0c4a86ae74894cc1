#include "models/data/csv_table.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"

namespace lineserve::data {

std::optional<size_t> CsvTable::ColumnIndex(absl::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == name) return i;
  }
  return std::nullopt;
}

bool CsvTable::ColumnIsNumeric(size_t column) const {
  bool any = false;
  for (const auto& row : rows) {
    const std::string& cell = row[column];
    if (absl::StripAsciiWhitespace(cell).empty()) continue;
    if (!ParseNumber(cell)) return false;
    any = true;
  }
  return any;
}

std::optional<double> ParseNumber(absl::string_view cell) {
  cell = absl::StripAsciiWhitespace(cell);
  double value = 0;
  if (cell.empty() || !absl::SimpleAtod(cell, &value) ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

absl::StatusOr<char> ParseDelimiter(absl::string_view text) {
  if (text == "," || text == ";" || text == "\t") return text[0];
  if (text == "tab" || text == "\\t") return '\t';
  return absl::InvalidArgumentError(absl::StrCat(
      "delimiter \"", text, "\" is not one of \",\", \";\", \"tab\""));
}

namespace {

// The delimiter of the header row (up to the first line end outside
// quotes): the most frequent of ',', ';' and '\t', a comma on a tie.
char DetectDelimiter(absl::string_view text) {
  int commas = 0, semicolons = 0, tabs = 0;
  bool in_quotes = false;
  for (const char c : text) {
    if (c == '"') in_quotes = !in_quotes;
    if (in_quotes) continue;
    if (c == '\n') break;
    commas += c == ',';
    semicolons += c == ';';
    tabs += c == '\t';
  }
  if (semicolons > commas && semicolons >= tabs) return ';';
  if (tabs > commas && tabs > semicolons) return '\t';
  return ',';
}

}  // namespace

absl::StatusOr<CsvTable> ParseCsv(absl::string_view text,
                                  const CsvOptions& options) {
  // Excel's "CSV UTF-8" starts with a byte order mark.
  absl::ConsumePrefix(&text, "\xEF\xBB\xBF");
  const char delimiter =
      options.delimiter != 0 ? options.delimiter : DetectDelimiter(text);
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string cell;
  bool in_quotes = false;
  bool cell_started = false;  // distinguishes "" (empty line) from ","
  int line = 1;
  int record_line = 1;
  std::vector<int> record_lines;

  auto end_record = [&] {
    if (cell_started || !record.empty()) {
      record.push_back(std::move(cell));
      records.push_back(std::move(record));
      record_lines.push_back(record_line);
    }
    record.clear();
    cell.clear();
    cell_started = false;
  };

  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_quotes) {
      if (c == '"') {
        if (i + 1 < text.size() && text[i + 1] == '"') {
          cell.push_back('"');
          ++i;
        } else {
          in_quotes = false;
        }
      } else {
        if (c == '\n') ++line;
        cell.push_back(c);
      }
      continue;
    }
    if (c == delimiter) {
      record.push_back(std::move(cell));
      cell.clear();
      cell_started = true;
      continue;
    }
    switch (c) {
      case '"':
        in_quotes = true;
        cell_started = true;
        break;
      case '\r':
        break;
      case '\n':
        end_record();
        ++line;
        record_line = line;
        break;
      default:
        if (!cell_started && record.empty()) record_line = line;
        cell.push_back(c);
        cell_started = true;
    }
  }
  if (in_quotes) {
    return absl::InvalidArgumentError(
        absl::StrCat("line ", record_line, ": unterminated quoted cell"));
  }
  end_record();

  if (records.empty()) return absl::InvalidArgumentError("no header row");
  CsvTable table;
  table.delimiter = delimiter;
  table.columns = std::move(records[0]);
  for (auto& column : table.columns) {
    column = std::string(absl::StripAsciiWhitespace(column));
  }
  for (size_t r = 1; r < records.size(); ++r) {
    if (records[r].size() != table.columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", record_lines[r], ": ", records[r].size(), " cells, but the ",
          "header has ", table.columns.size()));
    }
    table.rows.push_back(std::move(records[r]));
    table.lines.push_back(record_lines[r]);
  }
  return table;
}

absl::StatusOr<CsvTable> ReadCsv(const std::string& path,
                                 const CsvOptions& options) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto table = ParseCsv(text, options);
  if (!table.ok()) return AnnotateStatus(table.status(), path);
  return table;
}

void AddFeatureCell(const lineserve::v1::Feature& feature,
                    const std::string& cell, preprocess::FeatureRow& row) {
  if (feature.kind() == lineserve::v1::Feature::KIND_NUMERIC) {
    if (auto v = ParseNumber(cell)) row.emplace_back(feature.name(), *v);
  } else if (!preprocess::TabularEncoder::NormalizeCategory(cell).empty()) {
    row.emplace_back(feature.name(), cell);
  }
}

preprocess::FeatureRow FeatureRowFromCsv(
    const CsvTable& table, const std::vector<std::string>& cells,
    const lineserve::v1::TabularPreprocessing& tabular) {
  preprocess::FeatureRow row;
  for (const lineserve::v1::Feature& feature : tabular.features()) {
    if (auto column = table.ColumnIndex(feature.name())) {
      AddFeatureCell(feature, cells[*column], row);
    }
  }
  return row;
}

}  // namespace lineserve::data
