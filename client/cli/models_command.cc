// lineserve-cli models: what the server has loaded (ModelService.ListModels).
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "client/lineserve_client.h"
#include "models/base/command_line.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {
namespace {

void PrintModelJson(const lineserve::v1::ModelStatus& m) {
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& v : m.versions()) {
    versions.push_back({{"version", v.version()},
                        {"state", lineserve::v1::VersionState_Name(v.state())},
                        {"device", v.device()},
                        {"message", v.message()}});
  }
  std::cout << nlohmann::json{{"model", m.name()},
                              {"default_version",
                               m.default_version() > 0
                                   ? nlohmann::json(m.default_version())
                                   : nlohmann::json(nullptr)},
                              {"versions", versions}}
                   .dump()
            << std::endl;
}

void PrintModelText(const lineserve::v1::ModelStatus& m) {
  // Version 0 is the server's "none": no version is ready to answer.
  std::cout << m.name() << " ("
            << (m.default_version() > 0
                    ? absl::StrCat("default version ", m.default_version())
                    : std::string("no ready version"))
            << ", max batch " << m.config().max_batch_size() << ")\n";
  for (const auto& v : m.versions()) {
    std::cout << "  v" << v.version() << "  "
              << lineserve::v1::VersionState_Name(v.state()) << "  "
              << v.device() << (v.message().empty() ? "" : "  ") << v.message()
              << "\n";
  }
}

}  // namespace

int RunModels(const std::vector<std::string>& args) {
  Common common;
  CommandLine cli("lineserve-cli models [options]",
                  "Lists the models the server has, their versions and "
                  "states.");
  common.AddTo(cli);
  if (auto code = cli.ParseForMain(args, kProgram)) return *code;
  auto models = common.Client().ListModels();
  if (!models.ok()) {
    PrintError(common, {{"call", "ListModels"}}, models.status());
    return 1;
  }
  for (const auto& m : models->models()) {
    if (common.json) {
      PrintModelJson(m);
    } else {
      PrintModelText(m);
    }
  }
  return 0;
}

}  // namespace lineserve::cli
