#include "server/common/tensor.h"

#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lineserve {
namespace {

constexpr size_t kLengthPrefix = 4;

uint32_t ReadLength(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

void AppendLength(std::vector<uint8_t>& out, uint32_t length) {
  for (int i = 0; i < 4; ++i) out.push_back((length >> (8 * i)) & 0xff);
}

// Byte offsets of each BYTES element's prefix, plus the end; fails when the
// buffer does not hold exactly `count` elements.
absl::StatusOr<std::vector<size_t>> ElementOffsets(const Tensor& tensor,
                                                   int64_t count) {
  const size_t size = tensor.data.size();
  // Every element takes at least its length prefix: a count the buffer
  // cannot hold is refused before anything is reserved for it.
  if (count < 0 || static_cast<uint64_t>(count) > size / kLengthPrefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "': ", size,
                     " bytes cannot hold ", count, " BYTES elements"));
  }
  std::vector<size_t> offsets;
  offsets.reserve(count + 1);
  size_t at = 0;
  for (int64_t i = 0; i < count; ++i) {
    if (size - at < kLengthPrefix) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", tensor.name, "': BYTES element ", i, " is truncated (",
          size, " bytes for ", count, " elements)"));
    }
    offsets.push_back(at);
    const uint32_t length = ReadLength(tensor.data.data() + at);
    at += kLengthPrefix;
    if (size - at < length) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", tensor.name, "': BYTES element ", i, " declares ", length,
          " bytes but ", size - at, " remain"));
    }
    at += length;
  }
  if (at != size) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "': ", size - at,
                     " bytes follow its ", count, " BYTES elements"));
  }
  offsets.push_back(at);
  return offsets;
}

}  // namespace

size_t ElementSize(DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
    case DataType::kUint8:
      return 1;
    case DataType::kFp16:
      return 2;
    case DataType::kInt32:
    case DataType::kFp32:
      return 4;
    case DataType::kInt64:
    case DataType::kFp64:
      return 8;
    case DataType::kBytes:
    case DataType::kInvalid:
      return 0;
  }
  return 0;
}

absl::string_view DataTypeName(DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
      return "BOOL";
    case DataType::kUint8:
      return "UINT8";
    case DataType::kInt32:
      return "INT32";
    case DataType::kInt64:
      return "INT64";
    case DataType::kFp16:
      return "FP16";
    case DataType::kFp32:
      return "FP32";
    case DataType::kFp64:
      return "FP64";
    case DataType::kBytes:
      return "BYTES";
    case DataType::kInvalid:
      return "INVALID";
  }
  return "INVALID";
}

DataType DataTypeFromConfig(lineserve::v1::DataType type) {
  switch (type) {
    case lineserve::v1::TYPE_BOOL:
      return DataType::kBool;
    case lineserve::v1::TYPE_UINT8:
      return DataType::kUint8;
    case lineserve::v1::TYPE_INT32:
      return DataType::kInt32;
    case lineserve::v1::TYPE_INT64:
      return DataType::kInt64;
    case lineserve::v1::TYPE_FP16:
      return DataType::kFp16;
    case lineserve::v1::TYPE_FP32:
      return DataType::kFp32;
    case lineserve::v1::TYPE_FP64:
      return DataType::kFp64;
    case lineserve::v1::TYPE_BYTES:
      return DataType::kBytes;
    default:
      return DataType::kInvalid;
  }
}

std::vector<TensorSpec> SpecsFromConfig(
    const google::protobuf::RepeatedPtrField<lineserve::v1::TensorSpec>&
        specs) {
  std::vector<TensorSpec> out;
  out.reserve(specs.size());
  for (const auto& spec : specs) {
    out.push_back(
        {spec.name(), DataTypeFromConfig(spec.data_type()),
         std::vector<int64_t>(spec.dims().begin(), spec.dims().end())});
  }
  return out;
}

