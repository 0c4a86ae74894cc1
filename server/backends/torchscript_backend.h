// A Backend that runs a TorchScript artifact (model.pt) with LibTorch, on
// the CPU or on a CUDA device.
//
// The model takes one float tensor [B, input dims...] and returns one float
// tensor [B, output dims...], with the dims of the config's input[0] and
// output[0]. Create() loads the file onto the device and runs a warm-up
// forward at every config.warmup().batch_sizes() (batch 1 when none are
// listed), checking that the output has exactly that shape: a model that
// does not match its config is refused at load time, not at the first
// request.
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

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lineserve/v1/model_config.pb.h"
#include "server/backends/backend.h"

namespace lineserve {

class TorchScriptBackend : public Backend {
 public:
  // Loads `model_path` as described by `config` onto `device_spec`:
  //   "auto"   -> cuda:0 when LibTorch sees a CUDA device, else cpu;
  //   "cpu";
  //   "cuda"   -> cuda:0;  "cuda:N" -> that device.
  // Errors (never throws):
  //   NOT_FOUND            the file does not exist;
  //   INVALID_ARGUMENT     the file is not a TorchScript archive, a bad
  //                        device spec, or a config the backend cannot serve
  //                        (not exactly one FP32 input and output, dims of
  //                        -1);
  //   FAILED_PRECONDITION  CUDA requested but not available (or N out of
  //                        range), or the warm-up shows the model does not
  //                        match the config (the message names the batch
  //                        size and both shapes).
  // Every message names the file.
  static absl::StatusOr<std::unique_ptr<TorchScriptBackend>> Create(
      const std::string& model_path, const lineserve::v1::ModelConfig& config,
      const std::string& device_spec);

  ~TorchScriptBackend() override;
  TorchScriptBackend(const TorchScriptBackend&) = delete;
  TorchScriptBackend& operator=(const TorchScriptBackend&) = delete;

  size_t input_size() const override;
  size_t output_size() const override;
  // "cpu" or "cuda:N".
  std::string device() const override;
  // Largest batch Run() accepts: max(1, config.max_batch_size()).
  int max_batch_size() const;

  // INVALID_ARGUMENT for a null pointer or a batch outside
  // [1, max_batch_size()]; INTERNAL (with LibTorch's message) when the
  // forward pass fails or answers with the wrong shape. Never throws.
  absl::Status Run(const float* input, int batch_size, float* output) override;

 private:
  struct State;
  explicit TorchScriptBackend(std::unique_ptr<State> state);

  // Run() without the argument checks; INTERNAL on any LibTorch failure.
  absl::Status Forward(const float* input, int batch_size,
                       float* output) noexcept;

  std::unique_ptr<State> state_;
};

// Sizes LibTorch's process-wide thread pools; for main() to call once,
// before any model is loaded. `intra_op_threads` (>= 1) is the parallelism
// inside one operator, `inter_op_threads` (>= 1, or 0 to keep LibTorch's
// default) the pool for parallel graph branches. LibTorch only allows the
// inter-op size to be set before its first parallel work:
// FAILED_PRECONDITION when that moment has passed. Lives here so that the
// server's main() need not include LibTorch.
absl::Status ConfigureLibTorchThreads(int intra_op_threads,
                                      int inter_op_threads);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BACKENDS_TORCHSCRIPT_BACKEND_H_
