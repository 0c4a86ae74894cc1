// Keeps grpc.health.v1 truthful as models come and go: a domain service is
// SERVING only while its model has a ready version; "lineserve.readiness"
// and the overall "" status only while every model in the repository has
// one (and there is at least one); "lineserve.liveness" while the process
// serves at all. Load balancers, the image's HEALTHCHECK and the Kubernetes
// readiness probe read these.
//
// It is a RepositoryObserver (every change of the repository updates the
// statuses) that starts reporting once Attach()ed to the running server.
// Thread-safe.
#ifndef LINESERVE_SERVER_SERVICE_HEALTH_REPORTER_H_
#define LINESERVE_SERVER_SERVICE_HEALTH_REPORTER_H_

#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/repository/model_repository.h"
#include "server/repository/repository_observer.h"
#include "server/service/line_server.h"

namespace lineserve {

class HealthReporter : public RepositoryObserver {
 public:
  // Starts reporting to `server` the readiness of `repository`'s models for
  // `services` (their `model` fields), and reports once now. Both must stay
  // alive until Detach().
  void Attach(LineServer* server, const ModelRepository* repository,
              std::vector<HostedService> services);
  // Stops reporting (before the server or the repository goes).
  void Detach();

  void OnModelsChanged() override { Update(); }

  // Recomputes and sets every status.
  void Update();

 private:
  absl::Mutex mu_;
  LineServer* server_ ABSL_GUARDED_BY(mu_) = nullptr;
  const ModelRepository* repository_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::vector<HostedService> services_ ABSL_GUARDED_BY(mu_);
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_HEALTH_REPORTER_H_
