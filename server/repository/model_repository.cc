#include "server/repository/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/message_differencer.h"
#include "models/base/log.h"
#include "models/base/status_macros.h"
#include "models/config/model_config.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using lineserve::v1::ModelConfig;
using lineserve::v1::ModelStatus;
using lineserve::v1::VersionPolicy;
using lineserve::v1::VersionState;
using lineserve::v1::VersionStatus;

constexpr char kConfigFile[] = "config.pbtxt";

// One line per load outcome: operators read these when a model is missing.
constexpr char kLogComponent[] = "repository";

absl::string_view StateName(VersionState state) {
  switch (state) {
    case lineserve::v1::VERSION_STATE_LOADING:
      return "loading";
    case lineserve::v1::VERSION_STATE_READY:
      return "ready";
    case lineserve::v1::VERSION_STATE_FAILED:
      return "failed";
    case lineserve::v1::VERSION_STATE_UNLOADING:
      return "unloading";
    default:
      return "in an unknown state";
  }
}

// What a client may read of a message: the repository's folder cut from
// every path, which becomes relative to it ("quality_inspection/3/model.pt"
// names the model and version, not where the server keeps them). Statuses
// and version messages reach anonymous callers; the log keeps the full
// paths.
std::string WithoutRoot(absl::string_view message, absl::string_view root) {
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  if (root.empty() || root == "/") return std::string(message);
  const auto in_path = [](char c) {
    return absl::ascii_isalnum(c) || c == '/' || c == '.' || c == '_' ||
           c == '-';
  };
  std::string out;
  size_t at = 0;
  while (at < message.size()) {
    const size_t found = message.find(root, at);
    if (found == absl::string_view::npos) break;
    const size_t end = found + root.size();
    // Only a whole path: not the tail of a longer one, nor a prefix of a
    // longer folder name ("/srv/models" in "/srv/models-old").
    const bool starts = found == 0 || !in_path(message[found - 1]);
    const bool ends =
        end == message.size() || !in_path(message[end]) || message[end] == '/';
    if (!starts || !ends) {
      absl::StrAppend(&out, message.substr(at, end - at));
      at = end;
      continue;
    }
    absl::StrAppend(&out, message.substr(at, found - at));
    if (end < message.size() && message[end] == '/') {
      at = end + 1;  // "<root>/a/b" -> "a/b"
    } else {
      out.append("the model repository");
      at = end;
    }
  }
  absl::StrAppend(&out, message.substr(at));
  return out;
}

absl::Status WithoutRoot(const absl::Status& status, absl::string_view root) {
  if (status.ok()) return status;
  return absl::Status(status.code(), WithoutRoot(status.message(), root));
}

// Names come from admin requests too: they must stay inside the root.
absl::Status CheckModelName(absl::string_view name) {
  if (name.empty() || name[0] == '.' ||
      !std::all_of(name.begin(), name.end(), [](char c) {
        return absl::ascii_isalnum(c) || c == '_' || c == '-' || c == '.';
      })) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", name, "' is not a model name"));
  }
  return absl::OkStatus();
}

