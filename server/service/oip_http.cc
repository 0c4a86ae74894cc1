#include "server/service/oip_http.h"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "models/base/status_macros.h"
#include "nlohmann/json.hpp"

namespace lineserve {
namespace {

using nlohmann::json;

int HttpStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kCancelled:
      return 499;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}

// JSON text of `body`. Strings from clients may hold invalid UTF-8 (a model
// name from the path, an id): it is replaced with U+FFFD instead of
// throwing, which would end the process from an HTTP thread.
std::string Dump(const json& body) {
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

HttpResponse Error(const absl::Status& status) {
  return {HttpStatus(status.code()), "application/json",
          Dump(json{{"error", std::string(status.message())}})};
}

HttpResponse Json(const json& body, int status = 200) {
  return {status, "application/json", Dump(body)};
}

// Flattens nested JSON arrays (row-major) into `out`.
void Flatten(const json& data, std::vector<const json*>& out) {
  if (data.is_array()) {
    for (const json& item : data) Flatten(item, out);
  } else {
    out.push_back(&data);
  }
}

// One JSON input tensor into the request's typed contents.
// The binary tensor data extension: how many bytes of the body's binary part
// the tensor takes (parameters.binary_data_size), or nullopt.
absl::StatusOr<std::optional<size_t>> BinaryDataSize(const json& tensor) {
  if (!tensor.contains("parameters")) return std::nullopt;
  const json& parameters = tensor["parameters"];
  if (!parameters.is_object() || !parameters.contains("binary_data_size")) {
    return std::nullopt;
  }
  const json& size = parameters["binary_data_size"];
  if (!size.is_number_unsigned()) {
    return absl::InvalidArgumentError(
        "parameters.binary_data_size: must be a non-negative integer");
  }
  return size.get<size_t>();
}

// One JSON input tensor into the request: typed contents from "data", or
// raw contents cut from `binary` at `*offset` (binary tensor data).
absl::Status AddInput(const json& tensor, absl::string_view binary,
                      size_t* offset, inference::ModelInferRequest& request) {
  if (!tensor.is_object() || !tensor.contains("name") ||
      !tensor["name"].is_string() || !tensor.contains("datatype") ||
      !tensor["datatype"].is_string() || !tensor.contains("shape") ||
      !tensor["shape"].is_array()) {
    return absl::InvalidArgumentError(
        "inputs: each needs \"name\", \"shape\", \"datatype\" and "
        "\"data\" (or parameters.binary_data_size)");
  }
  const std::string name = tensor["name"].get<std::string>();
  ASSIGN_OR_RETURN(std::optional<size_t> binary_size, BinaryDataSize(tensor));
  const bool raw = request.raw_input_contents_size() > 0;
  if (request.inputs_size() > 0 && raw != binary_size.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", name,
        "': every input must come the same way, all as JSON \"data\" or all "
        "as binary data"));
  }
  if (!binary_size && !tensor.contains("data")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", name, "': needs \"data\" or parameters.binary_data_size"));
  }
  if (binary_size && *binary_size > binary.size() - *offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", name, "': binary_data_size ", *binary_size,
                     " runs past the end of the body"));
  }
  auto* input = request.add_inputs();
  input->set_name(tensor["name"].get<std::string>());
  const std::string datatype = tensor["datatype"].get<std::string>();
  input->set_datatype(datatype);
  for (const json& dim : tensor["shape"]) {
    if (!dim.is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", input->name(), "': shape holds a non-integer"));
    }
    input->add_shape(dim.get<int64_t>());
  }
  if (binary_size) {
    request.add_raw_input_contents(
        std::string(binary.substr(*offset, *binary_size)));
    *offset += *binary_size;
    return absl::OkStatus();
  }
  std::vector<const json*> values;
  Flatten(tensor["data"], values);
  auto* contents = input->mutable_contents();
  for (const json* value : values) {
    const bool number = value->is_number();
    if (datatype == "BYTES") {
      if (!value->is_string()) break;
      contents->add_bytes_contents(value->get<std::string>());
    } else if (datatype == "BOOL") {
      if (!value->is_boolean()) break;
      contents->add_bool_contents(value->get<bool>());
    } else if (!number) {
      break;
    } else if (datatype == "FP32") {
      contents->add_fp32_contents(value->get<float>());
    } else if (datatype == "FP64") {
      contents->add_fp64_contents(value->get<double>());
    } else if (datatype == "INT64") {
      contents->add_int64_contents(value->get<int64_t>());
    } else if (datatype == "INT32") {
      contents->add_int_contents(value->get<int32_t>());
    } else if (datatype == "UINT8") {
      contents->add_uint_contents(value->get<uint32_t>());
    }
  }
  const int64_t got =
      contents->bytes_contents_size() + contents->bool_contents_size() +
      contents->fp32_contents_size() + contents->fp64_contents_size() +
      contents->int64_contents_size() + contents->int_contents_size() +
      contents->uint_contents_size();
  if (got != static_cast<int64_t>(values.size())) {
    return absl::InvalidArgumentError(absl::StrCat("input '", input->name(),
                                                   "': data does not hold ",
                                                   datatype, " values"));
  }
  return absl::OkStatus();
}

