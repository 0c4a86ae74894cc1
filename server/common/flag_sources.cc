#include "server/common/flag_sources.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "models/base/file_util.h"

namespace lineserve {
namespace {

constexpr char kConfigFlag[] = "config";

std::string Underscored(absl::string_view name) {
  std::string out(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

// "--grpc-address=x" -> "--grpc_address=x"; other arguments unchanged.
std::string NormalizeArgument(const std::string& arg) {
  if (!absl::StartsWith(arg, "--")) return arg;
  const size_t end = std::min(arg.find('='), arg.size());
  return absl::StrCat("--", Underscored(arg.substr(2, end - 2)),
                      arg.substr(end));
}

// The --config value on the (normalized) command line, if any.
std::optional<std::string> ConfigOnCommandLine(
    const std::vector<std::string>& args) {
  std::optional<std::string> path;
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (args[i] == "--config" && i + 1 < args.size()) {
      path = args[++i];
    } else if (absl::StartsWith(args[i], "--config=")) {
      path = args[i].substr(9);
    }
  }
  return path;
}

absl::Status ReadConfigFile(const std::string& path,
                            const absl::flat_hash_set<std::string>& known,
                            std::vector<std::string>& out) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("config file: ", text.status().message()));
  }
  int number = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    absl::ConsumePrefix(&line, "--");
    const size_t equals = line.find('=');
    if (equals == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ":", number, ": expected NAME = VALUE, got \"", line, "\""));
    }
    const std::string name =
        Underscored(absl::StripAsciiWhitespace(line.substr(0, equals)));
    absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(equals + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (!known.contains(name) || name == kConfigFlag) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", number, ": unknown setting \"", name,
                       "\" (lineserve-server --help lists them)"));
    }
    out.push_back(absl::StrCat("--", name, "=", value));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EnvironmentName(absl::string_view flag) {
  return absl::StrCat("LINESERVE_", absl::AsciiStrToUpper(Underscored(flag)));
}

absl::StatusOr<FlagSources> CollectFlagSources(
    const std::vector<std::string>& argv,
    const std::vector<std::string>& flag_names, const GetEnv& getenv) {
  const absl::flat_hash_set<std::string> known(flag_names.begin(),
                                               flag_names.end());
  std::vector<std::string> command_line;
  bool positional = false;  // after "--", arguments are not flags
  for (const std::string& arg : argv) {
    command_line.push_back(positional ? arg : NormalizeArgument(arg));
    positional = positional || arg == "--";
  }
  FlagSources sources;
  sources.arguments.push_back(argv.empty() ? "lineserve-server" : argv[0]);

  if (std::optional<std::string> path = ConfigOnCommandLine(command_line)) {
    sources.config_path = *path;
  } else if (const char* env = getenv(EnvironmentName(kConfigFlag).c_str());
             env != nullptr && env[0] != '\0') {
    sources.config_path = env;
  }
  if (!sources.config_path.empty()) {
    absl::Status read =
        ReadConfigFile(sources.config_path, known, sources.arguments);
    if (!read.ok()) return read;
  }
  for (const std::string& name : flag_names) {
    if (name == kConfigFlag) continue;
    if (const char* value = getenv(EnvironmentName(name).c_str())) {
      sources.arguments.push_back(absl::StrCat("--", name, "=", value));
    }
  }
  if (!command_line.empty()) {
    sources.arguments.insert(sources.arguments.end(), command_line.begin() + 1,
                             command_line.end());
  }
  return sources;
}

}  // namespace lineserve