// Versions under `model_dir`: canonical positive integer folder names
// ("7", not "07") that hold `artifact` (any folder when it is empty),
// ascending.
std::vector<int64_t> ScanVersions(const fs::path& model_dir,
                                  const std::string& artifact) {
  std::vector<int64_t> versions;
  std::error_code ec;
  for (fs::directory_iterator it(model_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string folder = it->path().filename().string();
    if (folder.empty() || folder.size() > 18 || folder[0] == '0' ||
        !std::all_of(folder.begin(), folder.end(), absl::ascii_isdigit)) {
      continue;
    }
    std::error_code file_ec;
    if (!artifact.empty() &&
        !fs::is_regular_file(it->path() / artifact, file_ec)) {
      continue;
    }
    versions.push_back(std::stoll(folder));
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

// What a poll compares to notice that a model's folder changed: the config's
// and every version file's size and modification time. Versions are
// published by renaming a complete folder, so a changed fingerprint never
// shows half a version.
std::string DiskFingerprint(const fs::path& model_dir) {
  std::vector<std::string> parts;
  const auto stat = [&parts](const fs::path& path, const std::string& label) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) return;
    const auto mtime = fs::last_write_time(path, ec);
    if (ec) return;
    parts.push_back(
        absl::StrCat(label, ":", size, ":", mtime.time_since_epoch().count()));
  };
  stat(model_dir / kConfigFile, kConfigFile);
  std::error_code ec;
  for (fs::directory_iterator it(model_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string folder = it->path().filename().string();
    std::error_code dir_ec;
    if (folder.empty() || folder[0] == '.' ||
        !fs::is_directory(it->path(), dir_ec)) {
      continue;
    }
    for (fs::directory_iterator file(it->path(), dir_ec), last;
         !dir_ec && file != last; file.increment(dir_ec)) {
      stat(file->path(), folder + "/" + file->path().filename().string());
    }
  }
  std::sort(parts.begin(), parts.end());
  return absl::StrJoin(parts, ";");
}

// Model folders under `root` that hold a config.pbtxt, sorted.
absl::StatusOr<std::vector<std::string>> ScanModelNames(
    const std::string& root_dir) {
  const fs::path root(root_dir);
  std::error_code ec;
  if (!fs::exists(root, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model repository ", root_dir, " does not exist"));
  }
  std::vector<std::string> names;
  fs::directory_iterator it(root, ec);
  for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code entry_ec;
    if (name.empty() || name[0] == '.' ||
        !fs::is_regular_file(it->path() / kConfigFile, entry_ec)) {
      continue;
    }
    names.push_back(name);
  }
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot read model repository ", root_dir, ": ", ec.message()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

ModelRepository::ModelRepository(ModelRepositoryOptions options)
    : options_(std::move(options)), unloader_(std::make_unique<Unloader>()) {}

absl::StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Create(
    ModelRepositoryOptions options) {
  if (options.root.empty()) {
    return absl::InvalidArgumentError("the model repository needs a root");
  }
  if (options.backends == nullptr) {
    return absl::InvalidArgumentError(
        "the model repository needs a backend registry");
  }
  if (options.clock == nullptr) options.clock = Clock::Real();
  return std::unique_ptr<ModelRepository>(
      new ModelRepository(std::move(options)));
}

ModelRepository::~ModelRepository() {
  Shutdown();
  // Every version is released now; wait until the unloader has destroyed
  // them (handles still held elsewhere are waited for too).
  unloader_.reset();
}

absl::Status ModelRepository::LoadAll() {
  {
    absl::MutexLock load_lock(&load_mu_);
    RETURN_IF_ERROR(CheckNotShutDown());
    ASSIGN_OR_RETURN(std::vector<std::string> names,
                     ScanModelNames(options_.root));
    for (const std::string& name : names) {
      // Failures are recorded per model and logged; they stop nothing.
      ReloadLocked(name).status.IgnoreError();
    }
  }
  ReportChanged();
  return absl::OkStatus();
}

absl::Status ModelRepository::Rescan() {
  bool changed = false;
  {
    absl::MutexLock load_lock(&load_mu_);
    RETURN_IF_ERROR(CheckNotShutDown());
    ASSIGN_OR_RETURN(std::vector<std::string> names,
                     ScanModelNames(options_.root));
    std::vector<std::string> gone;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [name, entry] : models_) {
        if (!std::binary_search(names.begin(), names.end(), name)) {
          gone.push_back(name);
        }
      }
    }
    for (const std::string& name : gone) {
      LogInfo(kLogComponent, "model left the repository: unloading",
              {{"model", name}});
      changed |= UnloadLocked(name).ok();
    }
    for (const std::string& name : names) {
      const std::string fingerprint =
          DiskFingerprint(fs::path(options_.root) / name);
      {
        absl::MutexLock lock(&mu_);
        auto found = models_.find(name);
        if (found != models_.end() &&
            found->second.disk_fingerprint == fingerprint) {
          continue;  // nothing changed on disk: nothing to do, nothing logged
        }
      }
      ReloadOutcome outcome = ReloadLocked(name);
      if (options_.observer != nullptr && outcome.changed) {
        options_.observer->OnReload(name, outcome.status);
      }
      changed |= outcome.changed;
    }
  }
  if (changed) ReportChanged();
  return absl::OkStatus();
}

absl::Status ModelRepository::Unload(absl::string_view name) {
  RETURN_IF_ERROR(CheckModelName(name));
  absl::Status status;
  {
    absl::MutexLock load_lock(&load_mu_);
    status = UnloadLocked(std::string(name));
  }
  if (status.ok()) {
    LogInfo(kLogComponent, "model unloaded", {{"model", name}});
    ReportChanged();
  }
  return status;
}

absl::Status ModelRepository::UnloadLocked(const std::string& name) {
  ModelEntry removed;  // released after the lock: it may drain batchers
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      return absl::FailedPreconditionError("the model repository is shut down");
    }
    auto found = models_.find(name);
    if (found == models_.end()) {
      return absl::NotFoundError(
          absl::StrCat("model '", name, "' is not loaded"));
    }
    removed = std::move(found->second);
    models_.erase(found);
  }
  return absl::OkStatus();
}

