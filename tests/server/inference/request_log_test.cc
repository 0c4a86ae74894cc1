#include "server/inference/request_log.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/fake_clock.h"

namespace lineserve {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RequestLogTest : public ::testing::Test {
 protected:
  RequestLogTest() {
    LoggerOptions options;
    options.format = LogFormat::kJson;
    options.level = LogLevel::kInfo;
    options.sink = [this](absl::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    };
    logger_ = std::make_unique<Logger>(std::move(options));
  }

  RequestLogOptions Options() {
    RequestLogOptions options;
    options.logger = logger_.get();
    options.clock = &clock_;
    options.failure_lines_per_second = 1;
    options.failure_line_burst = 3;
    return options;
  }

  static FinishedRequest Failed(absl::Status status) {
    FinishedRequest request;
    request.front_end = "grpc";
    request.method = "ModelInfer";
    request.model = "nope";
    request.peer = "ipv4:127.0.0.1:50522";
    request.request_id = "req-1";
    request.status = std::move(status);
    request.duration = absl::Microseconds(1500);
    return request;
  }

  std::vector<json> Parsed() {
    absl::MutexLock lock(&mu_);
    std::vector<json> parsed;
    for (const std::string& line : lines_) parsed.push_back(json::parse(line));
    return parsed;
  }

  FakeClock clock_;
  std::unique_ptr<Logger> logger_;
  absl::Mutex mu_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mu_);
};

TEST_F(RequestLogTest, LogsAFailureWithEverythingToFindIt) {
  RequestLog log(Options());
  log.Finished(Failed(absl::NotFoundError("model 'nope' is not served")));
  const std::vector<json> lines = Parsed();
  ASSERT_EQ(lines.size(), 1u);
  const json& line = lines[0];
  EXPECT_EQ(line["level"], "warning");
  EXPECT_EQ(line["component"], "grpc");
  EXPECT_EQ(line["msg"], "request failed");
  EXPECT_EQ(line["code"], "NOT_FOUND");
  EXPECT_EQ(line["method"], "ModelInfer");
  EXPECT_EQ(line["model"], "nope");
  EXPECT_EQ(line["peer"], "ipv4:127.0.0.1:50522");
  EXPECT_EQ(line["request_id"], "req-1");
  EXPECT_EQ(line["error"], "model 'nope' is not served");
  EXPECT_EQ(line["duration_ms"], 1.5);
  EXPECT_FALSE(line.contains("suppressed"));
  EXPECT_FALSE(line.contains("version"));
}

TEST_F(RequestLogTest, ServerFaultsAreErrors) {
  RequestLog log(Options());
  log.Finished(Failed(absl::InternalError("forward threw")));
  ASSERT_EQ(Parsed().size(), 1u);
  EXPECT_EQ(Parsed()[0]["level"], "error");
}

TEST_F(RequestLogTest, SuccessIsDebugOnly) {
  RequestLog log(Options());
  FinishedRequest ok = Failed(absl::OkStatus());
  ok.version = 2;
  log.Finished(ok);
  EXPECT_TRUE(Parsed().empty());
  logger_->set_level(LogLevel::kDebug);
  log.Finished(ok);
  const std::vector<json> lines = Parsed();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["level"], "debug");
  EXPECT_EQ(lines[0]["msg"], "request done");
  EXPECT_EQ(lines[0]["code"], "OK");
  EXPECT_EQ(lines[0]["version"], 2);
  EXPECT_FALSE(lines[0].contains("error"));
}

TEST_F(RequestLogTest, ClientValuesAreCutAndEscaped) {
  RequestLogOptions options = Options();
  options.max_client_value_bytes = 16;
  options.max_message_bytes = 32;
  RequestLog log(options);
  FinishedRequest hostile =
      Failed(absl::NotFoundError("model '" + std::string(100000, 'm') + "'"));
  const std::string model =
      "evil\n{\"level\":\"error\"}" + std::string(1000, 'x');
  const std::string id = "id\r\n" + std::string(100000, 'i');
  hostile.model = model;
  hostile.request_id = id;
  log.Finished(hostile);
  absl::MutexLock lock(&mu_);
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  EXPECT_LT(line.size(), 600u);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  const json parsed = json::parse(line);
  EXPECT_EQ(parsed["model"], "evil\n{\"level\":\"e...");
  EXPECT_EQ(parsed["request_id"], "id\r\n" + std::string(12, 'i') + "...");
  EXPECT_THAT(parsed["error"].get<std::string>(), HasSubstr("..."));
  EXPECT_EQ(parsed["level"], "warning");
}

TEST_F(RequestLogTest, AFloodIsRateLimitedPerMethodAndCode) {
  RequestLog log(Options());
  for (int i = 0; i < 100; ++i) {
    log.Finished(Failed(absl::NotFoundError("no such model")));
  }
  // Another code and another method have their own allowance.
  log.Finished(Failed(absl::InvalidArgumentError("bad input")));
  FinishedRequest predict = Failed(absl::NotFoundError("no such model"));
  predict.method = "Predict";
  log.Finished(predict);
  EXPECT_EQ(Parsed().size(), 3u + 2u);

  clock_.Advance(absl::Seconds(1));
  log.Finished(Failed(absl::NotFoundError("no such model")));
  const std::vector<json> lines = Parsed();
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines.back()["code"], "NOT_FOUND");
  EXPECT_EQ(lines.back()["suppressed"], 97);
}

}  // namespace
}  // namespace lineserve
