// Tiny TorchScript models for the backend and pipeline tests (configs in
// tests/support/test_configs.h).
//
// This header does not include LibTorch: only test_models.cc does, so the
// tests that use it compile in seconds.
#ifndef LINESERVE_TESTS_SERVER_BACKENDS_TEST_MODELS_H_
#define LINESERVE_TESTS_SERVER_BACKENDS_TEST_MODELS_H_

#include <string>

#include "absl/status/status.h"
#include "lineserve/v1/model_config.pb.h"
#include "tests/support/test_configs.h"

namespace lineserve::testing {

// Saves `model` as TorchScript at `path` (standard model.pt, loadable by
// torch::jit::load and torch.jit.load).
absl::Status WriteLinearModel(const std::string& path,
                              const LinearModel& model);

// Saves a parameterless TorchScript module whose methods are `source`
// (e.g. "def forward(self, x: Tensor) -> Tensor:\n    return x * 2\n").
absl::Status WriteScriptModel(const std::string& path,
                              const std::string& source);

// A tensor model with two typed inputs and two outputs: "x" FP32 [3] and
// "count" INT64 [1] in; "scaled" FP32 [3] (x * count) and "total" INT64 [1]
// (count + the number of positive x) out. Its forward() names the inputs in
// the other order than the config, so they are matched by name.
extern const char kTwoInputModelSource[];

// The config of that model: max_batch_size 4, on the CPU, defaults applied.
lineserve::v1::ModelConfig TwoInputConfig(const std::string& name);

}  // namespace lineserve::testing

#endif  // LINESERVE_TESTS_SERVER_BACKENDS_TEST_MODELS_H_
