// lineserve-cli load|unload|reload MODEL: model control
// (ModelService.LoadModel / UnloadModel / ReloadModel), with the admin token
// read from a file so it stays out of shell history and process lists; and
// lineserve-cli index: every model and version on the server's disk.
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/strip.h"
#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "client/lineserve_client.h"
#include "models/base/command_line.h"
#include "models/base/file_util.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {
namespace {

void PrintVersions(
    const std::string& model, bool loaded,
    const google::protobuf::RepeatedPtrField<lineserve::v1::VersionStatus>&
        versions,
    bool json) {
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& v : versions) {
      list.push_back({{"version", v.version()},
                      {"state", lineserve::v1::VersionState_Name(v.state())},
                      {"message", v.message()}});
    }
    std::cout << nlohmann::json{{"model", model},
                                {"loaded", loaded},
                                {"versions", list}}
                     .dump()
              << std::endl;
    return;
  }
  std::cout << model << (loaded ? "" : " (not loaded)") << "\n";
  for (const auto& v : versions) {
    std::cout << "  v" << v.version() << "  "
              << lineserve::v1::VersionState_Name(v.state())
              << (v.message().empty() ? "" : "  ") << v.message() << "\n";
  }
}

}  // namespace

int RunControl(const std::string& command,
               const std::vector<std::string>& args) {
  Common common;
  std::string token_file;
  CommandLine cli("lineserve-cli " + command + " MODEL --admin-token-file F",
                  command == "load" ? "Loads (or reloads) a model "
                                      "(ModelService.LoadModel)."
                  : command == "unload"
                      ? "Stops serving a model; its "
                        "versions drain "
                        "(ModelService.UnloadModel)."
                      : "Loads a model's new versions "
                        "beside the serving ones and swaps "
                        "them in (ModelService.ReloadModel).");
  common.AddTo(cli);
  cli.AddString("admin-token-file", &token_file,
                "file holding the server's admin token", true);
  if (auto code = cli.ParseForMain(args, kProgram, true)) return *code;
  if (cli.positional().size() != 1) {
    std::cerr << kProgram << ": " << command << " needs one MODEL\n";
    return 2;
  }
  const std::string model = cli.positional()[0];
  auto token = ReadFile(token_file);
  if (!token.ok()) {
    std::cerr << kProgram
              << ": --admin-token-file: " << token.status().message() << "\n";
    return 2;
  }
  ClientOptions options = common.Options();
  options.admin_token = std::string(absl::StripAsciiWhitespace(*token));
  const LineserveClient client(options);
  absl::StatusOr<lineserve::v1::ModelStatus> status;
  if (command == "unload") {
    absl::Status unloaded = client.UnloadModel(model);
    if (!unloaded.ok()) {
      PrintError(common, {{"call", "UnloadModel"}, {"model", model}}, unloaded);
      return 1;
    }
    std::cout
        << (common.json
                ? nlohmann::json{{"model", model}, {"unloaded", true}}.dump()
                : model + ": unloaded")
        << std::endl;
    return 0;
  }
  status =
      command == "load" ? client.LoadModel(model) : client.ReloadModel(model);
  if (!status.ok()) {
    PrintError(common, {{"call", command}, {"model", model}}, status.status());
    return 1;
  }
  PrintVersions(model, true, status->versions(), common.json);
  return 0;
}

int RunIndex(const std::vector<std::string>& args) {
  Common common;
  CommandLine cli("lineserve-cli index [options]",
                  "Lists every model and version folder in the server's "
                  "repository with its state (ModelService.RepositoryIndex).");
  common.AddTo(cli);
  if (auto code = cli.ParseForMain(args, kProgram)) return *code;
  auto index = common.Client().RepositoryIndex();
  if (!index.ok()) {
    PrintError(common, {{"call", "RepositoryIndex"}}, index.status());
    return 1;
  }
  for (const auto& model : index->models()) {
    PrintVersions(model.name(), model.loaded(), model.versions(), common.json);
  }
  return 0;
}

}  // namespace lineserve::cli
