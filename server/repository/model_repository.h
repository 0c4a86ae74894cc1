// The models the server serves, loaded from a Triton-style repository:
//
//   ROOT/<model>/config.pbtxt
//   ROOT/<model>/<version>/<artifact>   (version: a positive integer)
//
// The config's `platform` picks the backend from a BackendRegistry, which
// names the artifact file (TorchScript: model.pt). Each model's
// version_policy (latest N, specific, all) picks among the numeric folders
// that hold that artifact; hidden folders (the trainer's
// .staging-*) are never looked at. A version folder is treated as immutable
// once it exists (the trainer publishes it by rename).
//
// Loading never stops at the first problem: a version that fails (corrupt
// model.pt, shape mismatch, unavailable device) is recorded FAILED with its
// message and logged to stderr, a model whose config.pbtxt is broken is
// recorded with every version FAILED (version 0 when it has none), and the
// other versions and models load as usual.
//
// Messages reach anonymous clients (ModelService, the inference errors of
// a version that failed), so what Reload() returns and what List(), Get()
// and Index() carry name files relative to ROOT ("<model>/<version>/
// model.pt"), never ROOT itself; the log keeps the full paths.
//
// Handles: Get() returns std::shared_ptr<const ServableModel>. Holding it
// keeps that version alive and answering even after Reload() replaced it or
// Shutdown() dropped it; when the last handle goes, wherever that is (a
// batcher worker included), the repository's Unloader thread drains and
// destroys the version. Every handle must be released before the repository
// is destroyed: its destructor waits for them.
//
// Thread-safety: every method may be called from any thread. Get() and
// List() take a short lock and never wait for loading; loads run without
// the lock and the result is swapped in atomically. Reload() calls are
// serialised with each other. Servables are released outside the lock, so a
// `done` callback may call Get() freely.
#ifndef LINESERVE_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
#define LINESERVE_SERVER_REPOSITORY_MODEL_REPOSITORY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "lineserve/v1/model_config.pb.h"
#include "lineserve/v1/model_service.pb.h"
#include "server/backends/backend.h"
#include "server/backends/backend_registry.h"
#include "server/batching/dynamic_batcher.h"
#include "server/common/clock.h"
#include "server/repository/repository_observer.h"
#include "server/repository/servable_model.h"
#include "server/repository/unloader.h"

namespace lineserve {

// Makes the metrics hooks of one version's batcher (may return null).
using BatcherObserverFactory = std::function<std::unique_ptr<BatcherObserver>(
    const lineserve::v1::ModelConfig& config, int64_t version)>;

struct ModelRepositoryOptions {
  // The repository directory (one folder per model). Required.
  std::string root;

  // Clock of every batcher. Not owned; null means Clock::Real(). Must
  // outlive the repository and every servable handed out.
  Clock* clock = nullptr;

  // When non-empty ("cpu", "cuda:1", "auto"), replaces every config's
  // `device`; the config reported by List() shows the device in force.
  std::string device_override;

  // The backends by platform. Required; not owned, must outlive the
  // repository. Tests register fakes here.
  const BackendRegistry* backends = nullptr;

  // Workers of a model whose config leaves instance_count at 0.
  int default_instance_count = 1;

  // Every version's batches are capped at the size its load-time timing
  // found about as fast per sample as the fastest
  // (ServableModelOptions::tune_max_batch_size), timed on `clock`.
  bool tune_max_batch_size = false;

  // Optional metrics hooks per version.
  BatcherObserverFactory observer_factory;

  // Optional: told about every load outcome and reload. Not owned; must
  // outlive the repository.
  RepositoryObserver* observer = nullptr;

  // Optional: the budget every image model's decoding shares (see
  // ServableModel::decode_memory()). Not owned; must outlive the repository.
  preprocess::DecodeMemory* decode_memory = nullptr;
};

// The readiness of a server: at least one model, and every model with a
// version ready to answer (of a List() snapshot). Health checks and the Open
// Inference Protocol's ServerReady both answer with it.
bool EveryModelReady(const std::vector<lineserve::v1::ModelStatus>& models);

class ModelRepository {
 public:
  // INVALID_ARGUMENT when `root` is empty or there is no backend registry.
  // Loads nothing: call LoadAll().
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Create(
      ModelRepositoryOptions options);

  // Shutdown(), then waits until every handle is released.
  ~ModelRepository();

  ModelRepository(const ModelRepository&) = delete;
  ModelRepository& operator=(const ModelRepository&) = delete;

  // Loads every ROOT/<model>/ that has a config.pbtxt, as Reload() does for
  // one model. OK even when models or versions failed (see List()); an error
  // only when the root itself cannot be read (NOT_FOUND when it does not
  // exist) or after Shutdown() (FAILED_PRECONDITION). Blocks for as long as
  // loading and warming up takes.
  absl::Status LoadAll();

  // The handle of `version` of model `name`; version 0 means the newest
  // READY version. Errors:
  //   NOT_FOUND    "model 'x' is not loaded" / "model 'x' has no version 7";
  //   UNAVAILABLE  the version (or, for 0, every version) is not READY,
  //                with the reason, or the repository is shut down;
  //   INVALID_ARGUMENT  a negative version.
  absl::StatusOr<std::shared_ptr<const ServableModel>> Get(
      absl::string_view name, int64_t version = 0) const;