absl::Status ModelRepository::CheckNotShutDown() const {
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    return absl::FailedPreconditionError("the model repository is shut down");
  }
  return absl::OkStatus();
}

void ModelRepository::ReportChanged() const {
  if (options_.observer != nullptr) options_.observer->OnModelsChanged();
}

absl::Status ModelRepository::Reload(absl::string_view name) {
  RETURN_IF_ERROR(CheckModelName(name));
  absl::Status status;
  {
    absl::MutexLock load_lock(&load_mu_);
    // Answered to an admin client: the log has the paths.
    status = WithoutRoot(ReloadLocked(std::string(name)).status, options_.root);
  }
  // Only names that passed the check reach the observer: metrics label
  // reloads by model, and arbitrary admin input must not become a label.
  if (options_.observer != nullptr) options_.observer->OnReload(name, status);
  ReportChanged();
  return status;
}

ModelRepository::ReloadOutcome ModelRepository::ReloadLocked(
    const std::string& name) {
  const fs::path model_dir = fs::path(options_.root) / name;
  std::error_code ec;
  if (!fs::is_regular_file(model_dir / kConfigFile, ec)) {
    absl::Status missing = absl::NotFoundError(absl::StrCat(
        "model '", name, "' has no ", (model_dir / kConfigFile).string()));
    LogWarning(kLogComponent, missing.message(), {{"model", name}});
    return {std::move(missing), false};
  }
  // Taken before loading: a change during the load shows at the next poll.
  const std::string fingerprint = DiskFingerprint(model_dir);
  // A snapshot of what serves now, to reuse unchanged versions. Loading
  // happens without mu_: Get() keeps answering meanwhile.
  std::optional<ModelEntry> previous;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) {
      return {
          absl::FailedPreconditionError("the model repository is shut down"),
          false};
    }
    auto found = models_.find(name);
    if (found != models_.end()) previous = found->second;
  }
  LoadResult loaded = LoadModel(name, previous ? &*previous : nullptr);
  loaded.entry.disk_fingerprint = fingerprint;

  ModelEntry replaced;  // released after the lock: it may drain batchers
  {
    absl::MutexLock lock(&mu_);
    ModelEntry& slot = models_[name];
    if (!loaded.entry.HasReady() && slot.HasReady()) {
      // Nothing new can serve: keep what serves, and show what failed.
      for (auto& [version, entry] : loaded.entry.versions) {
        auto current = slot.versions.find(version);
        if (current == slot.versions.end() ||
            current->second.status.state() !=
                lineserve::v1::VERSION_STATE_READY) {
          slot.versions[version] = std::move(entry);
        }
      }
      slot.disk_fingerprint = fingerprint;
      LogWarning(kLogComponent,
                 "reload failed, the previous versions keep serving",
                 {{"model", name}});
    } else {
      replaced = std::move(slot);
      slot = std::move(loaded.entry);
    }
  }
  return {loaded.status, true};
}

ModelRepository::LoadResult ModelRepository::LoadModel(
    const std::string& name, const ModelEntry* previous) const {
  const fs::path model_dir = fs::path(options_.root) / name;
  absl::StatusOr<ModelConfig> config =
      LoadModelConfig((model_dir / kConfigFile).string());
  if (config.ok() && config->name() != name) {
    config = absl::InvalidArgumentError(absl::StrCat(
        (model_dir / kConfigFile).string(), ": name \"", config->name(),
        "\" does not match the model's folder \"", name, "\""));
  }
  if (!config.ok()) return FailedModel(name, config.status());
  if (!options_.device_override.empty()) {
    config->set_device(options_.device_override);
  }
  LoadResult result;
  result.entry.config = *config;
  const std::vector<int64_t> selected = SelectVersions(*config, result);
  const bool same_config =
      previous != nullptr && google::protobuf::util::MessageDifferencer::Equals(
                                 previous->config, *config);
  for (int64_t version : selected) {
    if (same_config) {
      auto kept = previous->versions.find(version);
      if (kept != previous->versions.end() &&
          kept->second.status.state() == lineserve::v1::VERSION_STATE_READY) {
        result.entry.versions[version] = kept->second;
        continue;
      }
    }
    VersionEntry& loaded = result.entry.versions[version] =
        LoadVersion(*config, version);
    if (loaded.status.state() != lineserve::v1::VERSION_STATE_READY &&
        result.status.ok()) {
      result.status = absl::FailedPreconditionError(
          absl::StrCat("model '", name, "' version ", version,
                       " failed to load: ", loaded.status.message()));
    }
  }
  return result;
}

