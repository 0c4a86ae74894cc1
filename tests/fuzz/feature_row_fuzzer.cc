// Fuzz target: production-line features as a CSV file, the way
// `lineserve-cli predict --csv` and the efficiency trainer read them
// (models/data/csv_table.h: ParseCsv, FeatureRowFromCsv), each row then
// encoded by the golden efficiency model's TabularEncoder
// (models/preprocess/tabular_encoder.h), the encoder the server runs.
// Rows sent over gRPC (names and values of any kind) are fuzzed by
// predict_request_fuzzer.
//
// Checked beyond "no crash, no sanitizer report": every parsed row has one
// cell per column; an encoded row is all finite; a refused row is
// INVALID_ARGUMENT.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/strings/string_view.h"
#include "models/data/csv_table.h"
#include "models/preprocess/tabular_encoder.h"
#include "tests/fuzz/golden_config.h"

namespace lineserve::fuzzing {
namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "feature_row_fuzzer: %s\n", what);
    std::abort();
  }
}

// Rows encoded per input: enough to reach every path, bounded so a long
// input stays fast.
constexpr size_t kMaxRows = 64;

}  // namespace
}  // namespace lineserve::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lineserve;
  using namespace lineserve::fuzzing;
  static const lineserve::v1::TabularPreprocessing* const tabular =
      new lineserve::v1::TabularPreprocessing(
          GoldenConfig(kEfficiencyModel).tabular());
  static const preprocess::TabularEncoder* const encoder = [] {
    auto created = preprocess::TabularEncoder::Create(*tabular);
    Check(created.ok(), "the golden tabular config is refused");
    return new preprocess::TabularEncoder(*std::move(created));
  }();

  absl::StatusOr<data::CsvTable> table = data::ParseCsv(
      absl::string_view(reinterpret_cast<const char*>(data), size));
  if (!table.ok()) {
    Check(table.status().code() == absl::StatusCode::kInvalidArgument,
          "a bad CSV is not INVALID_ARGUMENT");
    return 0;
  }
  for (size_t c = 0; c < table->columns.size(); ++c) {
    table->ColumnIsNumeric(c);
  }
  std::vector<float> out(encoder->width());
  for (size_t r = 0; r < table->rows.size() && r < kMaxRows; ++r) {
    const std::vector<std::string>& cells = table->rows[r];
    Check(cells.size() == table->columns.size(),
          "a row without one cell per column");
    const preprocess::FeatureRow row =
        data::FeatureRowFromCsv(*table, cells, *tabular);
    absl::Status status = encoder->Encode(row, out.data());
    if (status.ok()) {
      for (float value : out) Check(std::isfinite(value), "non-finite input");
    } else {
      Check(status.code() == absl::StatusCode::kInvalidArgument,
            "a bad row is not INVALID_ARGUMENT");
    }
  }
  return 0;
}