  // Every model, sorted by name: its config in force, each version's state
  // (ascending) and default_version (newest READY, 0 when none).
  std::vector<lineserve::v1::ModelStatus> List() const;

  // One model's status; NOT_FOUND as Get().
  absl::StatusOr<lineserve::v1::ModelStatus> GetStatus(
      absl::string_view name) const;

  // Re-reads ROOT/<name>/ (or loads it for the first time): config and
  // version folders. New versions are loaded and warmed up beside the
  // serving ones, then the model's version set is swapped atomically;
  // versions no longer selected drain as their handles go. A version that
  // is already READY under an identical config is kept, not reloaded.
  // When the reload yields no READY version (broken config, every selected
  // version failed), the versions that were serving keep serving and the
  // error is returned; the failed versions still show in List(). Errors:
  // NOT_FOUND when ROOT/<name>/config.pbtxt does not exist (nothing
  // changes), the config's error, or the first version's failure;
  // FAILED_PRECONDITION after Shutdown().
  absl::Status Reload(absl::string_view name);

  // Brings the repository in line with the disk: models whose folder changed
  // (config or version files; a fingerprint of sizes and times) are
  // reloaded as Reload() does, new model folders are loaded, models whose
  // folder or config.pbtxt is gone are unloaded. An unchanged model is not
  // touched, logged or reported, so polling every few seconds costs a few
  // stat calls. Errors only for the root (as LoadAll) or after Shutdown().
  absl::Status Rescan();

  // Stops serving model `name`: it leaves List() and Get() answers
  // NOT_FOUND; its versions drain as their handles go and are released by
  // the unloader. NOT_FOUND when it is not loaded, INVALID_ARGUMENT for a
  // name that is not a model name.
  absl::Status Unload(absl::string_view name);

  // Every model folder on disk and every version folder holding its
  // artifact, merged with what is loaded: state and last error per version
  // (UNAVAILABLE for versions on disk that are not loaded).
  lineserve::v1::RepositoryIndexResponse Index() const;

  // Model versions alive: loaded, or released and still draining or held
  // by a request. Returns to the number of loaded versions once replaced
  // versions are gone (their memory with them).
  int live_versions() const { return unloader_->pending(); }

  // Marks every version UNLOADING and drops the repository's handles; each
  // version drains when its last outside handle goes (now, if none). Later
  // Get() answers UNAVAILABLE and LoadAll()/Reload() FAILED_PRECONDITION.
  // Blocks until the versions nobody else holds have drained. Idempotent.
  void Shutdown();

 private:
  struct VersionEntry {
    lineserve::v1::VersionStatus status;
    std::shared_ptr<const ServableModel> servable;  // set when READY
  };
  struct ModelEntry {
    // In force (device override applied); only the name when the config
    // could not be read.
    lineserve::v1::ModelConfig config;
    std::map<int64_t, VersionEntry> versions;  // ascending
    // The folder as last loaded (see Rescan).
    std::string disk_fingerprint;

    bool HasReady() const;
  };
  struct ReloadOutcome {
    absl::Status status;
    bool changed = false;  // the model was (re)loaded, successfully or not
  };
  struct LoadResult {
    ModelEntry entry;
    absl::Status status;  // the first failure; OK when all loaded
  };

  explicit ModelRepository(ModelRepositoryOptions options);

  ReloadOutcome ReloadLocked(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  absl::Status UnloadLocked(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  absl::Status CheckNotShutDown() const;
  // Tells options_.observer that the set of ready versions may have changed.
  void ReportChanged() const;
  // Builds the entry for ROOT/<name>/, without mu_ (loading is slow).
  // `previous` (a snapshot, may be null) provides servables to reuse.
  LoadResult LoadModel(const std::string& name,
                       const ModelEntry* previous) const;
  // The entry of a model whose config cannot be read: every version folder
  // FAILED with `status`.
  LoadResult FailedModel(const std::string& name,
                         const absl::Status& status) const;
  // The versions the config's policy selects among the folders holding the
  // platform's artifact; listed versions that are missing go into `result`
  // as FAILED, and the first problem into result.status.
  std::vector<int64_t> SelectVersions(const lineserve::v1::ModelConfig& config,
                                      LoadResult& result) const;
  VersionEntry LoadVersion(const lineserve::v1::ModelConfig& config,
                           int64_t version) const;
  // Tells options_.observer, if any, how loading one version ended.
  void ReportLoad(const std::string& name, int64_t version,
                  const absl::Status& status) const;
  static lineserve::v1::ModelStatus StatusOf(const std::string& name,
                                             const ModelEntry& entry);

  const ModelRepositoryOptions options_;
  // Destroys released versions; declared first so that it is destroyed
  // last, after every handle the repository itself holds.
  std::unique_ptr<Unloader> unloader_;

  // Serialises LoadAll/Reload/Shutdown so that two loads of a model do not
  // race to swap. Taken before mu_, never while holding it.
  absl::Mutex load_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, ModelEntry, std::less<>> models_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
