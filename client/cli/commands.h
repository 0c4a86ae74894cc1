// The lineserve-cli subcommands, one per file, dispatched by main.cc.
//
// Contract: each takes the arguments after the command name, parses its own
// options (with its own --help), prints its answers to stdout and returns
// the process exit code: 0 when every call succeeded (and, for health, the
// service is SERVING), 1 when a call or an input failed, 2 on a usage error.
#ifndef LINESERVE_CLIENT_CLI_COMMANDS_H_
#define LINESERVE_CLIENT_CLI_COMMANDS_H_

#include <string>
#include <vector>

namespace lineserve::cli {

// inspect FILE...: QualityInspection.Inspect for each image.
int RunInspect(const std::vector<std::string>& args);
// predict --csv FILE: EfficiencyPrediction.Predict for the table's rows.
int RunPredict(const std::vector<std::string>& args);
// models: ModelService.ListModels.
int RunModels(const std::vector<std::string>& args);
// health [SERVICE]: grpc.health.v1.Health/Check.
int RunHealth(const std::vector<std::string>& args);
// perf --file IMG | --rows CSV: a bounded load test of Inspect or Predict.
int RunPerf(const std::vector<std::string>& args);

// `command` is "load", "unload" or "reload".
int RunControl(const std::string& command,
               const std::vector<std::string>& args);

int RunIndex(const std::vector<std::string>& args);

}  // namespace lineserve::cli

#endif  // LINESERVE_CLIENT_CLI_COMMANDS_H_
