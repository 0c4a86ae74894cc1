// A CSV file read into memory as text cells, for the tabular trainer and the
// client's `predict --csv`.
//
// RFC 4180 quoting ("a, b" and doubled quotes) is understood; CRLF and LF
// line ends both work; a header row names the columns. A UTF-8 byte order
// mark (Excel's "CSV UTF-8") is dropped, and the delimiter is found from the
// header (comma, semicolon or tab, as spreadsheets in many locales export)
// unless given. Cells stay text: the caller decides which columns are
// numbers (see ColumnIsNumeric).
#ifndef LINESERVE_MODELS_DATA_CSV_TABLE_H_
#define LINESERVE_MODELS_DATA_CSV_TABLE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lineserve/v1/model_config.pb.h"
#include "models/preprocess/tabular_encoder.h"

namespace lineserve::data {

struct CsvTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;  // each row has columns.size()
  // The file line each row starts on (the header is line 1), for messages.
  std::vector<int> lines;
  char delimiter = ',';

  // Index of `name` in columns, or nullopt.
  std::optional<size_t> ColumnIndex(absl::string_view name) const;
  // True when every non-empty cell of the column parses as a finite number
  // and at least one cell is non-empty.
  bool ColumnIsNumeric(size_t column) const;
};

struct CsvOptions {
  // ',', ';' or '\t'; 0 finds it: the one of the three that occurs most
  // often in the header outside quotes (a comma when none does).
  char delimiter = 0;
};

// "," ";" "\t" (or "tab") as a delimiter; INVALID_ARGUMENT for anything else.
absl::StatusOr<char> ParseDelimiter(absl::string_view text);

// Parses CSV text. INVALID_ARGUMENT with the line number for a row whose cell
// count differs from the header's or an unterminated quote.
absl::StatusOr<CsvTable> ParseCsv(absl::string_view text,
                                  const CsvOptions& options = {});

// Reads and parses a file.
absl::StatusOr<CsvTable> ReadCsv(const std::string& path,
                                 const CsvOptions& options = {});

// Parses a numeric cell; nullopt for empty or non-numeric text.
std::optional<double> ParseNumber(absl::string_view cell);

// A CSV cell as `feature`'s value in `row`; a blank or unreadable cell is
// left out, so the feature takes its default (or the encoder reports it
// missing).
void AddFeatureCell(const lineserve::v1::Feature& feature,
                    const std::string& cell, preprocess::FeatureRow& row);

// `cells` (a row of `table`) as the features `tabular` declares; a feature
// without a column is left out, as a blank cell is.
preprocess::FeatureRow FeatureRowFromCsv(
    const CsvTable& table, const std::vector<std::string>& cells,
    const lineserve::v1::TabularPreprocessing& tabular);

}  // namespace lineserve::data

#endif  // LINESERVE_MODELS_DATA_CSV_TABLE_H_
