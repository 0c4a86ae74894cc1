// What the model repository reports as it loads: the seam where metrics
// count load failures and reloads. Which versions are READY is not reported
// here but read from ModelRepository::List() when needed, so a version that
// is replaced or unloaded can never be left looking ready.
//
// The defaults do nothing. Methods are called from the thread running
// LoadAll()/Reload()/Rescan()/Unload(), without the repository's state lock
// but with loads serialised (except OnModelsChanged, called after);
// implementations must be thread-safe and cheap, and must not call LoadAll(),
// Reload(), Rescan(), Unload() or Shutdown() (they would deadlock).
#ifndef LINESERVE_SERVER_REPOSITORY_REPOSITORY_OBSERVER_H_
#define LINESERVE_SERVER_REPOSITORY_REPOSITORY_OBSERVER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace lineserve {

class RepositoryObserver {
 public:
  virtual ~RepositoryObserver() = default;

  // One version of `model` finished loading: OK when it is READY, else why
  // it failed. `version` is 0 for a failure of the model as a whole (its
  // config cannot be read, or no version folder is there to serve).
  // Versions kept unchanged by a reload are not loaded again and not
  // reported.
  virtual void OnVersionLoaded(absl::string_view /*model*/, int64_t /*version*/,
                               const absl::Status& /*status*/) {}

  // Reload(model) ran (LoadAll's initial loads are not reloads), with what
  // it returned.
  virtual void OnReload(absl::string_view /*model*/,
                        const absl::Status& /*status*/) {}

  // After LoadAll, Reload, Unload, a Rescan that changed something, and
  // Shutdown: which versions are ready may have changed (read List()). Not
  // called with any repository lock held; List() may be called from here.
  virtual void OnModelsChanged() {}
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_REPOSITORY_REPOSITORY_OBSERVER_H_
