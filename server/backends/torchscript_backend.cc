#include "server/backends/torchscript_backend.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/script.h>
#include <torch/version.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace lineserve {

struct TorchScriptBackend::State {
  std::string path;
  torch::jit::Module module;
  torch::Device device = torch::Device(torch::kCPU);
  std::string device_name;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  // forward()'s i-th argument is inputs[argument_order[i]].
  std::vector<size_t> argument_order;
  int max_batch_size = 1;
};

namespace {

std::string TorchShapeText(c10::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// c10::Error's what() appends a C++ backtrace that means nothing to an
// operator; the message without it is what names the problem.
std::string ErrorText(const c10::Error& e) {
  return e.what_without_backtrace();
}

std::optional<torch::ScalarType> TorchType(DataType dtype) {
  switch (dtype) {
    case DataType::kBool:
      return torch::kBool;
    case DataType::kUint8:
      return torch::kByte;
    case DataType::kInt32:
      return torch::kInt;
    case DataType::kInt64:
      return torch::kLong;
    case DataType::kFp16:
      return torch::kHalf;
    case DataType::kFp32:
      return torch::kFloat;
    case DataType::kFp64:
      return torch::kDouble;
    default:
      return std::nullopt;
  }
}

absl::StatusOr<torch::Device> ResolveDevice(const std::string& spec) {
  if (spec == "cpu") return torch::Device(torch::kCPU);
  const bool cuda_available = torch::cuda::is_available();
  if (spec == "auto") {
    return cuda_available ? torch::Device(torch::kCUDA, 0)
                          : torch::Device(torch::kCPU);
  }
  int index = 0;
  absl::string_view rest = spec;
  if (rest != "cuda" &&
      !(absl::ConsumePrefix(&rest, "cuda:") && absl::SimpleAtoi(rest, &index) &&
        index >= 0 && index < 128)) {
    return absl::InvalidArgumentError(
        absl::StrCat("device \"", spec,
                     "\" is not one of \"auto\", \"cpu\", \"cuda\", "
                     "\"cuda:N\""));
  }
  if (!cuda_available) {
    return absl::FailedPreconditionError(absl::StrCat(
        "device \"", spec,
        "\" was requested but no CUDA device is available (CPU-only "
        "LibTorch, no GPU or no driver); use \"cpu\" or \"auto\""));
  }
  const size_t count = torch::cuda::device_count();
  if (static_cast<size_t>(index) >= count) {
    return absl::FailedPreconditionError(
        absl::StrCat("device \"", spec, "\" was requested but only ", count,
                     " CUDA device(s) are visible"));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

// Every declared tensor must have a LibTorch type.
absl::Status CheckServable(const std::vector<TensorSpec>& specs,
                           absl::string_view field) {
  if (specs.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the config declares no ", field, " tensor"));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!TorchType(specs[i].dtype).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, "[", i, "] \"", specs[i].name, "\" is ",
          DataTypeName(specs[i].dtype),
          ": the TorchScript backend takes numeric and BOOL tensors only"));
    }
  }
  return absl::OkStatus();
}

// Which config input feeds each forward() argument: by name when every
// input names an argument, else in config order.
absl::StatusOr<std::vector<size_t>> ArgumentOrder(
    torch::jit::Module& module, const std::vector<TensorSpec>& inputs) {
  const c10::FunctionSchema& schema =
      module.get_method("forward").function().getSchema();
  std::vector<std::string> names;
  for (const c10::Argument& argument : schema.arguments()) {
    if (argument.name() != "self") names.push_back(argument.name());
  }
  if (names.size() != inputs.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("forward() takes ", names.size(), " argument(s) (",
                     absl::StrJoin(names, ", "), ") but the config declares ",
                     inputs.size(), " input(s)"));
  }
  std::vector<size_t> order(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    auto named = std::find_if(
        inputs.begin(), inputs.end(),
        [&](const TensorSpec& spec) { return spec.name == names[i]; });
    if (named == inputs.end()) {
      // Positional: the names do not line up, the order does.
      for (size_t j = 0; j < order.size(); ++j) order[j] = j;
      return order;
    }
    order[i] = static_cast<size_t>(named - inputs.begin());
  }
  return order;
}

