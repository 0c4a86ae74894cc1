// Where lineserve-server's settings come from, in rising precedence: the
// flags' defaults, a config file (--config FILE, or LINESERVE_CONFIG), the
// LINESERVE_* environment variables (what containers set), and the command
// line. Every source spells a setting as the documented flag does, with
// dashes or underscores: `grpc-address = 0.0.0.0:8500` in the file,
// LINESERVE_GRPC_ADDRESS in the environment, --grpc-address on the command
// line.
//
// The sources become one argument list for Abseil's parser, the file's
// settings first and the command line's last: a later setting of a flag
// overrides an earlier one.
//
// Pure function over its inputs (the environment is injected); any thread.
#ifndef LINESERVE_SERVER_COMMON_FLAG_SOURCES_H_
#define LINESERVE_SERVER_COMMON_FLAG_SOURCES_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lineserve {

// "LINESERVE_GRPC_ADDRESS" for "grpc_address" or "grpc-address".
std::string EnvironmentName(absl::string_view flag);

// Reads an environment variable; null when unset.
using GetEnv = std::function<const char*(const char*)>;

struct FlagSources {
  // argv[0], then --name=value for each setting of the file and of the
  // environment, then the command line (flag names with underscores).
  std::vector<std::string> arguments;
  // The config file read; empty for none.
  std::string config_path;
};

// `argv` as the program got it; `flag_names` the settings there are
// (underscore spelling; "config" names the file and is not read from it).
// INVALID_ARGUMENT naming the file and line for a line that is not
// `NAME = VALUE` or names no setting; NOT_FOUND for a missing file.
absl::StatusOr<FlagSources> CollectFlagSources(
    const std::vector<std::string>& argv,
    const std::vector<std::string>& flag_names, const GetEnv& getenv);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_COMMON_FLAG_SOURCES_H_