absl::StatusOr<inference::ModelInferRequest> ParseInferRequest(
    const std::string& body, const std::string& header_length,
    const std::string& model, const std::string& version) {
  // With the binary extension the JSON is the body's first bytes.
  size_t json_length = body.size();
  if (!header_length.empty() &&
      (!absl::SimpleAtoi(header_length, &json_length) ||
       json_length > body.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Inference-Header-Content-Length: \"", header_length,
        "\" is not a length within the body's ", body.size(), " bytes"));
  }
  const absl::string_view binary = absl::string_view(body).substr(json_length);
  const json parsed =
      json::parse(body.begin(), body.begin() + json_length, nullptr,
                  /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("the body is not a JSON object");
  }
  inference::ModelInferRequest request;
  request.set_model_name(model);
  request.set_model_version(version);
  if (parsed.contains("id") && parsed["id"].is_string()) {
    request.set_id(parsed["id"].get<std::string>());
  }
  if (!parsed.contains("inputs") || !parsed["inputs"].is_array()) {
    return absl::InvalidArgumentError("inputs: required, an array");
  }
  size_t offset = 0;
  for (const json& tensor : parsed["inputs"]) {
    RETURN_IF_ERROR(AddInput(tensor, binary, &offset, request));
  }
  if (offset != binary.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body holds ", binary.size() - offset,
                     " bytes of binary data that no input claims"));
  }
  if (parsed.contains("outputs") && parsed["outputs"].is_array()) {
    for (const json& output : parsed["outputs"]) {
      if (output.is_object() && output.contains("name") &&
          output["name"].is_string()) {
        request.add_outputs()->set_name(output["name"].get<std::string>());
      }
    }
  }
  return request;
}

json ContentsJson(const inference::InferTensorContents& c) {
  if (c.bytes_contents_size() > 0) {
    return json(std::vector<std::string>(c.bytes_contents().begin(),
                                         c.bytes_contents().end()));
  }
  if (c.fp32_contents_size() > 0) {
    return json(
        std::vector<float>(c.fp32_contents().begin(), c.fp32_contents().end()));
  }
  if (c.fp64_contents_size() > 0) {
    return json(std::vector<double>(c.fp64_contents().begin(),
                                    c.fp64_contents().end()));
  }
  if (c.int64_contents_size() > 0) {
    return json(std::vector<int64_t>(c.int64_contents().begin(),
                                     c.int64_contents().end()));
  }
  if (c.int_contents_size() > 0) {
    return json(
        std::vector<int32_t>(c.int_contents().begin(), c.int_contents().end()));
  }
  if (c.uint_contents_size() > 0) {
    return json(std::vector<uint32_t>(c.uint_contents().begin(),
                                      c.uint_contents().end()));
  }
  if (c.bool_contents_size() > 0) {
    return json(
        std::vector<bool>(c.bool_contents().begin(), c.bool_contents().end()));
  }
  return json::array();
}

json TensorMetadataJson(
    const google::protobuf::RepeatedPtrField<
        inference::ModelMetadataResponse::TensorMetadata>& tensors) {
  json out = json::array();
  for (const auto& t : tensors) {
    out.push_back(
        {{"name", t.name()},
         {"datatype", t.datatype()},
         {"shape", std::vector<int64_t>(t.shape().begin(), t.shape().end())}});
  }
  return out;
}

}  // namespace

