// Helpers every domain service uses to turn a gRPC call into batcher tasks.
#ifndef LINESERVE_SERVER_SERVICE_REQUEST_SUPPORT_H_
#define LINESERVE_SERVER_SERVICE_REQUEST_SUPPORT_H_

#include <grpcpp/server_context.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "lineserve/v1/common.pb.h"
#include "lineserve/v1/model_config.pb.h"
#include "server/repository/model_repository.h"

namespace lineserve {

// The earlier of the call's deadline and now + `default_timeout` (the
// model's; InfiniteDuration when it has none).
absl::Time TaskDeadline(const grpc::CallbackServerContext& context,
                        absl::Duration default_timeout, absl::Time now);

// Resolves the model a request names (or `default_name`) and checks it does
// the task the service expects. NOT_FOUND / UNAVAILABLE from the repository;
// FAILED_PRECONDITION when the model does another task.
absl::StatusOr<std::shared_ptr<const ServableModel>> ResolveModel(
    const ModelRepository& repository, const lineserve::v1::ModelSpec& spec,
    absl::string_view default_name, lineserve::v1::TaskKind task);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_REQUEST_SUPPORT_H_
