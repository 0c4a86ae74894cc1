#include "server/service/request_support.h"

#include <grpcpp/support/time.h>

#include <chrono>
#include <string>

namespace lineserve {

absl::Duration TimeLeft(const grpc::CallbackServerContext& context) {
  const std::chrono::system_clock::time_point deadline = context.deadline();
  const std::chrono::system_clock::time_point now =
      std::chrono::system_clock::now();
  // gRPC reports "no deadline" as the far future.
  if (deadline > now + std::chrono::hours(24 * 365)) {
    return absl::InfiniteDuration();
  }
  return absl::FromChrono(deadline - now);
}

RequestSource GrpcRequestSource(const grpc::CallbackServerContext& context,
                                absl::string_view request_id) {
  RequestSource source;
  source.front_end = "grpc";
  source.peer = context.peer();
  source.request_id = std::string(request_id);
  if (source.request_id.empty()) {
    const auto& metadata = context.client_metadata();
    if (auto found = metadata.find("x-request-id"); found != metadata.end()) {
      source.request_id.assign(found->second.data(), found->second.size());
    }
  }
  return source;
}

}  // namespace lineserve
