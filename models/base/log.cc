#include "models/base/log.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "models/base/client_text.h"

namespace lineserve {
namespace {

// Where an escaped string goes: JSON string contents, a text value inside
// quotes, or bare text (the message, unquoted values).
enum class Escape { kJson, kTextQuoted, kTextBare };

constexpr char kHex[] = "0123456789abcdef";

void AppendHexByte(std::string* out, absl::string_view prefix, uint32_t byte) {
  out->append(prefix.data(), prefix.size());
  out->push_back(kHex[(byte >> 4) & 0xf]);
  out->push_back(kHex[byte & 0xf]);
}

// \uXXXX, valid in JSON and readable in text.
void AppendUnicodeEscape(std::string* out, uint32_t code_point) {
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) {
    out->push_back(kHex[(code_point >> shift) & 0xf]);
  }
}

// The length of the valid UTF-8 sequence at the start of `s` and its code
// point, or 0 when it is not one (a stray continuation byte, an overlong
// form, a surrogate, beyond U+10FFFF, cut short).
size_t DecodeUtf8(absl::string_view s, uint32_t* code_point) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  const uint8_t lead = byte(0);
  size_t length = 0;
  uint8_t low = 0x80;
  uint8_t high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
    *code_point = lead & 0x1f;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    *code_point = lead & 0x0f;
    if (lead == 0xe0) low = 0xa0;   // overlong
    if (lead == 0xed) high = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    *code_point = lead & 0x07;
    if (lead == 0xf0) low = 0x90;   // overlong
    if (lead == 0xf4) high = 0x8f;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    const uint8_t b = byte(i);
    if (b < (i == 1 ? low : 0x80) || b > (i == 1 ? high : 0xbf)) return 0;
    *code_point = (*code_point << 6) | (b & 0x3f);
  }
  return length;
}

// Appends `s` so that it can neither end the line, nor the quoted string it
// sits in, nor carry bytes a terminal or a JSON parser would choke on.
void AppendEscaped(std::string* out, absl::string_view s, Escape mode) {
  const bool json = mode == Escape::kJson;
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '\n':
          out->append("\\n");
          continue;
        case '\r':
          out->append("\\r");
          continue;
        case '\t':
          out->append("\\t");
          continue;
        case '\\':
          out->append("\\\\");
          continue;
        case '"':
          if (mode == Escape::kTextBare) break;
          out->append("\\\"");
          continue;
        default:
          break;
      }
      if (c < 0x20 || c == 0x7f) {
        if (json) {
          AppendUnicodeEscape(out, c);
        } else {
          AppendHexByte(out, "\\x", c);
        }
        continue;
      }
      out->push_back(static_cast<char>(c));
      continue;
    }
    uint32_t code_point = 0;
    const size_t length = DecodeUtf8(s.substr(i), &code_point);
    if (length == 0) {
      // Not UTF-8: JSON must stay valid UTF-8, text shows the byte.
      if (json) {
        out->append("\\ufffd");
      } else {
        AppendHexByte(out, "\\x", c);
      }
      ++i;
      continue;
    }
    // C1 controls and the Unicode line separators end lines for some
    // readers.
    if ((code_point >= 0x80 && code_point <= 0x9f) || code_point == 0x2028 ||
        code_point == 0x2029) {
      AppendUnicodeEscape(out, code_point);
    } else {
      out->append(s.data() + i, length);
    }
    i += length;
  }
}

// A text value goes bare when it is plain (no space, quote, '=' or
// anything escaped); quoted otherwise, and when empty.
bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) return true;
  for (char ch : value) {
    const uint8_t c = static_cast<uint8_t>(ch);
    if (c <= 0x20 || c == 0x7f || c >= 0x80 || ch == '"' || ch == '=' ||
        ch == '\\') {
      return true;
    }
  }
  return false;
}

absl::string_view TextLevel(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "INFO";
}

void AppendJsonString(std::string* out, absl::string_view s) {
  out->push_back('"');
  AppendEscaped(out, s, Escape::kJson);
  out->push_back('"');
}

// Writes all of `line` to standard error, retrying short writes (one call
// in the common case: a line is below a pipe's atomic size).
void WriteToStderr(absl::string_view line) {
  while (!line.empty()) {
    const ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // nowhere left to report it
    }
    line.remove_prefix(static_cast<size_t>(written));
  }
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(absl::StrCat(
      "log level \"", text, "\": use debug, info, warning or error"));
}

