#include "server/backends/torchscript_backend.h"

#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <cstring>
#include <exception>
#include <filesystem>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace lineserve {

using lineserve::v1::ModelConfig;
using lineserve::v1::TensorSpec;

struct TorchScriptBackend::State {
  std::string path;
  torch::jit::Module module;
  torch::Device device = torch::Device(torch::kCPU);
  std::string device_name;
  // Per-sample dims (batch excluded) and their products.
  std::vector<int64_t> input_dims;
  std::vector<int64_t> output_dims;
  size_t input_size = 0;
  size_t output_size = 0;
  int max_batch_size = 1;
  std::string input_name;
  std::string output_name;
};

namespace {

std::string ShapeText(c10::IntArrayRef shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

std::vector<int64_t> WithBatch(int batch_size,
                               const std::vector<int64_t>& dims) {
  std::vector<int64_t> shape;
  shape.reserve(dims.size() + 1);
  shape.push_back(batch_size);
  shape.insert(shape.end(), dims.begin(), dims.end());
  return shape;
}

// c10::Error's what() appends a C++ backtrace that means nothing to an
// operator; the message without it is what names the problem.
std::string ErrorText(const c10::Error& e) {
  return e.what_without_backtrace();
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

// The one tensor spec the backend serves, as plain dims.
absl::Status ReadSpec(
    const google::protobuf::RepeatedPtrField<TensorSpec>& specs,
    absl::string_view field, std::string* name, std::vector<int64_t>* dims,
    size_t* size) {
  if (specs.size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the TorchScript backend serves exactly one ", field,
                     " tensor, the "
                     "config has ",
                     specs.size()));
  }
  const TensorSpec& spec = specs[0];
  if (spec.data_type() != lineserve::v1::TYPE_FP32) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, "[0] \"", spec.name(),
                     "\": the TorchScript backend serves TYPE_FP32 only"));
  }
  if (spec.dims().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, "[0] \"", spec.name(), "\" has no dims"));
  }
  size_t product = 1;
  for (int64_t dim : spec.dims()) {
    if (dim < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, "[0] \"", spec.name(), "\" dims [",
                       absl::StrJoin(spec.dims(), ", "),
                       "]: variable (-1) or empty dims are not supported"));
    }
    product *= static_cast<size_t>(dim);
  }
  *name = spec.name();
  dims->assign(spec.dims().begin(), spec.dims().end());
  *size = product;
  return absl::OkStatus();
}

}  // namespace

// Catches everything LibTorch throws: Run() must never throw.
absl::Status TorchScriptBackend::Forward(const float* input, int batch_size,
                                         float* output) noexcept {
  State& state = *state_;
  const std::vector<int64_t> input_shape =
      WithBatch(batch_size, state.input_dims);
  try {
    // No autograd bookkeeping: serving never needs gradients, and
    // InferenceMode is cheaper than NoGradGuard.
    c10::InferenceMode inference_mode;
    // from_blob does not copy; the module must not write to its input (a
    // TorchScript model with in-place ops on `x` would be a model bug).
    torch::Tensor x = torch::from_blob(const_cast<float*>(input), input_shape,
                                       torch::TensorOptions(torch::kFloat));
    if (!state.device.is_cpu()) x = x.to(state.device);
    torch::IValue result = state.module.forward({x});
    if (!result.isTensor()) {
      return absl::InternalError(absl::StrCat(
          "forward() returned a ", result.tagKind(), ", expected one tensor"));
    }
    torch::Tensor y = result.toTensor();
    const std::vector<int64_t> expected =
        WithBatch(batch_size, state.output_dims);
    if (y.sizes() != c10::IntArrayRef(expected)) {
      return absl::InternalError(absl::StrCat(
          "output has shape ", ShapeText(y.sizes()), " but config output[0] \"",
          state.output_name, "\" dims ", ShapeText(state.output_dims),
          " expect ", ShapeText(expected)));
    }
    if (!y.is_floating_point()) {
      return absl::InternalError(
          absl::StrCat("output has dtype ", c10::toString(y.scalar_type()),
                       ", expected a floating-point tensor"));
    }
    y = y.to(torch::kCPU, torch::kFloat).contiguous();
    std::memcpy(
        output, y.data_ptr<float>(),
        static_cast<size_t>(batch_size) * state.output_size * sizeof(float));
    return absl::OkStatus();
  } catch (const c10::Error& e) {
    return absl::InternalError(absl::StrCat("forward of input ",
                                            ShapeText(input_shape),
                                            " failed: ", ErrorText(e)));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(
        "forward of input ", ShapeText(input_shape), " failed: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(
        "forward of input ", ShapeText(input_shape), " failed: unknown error"));
  }
}

