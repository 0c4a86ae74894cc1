#include "tests/fuzz/golden_config.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "models/config/model_config.h"

namespace lineserve::fuzzing {

lineserve::v1::ModelConfig GoldenConfig(const std::string& model) {
  const std::string path = absl::StrCat(
      LINESERVE_SOURCE_DIR, "/tests/integration/testdata/golden/repo/", model,
      "/config.pbtxt");
  absl::StatusOr<lineserve::v1::ModelConfig> config = LoadModelConfig(path);
  if (!config.ok()) {
    std::fprintf(stderr, "fuzz setup: %s\n",
                 config.status().ToString().c_str());
    std::abort();
  }
  return *std::move(config);
}

}  // namespace lineserve::fuzzing
