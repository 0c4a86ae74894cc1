// Small model configs and linear models for the backend, repository and
// pipeline tests, with answers simple enough to check by hand. No LibTorch:
// the TorchScript writer is tests/server/backends/test_models.h, the fake
// backend tests/support/fake_backend.h.
#ifndef LINESERVE_TESTS_SUPPORT_TEST_CONFIGS_H_
#define LINESERVE_TESTS_SUPPORT_TEST_CONFIGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lineserve/v1/model_config.pb.h"

namespace lineserve::testing {

struct LinearModel {
  // y = x.flatten(1) @ weights + bias, with weights row-major
  // [inputs, outputs] and bias [outputs]; outputs = bias.size().
  int64_t inputs = 1;
  std::vector<float> weights;
  std::vector<float> bias;
  // When set, forward() fails once x.sum() exceeds it: a model that fails
  // at run time, after a successful warm-up on zeros.
  std::optional<float> fail_when_sum_above;
};

// A valid, defaulted tabular regression config: numeric features f0..f{n-1},
// input "features" [n], output "prediction" [1], dynamic batching with no
// delay so tests never wait.
lineserve::v1::ModelConfig TabularConfig(const std::string& name,
                                         int num_features,
                                         int max_batch_size = 4);

// A valid, defaulted image classification config: grey 2x2 images,
// normalised (x - 0.5) / 0.5, input "image" [1, 2, 2], labels {ok, scratch}.
lineserve::v1::ModelConfig ImageConfig(const std::string& name,
                                       int max_batch_size = 4);

// A unique empty directory under the test temp dir.
std::string MakeTempDir(const std::string& prefix);

}  // namespace lineserve::testing

#endif  // LINESERVE_TESTS_SUPPORT_TEST_CONFIGS_H_
