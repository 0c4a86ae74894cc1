#include "server/service/oip_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "models/base/client_text.h"
#include "models/base/status_macros.h"
#include "server/inference/model_io.h"
#include "server/service/grpc_status.h"
#include "server/service/oip_tensors.h"
#include "server/service/request_support.h"

namespace lineserve {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;
using lineserve::v1::TaskKind;

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// "" is 0 (the newest ready version).
absl::StatusOr<int64_t> ParseVersion(const std::string& text) {
  if (text.empty()) return 0;
  int64_t version = 0;
  if (!absl::SimpleAtoi(text, &version) || version < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model_version \"", text, "\" is not a positive version number"));
  }
  return version;
}

// The batch size of a tensor sent batch first (shape [N, ...]), at most
// kMaxOipBatch: an empty tensor of shape [2^32, 0] holds no data, yet would
// make 2^32 samples.
absl::StatusOr<int64_t> BatchOf(const Tensor& tensor) {
  if (tensor.shape.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input '", tensor.name, "': shape [] has no batch dimension"));
  }
  if (tensor.shape[0] > kMaxOipBatch) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", tensor.name, "': batch of ", tensor.shape[0],
                     ", at most ", kMaxOipBatch, " per request"));
  }
  return tensor.shape[0];
}

// Splits every input along its first dimension into per-sample tensors in
// `specs` order (matched by name).
absl::StatusOr<std::vector<Sample>> SplitByName(
    std::vector<Tensor> inputs, const std::vector<TensorSpec>& specs) {
  std::vector<std::vector<Tensor>> per_input;
  int64_t n = -1;
  for (const TensorSpec& spec : specs) {
    auto found =
        std::find_if(inputs.begin(), inputs.end(),
                     [&](const Tensor& t) { return t.name == spec.name; });
    if (found == inputs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", spec.name, "': missing"));
    }
    ASSIGN_OR_RETURN(int64_t batch, BatchOf(*found));
    if (n >= 0 && batch != n) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name, "': batch of ", batch, ", other inputs ", n));
    }
    n = batch;
    ASSIGN_OR_RETURN(std::vector<Tensor> samples, Unstack(*found, batch));
    per_input.push_back(std::move(samples));
  }
  if (inputs.size() != specs.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        inputs.size(), " inputs sent, the model takes ", specs.size()));
  }
  std::vector<Sample> samples(n);
  for (auto& tensors : per_input) {
    for (int64_t i = 0; i < n; ++i) samples[i].push_back(std::move(tensors[i]));
  }
  return samples;
}

absl::StatusOr<std::vector<Sample>> ImageSamples(const ServableModel& model,
                                                 std::vector<Tensor> inputs) {
  if (inputs.size() == 1 && inputs[0].dtype == DataType::kBytes) {
    ASSIGN_OR_RETURN(std::vector<std::string> images, BytesElements(inputs[0]));
    std::vector<Sample> samples;
    for (size_t i = 0; i < images.size(); ++i) {
      absl::StatusOr<Sample> sample = ImageSample(model, images[i]);
      if (!sample.ok()) {
        return AnnotateStatus(
            sample.status(),
            absl::StrCat("input '", inputs[0].name, "'[", i, "]"));
      }
      samples.push_back(*std::move(sample));
    }
    return samples;
  }
  return SplitByName(std::move(inputs), model.inputs());
}

