// Pieces every lineserve-cli subcommand shares: the program name used in
// messages, the options each command accepts (--server, --timeout, --json,
// and TLS: --tls, --tls-ca, --tls-cert, --tls-key, --tls-server-name) and
// the one way a failed call is reported.
//
// Contract: with --json a failure is a JSON object on stdout (the context
// plus an "error" member), so a script reading one object per line sees
// failures in order with the answers; without it, a line on stderr.
#ifndef LINESERVE_CLIENT_CLI_CLI_COMMON_H_
#define LINESERVE_CLIENT_CLI_CLI_COMMON_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/lineserve_client.h"
#include "models/base/command_line.h"
#include "models/data/csv_table.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {

// Prefix of every message on stderr and the name passed to ParseForMain.
inline constexpr char kProgram[] = "lineserve-cli";

// The options every subcommand takes, bound into its CommandLine.
struct Common {
  std::string server = "127.0.0.1:8500";
  double timeout_seconds = 10;
  bool json = false;
  // TLS: on with --tls or any --tls-* file; the CA file (default: the
  // system's roots), the client certificate and key for mutual TLS, and the
  // name the server's certificate must hold when it is not --server's host.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
  std::string tls_server_name;

  // Declares --server, --timeout, --json and the TLS options on `cli`,
  // bound to this struct, which must outlive the parse.
  void AddTo(CommandLine& cli);
  // The client options per the flags. A TLS file that cannot be read (or a
  // certificate without its key) is a usage error like a bad flag: the
  // message goes to stderr and the process exits with status 2.
  ClientOptions Options() const;
  LineserveClient Client() const;
};

// Reports a failed call. `context` names what was being done (a file, a
// row range, a call) so the message can be traced back to its input: in
// text, "lineserve-cli: file a.png: CODE: message"; with --json, the
// context's members plus "error": {code, message, local: false}.
void PrintError(const Common& common, const nlohmann::json& context,
                const absl::Status& status);

// Reports a failure on this side (a file that cannot be read or written):
// in text "lineserve-cli: file a.png: local error, nothing was sent:
// message"; with --json, "local": true.
void PrintLocalError(const Common& common, const nlohmann::json& context,
                     const absl::Status& status);

// A context as text: "file a.png", "csv t.csv, rows 1-64".
std::string ContextText(const nlohmann::json& context);

// The CSV columns a tabular model reads: (index in the table, feature name).
using FeatureColumns = std::vector<std::pair<size_t, std::string>>;

// Asks the server which features `model` reads ("" is the service's default,
// efficiency_prediction) and finds them in `table`'s header, so a table with
// extra columns (the target, ids) can be sent as it is. The features come
// from the default version's config, since each version carries its own.
absl::StatusOr<FeatureColumns> FindFeatureColumns(const LineserveClient& client,
                                                  const std::string& model,
                                                  const data::CsvTable& table);

// Appends row `row` of `table` to `request`: numbers as numbers, other text
// as categories, blank cells left out. The row id is the 1-based row number
// (to match an answer to its line in the file); the line id is the
// `line_column` cell when there is one.
void AddFeatureRow(const data::CsvTable& table, const FeatureColumns& columns,
                   const std::optional<size_t>& line_column, size_t row,
                   lineserve::v1::PredictRequest& request);

}  // namespace lineserve::cli

#endif  // LINESERVE_CLIENT_CLI_CLI_COMMON_H_
