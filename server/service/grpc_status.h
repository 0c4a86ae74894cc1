// The one place absl::Status becomes grpc::Status (codes share numbers).
#ifndef LINESERVE_SERVER_SERVICE_GRPC_STATUS_H_
#define LINESERVE_SERVER_SERVICE_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace lineserve {

inline grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

inline int64_t ToMicroseconds(absl::Duration d) {
  return absl::ToInt64Microseconds(d);
}

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_GRPC_STATUS_H_
