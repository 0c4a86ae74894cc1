// Several RepositoryObservers behind one (metrics and health both listen to
// the repository). The list is fixed at construction; the observers are not
// owned and must outlive it. Thread-safe as its observers are.
#ifndef LINESERVE_SERVER_REPOSITORY_OBSERVER_LIST_H_
#define LINESERVE_SERVER_REPOSITORY_OBSERVER_LIST_H_

#include <utility>
#include <vector>

#include "server/repository/repository_observer.h"

namespace lineserve {

class RepositoryObserverList : public RepositoryObserver {
 public:
  // Null entries are skipped.
  explicit RepositoryObserverList(std::vector<RepositoryObserver*> observers) {
    for (RepositoryObserver* observer : observers) {
      if (observer != nullptr) observers_.push_back(observer);
    }
  }

  void OnVersionLoaded(absl::string_view model, int64_t version,
                       const absl::Status& status) override {
    for (auto* o : observers_) o->OnVersionLoaded(model, version, status);
  }
  void OnReload(absl::string_view model, const absl::Status& status) override {
    for (auto* o : observers_) o->OnReload(model, status);
  }
  void OnModelsChanged() override {
    for (auto* o : observers_) o->OnModelsChanged();
  }

 private:
  std::vector<RepositoryObserver*> observers_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_REPOSITORY_OBSERVER_LIST_H_
