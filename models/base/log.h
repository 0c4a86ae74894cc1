// Structured logging: one line per event with its time (UTC, RFC 3339 with
// milliseconds), level, component ("main", "repository", "grpc", "http",
// ...), message and key=value fields, as text for people or one JSON object
// per line for log shippers.
//
//   LogInfo("repository", "model ready", {{"model", name}, {"version", 2}});
//   2024-05-06T07:08:09.123Z INFO repository: model ready model=q version=2
//   {"ts":"2024-05-06T07:08:09.123Z","level":"info","component":"repository",
//    "msg":"model ready","model":"q","version":2}
//
// Every line is built whole and written with one write(2) under a lock, so
// lines from different threads never interleave. Whatever a line holds is
// escaped (control characters, quotes, invalid UTF-8, U+2028/2029): a value
// that came from a client cannot start a line of its own. Values are cut to
// a bound (LoggerOptions::max_value_bytes); code logging client text cuts it
// shorter first (TruncateForLog).
//
// Abseil 20220623 (Debian bookworm) has no absl/log, hence this small one.
// Thread-safe. Shared by the server and the trainer.
#ifndef LINESERVE_MODELS_BASE_LOG_H_
#define LINESERVE_MODELS_BASE_LOG_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <type_traits>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace lineserve {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// "debug", "info", "warning", "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text);
// "text", "json"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text);
// "debug", "info", "warning", "error".
absl::string_view LogLevelName(LogLevel level);

// One key=value of a line. Keys are the code's own (letters, digits, '_');
// values are text or numbers (a number is unquoted in JSON).
class LogField {
 public:
  LogField(absl::string_view key, absl::string_view value)
      : key_(key), value_(value) {}
  LogField(absl::string_view key, const char* value)
      : key_(key), value_(value == nullptr ? "" : value) {}
  LogField(absl::string_view key, const std::string& value)
      : key_(key), value_(value) {}
  LogField(absl::string_view key, bool value)
      : key_(key), value_(value ? "true" : "false"), number_(true) {}
  template <typename T,
            std::enable_if_t<std::is_arithmetic_v<T> &&
                                 !std::is_same_v<std::decay_t<T>, bool>,
                             int> = 0>
  LogField(absl::string_view key, T value)
      : key_(key), value_(absl::StrCat(value)), number_(true) {}

  absl::string_view key() const { return key_; }
  absl::string_view value() const { return value_; }
  // A number or a boolean: JSON writes it bare.
  bool number() const { return number_; }

 private:
  absl::string_view key_;
  std::string value_;
  bool number_ = false;
};

// `value` when it has at most `max_bytes` bytes; otherwise its first bytes
// (never half a UTF-8 character) followed by "...", at most max_bytes + 3
// bytes in all. Does not escape: the formatter does.
std::string TruncateForLog(absl::string_view value, size_t max_bytes);

struct LogRecord {
  absl::Time time;
  LogLevel level = LogLevel::kInfo;
  absl::string_view component;
  absl::string_view message;
  absl::Span<const LogField> fields;
};

// The record as one line ending in '\n': the message and every value cut to
// `max_value_bytes` (TruncateForLog), then escaped for `format`.
std::string FormatLogLine(const LogRecord& record, LogFormat format,
                          size_t max_value_bytes);

struct LoggerOptions {
  // Lines below this level are dropped.
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
  // Receives each line (with its '\n'), one call per line, under the
  // logger's lock. Empty: one write(2) per line to standard error.
  std::function<void(absl::string_view line)> sink;
  // The time stamped on lines; empty: absl::Now.
  std::function<absl::Time()> now;
  // Every message and value is cut to this many bytes: the backstop that
  // bounds a line whatever a caller passes.
  size_t max_value_bytes = 4096;
};

class Logger {
 public:
  explicit Logger(LoggerOptions options = {});

  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  // Level and format may change while other threads log (main sets them
  // from flags after start-up lines may have been written).
  void set_level(LogLevel level) { level_.store(level); }
  LogLevel level() const { return level_.load(); }
  void set_format(LogFormat format) { format_.store(format); }
  LogFormat format() const { return format_.load(); }

  // Whether a line at `level` would be written: check it before building
  // an expensive debug message.
  bool Enabled(LogLevel level) const { return level >= level_.load(); }

  void Log(LogLevel level, absl::string_view component,
           absl::string_view message,
           absl::Span<const LogField> fields = {}) const;

  // The process's logger: text at info to standard error until main
  // configures it. Never destroyed.
  static Logger& Default();

 private:
  std::atomic<LogLevel> level_;
  std::atomic<LogFormat> format_;
  const std::function<void(absl::string_view)> sink_;
  const std::function<absl::Time()> now_;
  const size_t max_value_bytes_;
  mutable absl::Mutex mu_;  // one line at a time through the sink
};

// Logger::Default().Log(...) at each level.
void LogDebug(absl::string_view component, absl::string_view message,
              absl::Span<const LogField> fields = {});
void LogInfo(absl::string_view component, absl::string_view message,
             absl::Span<const LogField> fields = {});
void LogWarning(absl::string_view component, absl::string_view message,
                absl::Span<const LogField> fields = {});
void LogError(absl::string_view component, absl::string_view message,
              absl::Span<const LogField> fields = {});

}  // namespace lineserve

#endif  // LINESERVE_MODELS_BASE_LOG_H_
