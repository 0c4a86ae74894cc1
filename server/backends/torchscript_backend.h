// A Backend that runs a TorchScript artifact (model.pt) with LibTorch, on
// the CPU or on a CUDA device.
//
// The model's forward() takes one tensor per config input, [B, dims...] of
// the declared type, in config order, or by argument name when every input
// is named like one of forward()'s arguments. It returns one tensor (one
// output), a tuple (the outputs in config order) or a dict keyed by output
// name. Create() loads the file onto the device and runs a warm-up forward
// at every config.warmup().batch_sizes() (batch 1 when none are listed) with
// zeros, checking every output's shape: a model that does not match its
// config is refused at load time, not at the first request. Dims of -1 are
// warmed up with size 1. BYTES tensors cannot reach TorchScript and are
// refused at load time.
//
// This header does not include LibTorch (the state lives behind a pointer),
// so the repository and the server compile without it; only
// torchscript_backend.cc does.
//
// Thread-safety: Run() may be called concurrently from any number of
// threads once Create() has returned. Nothing process-wide is changed here
// (thread pools are the caller's: see ConfigureLibTorchThreads).
#ifndef LINESERVE_SERVER_BACKENDS_TORCHSCRIPT_BACKEND_H_
#define LINESERVE_SERVER_BACKENDS_TORCHSCRIPT_BACKEND_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/backends/backend.h"
#include "server/backends/backend_registry.h"

namespace lineserve {

// The registry key and artifact file of TorchScript models.
inline constexpr char kTorchScriptPlatform[] = "torchscript";
inline constexpr char kTorchScriptArtifact[] = "model.pt";

class TorchScriptBackend : public Backend {
 public:
  // Loads request.artifact_path as described by *request.config onto
  // request.device:
  //   "auto"   -> cuda:0 when LibTorch sees a CUDA device, else cpu;
  //   "cpu";
  //   "cuda"   -> cuda:0;  "cuda:N" -> that device.
  // Errors (never throws):
  //   NOT_FOUND            the file does not exist;
  //   INVALID_ARGUMENT     the file is not a TorchScript archive, a bad
  //                        device spec, or a config the backend cannot serve
  //                        (BYTES tensors, forward() taking another number
  //                        of arguments than the config has inputs);
  //   FAILED_PRECONDITION  CUDA requested but not available (or N out of
  //                        range), or the warm-up shows the model does not
  //                        match the config (the message names the batch
  //                        size, the tensor and both shapes).
  // Every message names the file.
  static absl::StatusOr<std::unique_ptr<TorchScriptBackend>> Create(
      const BackendLoadRequest& request);

  ~TorchScriptBackend() override;
  TorchScriptBackend(const TorchScriptBackend&) = delete;
  TorchScriptBackend& operator=(const TorchScriptBackend&) = delete;

  const std::vector<TensorSpec>& inputs() const override;
  const std::vector<TensorSpec>& outputs() const override;
  // "cpu" or "cuda:N".
  std::string device() const override;
  // Largest batch Run() accepts: max(1, config.max_batch_size()).
  int max_batch_size() const;

  // INVALID_ARGUMENT for a batch outside [1, max_batch_size()] or inputs that
  // do not match inputs(); INTERNAL (with LibTorch's message) when the
  // forward pass fails or answers with the wrong shape. Never throws.
  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs,
                                          int batch_size) override;

  // The loaded model, device and tensor specs (defined in the .cc, which
  // alone includes LibTorch).
  struct State;

 private:
  explicit TorchScriptBackend(std::unique_ptr<State> state);

  // Runs zeros through forward() a few times at each size; a failure means
  // the model does not match its config (FAILED_PRECONDITION).
  absl::Status WarmUp(const std::vector<int>& batch_sizes);

  // Run() without the argument checks; INTERNAL on any LibTorch failure.
  absl::StatusOr<std::vector<Tensor>> Forward(const std::vector<Tensor>& inputs,
                                              int batch_size) noexcept;

  std::unique_ptr<State> state_;
};

// Registers kTorchScriptPlatform (artifact kTorchScriptArtifact).
absl::Status RegisterTorchScriptBackend(BackendRegistry& registry);

// Sizes LibTorch's process-wide thread pools; for main() to call once,
// before any model is loaded. `intra_op_threads` (>= 1) is the parallelism
// inside one operator, `inter_op_threads` (>= 1, or 0 to keep LibTorch's
// default) the pool for parallel graph branches. LibTorch only allows the
// inter-op size to be set before its first parallel work:
// FAILED_PRECONDITION when that moment has passed. Lives here so that the
// server's main() need not include LibTorch.
absl::Status ConfigureLibTorchThreads(int intra_op_threads,
                                      int inter_op_threads);

// The intra-op threads a `--torch-threads` value asks for: itself when
// > 0, else one per core.
int IntraOpThreads(int requested);

// What the server computes with, for --version: "LibTorch 1.13.0, CPU (no
// CUDA device)" or "LibTorch 1.13.0, 2 CUDA device(s)".
std::string LibTorchBuildText();

// Executions of a model that leaves instance_count at 0: the cores
// `intra_op_threads` leave, at least 1. On small CPUs several one-thread
// executions beat one execution spread over every core (BENCHMARKS.md).
int DefaultInstanceCount(int intra_op_threads);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BACKENDS_TORCHSCRIPT_BACKEND_H_