TorchScriptBackend::TorchScriptBackend(std::unique_ptr<State> state)
    : state_(std::move(state)) {}

TorchScriptBackend::~TorchScriptBackend() = default;

absl::StatusOr<std::unique_ptr<TorchScriptBackend>> TorchScriptBackend::Create(
    const std::string& model_path, const ModelConfig& config,
    const std::string& device_spec) {
  auto state = std::make_unique<State>();
  state->path = model_path;
  const auto fail = [&](const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat(model_path, ": ", status.message()));
  };
  absl::Status spec_status =
      ReadSpec(config.input(), "input", &state->input_name, &state->input_dims,
               &state->input_size);
  if (spec_status.ok()) {
    spec_status = ReadSpec(config.output(), "output", &state->output_name,
                           &state->output_dims, &state->output_size);
  }
  if (!spec_status.ok()) return fail(spec_status);
  state->max_batch_size = std::max(1, config.max_batch_size());

  absl::StatusOr<torch::Device> device;
  try {
    device = ResolveDevice(device_spec);
  } catch (const std::exception& e) {
    // Probing CUDA can throw on a broken driver installation.
    device = absl::FailedPreconditionError(
        absl::StrCat("cannot use device \"", device_spec, "\": ", e.what()));
  }
  if (!device.ok()) return fail(device.status());
  state->device = *device;
  state->device_name = state->device.str();

  std::error_code ec;
  if (!std::filesystem::exists(model_path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model file ", model_path, " does not exist"));
  }
  if (!std::filesystem::is_regular_file(model_path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file ", model_path, " is not a regular file"));
  }
  try {
    state->module = torch::jit::load(model_path, state->device);
    state->module.eval();
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TorchScript model ", model_path, " onto ",
                     state->device_name, ": ", ErrorText(e)));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load TorchScript model ", model_path, " onto ",
                     state->device_name, ": ", e.what()));
  }

  std::unique_ptr<TorchScriptBackend> backend(
      new TorchScriptBackend(std::move(state)));
  const State& loaded = *backend->state_;
  // The first forward passes also pay for TorchScript's graph optimisation
  // and allocator warm-up, which would otherwise land on the first clients.
  std::vector<int> batch_sizes(config.warmup().batch_sizes().begin(),
                               config.warmup().batch_sizes().end());
  if (batch_sizes.empty()) batch_sizes.push_back(1);
  for (int batch_size : batch_sizes) {
    if (batch_size < 1 || batch_size > loaded.max_batch_size) {
      return fail(absl::InvalidArgumentError(
          absl::StrCat("warm-up batch size ", batch_size, " is outside [1, ",
                       loaded.max_batch_size, "]")));
    }
    const std::vector<float> input(batch_size * loaded.input_size, 0.0f);
    std::vector<float> output(batch_size * loaded.output_size);
    // TorchScript's profiling executor records shapes on the first runs
    // and optimises the graph after them: run each size a few times.
    constexpr int kWarmUpRuns = 3;
    absl::Status status;
    for (int run = 0; run < kWarmUpRuns && status.ok(); ++run) {
      status = backend->Forward(input.data(), batch_size, output.data());
    }
    if (!status.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          model_path, ": does not match its config (input[0] \"",
          loaded.input_name, "\" dims ", ShapeText(loaded.input_dims),
          ", output[0] \"", loaded.output_name, "\" dims ",
          ShapeText(loaded.output_dims), "): warm-up at batch size ",
          batch_size, ": ", status.message()));
    }
  }
  return backend;
}

size_t TorchScriptBackend::input_size() const { return state_->input_size; }
size_t TorchScriptBackend::output_size() const { return state_->output_size; }
std::string TorchScriptBackend::device() const { return state_->device_name; }
int TorchScriptBackend::max_batch_size() const {
  return state_->max_batch_size;
}

absl::Status TorchScriptBackend::Run(const float* input, int batch_size,
                                     float* output) {
  if (input == nullptr || output == nullptr) {
    return absl::InvalidArgumentError("Run() needs input and output buffers");
  }
  if (batch_size < 1 || batch_size > state_->max_batch_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size ", batch_size, " is outside [1, ",
                     state_->max_batch_size, "]"));
  }
  absl::Status status = Forward(input, batch_size, output);
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(state_->path, ": ", status.message()));
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
