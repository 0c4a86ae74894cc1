#include "models/base/log.h"

#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace lineserve {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// 2024-05-06T07:08:09.123Z
absl::Time When() {
  return absl::FromCivil(absl::CivilSecond(2024, 5, 6, 7, 8, 9),
                         absl::UTCTimeZone()) +
         absl::Milliseconds(123);
}

std::string Format(LogFormat format, LogLevel level, absl::string_view message,
                   std::vector<LogField> fields = {},
                   size_t max_value_bytes = 4096) {
  LogRecord record;
  record.time = When();
  record.level = level;
  record.component = "repository";
  record.message = message;
  record.fields = fields;
  return FormatLogLine(record, format, max_value_bytes);
}

json ParseJsonLine(const std::string& line) {
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  return json::parse(line);  // throws on anything that is not JSON
}

// A sink that keeps lines, as the logger hands them over.
struct Lines {
  absl::Mutex mu;
  std::vector<std::string> lines;

  LoggerOptions Options(LogLevel level, LogFormat format) {
    LoggerOptions options;
    options.level = level;
    options.format = format;
    options.now = [] { return When(); };
    options.sink = [this](absl::string_view line) {
      absl::MutexLock lock(&mu);
      lines.emplace_back(line);
    };
    return options;
  }
};

TEST(LogFormatTest, TextHasTimeLevelComponentMessageAndFields) {
  EXPECT_EQ(Format(LogFormat::kText, LogLevel::kInfo, "model version ready",
                   {{"model", "quality_inspection"},
                    {"version", 2},
                    {"device", "cpu"},
                    {"ready", true}}),
            "2024-05-06T07:08:09.123Z INFO repository: model version ready "
            "model=quality_inspection version=2 device=cpu ready=true\n");
  EXPECT_THAT(Format(LogFormat::kText, LogLevel::kWarning, "m"),
              HasSubstr(" WARNING repository: m\n"));
  EXPECT_THAT(Format(LogFormat::kText, LogLevel::kDebug, "m"),
              HasSubstr(" DEBUG "));
  EXPECT_THAT(Format(LogFormat::kText, LogLevel::kError, "m"),
              HasSubstr(" ERROR "));
}

TEST(LogFormatTest, TextQuotesValuesWithSpacesQuotesOrNothing) {
  EXPECT_EQ(
      Format(
          LogFormat::kText, LogLevel::kInfo, "m",
          {{"error", "model 'x' is \"gone\""}, {"empty", ""}, {"eq", "a=b"}}),
      "2024-05-06T07:08:09.123Z INFO repository: m "
      "error=\"model 'x' is \\\"gone\\\"\" empty=\"\" eq=\"a=b\"\n");
}

TEST(LogFormatTest, TextEscapesControlCharactersSoNoLineIsForged) {
  const std::string forged =
      "abc\n2024-05-06T07:08:09.123Z ERROR main: forged\r\t\x01\x1b[31m\x7f";
  const std::string line = Format(LogFormat::kText, LogLevel::kInfo, forged,
                                  {{"request_id", forged}});
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  EXPECT_THAT(line, Not(HasSubstr("\r")));
  EXPECT_THAT(line, Not(HasSubstr("\x1b")));
  EXPECT_THAT(line, HasSubstr("abc\\n2024-05-06T07:08:09.123Z ERROR main: "
                              "forged\\r\\t\\x01\\x1b[31m\\x7f"));
  EXPECT_THAT(line, HasSubstr("request_id=\"abc\\n2024"));
}

TEST(LogFormatTest, TextShowsInvalidUtf8AsBytesAndKeepsValidUtf8) {
  const std::string line =
      Format(LogFormat::kText, LogLevel::kInfo, "m",
             {{"station", "Prüfstand \xff\xfe"}, {"sep", "a\u2028b"}});
  EXPECT_THAT(line, HasSubstr("station=\"Prüfstand \\xff\\xfe\""));
  EXPECT_THAT(line, HasSubstr("sep=\"a\\u2028b\""));
}

TEST(LogFormatTest, JsonHasTheRecordAndTypedFields) {
  const json parsed = ParseJsonLine(
      Format(LogFormat::kJson, LogLevel::kWarning, "request failed",
             {{"code", "NOT_FOUND"}, {"version", int64_t{3}}, {"ms", 1.5}}));
  EXPECT_EQ(parsed["ts"], "2024-05-06T07:08:09.123Z");
  EXPECT_EQ(parsed["level"], "warning");
  EXPECT_EQ(parsed["component"], "repository");
  EXPECT_EQ(parsed["msg"], "request failed");
  EXPECT_EQ(parsed["code"], "NOT_FOUND");
  EXPECT_EQ(parsed["version"], 3);
  EXPECT_EQ(parsed["ms"], 1.5);
}

