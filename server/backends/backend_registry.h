// Backends by platform: the config's `platform` ("torchscript", ...) picks
// the factory that loads a version's artifact, and the backend names that
// artifact's file, so the repository knows neither.
//
// Filled once at start-up (main registers what the binary was built with;
// tests register fakes), then only read: Find() may be called from any
// thread once registration is over. Register() is not thread-safe.
#ifndef LINESERVE_SERVER_BACKENDS_BACKEND_REGISTRY_H_
#define LINESERVE_SERVER_BACKENDS_BACKEND_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lineserve/v1/model_config.pb.h"
#include "server/backends/backend.h"

namespace lineserve {

// What a factory gets to load one model version.
struct BackendLoadRequest {
  // The artifact: <repository>/<model>/<version>/<artifact file>.
  std::string artifact_path;
  // The config in force (validated, defaults applied); declares the
  // tensors, max_batch_size and warm-up.
  const lineserve::v1::ModelConfig* config = nullptr;
  // "auto", "cpu", "cuda", "cuda:N" (the config's, or the server's
  // override).
  std::string device;
};

// Loads and warms up one version. Must be thread-safe and never throw.
using BackendFactory = std::function<absl::StatusOr<std::unique_ptr<Backend>>(
    const BackendLoadRequest& request)>;

class BackendRegistry {
 public:
  struct Platform {
    // File name of the artifact inside a version folder, e.g. "model.pt".
    std::string artifact_file;
    BackendFactory create;
  };

  // INVALID_ARGUMENT for an empty name, artifact file or factory;
  // ALREADY_EXISTS when `platform` is registered.
  absl::Status Register(absl::string_view platform, std::string artifact_file,
                        BackendFactory create);

  // The platform's entry; NOT_FOUND naming the registered ones.
  absl::StatusOr<const Platform*> Find(absl::string_view platform) const;

  // Registered platform names, sorted.
  std::vector<std::string> platforms() const;

 private:
  std::map<std::string, Platform, std::less<>> platforms_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BACKENDS_BACKEND_REGISTRY_H_
