// Tiny TorchScript models and matching configs for the backend and
// repository tests, with outputs simple enough to check by hand.
//
// This header does not include LibTorch: only test_models.cc does, so the
// tests that use it compile in seconds.
#ifndef LINESERVE_TESTS_SERVER_BACKENDS_TEST_MODELS_H_
#define LINESERVE_TESTS_SERVER_BACKENDS_TEST_MODELS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lineserve/v1/model_config.pb.h"

namespace lineserve::testing {

struct LinearModel {
  // y = x.flatten(1) @ weights + bias, with weights row-major
  // [inputs, outputs] and bias [outputs]; outputs = bias.size().
  int64_t inputs = 1;
  std::vector<float> weights;
  std::vector<float> bias;
  // When set, forward() raises once x.sum() exceeds it: a model that fails
  // at run time, after a successful warm-up on zeros.
  std::optional<float> fail_when_sum_above;
};

// Saves `model` as TorchScript at `path` (standard model.pt, loadable by
// torch::jit::load and torch.jit.load).
absl::Status WriteLinearModel(const std::string& path,
                              const LinearModel& model);

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

#endif  // LINESERVE_TESTS_SERVER_BACKENDS_TEST_MODELS_H_