// One row per batch index: every tensor a feature, [N] or [N, 1].
absl::StatusOr<std::vector<Sample>> FeatureSamples(const ServableModel& model,
                                                   std::vector<Tensor> inputs) {
  if (inputs.size() == 1 && inputs[0].name == model.inputs()[0].name &&
      inputs[0].dtype == DataType::kFp32) {
    return SplitByName(std::move(inputs), model.inputs());
  }
  int64_t n = -1;
  std::vector<std::vector<std::string>> strings(inputs.size());
  for (size_t f = 0; f < inputs.size(); ++f) {
    const Tensor& t = inputs[f];
    ASSIGN_OR_RETURN(int64_t batch, BatchOf(t));
    if (t.ElementCount() != batch || (n >= 0 && batch != n)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", t.name, "': shape ", ShapeText(t.shape),
          ", a feature is [N] or [N, 1] with the same N as the others"));
    }
    n = batch;
    if (t.dtype == DataType::kBytes) {
      ASSIGN_OR_RETURN(strings[f], BytesElements(t));
    }
  }
  std::vector<Sample> samples;
  for (int64_t r = 0; r < n; ++r) {
    preprocess::FeatureRow row;
    for (size_t f = 0; f < inputs.size(); ++f) {
      const Tensor& t = inputs[f];
      switch (t.dtype) {
        case DataType::kBytes:
          row.emplace_back(t.name, strings[f][r]);
          break;
        case DataType::kFp32:
          row.emplace_back(t.name, double{t.values<float>()[r]});
          break;
        case DataType::kFp64:
          row.emplace_back(t.name, t.values<double>()[r]);
          break;
        case DataType::kInt32:
          row.emplace_back(t.name, double(t.values<int32_t>()[r]));
          break;
        case DataType::kInt64:
          row.emplace_back(t.name, double(t.values<int64_t>()[r]));
          break;
        default:
          return absl::InvalidArgumentError(absl::StrCat(
              "input '", t.name, "': a feature is a number or BYTES, not ",
              DataTypeName(t.dtype)));
      }
    }
    absl::StatusOr<Sample> sample = FeatureSample(model, row);
    if (!sample.ok()) {
      return AnnotateStatus(sample.status(), absl::StrCat("row ", r));
    }
    samples.push_back(*std::move(sample));
  }
  return samples;
}

// The per-sample outputs stacked back, batch first.
absl::StatusOr<std::vector<Tensor>> StackOutputs(const InferenceOutcome& o) {
  std::vector<Tensor> stacked;
  for (size_t j = 0; j < o.model->outputs().size(); ++j) {
    std::vector<const Tensor*> samples;
    for (const InferenceResult& result : o.results) {
      samples.push_back(&result.outputs[j]);
    }
    ASSIGN_OR_RETURN(Tensor t, Stack(samples));
    stacked.push_back(std::move(t));
  }
  return stacked;
}

std::vector<Tensor> ClassificationOutputs(const InferenceOutcome& o) {
  const auto& labels = o.model->config().classification().labels();
  const int64_t n = static_cast<int64_t>(o.results.size());
  Tensor probabilities =
      Tensor::Zeros("probabilities", DataType::kFp32, {n, labels.size()});
  Tensor defect_probability =
      Tensor::Zeros("defect_probability", DataType::kFp32, {n});
  std::vector<std::string> verdicts, classes;
  for (int64_t i = 0; i < n; ++i) {
    const Classification c = Classify(*o.model, o.results[i]);
    for (int k = 0; k < labels.size(); ++k) {
      probabilities.mutable_values<float>()[i * labels.size() + k] =
          c.probabilities[k];
    }
    defect_probability.mutable_values<float>()[i] =
        c.decision.defect_probability;
    verdicts.push_back(c.decision.defect ? "defect" : "ok");
    classes.push_back(c.decision.defect ? labels.Get(c.decision.label) : "");
  }
  return {std::move(probabilities), Tensor::FromStrings("verdict", verdicts),
          Tensor::FromStrings("defect_class", classes),
          std::move(defect_probability)};
}

// A tabular regression model's one output, named for what it holds, as the
// domain API's Prediction.efficiency.
std::vector<Tensor> RegressionOutputs(const InferenceOutcome& o) {
  const int64_t n = static_cast<int64_t>(o.results.size());
  Tensor efficiency = Tensor::Zeros("efficiency", DataType::kFp32, {n});
  for (int64_t i = 0; i < n; ++i) {
    efficiency.mutable_values<float>()[i] = RegressionValue(o.results[i]);
  }
  return {std::move(efficiency)};
}

absl::StatusOr<std::vector<Tensor>> OutputsOf(const InferenceOutcome& o) {
  switch (o.model->task()) {
    case lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION:
      return ClassificationOutputs(o);
    case lineserve::v1::TASK_KIND_TABULAR_REGRESSION:
      return RegressionOutputs(o);
    default:
      return StackOutputs(o);
  }
}