std::string ShapeText(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

Tensor Tensor::Zeros(std::string name, DataType dtype,
                     std::vector<int64_t> shape) {
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.data.assign(tensor.ElementCount() * ElementSize(dtype), 0);
  return tensor;
}

Tensor Tensor::FromFloats(std::string name, std::vector<int64_t> shape,
                          absl::Span<const float> values) {
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = DataType::kFp32;
  tensor.shape = std::move(shape);
  tensor.data.resize(values.size() * sizeof(float));
  if (!values.empty()) {
    std::memcpy(tensor.data.data(), values.data(), tensor.data.size());
  }
  return tensor;
}

Tensor Tensor::FromStrings(std::string name,
                           const std::vector<std::string>& elements) {
  Tensor tensor;
  tensor.name = std::move(name);
  tensor.dtype = DataType::kBytes;
  tensor.shape = {static_cast<int64_t>(elements.size())};
  for (const std::string& element : elements) {
    AppendLength(tensor.data, static_cast<uint32_t>(element.size()));
    tensor.data.insert(tensor.data.end(), element.begin(), element.end());
  }
  return tensor;
}

int64_t Tensor::ElementCount() const {
  int64_t count = 1;
  for (int64_t dim : shape) {
    // Saturates: a shape from a client must not wrap around to a small
    // count (CheckTensor refuses it).
    if (__builtin_mul_overflow(count, dim, &count)) {
      return std::numeric_limits<int64_t>::max();
    }
  }
  return count;
}

std::vector<Tensor> ZeroInputs(const std::vector<TensorSpec>& specs,
                               int batch_size) {
  std::vector<Tensor> inputs;
  for (const TensorSpec& spec : specs) {
    std::vector<int64_t> shape = {batch_size};
    for (int64_t dim : spec.dims) shape.push_back(dim < 0 ? 1 : dim);
    inputs.push_back(Tensor::Zeros(spec.name, spec.dtype, std::move(shape)));
  }
  return inputs;
}

absl::Status CheckTensor(const Tensor& tensor) {
  for (int64_t dim : tensor.shape) {
    if (dim < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", tensor.name, "': shape ",
                       ShapeText(tensor.shape), " has a negative dimension"));
    }
  }
  if (tensor.dtype == DataType::kInvalid) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "': no data type"));
  }
  // No tensor this process can hold has 2^62 elements; the limit also keeps
  // ElementCount() * ElementSize() below 2^63.
  if (tensor.ElementCount() > (int64_t{1} << 62) / 16) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "': shape ",
                     ShapeText(tensor.shape), " has too many elements"));
  }
  if (tensor.dtype == DataType::kBytes) {
    return ElementOffsets(tensor, tensor.ElementCount()).status();
  }
  const size_t expected = tensor.ElementCount() * ElementSize(tensor.dtype);
  if (tensor.data.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", tensor.name, "': shape ", ShapeText(tensor.shape), " of ",
        DataTypeName(tensor.dtype), " needs ", expected, " bytes, got ",
        tensor.data.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> BytesElements(const Tensor& tensor) {
  if (tensor.dtype != DataType::kBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", tensor.name, "' is ",
                     DataTypeName(tensor.dtype), ", not BYTES"));
  }
  absl::StatusOr<std::vector<size_t>> offsets =
      ElementOffsets(tensor, tensor.ElementCount());
  if (!offsets.ok()) return offsets.status();
  std::vector<std::string> elements;
  elements.reserve(offsets->size() - 1);
  for (size_t i = 0; i + 1 < offsets->size(); ++i) {
    const size_t begin = (*offsets)[i] + kLengthPrefix;
    elements.emplace_back(
        reinterpret_cast<const char*>(tensor.data.data()) + begin,
        (*offsets)[i + 1] - begin);
  }
  return elements;
}

bool MatchesDims(absl::Span<const int64_t> dims,
                 absl::Span<const int64_t> shape) {
  if (dims.size() != shape.size()) return false;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (dims[i] != -1 && dims[i] != shape[i]) return false;
  }
  return true;
}

absl::Status CheckAgainstSpec(const Tensor& tensor, const TensorSpec& spec) {
  if (tensor.name != spec.name) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", tensor.name,
                                                   "' given where '", spec.name,
                                                   "' is expected"));
  }
  if (tensor.dtype != spec.dtype) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", spec.name, "': data type ", DataTypeName(tensor.dtype),
        ", the model takes ", DataTypeName(spec.dtype)));
  }
  if (!MatchesDims(spec.dims, tensor.shape)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", spec.name, "': shape ", ShapeText(tensor.shape),
        ", the model takes ", ShapeText(spec.dims), " per sample"));
  }
  return CheckTensor(tensor);
}

absl::StatusOr<Tensor> Stack(absl::Span<const Tensor* const> samples) {
  if (samples.empty()) {
    return absl::InvalidArgumentError("cannot stack zero tensors");
  }
  const Tensor& first = *samples[0];
  Tensor batch;
  batch.name = first.name;
  batch.dtype = first.dtype;
  batch.shape.reserve(first.shape.size() + 1);
  batch.shape.push_back(static_cast<int64_t>(samples.size()));
  batch.shape.insert(batch.shape.end(), first.shape.begin(), first.shape.end());
  size_t bytes = 0;
  for (const Tensor* sample : samples) {
    if (sample->name != first.name || sample->dtype != first.dtype ||
        sample->shape != first.shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", first.name, "': cannot batch ", DataTypeName(first.dtype),
          " ", ShapeText(first.shape), " with '", sample->name, "' ",
          DataTypeName(sample->dtype), " ", ShapeText(sample->shape)));
    }
    bytes += sample->data.size();
  }
  batch.data.reserve(bytes);
  for (const Tensor* sample : samples) {
    batch.data.insert(batch.data.end(), sample->data.begin(),
                      sample->data.end());
  }
  return batch;
}

absl::StatusOr<std::vector<Tensor>> Unstack(const Tensor& batch, int64_t n) {
  if (batch.shape.empty() || batch.shape[0] != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", batch.name, "': shape ",
                     ShapeText(batch.shape), " does not hold ", n, " samples"));
  }
  std::vector<Tensor> samples(n);
  const std::vector<int64_t> sample_shape(batch.shape.begin() + 1,
                                          batch.shape.end());
  for (Tensor& sample : samples) {
    sample.name = batch.name;
    sample.dtype = batch.dtype;
    sample.shape = sample_shape;
  }
  if (batch.dtype == DataType::kBytes) {
    int64_t per_sample = 1;
    for (int64_t dim : sample_shape) per_sample *= dim;
    absl::StatusOr<std::vector<size_t>> offsets =
        ElementOffsets(batch, batch.ElementCount());
    if (!offsets.ok()) return offsets.status();
    for (int64_t i = 0; i < n; ++i) {
      samples[i].data.assign(
          batch.data.begin() + (*offsets)[i * per_sample],
          batch.data.begin() + (*offsets)[(i + 1) * per_sample]);
    }
    return samples;
  }
  if (absl::Status valid = CheckTensor(batch); !valid.ok()) return valid;
  const size_t stride = n == 0 ? 0 : batch.data.size() / n;
  for (int64_t i = 0; i < n; ++i) {
    samples[i].data.assign(batch.data.begin() + i * stride,
                           batch.data.begin() + (i + 1) * stride);
  }
  return samples;
}

}  // namespace lineserve