// The model's answer as one tensor per declared output, in config order.
absl::StatusOr<std::vector<torch::Tensor>> OutputTensors(
    const torch::IValue& result, const std::vector<TensorSpec>& specs) {
  std::vector<torch::Tensor> tensors;
  if (result.isTensor()) {
    if (specs.size() != 1) {
      return absl::InternalError(
          absl::StrCat("forward() returned one tensor, the config declares ",
                       specs.size(), " outputs"));
    }
    tensors.push_back(result.toTensor());
  } else if (result.isTuple() || result.isTensorList()) {
    std::vector<torch::IValue> elements;
    if (result.isTuple()) {
      elements = result.toTupleRef().elements().vec();
    } else {
      for (const torch::Tensor& t : result.toTensorVector()) {
        elements.emplace_back(t);
      }
    }
    if (elements.size() != specs.size()) {
      return absl::InternalError(absl::StrCat(
          "forward() returned ", elements.size(),
          " values, the config declares ", specs.size(), " outputs"));
    }
    for (size_t i = 0; i < elements.size(); ++i) {
      if (!elements[i].isTensor()) {
        return absl::InternalError(
            absl::StrCat("forward() value ", i, " for output \"", specs[i].name,
                         "\" is a ", elements[i].tagKind(), ", not a tensor"));
      }
      tensors.push_back(elements[i].toTensor());
    }
  } else if (result.isGenericDict()) {
    const c10::Dict<torch::IValue, torch::IValue> dict = result.toGenericDict();
    for (const TensorSpec& spec : specs) {
      auto found = dict.find(torch::IValue(spec.name));
      if (found == dict.end() || !found->value().isTensor()) {
        return absl::InternalError(absl::StrCat(
            "forward() returned a dict without a tensor \"", spec.name, "\""));
      }
      tensors.push_back(found->value().toTensor());
    }
  } else {
    return absl::InternalError(
        absl::StrCat("forward() returned a ", result.tagKind(),
                     ", expected a tensor, a tuple or a dict of tensors"));
  }
  return tensors;
}

// One output on the CPU, in the declared type, as a Tensor.
absl::StatusOr<Tensor> ToTensor(torch::Tensor y, const TensorSpec& spec,
                                int batch_size) {
  const c10::IntArrayRef sizes = y.sizes();
  const std::vector<int64_t> per_sample(
      sizes.begin() + std::min<size_t>(1, sizes.size()), sizes.end());
  if (sizes.empty() || sizes[0] != batch_size ||
      !MatchesDims(spec.dims, per_sample)) {
    std::vector<int64_t> expected = {batch_size};
    expected.insert(expected.end(), spec.dims.begin(), spec.dims.end());
    return absl::InternalError(
        absl::StrCat("output \"", spec.name, "\" has shape ",
                     TorchShapeText(sizes), " but the config's dims ",
                     ShapeText(spec.dims), " expect ", ShapeText(expected)));
  }
  const torch::ScalarType want = *TorchType(spec.dtype);
  if (y.scalar_type() != want) {
    const bool both_float = y.is_floating_point() && c10::isFloatingType(want);
    const bool both_integral =
        !y.is_floating_point() && !c10::isFloatingType(want) &&
        want != torch::kBool && y.scalar_type() != torch::kBool;
    if (!both_float && !both_integral) {
      return absl::InternalError(
          absl::StrCat("output \"", spec.name, "\" has dtype ",
                       c10::toString(y.scalar_type()), ", the config declares ",
                       DataTypeName(spec.dtype)));
    }
  }
  y = y.to(torch::kCPU, want).contiguous();
  Tensor out;
  out.name = spec.name;
  out.dtype = spec.dtype;
  out.shape.assign(sizes.begin(), sizes.end());
  out.data.resize(y.numel() * y.element_size());
  if (!out.data.empty()) {
    std::memcpy(out.data.data(), y.data_ptr(), out.data.size());
  }
  return out;
}

}  // namespace

