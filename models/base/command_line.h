// Options of one subcommand (`lineserve-train quality --data DIR ...`).
//
// Abseil flags are process-global, which suits the server; a tool with
// subcommands needs each subcommand's own options and its own --help, so
// the trainer and the client declare them here. Accepts `--name value` and
// `--name=value`; booleans take no value (`--flag`) or `--flag=false`.
#ifndef LINESERVE_MODELS_BASE_COMMAND_LINE_H_
#define LINESERVE_MODELS_BASE_COMMAND_LINE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace lineserve {

class CommandLine {
 public:
  // `usage` is the synopsis line, `summary` a paragraph shown by --help.
  CommandLine(std::string usage, std::string summary);

  // Each Add* binds an option to a variable that already holds its default.
  // `required` options must be given.
  void AddString(std::string name, std::string* value, std::string help,
                 bool required = false);
  void AddInt(std::string name, int* value, std::string help);
  void AddUint64(std::string name, uint64_t* value, std::string help);
  void AddDouble(std::string name, double* value, std::string help);
  void AddBool(std::string name, bool* value, std::string help);
  // Repeatable or comma-separated: --x a,b --x c gives {a, b, c}.
  void AddList(std::string name, std::vector<std::string>* value,
               std::string help);

  // Parses args (without the program and subcommand names). Positional
  // arguments are collected into positional(). INVALID_ARGUMENT naming the
  // option on unknown options, missing values, bad numbers and missing
  // required options. After `--help`, help_requested() is true and the
  // status is OK without checking required options.
  absl::Status Parse(const std::vector<std::string>& args);

  // For a command's main(): parses, prints --help to stdout or the error to
  // stderr (after `program`), and refuses positional arguments unless
  // `allow_positional`. Returns the exit code to end with (0 after help, 2
  // on a usage error), or nullopt to go on.
  std::optional<int> ParseForMain(const std::vector<std::string>& args,
                                  absl::string_view program,
                                  bool allow_positional = false);

  bool help_requested() const { return help_requested_; }
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Help() const;

  // One declared option; public so the .cc's helpers can build it.
  struct Option {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool required = false;
    bool seen = false;
    std::function<bool(absl::string_view)> set;
  };

 private:
  Option* Find(absl::string_view name);

  std::string usage_;
  std::string summary_;
  std::vector<Option> options_;
  std::vector<std::string> positional_;
  bool help_requested_ = false;
};

}  // namespace lineserve

#endif  // LINESERVE_MODELS_BASE_COMMAND_LINE_H_