// Keeps the requested outputs, in the order asked; all when none is.
absl::StatusOr<std::vector<Tensor>> Requested(std::vector<Tensor> outputs,
                                              const ModelInferRequest& r) {
  if (r.outputs_size() == 0) return outputs;
  std::vector<Tensor> kept;
  for (const auto& wanted : r.outputs()) {
    auto found =
        std::find_if(outputs.begin(), outputs.end(),
                     [&](const Tensor& t) { return t.name == wanted.name(); });
    if (found == outputs.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "outputs: the model has no output '", wanted.name(), "'"));
    }
    kept.push_back(*found);
  }
  return kept;
}

void AddMetadata(const std::string& name, DataType dtype,
                 std::vector<int64_t> shape,
                 google::protobuf::RepeatedPtrField<
                     inference::ModelMetadataResponse::TensorMetadata>* out) {
  auto* meta = out->Add();
  meta->set_name(name);
  meta->set_datatype(std::string(DataTypeName(dtype)));
  for (int64_t dim : shape) meta->add_shape(dim);
}

std::vector<int64_t> Batched(const std::vector<int64_t>& dims) {
  std::vector<int64_t> shape = {-1};
  shape.insert(shape.end(), dims.begin(), dims.end());
  return shape;
}

}  // namespace

grpc::ServerUnaryReactor* OipService::ServerLive(
    grpc::CallbackServerContext* context, const inference::ServerLiveRequest*,
    inference::ServerLiveResponse* response) {
  response->set_live(true);
  return FinishNow(context, absl::OkStatus());
}

inference::ServerMetadataResponse OipService::ServerInfo() const {
  inference::ServerMetadataResponse info;
  info.set_name("lineserve");
  // The project version, from CMake.
  info.set_version(LINESERVE_VERSION);
  return info;
}

bool OipService::ServerIsReady() const {
  return EveryModelReady(repository_->List());
}

absl::StatusOr<bool> OipService::ModelIsReady(
    const std::string& name, const std::string& version_text) const {
  ASSIGN_OR_RETURN(int64_t version, ParseVersion(version_text));
  auto model = repository_->Get(name, version);
  if (!model.ok() && model.status().code() == absl::StatusCode::kNotFound) {
    return model.status();
  }
  return model.ok();
}