HttpResponse OipHttp::Handle(const HttpRequest& request) const {
  const bool get = request.method == "GET";
  if (request.path == "/metrics" && get && metrics_) {
    return {200, "text/plain; version=0.0.4; charset=utf-8", metrics_()};
  }
  const std::vector<std::string> parts =
      absl::StrSplit(request.path, '/', absl::SkipEmpty());
  if (parts.empty() || parts[0] != "v2") {
    return Error(absl::NotFoundError(
        absl::StrCat("no endpoint ", request.method, " ", request.path)));
  }
  if (parts.size() == 1 && get) {
    const inference::ServerMetadataResponse info = oip_->ServerInfo();
    return Json({{"name", info.name()},
                 {"version", info.version()},
                 {"extensions", json::array()}});
  }
  if (parts.size() == 3 && parts[1] == "health" && get) {
    if (parts[2] == "live") return Json({{"live", true}});
    if (parts[2] == "ready") {
      const bool ready = oip_->ServerIsReady();
      return Json({{"ready", ready}}, ready ? 200 : 503);
    }
  }
  if (parts.size() >= 3 && parts[1] == "models") {
    const std::string& model = parts[2];
    size_t next = 3;
    std::string version;
    if (parts.size() >= 5 && parts[3] == "versions") {
      version = parts[4];
      next = 5;
    }
    const std::string action = parts.size() > next ? parts[next] : "";
    if (parts.size() <= next + 1) {
      if (action.empty() && get) {
        absl::StatusOr<inference::ModelMetadataResponse> m =
            oip_->Metadata(model, version);
        if (!m.ok()) return Error(m.status());
        return Json(
            {{"name", m->name()},
             {"versions", std::vector<std::string>(m->versions().begin(),
                                                   m->versions().end())},
             {"platform", m->platform()},
             {"inputs", TensorMetadataJson(m->inputs())},
             {"outputs", TensorMetadataJson(m->outputs())}});
      }
      if (action == "ready" && get) {
        absl::StatusOr<bool> ready = oip_->ModelIsReady(model, version);
        if (!ready.ok()) return Error(ready.status());
        return Json({{"name", model}, {"ready", *ready}}, *ready ? 200 : 503);
      }
      if (action == "infer" && request.method == "POST") {
        return Infer(model, version, request);
      }
    }
  }
  return Error(absl::NotFoundError(
      absl::StrCat("no endpoint ", request.method, " ", request.path)));
}

HttpResponse OipHttp::Infer(const std::string& model,
                            const std::string& version,
                            const HttpRequest& http) const {
  absl::StatusOr<inference::ModelInferRequest> parsed = ParseInferRequest(
      http.body, http.Header("inference-header-content-length"), model,
      version);
  if (!parsed.ok()) return Error(parsed.status());
  // Shared with the completion: it runs on a batcher worker and must find
  // everything alive even if this thread has stopped waiting.
  struct Call {
    inference::ModelInferRequest request;
    inference::ModelInferResponse response;
    absl::Status status;
    absl::Notification done;
  };
  auto call = std::make_shared<Call>();
  call->request = *std::move(parsed);
  oip_->Infer(
      &call->request, &call->response, timeout_, nullptr,
      [call](absl::Status status) {
        call->status = std::move(status);
        call->done.Notify();
      },
      OipService::OutputForm::kTyped,
      RequestSource{"http", http.peer, http.Header("x-request-id")});
  // The pipeline answers by the timeout (DEADLINE_EXCEEDED at worst).
  if (!call->done.WaitForNotificationWithTimeout(timeout_ + absl::Seconds(5))) {
    return Error(absl::DeadlineExceededError("no answer in time"));
  }
  if (!call->status.ok()) return Error(call->status);
  json outputs = json::array();
  for (const auto& output : call->response.outputs()) {
    outputs.push_back({{"name", output.name()},
                       {"datatype", output.datatype()},
                       {"shape", std::vector<int64_t>(output.shape().begin(),
                                                      output.shape().end())},
                       {"data", ContentsJson(output.contents())}});
  }
  json answer = {{"model_name", call->response.model_name()},
                 {"model_version", call->response.model_version()},
                 {"outputs", outputs}};
  if (!call->response.id().empty()) answer["id"] = call->response.id();
  return Json(answer);
}

}  // namespace lineserve
