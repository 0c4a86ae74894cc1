// lineserve-cli health: grpc.health.v1 Check, with the answer as exit code
// so a container HEALTHCHECK or a script can use it directly.
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "models/base/command_line.h"
#include "nlohmann/json.hpp"

namespace lineserve::cli {

int RunHealth(const std::vector<std::string>& args) {
  Common common;
  CommandLine cli("lineserve-cli health [options] [SERVICE]",
                  "Asks grpc.health.v1.Health/Check for the server (or one "
                  "service, e.g. lineserve.v1.QualityInspection).");
  common.AddTo(cli);
  if (auto code = cli.ParseForMain(args, kProgram, true)) return *code;
  const std::string service =
      cli.positional().empty() ? "" : cli.positional()[0];
  auto serving = common.Client().Health(service);
  if (!serving.ok()) {
    nlohmann::json context = {{"server", common.server}};
    if (!service.empty()) context["service"] = service;
    PrintError(common, context, serving.status());
    return 1;
  }
  if (common.json) {
    std::cout << nlohmann::json{{"service", service},
                                {"status",
                                 *serving ? "SERVING" : "NOT_SERVING"}}
                     .dump()
              << std::endl;
  } else {
    std::cout << (service.empty() ? "server" : service) << ": "
              << (*serving ? "SERVING" : "NOT_SERVING") << "\n";
  }
  return *serving ? 0 : 1;
}

}  // namespace lineserve::cli
