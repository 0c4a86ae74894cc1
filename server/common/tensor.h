// Named, typed tensors: what flows from a front end through the batcher to a
// backend and back.
//
// A Tensor is a name, a data type, a shape and one contiguous buffer in
// row-major order. Numeric elements are stored in host byte order (every
// supported host is little-endian, as the Open Inference Protocol's raw
// contents are). BYTES elements are stored one after another, each as a
// 4-byte little-endian length followed by that many bytes, which is also the
// protocol's raw layout, so a batch of BYTES tensors stacks by concatenation.
//
// Value type; no synchronisation (one owner at a time).
#ifndef LINESERVE_SERVER_COMMON_TENSOR_H_
#define LINESERVE_SERVER_COMMON_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "lineserve/v1/model_config.pb.h"

namespace lineserve {

enum class DataType {
  kInvalid,
  kBool,
  kUint8,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBytes,
};

// Bytes per element; 0 for kBytes (variable) and kInvalid.
size_t ElementSize(DataType dtype);

// The Open Inference Protocol's spelling: "BOOL", "UINT8", "INT32", "INT64",
// "FP16", "FP32", "FP64", "BYTES" ("INVALID" otherwise).
absl::string_view DataTypeName(DataType dtype);

// The config schema's type; kInvalid for TYPE_INVALID or an unknown value.
DataType DataTypeFromConfig(lineserve::v1::DataType type);

// The declaration of one input or output, per sample: `dims` exclude the
// batch dimension; -1 marks a dimension of any size.
struct TensorSpec {
  std::string name;
  DataType dtype = DataType::kInvalid;
  std::vector<int64_t> dims;
};

// The config's input or output list as specs, in order.
std::vector<TensorSpec> SpecsFromConfig(
    const google::protobuf::RepeatedPtrField<lineserve::v1::TensorSpec>& specs);

// "[3, 64, 64]"; -1 shows as -1.
std::string ShapeText(absl::Span<const int64_t> shape);

struct Tensor {
  std::string name;
  DataType dtype = DataType::kInvalid;
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;

  // A numeric tensor of this shape, zero-filled.
  static Tensor Zeros(std::string name, DataType dtype,
                      std::vector<int64_t> shape);
  // An FP32 tensor holding `values` (their count must match `shape`).
  static Tensor FromFloats(std::string name, std::vector<int64_t> shape,
                           absl::Span<const float> values);
  // A BYTES tensor of shape [elements.size()].
  static Tensor FromStrings(std::string name,
                            const std::vector<std::string>& elements);

  // Product of the shape (1 for a scalar).
  int64_t ElementCount() const;

  // Typed views of a numeric buffer; T must match dtype's element size.
  template <typename T>
  const T* values() const {
    return reinterpret_cast<const T*>(data.data());
  }
  template <typename T>
  T* mutable_values() {
    return reinterpret_cast<T*>(data.data());
  }
};

// A batch of zeros for each spec, in order: shape [batch_size, dims...]
// with -1 dims as 1. The inputs of warm-up and timing passes.
std::vector<Tensor> ZeroInputs(const std::vector<TensorSpec>& specs,
                               int batch_size);

// OK when the buffer matches the shape and type: element count x element
// size bytes, or for BYTES a well-formed sequence of ElementCount()
// length-prefixed elements. INVALID_ARGUMENT naming the tensor otherwise.
absl::Status CheckTensor(const Tensor& tensor);

// The elements of a BYTES tensor; INVALID_ARGUMENT when malformed.
absl::StatusOr<std::vector<std::string>> BytesElements(const Tensor& tensor);

// Whether `shape` has `spec.dims` (-1 matches any size).
bool MatchesDims(absl::Span<const int64_t> dims,
                 absl::Span<const int64_t> shape);

// Checks one sample's tensor against its spec: name, type, dims, buffer.
// INVALID_ARGUMENT naming the tensor and what differs.
absl::Status CheckAgainstSpec(const Tensor& tensor, const TensorSpec& spec);

// One tensor [n, shape...] from n samples of equal name, type and shape.
// INVALID_ARGUMENT when they differ (the message names the tensor and both
// shapes).
absl::StatusOr<Tensor> Stack(absl::Span<const Tensor* const> samples);

// The inverse of Stack: `batch` [n, ...] into n tensors of shape [...].
// INVALID_ARGUMENT when the first dimension is not n or the buffer is
// malformed.
absl::StatusOr<std::vector<Tensor>> Unstack(const Tensor& batch, int64_t n);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_COMMON_TENSOR_H_
