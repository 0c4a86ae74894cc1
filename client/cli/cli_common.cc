#include "client/cli/cli_common.h"

#include <cstdlib>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"

namespace lineserve::cli {

void Common::AddTo(CommandLine& cli) {
  cli.AddString("server", &server, "server address host:port");
  cli.AddDouble("timeout", &timeout_seconds, "deadline of each call, s");
  cli.AddBool("json", &json, "print one JSON object per answer");
  cli.AddBool("tls", &tls,
              "TLS to the server, trusting the system's CAs (implied by the "
              "--tls-* files)");
  cli.AddString("tls-ca", &tls_ca,
                "PEM file of the CA that signed the server's certificate");
  cli.AddString("tls-cert", &tls_cert,
                "PEM client certificate, for servers that require mutual TLS "
                "(with --tls-key)");
  cli.AddString("tls-key", &tls_key, "PEM private key of --tls-cert");
  cli.AddString("tls-server-name", &tls_server_name,
                "name the server's certificate holds, when --server's host "
                "differs (e.g. an IP address)");
}

ClientOptions Common::Options() const {
  ClientOptions options;
  options.server = server;
  options.timeout = absl::Seconds(timeout_seconds);
  if (tls || !tls_ca.empty() || !tls_cert.empty() || !tls_key.empty() ||
      !tls_server_name.empty()) {
    auto files = ReadClientTlsFiles(tls_ca, tls_cert, tls_key, tls_server_name);
    if (!files.ok()) {
      std::cerr << kProgram << ": " << files.status().message() << "\n";
      std::exit(2);
    }
    options.tls = *std::move(files);
  }
  return options;
}

LineserveClient Common::Client() const { return LineserveClient(Options()); }

std::string ContextText(const nlohmann::json& context) {
  std::vector<std::string> parts;
  for (const auto& [key, value] : context.items()) {
    std::string text;
    if (value.is_string()) {
      text = value.get<std::string>();
    } else if (value.is_array() && value.size() == 2) {
      text = absl::StrCat(value[0].dump(), "-", value[1].dump());
    } else {
      text = value.dump();
    }
    parts.push_back(text.empty() ? key : absl::StrCat(key, " ", text));
  }
  return absl::StrJoin(parts, ", ");
}

namespace {

void Print(const Common& common, const nlohmann::json& context,
           const absl::Status& status, bool local) {
  if (common.json) {
    nlohmann::json j = context;
    j["error"] = {{"code", absl::StatusCodeToString(status.code())},
                  {"message", std::string(status.message())},
                  {"local", local}};
    std::cout << j.dump() << std::endl;
  } else if (local) {
    std::cerr << kProgram << ": " << ContextText(context)
              << ": local error, nothing was sent: " << status.message()
              << "\n";
  } else {
    std::cerr << kProgram << ": " << ContextText(context) << ": "
              << absl::StatusCodeToString(status.code()) << ": "
              << status.message() << "\n";
  }
}

}  // namespace

void PrintError(const Common& common, const nlohmann::json& context,
                const absl::Status& status) {
  Print(common, context, status, /*local=*/false);
}

void PrintLocalError(const Common& common, const nlohmann::json& context,
                     const absl::Status& status) {
  Print(common, context, status, /*local=*/true);
}

absl::StatusOr<FeatureColumns> FindFeatureColumns(const LineserveClient& client,
                                                  const std::string& model,
                                                  const data::CsvTable& table) {
  auto status =
      client.GetModel(model.empty() ? "efficiency_prediction" : model);
  if (!status.ok()) return status.status();
  // config.pbtxt holds the features only in the older layout.
  const lineserve::v1::ModelConfig* config = &status->config();
  for (const auto& version : status->versions()) {
    if (version.version() == status->default_version() &&
        version.has_config()) {
      config = &version.config();
    }
  }
  FeatureColumns columns;
  for (const auto& feature : config->tabular().features()) {
    if (auto column = table.ColumnIndex(feature.name())) {
      columns.emplace_back(*column, feature.name());
    }
  }
  return columns;
}

void AddFeatureRow(const data::CsvTable& table, const FeatureColumns& columns,
                   const std::optional<size_t>& line_column, size_t row,
                   lineserve::v1::PredictRequest& request) {
  auto* out = request.add_rows();
  out->set_row_id(std::to_string(row + 1));
  if (line_column) out->set_line_id(table.rows[row][*line_column]);
  for (const auto& [column, name] : columns) {
    const std::string& cell = table.rows[row][column];
    lineserve::v1::FeatureValue value;
    if (auto number = data::ParseNumber(cell)) {
      value.set_number(*number);
    } else if (!cell.empty()) {
      value.set_category(cell);
    } else {
      continue;
    }
    (*out->mutable_features())[name] = value;
  }
}

}  // namespace lineserve::cli
