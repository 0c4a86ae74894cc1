#include "server/backends/backend_registry.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lineserve {

absl::Status BackendRegistry::Register(absl::string_view platform,
                                       std::string artifact_file,
                                       BackendFactory create) {
  if (platform.empty() || artifact_file.empty() || !create) {
    return absl::InvalidArgumentError(
        "a backend needs a platform name, an artifact file and a factory");
  }
  if (platforms_.find(platform) != platforms_.end()) {
    return absl::AlreadyExistsError(
        absl::StrCat("backend platform \"", platform, "\" is registered"));
  }
  platforms_.emplace(std::string(platform),
                     Platform{std::move(artifact_file), std::move(create)});
  return absl::OkStatus();
}

absl::StatusOr<const BackendRegistry::Platform*> BackendRegistry::Find(
    absl::string_view platform) const {
  auto found = platforms_.find(platform);
  if (found == platforms_.end()) {
    return absl::NotFoundError(absl::StrCat(
        "platform \"", platform, "\" has no backend in this server (it has: ",
        platforms_.empty() ? "none" : absl::StrJoin(platforms(), ", "), ")"));
  }
  return &found->second;
}

std::vector<std::string> BackendRegistry::platforms() const {
  std::vector<std::string> names;
  names.reserve(platforms_.size());
  for (const auto& [name, platform] : platforms_) names.push_back(name);
  return names;
}

}  // namespace lineserve
