// Fuzz target: an Open Inference Protocol ModelInfer request as the gRPC
// front end receives it (the serialized inference.ModelInferRequest):
// first the tensor conversion alone (server/service/oip_tensors.h:
// InputTensors), then the whole of OipService::Infer, which resolves the
// model, matches the tensors to it (images as BYTES, features by name,
// tensor models by their declared inputs), preprocesses and runs it on the
// fake-backed golden models (tests/fuzz/fuzz_serving.h). The gRPC transport
// itself is not involved.
//
// Checked beyond "no crash, no sanitizer report": accepted tensors hold
// the bytes their datatype and shape call for and survive a trip through
// AddOutputTensor (raw, and typed for the integer and BYTES types) and
// back unchanged; Infer answers every request, with OK or a client error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "google/protobuf/stubs/logging.h"
#include "inference/grpc_service.pb.h"
#include "server/service/oip_tensors.h"
#include "tests/fuzz/fuzz_serving.h"

namespace lineserve::fuzzing {
namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "oip_grpc_fuzzer: %s\n", what);
    std::abort();
  }
}

// `tensors` as a request's inputs again, raw or typed, via the response
// encoding the server answers with.
std::vector<Tensor> RoundTrip(const std::vector<Tensor>& tensors, bool raw) {
  inference::ModelInferResponse response;
  for (const Tensor& tensor : tensors) AddOutputTensor(tensor, raw, &response);
  inference::ModelInferRequest again;
  for (const auto& output : response.outputs()) {
    auto* input = again.add_inputs();
    input->set_name(output.name());
    input->set_datatype(output.datatype());
    *input->mutable_shape() = output.shape();
    if (!raw) *input->mutable_contents() = output.contents();
  }
  for (const std::string& bytes : response.raw_output_contents()) {
    again.add_raw_input_contents(bytes);
  }
  absl::StatusOr<std::vector<Tensor>> back = InputTensors(again);
  Check(back.ok(), "converted tensors do not convert back");
  return *std::move(back);
}

bool TypedTripIsExact(DataType dtype) {
  // Floats may be NaNs whose payload the trip need not keep; BOOL and FP16
  // are not carried typed the same way.
  return dtype == DataType::kInt32 || dtype == DataType::kInt64 ||
         dtype == DataType::kUint8 || dtype == DataType::kBytes;
}

void FuzzTensors(const inference::ModelInferRequest& request) {
  absl::StatusOr<std::vector<Tensor>> tensors = InputTensors(request);
  if (!tensors.ok()) {
    Check(tensors.status().code() == absl::StatusCode::kInvalidArgument,
          "a bad tensor is not INVALID_ARGUMENT");
    return;
  }
  const std::vector<Tensor> raw = RoundTrip(*tensors, /*raw=*/true);
  Check(raw.size() == tensors->size(), "the raw trip lost tensors");
  for (size_t i = 0; i < raw.size(); ++i) {
    Check(raw[i].data == (*tensors)[i].data &&
              raw[i].shape == (*tensors)[i].shape &&
              raw[i].dtype == (*tensors)[i].dtype,
          "the raw trip changed a tensor");
  }
  std::vector<Tensor> exact;
  for (const Tensor& tensor : *tensors) {
    if (TypedTripIsExact(tensor.dtype)) exact.push_back(tensor);
  }
  const std::vector<Tensor> typed = RoundTrip(exact, /*raw=*/false);
  for (size_t i = 0; i < typed.size(); ++i) {
    Check(typed[i].data == exact[i].data && typed[i].shape == exact[i].shape,
          "the typed trip changed a tensor");
  }
}

void FuzzInfer(const inference::ModelInferRequest& request) {
  inference::ModelInferResponse response;
  absl::Notification done;
  absl::Status status;
  FuzzServing::Get().oip().Infer(&request, &response, absl::Seconds(10),
                                 nullptr, [&](absl::Status s) {
                                   status = std::move(s);
                                   done.Notify();
                                 });
  Check(done.WaitForNotificationWithTimeout(absl::Seconds(30)),
        "Infer did not answer");
  Check(status.code() != absl::StatusCode::kInternal &&
            status.code() != absl::StatusCode::kUnknown,
        "Infer failed with a server error");
}

}  // namespace
}  // namespace lineserve::fuzzing

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Strings that are not UTF-8 fail to parse, as gRPC refuses them, and
  // protobuf would log each one: silence that.
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inference::ModelInferRequest request;
  // gRPC refuses what does not parse before the service sees it.
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  lineserve::fuzzing::FuzzTensors(request);
  lineserve::fuzzing::FuzzInfer(request);
  return 0;
}
