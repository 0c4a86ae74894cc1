// A loaded model version that runs forward passes over batches.
//
// The batcher owns the batching; a Backend only computes. Implementations
// must allow concurrent Run() calls from several batcher workers
// (instance_count) and must never throw: every failure is a status.
#ifndef LINESERVE_SERVER_BACKENDS_BACKEND_H_
#define LINESERVE_SERVER_BACKENDS_BACKEND_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"

namespace lineserve {

class Backend {
 public:
  virtual ~Backend() = default;

  // Floats of one sample's input and output (the batch dimension excluded).
  virtual size_t input_size() const = 0;
  virtual size_t output_size() const = 0;
  // Where it runs, e.g. "cpu" or "cuda:0".
  virtual std::string device() const = 0;

  // One forward pass: `input` holds batch_size * input_size() floats,
  // sample after sample; writes batch_size * output_size() floats to
  // `output`.
  virtual absl::Status Run(const float* input, int batch_size,
                           float* output) = 0;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_BACKENDS_BACKEND_H_
