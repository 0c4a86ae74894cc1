// Open Inference Protocol tensors <-> lineserve tensors: datatype names,
// typed `contents` or little-endian raw bytes in, the same out. Stateless;
// any thread.
#ifndef LINESERVE_SERVER_SERVICE_OIP_TENSORS_H_
#define LINESERVE_SERVER_SERVICE_OIP_TENSORS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "inference/grpc_service.pb.h"
#include "server/common/tensor.h"

namespace lineserve {

// "FP32" -> kFp32 ...; INVALID_ARGUMENT for a datatype lineserve does not
// serve (INT8, UINT16, ...), naming it.
absl::StatusOr<DataType> DataTypeFromName(absl::string_view name);

// The request's input tensors, shapes as sent (batch first). Reads
// raw_input_contents when present (one per input, in order), else each
// input's typed contents. INVALID_ARGUMENT naming the tensor when the
// datatype, shape or data do not agree.
absl::StatusOr<std::vector<Tensor>> InputTensors(
    const inference::ModelInferRequest& request);

// Appends `tensor` to the response, raw (raw_output_contents) or typed.
void AddOutputTensor(const Tensor& tensor, bool raw,
                     inference::ModelInferResponse* response);

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_OIP_TENSORS_H_
