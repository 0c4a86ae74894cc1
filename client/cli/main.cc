// lineserve-cli: talk to a lineserve server from a shell or a script.
//
//   lineserve-cli inspect FILE...          verdict per image
//   lineserve-cli predict --csv FILE       efficiency per row
//   lineserve-cli models                   what is loaded
//   lineserve-cli health [SERVICE]         serving or not
//   lineserve-cli perf --file IMG|--rows CSV  latency and throughput
//
// Common options: --server HOST:PORT, --timeout SECONDS, --json (one JSON
// object per answer), and TLS: --tls-ca FILE, --tls-cert FILE --tls-key FILE
// (mutual TLS), --tls-server-name NAME, --tls. The exit status is non-zero
// when any call failed.
// Each command lives in its own file (client/cli/*_command.cc).
#include <iostream>
#include <string>
#include <vector>

#include "client/cli/cli_common.h"
#include "client/cli/commands.h"
#include "models/base/version.h"

namespace lineserve::cli {
namespace {

constexpr char kUsage[] =
    "usage: lineserve-cli COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  inspect FILE...     send images (PNG/JPEG) for quality inspection\n"
    "  predict --csv FILE  send table rows for efficiency prediction\n"
    "  models              list the loaded models and versions\n"
    "  health [SERVICE]    ask the gRPC health service\n"
    "  perf --file|--rows  load test of Inspect or Predict\n"
    "  index               every model and version on the server's disk\n"
    "  reload MODEL        load a model's new versions, swap them in\n"
    "  load MODEL          load a model (explicit model control)\n"
    "  unload MODEL        stop serving a model (explicit model control)\n"
    "\n"
    "`lineserve-cli --version` prints the version.\n"
    "`lineserve-cli COMMAND --help` lists a command's options; every command\n"
    "takes --server, --timeout, --json and TLS (--tls-ca, --tls-cert,\n"
    "--tls-key, --tls-server-name, --tls).\n";

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    // No command is a usage error; asking for help is not.
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << VersionLine(kProgram) << "\n";
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "inspect") return RunInspect(args);
  if (command == "predict") return RunPredict(args);
  if (command == "models") return RunModels(args);
  if (command == "health") return RunHealth(args);
  if (command == "perf") return RunPerf(args);
  if (command == "index") return RunIndex(args);
  if (command == "load" || command == "unload" || command == "reload") {
    return RunControl(command, args);
  }
  std::cerr << kProgram << ": unknown command '" << command << "'\n\n"
            << kUsage;
  return 2;
}

}  // namespace
}  // namespace lineserve::cli

int main(int argc, char** argv) { return lineserve::cli::Main(argc, argv); }
