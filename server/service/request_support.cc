#include "server/service/request_support.h"

#include <grpcpp/support/time.h>

#include <chrono>

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

}  // namespace lineserve