grpc::ServerUnaryReactor* OipService::ServerReady(
    grpc::CallbackServerContext* context, const inference::ServerReadyRequest*,
    inference::ServerReadyResponse* response) {
  response->set_ready(ServerIsReady());
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* OipService::ModelReady(
    grpc::CallbackServerContext* context,
    const inference::ModelReadyRequest* request,
    inference::ModelReadyResponse* response) {
  absl::StatusOr<bool> ready =
      ModelIsReady(request->name(), request->version());
  if (ready.ok()) response->set_ready(*ready);
  return FinishNow(context, ready.status());
}

grpc::ServerUnaryReactor* OipService::ServerMetadata(
    grpc::CallbackServerContext* context,
    const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  *response = ServerInfo();
  return FinishNow(context, absl::OkStatus());
}

absl::StatusOr<inference::ModelMetadataResponse> OipService::Metadata(
    const std::string& name, const std::string& version) const {
  ASSIGN_OR_RETURN(int64_t version_number, ParseVersion(version));
  ASSIGN_OR_RETURN(std::shared_ptr<const ServableModel> found,
                   repository_->Get(name, version_number));
  inference::ModelMetadataResponse metadata;
  inference::ModelMetadataResponse* response = &metadata;
  const ServableModel& model = *found;
  response->set_name(model.name());
  response->add_versions(std::to_string(model.version()));
  response->set_platform(model.config().platform());
  switch (model.task()) {
    case lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION: {
      AddMetadata("image", DataType::kBytes, {-1}, response->mutable_inputs());
      const int64_t k = model.config().classification().labels_size();
      AddMetadata("probabilities", DataType::kFp32, {-1, k},
                  response->mutable_outputs());
      AddMetadata("verdict", DataType::kBytes, {-1},
                  response->mutable_outputs());
      AddMetadata("defect_class", DataType::kBytes, {-1},
                  response->mutable_outputs());
      AddMetadata("defect_probability", DataType::kFp32, {-1},
                  response->mutable_outputs());
      break;
    }
    case lineserve::v1::TASK_KIND_TABULAR_REGRESSION:
      for (const auto& feature : model.config().tabular().features()) {
        AddMetadata(feature.name(),
                    feature.kind() == lineserve::v1::Feature::KIND_CATEGORICAL
                        ? DataType::kBytes
                        : DataType::kFp32,
                    {-1}, response->mutable_inputs());
      }
      AddMetadata("efficiency", DataType::kFp32, {-1},
                  response->mutable_outputs());
      break;
    default:
      for (const TensorSpec& spec : model.inputs()) {
        AddMetadata(spec.name, spec.dtype, Batched(spec.dims),
                    response->mutable_inputs());
      }
      for (const TensorSpec& spec : model.outputs()) {
        AddMetadata(spec.name, spec.dtype, Batched(spec.dims),
                    response->mutable_outputs());
      }
  }
  return metadata;
}

grpc::ServerUnaryReactor* OipService::ModelMetadata(
    grpc::CallbackServerContext* context,
    const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  absl::StatusOr<inference::ModelMetadataResponse> metadata =
      Metadata(request->name(), request->version());
  if (metadata.ok()) *response = *std::move(metadata);
  return FinishNow(context, metadata.status());
}

void OipService::Infer(const ModelInferRequest* request,
                       ModelInferResponse* response, absl::Duration timeout,
                       std::shared_ptr<Cancellation> cancellation,
                       std::function<void(absl::Status)> done, OutputForm form,
                       RequestSource source) const {
  InferenceRequest inference;
  inference.method = "ModelInfer";
  inference.model = request->model_name();
  absl::StatusOr<int64_t> version = ParseVersion(request->model_version());
  if (version.ok()) {
    inference.version = *version;
  } else {
    inference.malformed = version.status();
  }
  inference.timeout = timeout;
  inference.cancellation = std::move(cancellation);
  inference.source = std::move(source);
  if (!request->id().empty()) inference.source.request_id = request->id();
  // The id is echoed in the answer: bounded like the domain API's ids.
  if (inference.malformed.ok()) {
    inference.malformed = CheckClientId("id", request->id());
  }
  auto inputs = InputTensors(*request);
  if (inference.malformed.ok() && !inputs.ok()) {
    inference.malformed = inputs.status();
  }
  pipeline_->Run(
      std::move(inference),
      [&inputs](
          const ServableModel& model) -> absl::StatusOr<std::vector<Sample>> {
        switch (model.task()) {
          case lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION:
            return ImageSamples(model, *std::move(inputs));
          case lineserve::v1::TASK_KIND_TABULAR_REGRESSION:
            return FeatureSamples(model, *std::move(inputs));
          default:
            return SplitByName(*std::move(inputs), model.inputs());
        }
      },
      [request, response, form,
       done = std::move(done)](InferenceOutcome outcome) {
        absl::Status status = outcome.status;
        if (status.ok()) {
          status = [&]() -> absl::Status {
            ASSIGN_OR_RETURN(std::vector<Tensor> outputs, OutputsOf(outcome));
            ASSIGN_OR_RETURN(outputs, Requested(std::move(outputs), *request));
            response->set_model_name(outcome.model->name());
            response->set_model_version(
                std::to_string(outcome.model->version()));
            response->set_id(request->id());
            const bool raw = form == OutputForm::kLikeInputs &&
                             request->raw_input_contents_size() > 0;
            for (const Tensor& t : outputs) AddOutputTensor(t, raw, response);
            return absl::OkStatus();
          }();
        }
        done(std::move(status));
      });
}

grpc::ServerUnaryReactor* OipService::ModelInfer(
    grpc::CallbackServerContext* context, const ModelInferRequest* request,
    ModelInferResponse* response) {
  auto* reactor = new CancellableUnaryReactor();
  Infer(
      request, response, TimeLeft(*context), reactor->cancellation(),
      [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); },
      OutputForm::kLikeInputs, GrpcRequestSource(*context, request->id()));
  return reactor;
}

}  // namespace lineserve