ModelRepository::LoadResult ModelRepository::FailedModel(
    const std::string& name, const absl::Status& status) const {
  // No config, no way to load: every version on disk shows why.
  LoadResult result;
  result.entry.config.set_name(name);
  std::vector<int64_t> versions =
      ScanVersions(fs::path(options_.root) / name, "");
  if (versions.empty()) versions.push_back(0);
  for (int64_t version : versions) {
    VersionEntry& failed = result.entry.versions[version];
    failed.status.set_version(version);
    failed.status.set_state(lineserve::v1::VERSION_STATE_FAILED);
    failed.status.set_message(WithoutRoot(status.message(), options_.root));
    ReportLoad(name, version, status);
  }
  LogError(kLogComponent, "model failed to load",
           {{"model", name}, {"error", status.message()}});
  result.status = status;
  return result;
}

std::vector<int64_t> ModelRepository::SelectVersions(const ModelConfig& config,
                                                     LoadResult& result) const {
  const std::string& name = config.name();
  const fs::path model_dir = fs::path(options_.root) / name;
  // The backend names the artifact; an unknown platform fails every version
  // folder there is.
  absl::StatusOr<const BackendRegistry::Platform*> platform =
      options_.backends->Find(config.platform());
  const std::string artifact =
      platform.ok() ? (*platform)->artifact_file : std::string();
  const std::vector<int64_t> on_disk = ScanVersions(model_dir, artifact);
  std::vector<int64_t> selected;
  const VersionPolicy& policy = config.version_policy();
  switch (policy.policy_case()) {
    case VersionPolicy::kSpecific:
      for (int64_t version : policy.specific().versions()) {
        if (std::binary_search(on_disk.begin(), on_disk.end(), version)) {
          selected.push_back(version);
          continue;
        }
        const std::string why = absl::StrCat(
            "version_policy.specific lists version ", version, " but ",
            (model_dir / std::to_string(version) / artifact).string(),
            " does not exist");
        VersionEntry& missing = result.entry.versions[version];
        missing.status.set_version(version);
        missing.status.set_state(lineserve::v1::VERSION_STATE_FAILED);
        missing.status.set_message(WithoutRoot(why, options_.root));
        LogError(kLogComponent, "model version failed to load",
                 {{"model", name}, {"version", version}, {"error", why}});
        const absl::Status missing_status = absl::NotFoundError(
            absl::StrCat("model '", name, "' version ", version, ": ", why));
        ReportLoad(name, version, missing_status);
        if (result.status.ok()) result.status = missing_status;
      }
      break;
    case VersionPolicy::kAll:
      selected = on_disk;
      break;
    default: {
      // Latest N (ApplyModelConfigDefaults makes it latest 1 when unset).
      const size_t keep = std::max<size_t>(
          1, policy.has_latest() ? policy.latest().num_versions() : 1);
      selected.assign(on_disk.end() - std::min(keep, on_disk.size()),
                      on_disk.end());
      break;
    }
  }
  if (selected.empty() && result.status.ok()) {
    result.status = absl::NotFoundError(absl::StrCat(
        "model '", name, "' has no version to serve: no version folder under ",
        model_dir.string(), " selected by its version_policy holds a ",
        artifact.empty() ? "model artifact" : artifact));
    LogError(kLogComponent, result.status.message(), {{"model", name}});
    ReportLoad(name, 0, result.status);
  }
  return selected;
}