// Catches everything LibTorch throws: Run() must never throw.
absl::StatusOr<std::vector<Tensor>> TorchScriptBackend::Forward(
    const std::vector<Tensor>& inputs, int batch_size) noexcept {
  State& state = *state_;
  const auto failed = [&](absl::string_view why) {
    std::vector<std::string> shapes;
    for (const Tensor& input : inputs) {
      shapes.push_back(absl::StrCat(input.name, " ", ShapeText(input.shape)));
    }
    return absl::InternalError(absl::StrCat(
        "forward of ", absl::StrJoin(shapes, ", "), " failed: ", why));
  };
  try {
    // No autograd bookkeeping: serving never needs gradients, and
    // InferenceMode is cheaper than NoGradGuard.
    c10::InferenceMode inference_mode;
    std::vector<torch::IValue> arguments;
    arguments.reserve(inputs.size());
    for (size_t index : state.argument_order) {
      const Tensor& input = inputs[index];
      // from_blob does not copy; the module must not write to its inputs (a
      // TorchScript model with in-place ops on them would be a model bug).
      torch::Tensor x =
          torch::from_blob(const_cast<uint8_t*>(input.data.data()), input.shape,
                           torch::TensorOptions(*TorchType(input.dtype)));
      if (!state.device.is_cpu()) x = x.to(state.device);
      arguments.emplace_back(std::move(x));
    }
    torch::IValue result = state.module.forward(std::move(arguments));
    absl::StatusOr<std::vector<torch::Tensor>> tensors =
        OutputTensors(result, state.outputs);
    if (!tensors.ok()) return tensors.status();
    std::vector<Tensor> outputs;
    outputs.reserve(tensors->size());
    for (size_t i = 0; i < tensors->size(); ++i) {
      absl::StatusOr<Tensor> output =
          ToTensor((*tensors)[i], state.outputs[i], batch_size);
      if (!output.ok()) return output.status();
      outputs.push_back(*std::move(output));
    }
    return outputs;
  } catch (const c10::Error& e) {
    return failed(ErrorText(e));
  } catch (const std::exception& e) {
    return failed(e.what());
  } catch (...) {
    return failed("unknown error");
  }
}

TorchScriptBackend::TorchScriptBackend(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

TorchScriptBackend::~TorchScriptBackend() = default;

namespace {

// Resolves the device and loads the module onto it, with the order in which
// config inputs feed forward()'s arguments. Messages name the file.
absl::Status LoadModule(const BackendLoadRequest& request,
                        TorchScriptBackend::State& state);

}  // namespace

absl::StatusOr<std::unique_ptr<TorchScriptBackend>> TorchScriptBackend::Create(
    const BackendLoadRequest& request) {
  const std::string& model_path = request.artifact_path;
  if (request.config == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_path, ": no config given"));
  }
  const lineserve::v1::ModelConfig& config = *request.config;
  auto state = std::make_unique<State>();
  state->path = model_path;
  state->inputs = SpecsFromConfig(config.input());
  state->outputs = SpecsFromConfig(config.output());
  state->max_batch_size = std::max(1, config.max_batch_size());
  absl::Status status = CheckServable(state->inputs, "input");
  if (status.ok()) status = CheckServable(state->outputs, "output");
  if (!status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat(model_path, ": ", status.message()));
  }
  if (absl::Status loaded = LoadModule(request, *state); !loaded.ok()) {
    return loaded;
  }
  std::unique_ptr<TorchScriptBackend> backend(
      new TorchScriptBackend(std::move(state)));
  std::vector<int> batch_sizes(config.warmup().batch_sizes().begin(),
                               config.warmup().batch_sizes().end());
  if (batch_sizes.empty()) batch_sizes.push_back(1);
  if (absl::Status warm = backend->WarmUp(batch_sizes); !warm.ok()) {
    return warm;
  }
  return backend;
}

namespace {

absl::Status LoadModule(const BackendLoadRequest& request,
                        TorchScriptBackend::State& state) {
  const std::string& model_path = request.artifact_path;
  const auto fail = [&](const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat(model_path, ": ", status.message()));
  };
  absl::StatusOr<torch::Device> device;
  try {
    device = ResolveDevice(request.device);
  } catch (const std::exception& e) {
    // Probing CUDA can throw on a broken driver installation.
    device = absl::FailedPreconditionError(
        absl::StrCat("cannot use device \"", request.device, "\": ", e.what()));
  }
  if (!device.ok()) return fail(device.status());
  state.device = *device;
  state.device_name = state.device.str();

