#include "client/cli/cli_common.h"

#include <iostream>
#include <string>

#include "absl/time/time.h"

namespace lineserve::cli {

void Common::AddTo(CommandLine& cli) {
  cli.AddString("server", &server, "server address host:port");
  cli.AddDouble("timeout", &timeout_seconds, "deadline of each call, s");
  cli.AddBool("json", &json, "print one JSON object per answer");
}

ClientOptions Common::Options() const {
  ClientOptions options;
  options.server = server;
  options.timeout = absl::Seconds(timeout_seconds);
  return options;
}

LineserveClient Common::Client() const { return LineserveClient(Options()); }

void PrintError(const Common& common, const nlohmann::json& context,
                const absl::Status& status) {
  if (common.json) {
    nlohmann::json j = context;
    j["error"] = {{"code", absl::StatusCodeToString(status.code())},
                  {"message", std::string(status.message())}};
    std::cout << j.dump() << std::endl;
  } else {
    std::cerr << kProgram << ": " << context.dump() << ": "
              << absl::StatusCodeToString(status.code()) << ": "
              << status.message() << "\n";
  }
}

}  // namespace lineserve::cli