ModelRepository::VersionEntry ModelRepository::LoadVersion(
    const ModelConfig& serving, int64_t version) const {
  VersionEntry entry;
  entry.status.set_version(version);
  entry.status.set_device(serving.device());
  ModelConfig config;
  absl::Status status = [&]() -> absl::Status {
    // The version's own contract (model.json) over the serving settings.
    ASSIGN_OR_RETURN(
        config,
        LoadVersionConfig(serving, (fs::path(options_.root) / serving.name() /
                                    std::to_string(version))
                                       .string()));
    *entry.status.mutable_config() = config;
    ASSIGN_OR_RETURN(const BackendRegistry::Platform* platform,
                     options_.backends->Find(config.platform()));
    BackendLoadRequest request;
    request.artifact_path = (fs::path(options_.root) / config.name() /
                             std::to_string(version) / platform->artifact_file)
                                .string();
    request.config = &config;
    request.device = config.device();
    LogDebug(kLogComponent, "loading model version",
             {{"model", config.name()},
              {"version", version},
              {"platform", config.platform()},
              {"artifact", request.artifact_path},
              {"device", request.device},
              {"max_batch_size", config.max_batch_size()},
              {"instance_count", config.instance_count()}});
    ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend,
                     platform->create(request));
    if (backend == nullptr) {
      return absl::InternalError("the backend factory returned null");
    }
    ServableModelOptions servable_options;
    servable_options.config = config;
    servable_options.version = version;
    servable_options.backend = std::move(backend);
    servable_options.clock = options_.clock;
    servable_options.default_instance_count = options_.default_instance_count;
    servable_options.decode_memory = options_.decode_memory;
    servable_options.tune_max_batch_size = options_.tune_max_batch_size;
    if (options_.observer_factory) {
      servable_options.observer = options_.observer_factory(config, version);
    }
    ASSIGN_OR_RETURN(std::unique_ptr<ServableModel> servable,
                     ServableModel::Create(std::move(servable_options)));
    entry.status.set_device(servable->device());
    if (!servable->batch_timings().empty()) {
      LogInfo(kLogComponent, "batch size tuned",
              {{"model", config.name()},
               {"version", version},
               {"configured_max_batch_size", config.max_batch_size()},
               {"max_batch_size", servable->max_batch_size()},
               {"per_sample", TimingsText(servable->batch_timings())}});
    }
    entry.servable = unloader_->Share(std::move(servable));
    return absl::OkStatus();
  }();
  if (status.ok()) {
    entry.status.set_state(lineserve::v1::VERSION_STATE_READY);
    LogInfo(kLogComponent, "model version ready",
            {{"model", serving.name()},
             {"version", version},
             {"device", entry.status.device()}});
    ReportLoad(serving.name(), version, absl::OkStatus());
    return entry;
  }
  entry.status.set_state(lineserve::v1::VERSION_STATE_FAILED);
  entry.status.set_message(WithoutRoot(status.ToString(), options_.root));
  LogError(kLogComponent, "model version failed to load",
           {{"model", serving.name()},
            {"version", version},
            {"error", status.ToString()}});
  ReportLoad(serving.name(), version, status);
  return entry;
}

void ModelRepository::ReportLoad(const std::string& name, int64_t version,
                                 const absl::Status& status) const {
  if (options_.observer != nullptr) {
    options_.observer->OnVersionLoaded(name, version, status);
  }
}

absl::StatusOr<std::shared_ptr<const ServableModel>> ModelRepository::Get(
    absl::string_view name, int64_t version) const {
  if (version < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model version must be >= 0 (0 = newest), got ", version));
  }
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    return absl::UnavailableError("the model repository is shut down");
  }
  auto model = models_.find(name);
  if (model == models_.end()) {
    return absl::NotFoundError(
        absl::StrCat("model '", name, "' is not loaded"));
  }
  const auto& versions = model->second.versions;
  if (version == 0) {
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      if (it->second.servable != nullptr) return it->second.servable;
    }
    std::string why;
    if (!versions.empty()) {
      const VersionStatus& newest = versions.rbegin()->second.status;
      why = absl::StrCat(
          " (version ", newest.version(), " is ", StateName(newest.state()),
          newest.message().empty() ? "" : ": ", newest.message(), ")");
    }
    return absl::UnavailableError(
        absl::StrCat("model '", name, "' has no ready version", why));
  }
  auto found = versions.find(version);
  if (found == versions.end()) {
    return absl::NotFoundError(
        absl::StrCat("model '", name, "' has no version ", version));
  }
  if (found->second.servable == nullptr) {
    const VersionStatus& status = found->second.status;
    return absl::UnavailableError(
        absl::StrCat("model '", name, "' version ", version, " is ",
                     StateName(status.state()),
                     status.message().empty() ? "" : ": ", status.message()));
  }
  return found->second.servable;
}