absl::StatusOr<LogFormat> ParseLogFormat(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "text") return LogFormat::kText;
  if (lower == "json") return LogFormat::kJson;
  return absl::InvalidArgumentError(
      absl::StrCat("log format \"", text, "\": use text or json"));
}

absl::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarning:
      return "warning";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

std::string TruncateForLog(absl::string_view value, size_t max_bytes) {
  if (value.size() <= max_bytes) return std::string(value);
  return absl::StrCat(TruncateUtf8(value, max_bytes), "...");
}

std::string FormatLogLine(const LogRecord& record, LogFormat format,
                          size_t max_value_bytes) {
  const std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", record.time,
                                            absl::UTCTimeZone());
  std::string line;
  line.reserve(128 + record.message.size());
  // A value within the bound is escaped in place; a longer one is cut
  // first (the copy is the rare case).
  const auto append = [&](absl::string_view s, Escape mode) {
    if (s.size() <= max_value_bytes) {
      AppendEscaped(&line, s, mode);
    } else {
      AppendEscaped(&line, TruncateForLog(s, max_value_bytes), mode);
    }
  };
  if (format == LogFormat::kJson) {
    line.append("{\"ts\":\"").append(time).append("\",\"level\":\"");
    line.append(LogLevelName(record.level).data(),
                LogLevelName(record.level).size());
    line.append("\",\"component\":");
    AppendJsonString(&line, record.component);
    line.append(",\"msg\":\"");
    append(record.message, Escape::kJson);
    line.push_back('"');
    for (const LogField& field : record.fields) {
      line.push_back(',');
      AppendJsonString(&line, field.key());
      line.push_back(':');
      if (field.number()) {
        // Numbers are ours (StrCat of an arithmetic value); "inf" and "nan"
        // are not JSON, so they go as strings.
        const absl::string_view v = field.value();
        if (v == "inf" || v == "-inf" || v == "nan" || v == "-nan") {
          AppendJsonString(&line, v);
        } else {
          line.append(v.data(), v.size());
        }
      } else {
        line.push_back('"');
        append(field.value(), Escape::kJson);
        line.push_back('"');
      }
    }
    line.append("}\n");
    return line;
  }
  line.append(time).push_back(' ');
  const absl::string_view level = TextLevel(record.level);
  line.append(level.data(), level.size()).push_back(' ');
  AppendEscaped(&line, record.component, Escape::kTextBare);
  line.append(": ");
  append(record.message, Escape::kTextBare);
  for (const LogField& field : record.fields) {
    line.push_back(' ');
    AppendEscaped(&line, field.key(), Escape::kTextBare);
    line.push_back('=');
    const absl::string_view value = field.value();
    if (NeedsQuotes(value)) {
      line.push_back('"');
      append(value, Escape::kTextQuoted);
      line.push_back('"');
    } else {
      append(value, Escape::kTextBare);
    }
  }
  line.push_back('\n');
  return line;
}

Logger::Logger(LoggerOptions options)
    : level_(options.level),
      format_(options.format),
      sink_(options.sink ? std::move(options.sink) : WriteToStderr),
      now_(options.now ? std::move(options.now) : absl::Now),
      max_value_bytes_(options.max_value_bytes) {}

void Logger::Log(LogLevel level, absl::string_view component,
                 absl::string_view message,
                 absl::Span<const LogField> fields) const {
  if (!Enabled(level)) return;
  LogRecord record;
  record.time = now_();
  record.level = level;
  record.component = component;
  record.message = message;
  record.fields = fields;
  const std::string line =
      FormatLogLine(record, format_.load(), max_value_bytes_);
  absl::MutexLock lock(&mu_);
  sink_(line);
}

Logger& Logger::Default() {
  static Logger* const logger = new Logger();
  return *logger;
}

void LogDebug(absl::string_view component, absl::string_view message,
              absl::Span<const LogField> fields) {
  Logger::Default().Log(LogLevel::kDebug, component, message, fields);
}

void LogInfo(absl::string_view component, absl::string_view message,
             absl::Span<const LogField> fields) {
  Logger::Default().Log(LogLevel::kInfo, component, message, fields);
}

void LogWarning(absl::string_view component, absl::string_view message,
                absl::Span<const LogField> fields) {
  Logger::Default().Log(LogLevel::kWarning, component, message, fields);
}

void LogError(absl::string_view component, absl::string_view message,
              absl::Span<const LogField> fields) {
  Logger::Default().Log(LogLevel::kError, component, message, fields);
}

}  // namespace lineserve
