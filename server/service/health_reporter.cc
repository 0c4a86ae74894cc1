#include "server/service/health_reporter.h"

#include <set>
#include <string>
#include <utility>

namespace lineserve {

void HealthReporter::Attach(LineServer* server,
                            const ModelRepository* repository,
                            std::vector<HostedService> services) {
  {
    absl::MutexLock lock(&mu_);
    server_ = server;
    repository_ = repository;
    services_ = std::move(services);
  }
  Update();
}

void HealthReporter::Detach() {
  absl::MutexLock lock(&mu_);
  server_ = nullptr;
  repository_ = nullptr;
}

void HealthReporter::Update() {
  // Under the lock throughout: two updates never interleave their writes,
  // so the last change of the repository is the one that stays.
  absl::MutexLock lock(&mu_);
  if (server_ == nullptr || repository_ == nullptr) return;
  std::set<std::string> ready;
  const std::vector<lineserve::v1::ModelStatus> models = repository_->List();
  for (const auto& model : models) {
    if (model.default_version() > 0) ready.insert(model.name());
  }
  const bool all_ready = EveryModelReady(models);
  for (const HostedService& hosted : services_) {
    server_->SetServingStatus(
        hosted.name, hosted.model.empty() || ready.count(hosted.model) > 0);
  }
  server_->SetServingStatus(kReadinessService, all_ready);
  server_->SetServingStatus("", all_ready);
}

}  // namespace lineserve