ModelStatus ModelRepository::StatusOf(const std::string& name,
                                      const ModelEntry& entry) {
  ModelStatus status;
  status.set_name(name);
  *status.mutable_config() = entry.config;
  for (const auto& [version, version_entry] : entry.versions) {
    *status.add_versions() = version_entry.status;
    if (version_entry.servable != nullptr) status.set_default_version(version);
  }
  return status;
}

std::vector<ModelStatus> ModelRepository::List() const {
  absl::MutexLock lock(&mu_);
  std::vector<ModelStatus> models;
  models.reserve(models_.size());
  for (const auto& [name, entry] : models_) {
    models.push_back(StatusOf(name, entry));
  }
  return models;
}

absl::StatusOr<ModelStatus> ModelRepository::GetStatus(
    absl::string_view name) const {
  absl::MutexLock lock(&mu_);
  auto model = models_.find(name);
  if (model == models_.end()) {
    return absl::NotFoundError(
        absl::StrCat("model '", name, "' is not loaded"));
  }
  return StatusOf(model->first, model->second);
}

void ModelRepository::Shutdown() {
  absl::MutexLock load_lock(&load_mu_);
  std::vector<std::shared_ptr<const ServableModel>> released;
  {
    absl::MutexLock lock(&mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (auto& [name, model] : models_) {
      for (auto& [version, entry] : model.versions) {
        if (entry.servable == nullptr) continue;
        entry.status.set_state(lineserve::v1::VERSION_STATE_UNLOADING);
        released.push_back(std::move(entry.servable));
        entry.servable = nullptr;
      }
    }
  }
  // Outside mu_: draining runs `done` callbacks, which may call Get().
  // Queued tasks are answered now, even those whose version a request
  // still holds.
  for (const auto& servable : released) servable->Drain();
  released.clear();
  ReportChanged();
}

lineserve::v1::RepositoryIndexResponse ModelRepository::Index() const {
  lineserve::v1::RepositoryIndexResponse index;
  std::vector<std::string> names =
      ScanModelNames(options_.root).value_or(std::vector<std::string>());
  std::map<std::string, ModelStatus> loaded;
  for (ModelStatus& status : List()) {
    const std::string name = status.name();
    if (!std::binary_search(names.begin(), names.end(), name)) {
      names.push_back(name);
    }
    loaded.emplace(name, std::move(status));
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    auto* model = index.add_models();
    model->set_name(name);
    std::map<int64_t, VersionStatus> versions;
    auto found = loaded.find(name);
    if (found != loaded.end()) {
      model->set_loaded(true);
      for (const VersionStatus& version : found->second.versions()) {
        versions[version.version()] = version;
      }
    }
    // What is on disk: the folders holding the platform's artifact.
    const fs::path model_dir = fs::path(options_.root) / name;
    absl::StatusOr<ModelConfig> config =
        LoadModelConfig((model_dir / kConfigFile).string());
    std::string artifact;
    if (config.ok()) {
      auto platform = options_.backends->Find(config->platform());
      if (platform.ok()) artifact = (*platform)->artifact_file;
    } else {
      model->set_message(WithoutRoot(config.status().message(), options_.root));
    }
    for (int64_t version : ScanVersions(model_dir, artifact)) {
      if (versions.count(version) != 0) continue;
      VersionStatus& status = versions[version];
      status.set_version(version);
      status.set_state(lineserve::v1::VERSION_STATE_UNAVAILABLE);
      status.set_message(model->loaded() ? "not selected by the version policy"
                                         : "the model is not loaded");
    }
    for (auto& [number, status] : versions) {
      *model->add_versions() = std::move(status);
    }
  }
  return index;
}

bool EveryModelReady(const std::vector<ModelStatus>& models) {
  return !models.empty() &&
         std::all_of(models.begin(), models.end(), [](const ModelStatus& m) {
           return m.default_version() > 0;
         });
}

bool ModelRepository::ModelEntry::HasReady() const {
  return std::any_of(versions.begin(), versions.end(), [](const auto& entry) {
    return entry.second.servable != nullptr;
  });
}

}  // namespace lineserve