TEST(LogFormatTest, JsonEscapesQuotesNewlinesAndControlCharacters) {
  const std::string hostile =
      "a\"b\\c\nd\re\tf\x01g\x1f\x7fh\xffi\u2028j\xc2\x85k";
  const std::string line = Format(LogFormat::kJson, LogLevel::kInfo, hostile,
                                  {{"request_id", hostile}});
  for (char c : line.substr(0, line.size() - 1)) {
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
    EXPECT_NE(c, 0x7f) << line;
  }
  const json parsed = ParseJsonLine(line);
  // Everything but the invalid byte (U+FFFD) comes back as sent.
  const std::string expected =
      "a\"b\\c\nd\re\tf\x01g\x1f\x7fh\ufffdi\u2028j\xc2\x85k";
  EXPECT_EQ(parsed["msg"], expected);
  EXPECT_EQ(parsed["request_id"], expected);
  EXPECT_THAT(line, HasSubstr("\\u2028"));
  EXPECT_THAT(line, HasSubstr("\\u0085"));
}

TEST(LogFormatTest, NonFiniteNumbersStayValidJson) {
  const json parsed =
      ParseJsonLine(Format(LogFormat::kJson, LogLevel::kInfo, "m",
                           {{"a", std::numeric_limits<double>::infinity()},
                            {"b", std::numeric_limits<double>::quiet_NaN()}}));
  EXPECT_TRUE(parsed["a"].is_string());
  EXPECT_TRUE(parsed["b"].is_string());
}

TEST(LogFormatTest, TruncatesLongValuesWithAMarker) {
  EXPECT_EQ(TruncateForLog("short", 128), "short");
  EXPECT_EQ(TruncateForLog(std::string(200, 'x'), 128),
            std::string(128, 'x') + "...");
  // Never half a character: "ü" is two bytes.
  EXPECT_EQ(TruncateForLog("aü", 2), "a...");
  EXPECT_EQ(TruncateForLog("aüb", 3), "aü...");

  const std::string huge(100000, 'm');
  const std::string line =
      Format(LogFormat::kJson, LogLevel::kInfo, huge, {{"model", huge}}, 64);
  EXPECT_LT(line.size(), 300u);
  const json parsed = ParseJsonLine(line);
  EXPECT_EQ(parsed["msg"], std::string(64, 'm') + "...");
  EXPECT_EQ(parsed["model"], std::string(64, 'm') + "...");
}

TEST(LogFormatTest, ParsesLevelsAndFormats) {
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(*ParseLogLevel("INFO"), LogLevel::kInfo);
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarning);
  EXPECT_EQ(*ParseLogLevel("error"), LogLevel::kError);
  EXPECT_EQ(ParseLogLevel("verbose").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_EQ(*ParseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(ParseLogFormat("xml").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LoggerTest, DropsLinesBelowItsLevel) {
  Lines out;
  Logger logger(out.Options(LogLevel::kInfo, LogFormat::kText));
  EXPECT_FALSE(logger.Enabled(LogLevel::kDebug));
  EXPECT_TRUE(logger.Enabled(LogLevel::kInfo));
  logger.Log(LogLevel::kDebug, "main", "debug line");
  logger.Log(LogLevel::kInfo, "main", "info line");
  logger.Log(LogLevel::kError, "main", "error line");
  logger.set_level(LogLevel::kDebug);
  logger.Log(LogLevel::kDebug, "main", "debug line 2");
  logger.set_level(LogLevel::kError);
  logger.Log(LogLevel::kWarning, "main", "warning line");
  ASSERT_EQ(out.lines.size(), 3u);
  EXPECT_THAT(out.lines[0], HasSubstr("INFO main: info line"));
  EXPECT_THAT(out.lines[1], HasSubstr("ERROR main: error line"));
  EXPECT_THAT(out.lines[2], HasSubstr("DEBUG main: debug line 2"));
}

TEST(LoggerTest, SwitchesFormat) {
  Lines out;
  Logger logger(out.Options(LogLevel::kInfo, LogFormat::kText));
  logger.set_format(LogFormat::kJson);
  logger.Log(LogLevel::kInfo, "main", "serving", {{"port", 8500}});
  ASSERT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(ParseJsonLine(out.lines[0])["port"], 8500);
}

TEST(LoggerTest, LinesFromManyThreadsStayWhole) {
  Lines out;
  Logger logger(out.Options(LogLevel::kInfo, LogFormat::kJson));
  constexpr int kThreads = 8;
  constexpr int kLines = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&logger, t] {
      for (int i = 0; i < kLines; ++i) {
        logger.Log(LogLevel::kInfo, "batcher", std::string(300, 'a' + t),
                   {{"thread", t}, {"i", i}});
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_EQ(out.lines.size(), size_t{kThreads * kLines});
  std::vector<int> per_thread(kThreads);
  for (const std::string& line : out.lines) {
    const json parsed = ParseJsonLine(line);
    const int t = parsed["thread"];
    EXPECT_EQ(parsed["msg"], std::string(300, 'a' + t));
    ++per_thread[t];
  }
  for (int count : per_thread) EXPECT_EQ(count, kLines);
}

TEST(LoggerTest, OneSinkCallPerLine) {
  Lines out;
  Logger logger(out.Options(LogLevel::kDebug, LogFormat::kText));
  logger.Log(LogLevel::kInfo, "http", "a\nb", {{"x", "1\n2"}});
  ASSERT_EQ(out.lines.size(), 1u);
  const std::vector<std::string> parts = absl::StrSplit(out.lines[0], '\n');
  EXPECT_THAT(parts, ElementsAre(HasSubstr("a\\nb x=\"1\\n2\""), ""));
}

}  // namespace
}  // namespace lineserve
