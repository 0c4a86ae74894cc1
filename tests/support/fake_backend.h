// One fake Backend for every test that needs a model without LibTorch: the
// batcher, servable-model, repository and pipeline tests.
//
// A FakeBackend computes with a function the test gives it (or a linear
// model), records the batch sizes it ran, and can be told to block until
// released, to fail, or to advance a fake clock while it "computes".
// RegisterFakeBackend() puts it behind the "fake" platform of a
// BackendRegistry, loading linear models from text artifacts (model.fake)
// that WriteFakeModel() writes, so a repository test exercises real files,
// versions and reloads without LibTorch.
//
// Thread-safe: Run() may be called from several batcher workers at once.
#ifndef LINESERVE_TESTS_SUPPORT_FAKE_BACKEND_H_
#define LINESERVE_TESTS_SUPPORT_FAKE_BACKEND_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/backends/backend.h"
#include "server/backends/backend_registry.h"
#include "server/batching/inference_task.h"
#include "server/repository/servable_model.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_configs.h"

namespace lineserve::testing {

// Every wait in tests is bounded: a bug fails the test instead of hanging.
inline constexpr absl::Duration kTestTimeout = absl::Seconds(30);

inline constexpr char kFakePlatform[] = "fake";
inline constexpr char kFakeArtifact[] = "model.fake";

class FakeBackend : public Backend {
 public:
  // (inputs [batch, ...] in spec order, batch size) -> outputs.
  using Compute = std::function<absl::StatusOr<std::vector<Tensor>>(
      const std::vector<Tensor>& inputs, int batch_size)>;

  FakeBackend(std::vector<TensorSpec> inputs, std::vector<TensorSpec> outputs,
              Compute compute, std::string device = "fake");
  ~FakeBackend() override;

  // One FP32 input and output (the specs'), y = x.flatten @ W + b per
  // sample; fails when model.fail_when_sum_above is exceeded.
  static std::unique_ptr<FakeBackend> Linear(const TensorSpec& input,
                                             const TensorSpec& output,
                                             const LinearModel& model,
                                             std::string device = "cpu");

  const std::vector<TensorSpec>& inputs() const override { return inputs_; }
  const std::vector<TensorSpec>& outputs() const override { return outputs_; }
  std::string device() const override { return device_; }
  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs,
                                          int batch_size) override;

  // Run blocks until `release` is notified (bounded by kTestTimeout).
  void BlockUntil(absl::Notification* release);
  // Run answers `status` from now on.
  void FailWith(absl::Status status);
  // Run advances `clock` by `compute_time`, as a real forward pass takes
  // time.
  void AdvanceDuringRun(FakeClock* clock, absl::Duration compute_time);
  // Notified from the destructor.
  void NotifyOnDestruction(absl::Notification* destroyed);

  // True once `n` Run calls have started (bounded by kTestTimeout).
  bool WaitForRuns(int n);
  std::vector<int> batch_sizes() const;

 private:
  const std::vector<TensorSpec> inputs_;
  const std::vector<TensorSpec> outputs_;
  const Compute compute_;
  const std::string device_;

  mutable absl::Mutex mu_;
  absl::CondVar runs_cv_;  // signalled when a Run starts
  std::vector<int> batch_sizes_ ABSL_GUARDED_BY(mu_);
  absl::Notification* release_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Status fail_ ABSL_GUARDED_BY(mu_);
  FakeClock* clock_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::Duration compute_time_ ABSL_GUARDED_BY(mu_);
  absl::Notification* destroyed_ ABSL_GUARDED_BY(mu_) = nullptr;
};

// Writes `model` as a fake artifact (text) at `path`.
absl::Status WriteFakeModel(const std::string& path, const LinearModel& model);

// Registers kFakePlatform: loads a model.fake as FakeBackend::Linear with the
// config's input[0] and output[0]. Devices "auto" and "cpu" run on "cpu";
// any other is FAILED_PRECONDITION naming it, as a missing GPU would be.
// An unreadable or malformed artifact is INVALID_ARGUMENT.
absl::Status RegisterFakeBackend(BackendRegistry& registry);

// Runs one sample through `servable` and waits (bounded) for its answer.
absl::StatusOr<InferenceResult> RunSample(const ServableModel& servable,
                                          std::vector<Tensor> inputs);

// The same for a model with one FP32 input and output: the floats out.
absl::StatusOr<std::vector<float>> InferFloats(const ServableModel& servable,
                                               const std::vector<float>& input);

// The floats of an FP32 tensor.
std::vector<float> Floats(const Tensor& tensor);

}  // namespace lineserve::testing

#endif  // LINESERVE_TESTS_SUPPORT_FAKE_BACKEND_H_
