#include "models/base/command_line.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace lineserve {

namespace {

CommandLine::Option MakeOption(std::string name, std::string help,
                               std::string default_text) {
  CommandLine::Option option;
  option.name = std::move(name);
  option.help = std::move(help);
  option.default_text = std::move(default_text);
  return option;
}

}  // namespace

CommandLine::CommandLine(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)) {}

void CommandLine::AddString(std::string name, std::string* value,
                            std::string help, bool required) {
  Option option = MakeOption(std::move(name), std::move(help), *value);
  option.required = required;
  option.set = [value](absl::string_view text) {
    *value = std::string(text);
    return true;
  };
  options_.push_back(std::move(option));
}

void CommandLine::AddInt(std::string name, int* value, std::string help) {
  Option option =
      MakeOption(std::move(name), std::move(help), std::to_string(*value));
  option.set = [value](absl::string_view text) {
    return absl::SimpleAtoi(text, value);
  };
  options_.push_back(std::move(option));
}

void CommandLine::AddUint64(std::string name, uint64_t* value,
                            std::string help) {
  Option option =
      MakeOption(std::move(name), std::move(help), std::to_string(*value));
  option.set = [value](absl::string_view text) {
    return absl::SimpleAtoi(text, value);
  };
  options_.push_back(std::move(option));
}

void CommandLine::AddDouble(std::string name, double* value, std::string help) {
  Option option =
      MakeOption(std::move(name), std::move(help), absl::StrCat(*value));
  option.set = [value](absl::string_view text) {
    return absl::SimpleAtod(text, value);
  };
  options_.push_back(std::move(option));
}

void CommandLine::AddBool(std::string name, bool* value, std::string help) {
  Option option =
      MakeOption(std::move(name), std::move(help), *value ? "true" : "false");
  option.is_bool = true;
  option.set = [value](absl::string_view text) {
    return absl::SimpleAtob(text, value);
  };
  options_.push_back(std::move(option));
}

void CommandLine::AddList(std::string name, std::vector<std::string>* value,
                          std::string help) {
  Option option =
      MakeOption(std::move(name), std::move(help), absl::StrJoin(*value, ","));
  option.set = [value, first = true](absl::string_view text) mutable {
    if (first) value->clear();  // the first use replaces the default
    first = false;
    for (absl::string_view item :
         absl::StrSplit(text, ',', absl::SkipEmpty())) {
      value->emplace_back(item);
    }
    return true;
  };
  options_.push_back(std::move(option));
}

CommandLine::Option* CommandLine::Find(absl::string_view name) {
  for (Option& option : options_) {
    if (option.name == name) return &option;
  }
  return nullptr;
}

absl::Status CommandLine::Parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    absl::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (arg == "--") {
      positional_.insert(positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      positional_.emplace_back(arg);
      continue;
    }
    absl::string_view name = arg;
    absl::string_view value;
    bool has_value = false;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    Option* option = Find(name);
    if (option == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option --", name, " (see --help)"));
    }
    if (!has_value) {
      if (option->is_bool) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value"));
      }
    }
    if (!option->set(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, ": cannot use \"", value, "\""));
    }
    option->seen = true;
  }
  for (const Option& option : options_) {
    if (option.required && !option.seen) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", option.name, " is required (see --help)"));
    }
  }
  return absl::OkStatus();
}

std::optional<int> CommandLine::ParseForMain(
    const std::vector<std::string>& args, absl::string_view program,
    bool allow_positional) {
  absl::Status status = Parse(args);
  if (status.ok() && help_requested_) {
    std::cout << Help();
    return 0;
  }
  if (status.ok() && !allow_positional && !positional_.empty()) {
    status = absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", positional_[0], "' (see --help)"));
  }
  if (!status.ok()) {
    std::cerr << program << ": " << status.message() << "\n";
    return 2;
  }
  return std::nullopt;
}

std::string CommandLine::Help() const {
  std::string text = absl::StrCat("usage: ", usage_, "\n\n", summary_, "\n");
  if (!options_.empty()) absl::StrAppend(&text, "\noptions:\n");
  for (const Option& option : options_) {
    std::string head = absl::StrCat("  --", option.name);
    if (!option.is_bool) absl::StrAppend(&head, " VALUE");
    absl::StrAppend(&text, head, "\n      ", option.help);
    if (option.required) {
      absl::StrAppend(&text, " (required)");
    } else if (!option.default_text.empty()) {
      absl::StrAppend(&text, " (default: ", option.default_text, ")");
    }
    absl::StrAppend(&text, "\n");
  }
  absl::StrAppend(&text, "  --help\n      show this text\n");
  return text;
}

}  // namespace lineserve
