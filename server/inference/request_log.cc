#include "server/inference/request_log.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace lineserve {
namespace {

LogLevel FailureLevel(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kDataLoss:
      return LogLevel::kError;
    default:
      return LogLevel::kWarning;
  }
}

}  // namespace

RequestLog::RequestLog(const RequestLogOptions& options)
    : logger_(options.logger != nullptr ? options.logger : &Logger::Default()),
      max_client_value_bytes_(options.max_client_value_bytes),
      max_message_bytes_(options.max_message_bytes),
      limiter_([&] {
        RateLimiterOptions limits;
        limits.events_per_second = options.failure_lines_per_second;
        limits.burst = options.failure_line_burst;
        limits.clock = options.clock;
        return limits;
      }()) {}

void RequestLog::Finished(const FinishedRequest& request) {
  const bool ok = request.status.ok();
  const LogLevel level =
      ok ? LogLevel::kDebug : FailureLevel(request.status.code());
  if (!logger_->Enabled(level)) return;
  std::string code_name = absl::StatusCodeToString(request.status.code());
  if (code_name.empty()) {
    code_name = absl::StrCat("CODE_", request.status.raw_code());
  }
  int64_t suppressed = 0;
  if (!ok) {
    // Front ends, methods and codes are the server's own: a bounded set of
    // keys.
    const RateLimiter::Decision decision = limiter_.Allow(
        absl::StrCat(request.front_end, " ", request.method, " ", code_name));
    if (!decision.allowed) return;
    suppressed = decision.suppressed;
  }
  const auto client = [this](absl::string_view value) {
    return TruncateForLog(value, max_client_value_bytes_);
  };
  std::vector<LogField> fields;
  fields.reserve(10);
  fields.emplace_back("code", code_name);
  fields.emplace_back("method", request.method);
  fields.emplace_back("model", client(request.model));
  if (request.version > 0) fields.emplace_back("version", request.version);
  fields.emplace_back("peer", client(request.peer));
  fields.emplace_back("request_id", client(request.request_id));
  fields.emplace_back("duration_ms",
                      absl::ToDoubleMilliseconds(request.duration));
  if (!ok) {
    fields.emplace_back(
        "error", TruncateForLog(request.status.message(), max_message_bytes_));
  }
  if (suppressed > 0) fields.emplace_back("suppressed", suppressed);
  logger_->Log(level,
               request.front_end.empty() ? "inference" : request.front_end,
               ok ? "request done" : "request failed", fields);
}

}  // namespace lineserve
