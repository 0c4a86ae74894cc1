// The three ways `lineserve-cli perf` reports its steps: a table for
// people, one JSON object per step for scripts, and a CSV file (like
// perf_analyzer's -f) for spreadsheets.
//
// Contract: JSON keys and CSV columns have the same names, documented in
// kPerfFieldsHelp; scripts depend on them, so rename nothing (add fields
// instead). Pure formatting: nothing here writes to a stream.
#ifndef LINESERVE_CLIENT_CLI_PERF_REPORT_H_
#define LINESERVE_CLIENT_CLI_PERF_REPORT_H_

#include <string>
#include <vector>

#include "client/cli/perf_load.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli::perf {

// How one step was driven and what it measured.
struct StepReport {
  std::string model;  // the model's name ("" never: the service default)
  std::string api;    // "inspect" or "predict"
  int rows_per_request = 1;
  StepOptions options;
  StepResult result;
};

// For --help: what each JSON key / CSV column means.
extern const char kPerfFieldsHelp[];

nlohmann::ordered_json StepJson(const StepReport& report);

// CSV header and one row per step: the scalar JSON fields in the same
// order, then first_error ("CODE: message" of the lowest failing code).
std::string CsvHeader();
std::string CsvRow(const StepReport& report);

// The table: a header for the load's mode, then one line per step.
std::string TableHeader(bool open_loop);
std::string TableRow(const StepReport& report);

// Sentences about what a row cannot show: failures by code, no stability,
// a client that fell behind its schedule. Empty when all went well.
std::vector<std::string> Notes(const StepReport& report);

}  // namespace lineserve::cli::perf

#endif  // LINESERVE_CLIENT_CLI_PERF_REPORT_H_
