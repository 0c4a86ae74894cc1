#include "server/service/request_support.h"

#include <grpcpp/support/time.h>

#include <algorithm>
#include <chrono>

#include "absl/strings/str_cat.h"

namespace lineserve {

absl::Time TaskDeadline(const grpc::CallbackServerContext& context,
                        absl::Duration default_timeout, absl::Time now) {
  absl::Time deadline = now + default_timeout;  // InfiniteFuture if infinite
  // gRPC reports "no deadline" as the far future.
  const std::chrono::system_clock::time_point client = context.deadline();
  if (client <
      std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    deadline = std::min(deadline, absl::FromChrono(client));
  }
  return deadline;
}

absl::StatusOr<std::shared_ptr<const ServableModel>> ResolveModel(
    const ModelRepository& repository, const lineserve::v1::ModelSpec& spec,
    absl::string_view default_name, lineserve::v1::TaskKind task) {
  if (spec.version() < 0) {
    return absl::InvalidArgumentError("model.version must be >= 0");
  }
  const std::string name =
      spec.name().empty() ? std::string(default_name) : spec.name();
  auto servable = repository.Get(name, spec.version());
  if (!servable.ok()) return servable.status();
  if ((*servable)->config().task() != task) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", name, "' does ",
                     lineserve::v1::TaskKind_Name((*servable)->config().task()),
                     ", not what this service serves"));
  }
  return servable;
}

}  // namespace lineserve
