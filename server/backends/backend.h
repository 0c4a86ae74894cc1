// A loaded model version that runs forward passes over batches of named,
// typed tensors.
//
// The batcher owns the batching; a Backend only computes. Implementations
// must allow concurrent Run() calls from several batcher workers
// (instance_count) and must never throw: every failure is a status.
#ifndef LINESERVE_SERVER_BACKENDS_BACKEND_H_
#define LINESERVE_SERVER_BACKENDS_BACKEND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/common/tensor.h"

namespace lineserve {

class Backend {
 public:
  virtual ~Backend() = default;

  // What one sample takes and gives (batch dimension excluded), in the order
  // Run() takes its inputs and returns its outputs. Fixed after loading.
  virtual const std::vector<TensorSpec>& inputs() const = 0;
  virtual const std::vector<TensorSpec>& outputs() const = 0;
  // Where it runs, e.g. "cpu" or "cuda:0".
  virtual std::string device() const = 0;

  // One forward pass over `batch_size` samples: `inputs` holds one tensor
  // per inputs() spec, in that order, each of shape [batch_size, dims...].
  // Returns one tensor per outputs() spec, in order, each of shape
  // [batch_size, ...] with the spec's name and type.
  virtual absl::StatusOr<std::vector<Tensor>> Run(
      const std::vector<Tensor>& inputs, int batch_size) = 0;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BACKENDS_BACKEND_H_
