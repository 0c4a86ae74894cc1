#include "server/service/oip_tensors.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lineserve {
namespace {

// Copies a repeated typed field into the tensor's buffer as T.
template <typename T, typename Field>
void CopyValues(const Field& field, Tensor& tensor) {
  tensor.data.resize(field.size() * sizeof(T));
  T* out = tensor.mutable_values<T>();
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
}

absl::Status FromContents(const inference::InferTensorContents& contents,
                          Tensor& tensor) {
  switch (tensor.dtype) {
    case DataType::kBool:
      CopyValues<uint8_t>(contents.bool_contents(), tensor);
      break;
    case DataType::kUint8:
      CopyValues<uint8_t>(contents.uint_contents(), tensor);
      break;
    case DataType::kInt32:
      CopyValues<int32_t>(contents.int_contents(), tensor);
      break;
    case DataType::kInt64:
      CopyValues<int64_t>(contents.int64_contents(), tensor);
      break;
    case DataType::kFp32:
      CopyValues<float>(contents.fp32_contents(), tensor);
      break;
    case DataType::kFp64:
      CopyValues<double>(contents.fp64_contents(), tensor);
      break;
    case DataType::kBytes: {
      std::vector<std::string> elements(contents.bytes_contents().begin(),
                                        contents.bytes_contents().end());
      std::vector<int64_t> shape = std::move(tensor.shape);
      tensor = Tensor::FromStrings(tensor.name, elements);
      tensor.shape = std::move(shape);
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", tensor.name, "': ", DataTypeName(tensor.dtype),
          " travels as raw_input_contents only"));
  }
  return absl::OkStatus();
}

template <typename T, typename Field>
void AppendValues(const Tensor& tensor, Field* field) {
  const T* values = tensor.values<T>();
  for (int64_t i = 0; i < tensor.ElementCount(); ++i) field->Add(values[i]);
}

void ToContents(const Tensor& tensor, inference::InferTensorContents* out) {
  switch (tensor.dtype) {
    case DataType::kBool:
      AppendValues<uint8_t>(tensor, out->mutable_bool_contents());
      break;
    case DataType::kUint8:
      AppendValues<uint8_t>(tensor, out->mutable_uint_contents());
      break;
    case DataType::kInt32:
      AppendValues<int32_t>(tensor, out->mutable_int_contents());
      break;
    case DataType::kInt64:
      AppendValues<int64_t>(tensor, out->mutable_int64_contents());
      break;
    case DataType::kFp32:
      AppendValues<float>(tensor, out->mutable_fp32_contents());
      break;
    case DataType::kFp64:
      AppendValues<double>(tensor, out->mutable_fp64_contents());
      break;
    case DataType::kBytes:
      for (std::string& element :
           BytesElements(tensor).value_or(std::vector<std::string>())) {
        out->add_bytes_contents(std::move(element));
      }
      break;
    default:
      break;
  }
}

}  // namespace

absl::StatusOr<DataType> DataTypeFromName(absl::string_view name) {
  for (DataType dtype :
       {DataType::kBool, DataType::kUint8, DataType::kInt32, DataType::kInt64,
        DataType::kFp16, DataType::kFp32, DataType::kFp64, DataType::kBytes}) {
    if (DataTypeName(dtype) == name) return dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "datatype \"", name,
      "\" is not served (BOOL, UINT8, INT32, INT64, FP16, FP32, FP64, BYTES)"));
}

absl::StatusOr<std::vector<Tensor>> InputTensors(
    const inference::ModelInferRequest& request) {
  const bool raw = request.raw_input_contents_size() > 0;
  if (raw && request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("raw_input_contents: ", request.raw_input_contents_size(),
                     " entries for ", request.inputs_size(), " inputs"));
  }
  std::vector<Tensor> tensors;
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& input = request.inputs(i);
    Tensor tensor;
    tensor.name = input.name();
    absl::StatusOr<DataType> dtype = DataTypeFromName(input.datatype());
    if (!dtype.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", input.name(), "': ", dtype.status().message()));
    }
    tensor.dtype = *dtype;
    tensor.shape.assign(input.shape().begin(), input.shape().end());
    if (raw) {
      if (input.has_contents()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", input.name(),
            "': contents and raw_input_contents must not both be set"));
      }
      const std::string& bytes = request.raw_input_contents(i);
      tensor.data.assign(bytes.begin(), bytes.end());
    } else {
      absl::Status status = FromContents(input.contents(), tensor);
      if (!status.ok()) return status;
    }
    if (absl::Status valid = CheckTensor(tensor); !valid.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "': ", valid.message()));
    }
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

void AddOutputTensor(const Tensor& tensor, bool raw,
                     inference::ModelInferResponse* response) {
  auto* output = response->add_outputs();
  output->set_name(tensor.name);
  output->set_datatype(std::string(DataTypeName(tensor.dtype)));
  for (int64_t dim : tensor.shape) output->add_shape(dim);
  if (raw) {
    response->add_raw_output_contents(
        std::string(tensor.data.begin(), tensor.data.end()));
  } else {
    ToContents(tensor, output->mutable_contents());
  }
}

}  // namespace lineserve