  std::error_code ec;
  if (!std::filesystem::exists(model_path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model file ", model_path, " does not exist"));
  }
  if (!std::filesystem::is_regular_file(model_path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file ", model_path, " is not a regular file"));
  }
  const std::string cannot_load =
      absl::StrCat("cannot load TorchScript model ", model_path, " onto ",
                   state.device_name, ": ");
  try {
    state.module = torch::jit::load(model_path, state.device);
    state.module.eval();
    absl::StatusOr<std::vector<size_t>> order =
        ArgumentOrder(state.module, state.inputs);
    if (!order.ok()) return fail(order.status());
    state.argument_order = *std::move(order);
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(absl::StrCat(cannot_load, ErrorText(e)));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(cannot_load, e.what()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status TorchScriptBackend::WarmUp(const std::vector<int>& batch_sizes) {
  const State& state = *state_;
  // The first forward passes also pay for TorchScript's graph optimisation
  // and allocator warm-up, which would otherwise land on the first clients.
  for (int batch_size : batch_sizes) {
    if (batch_size < 1 || batch_size > state.max_batch_size) {
      return absl::InvalidArgumentError(
          absl::StrCat(state.path, ": warm-up batch size ", batch_size,
                       " is outside [1, ", state.max_batch_size, "]"));
    }
    const std::vector<Tensor> inputs = ZeroInputs(state.inputs, batch_size);
    // TorchScript's profiling executor records shapes on the first runs
    // and optimises the graph after them: run each size a few times.
    constexpr int kWarmUpRuns = 3;
    absl::Status status;
    for (int run = 0; run < kWarmUpRuns && status.ok(); ++run) {
      status = Forward(inputs, batch_size).status();
    }
    if (!status.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(state.path,
                       ": does not match its config: warm-up at "
                       "batch size ",
                       batch_size, ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

const std::vector<TensorSpec>& TorchScriptBackend::inputs() const {
  return state_->inputs;
}
const std::vector<TensorSpec>& TorchScriptBackend::outputs() const {
  return state_->outputs;
}
std::string TorchScriptBackend::device() const { return state_->device_name; }
int TorchScriptBackend::max_batch_size() const {
  return state_->max_batch_size;
}

absl::StatusOr<std::vector<Tensor>> TorchScriptBackend::Run(
    const std::vector<Tensor>& inputs, int batch_size) {
  if (batch_size < 1 || batch_size > state_->max_batch_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size ", batch_size, " is outside [1, ",
                     state_->max_batch_size, "]"));
  }
  if (inputs.size() != state_->inputs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("Run() got ", inputs.size(),
                                                   " inputs, the model takes ",
                                                   state_->inputs.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec& spec = state_->inputs[i];
    std::vector<int64_t> dims = {batch_size};
    dims.insert(dims.end(), spec.dims.begin(), spec.dims.end());
    if (inputs[i].dtype != spec.dtype || !MatchesDims(dims, inputs[i].shape)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", i, " '", inputs[i].name, "' is ",
          DataTypeName(inputs[i].dtype), " ", ShapeText(inputs[i].shape),
          ", the model takes ", spec.name, " ", DataTypeName(spec.dtype), " ",
          ShapeText(dims)));
    }
    if (absl::Status valid = CheckTensor(inputs[i]); !valid.ok()) return valid;
  }
  absl::StatusOr<std::vector<Tensor>> outputs = Forward(inputs, batch_size);
  if (outputs.ok()) return outputs;
  return absl::Status(
      outputs.status().code(),
      absl::StrCat(state_->path, ": ", outputs.status().message()));
}

absl::Status RegisterTorchScriptBackend(BackendRegistry& registry) {
  return registry.Register(
      kTorchScriptPlatform, kTorchScriptArtifact,
      [](const BackendLoadRequest& request)
          -> absl::StatusOr<std::unique_ptr<Backend>> {
        auto backend = TorchScriptBackend::Create(request);
        if (!backend.ok()) return backend.status();
        return std::unique_ptr<Backend>(*std::move(backend));
      });
}

namespace {

int Cores() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace

std::string LibTorchBuildText() {
  std::string devices = "CPU (no CUDA device)";
  try {
    if (torch::cuda::is_available()) {
      devices = absl::StrCat(torch::cuda::device_count(), " CUDA device(s)");
    }
  } catch (const std::exception&) {
    // A broken driver installation: the CPU is what serving will use.
  }
  return absl::StrCat("LibTorch ", TORCH_VERSION, ", ", devices);
}

int IntraOpThreads(int requested) {
  return requested > 0 ? requested : Cores();
}

int DefaultInstanceCount(int intra_op_threads) {
  return std::max(1, Cores() / std::max(1, intra_op_threads));
}

absl::Status ConfigureLibTorchThreads(int intra_op_threads,
                                      int inter_op_threads) {
  if (intra_op_threads < 1 || inter_op_threads < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("LibTorch threads: intra-op must be >= 1 and inter-op "
                     ">= 0, got ",
                     intra_op_threads, " and ", inter_op_threads));
  }
  try {
    at::set_num_threads(intra_op_threads);
    if (inter_op_threads > 0) at::set_num_interop_threads(inter_op_threads);
  } catch (const c10::Error& e) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot size LibTorch's thread pools: ", ErrorText(e)));
  }
  return absl::OkStatus();
}

}  // namespace lineserve
