#include "tests/support/fake_backend.h"

#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace lineserve::testing {

FakeBackend::FakeBackend(std::vector<TensorSpec> inputs,
                         std::vector<TensorSpec> outputs, Compute compute,
                         std::string device)
    : inputs_(std::move(inputs)),
      outputs_(std::move(outputs)),
      compute_(std::move(compute)),
      device_(std::move(device)) {}

FakeBackend::~FakeBackend() {
  absl::MutexLock lock(&mu_);
  if (destroyed_ != nullptr) destroyed_->Notify();
}

std::unique_ptr<FakeBackend> FakeBackend::Linear(const TensorSpec& input,
                                                 const TensorSpec& output,
                                                 const LinearModel& model,
                                                 std::string device) {
  const int64_t outputs = static_cast<int64_t>(model.bias.size());
  return std::make_unique<FakeBackend>(
      std::vector<TensorSpec>{input}, std::vector<TensorSpec>{output},
      [model, outputs, output](const std::vector<Tensor>& in, int batch_size)
          -> absl::StatusOr<std::vector<Tensor>> {
        const float* x = in[0].values<float>();
        Tensor y =
            Tensor::Zeros(output.name, DataType::kFp32, {batch_size, outputs});
        float* out = y.mutable_values<float>();
        float sum = 0;
        for (int64_t i = 0; i < batch_size * model.inputs; ++i) sum += x[i];
        if (model.fail_when_sum_above && sum > *model.fail_when_sum_above) {
          return absl::InternalError("input too large");
        }
        for (int b = 0; b < batch_size; ++b) {
          for (int64_t o = 0; o < outputs; ++o) {
            float value = model.bias[o];
            for (int64_t i = 0; i < model.inputs; ++i) {
              value += x[b * model.inputs + i] * model.weights[i * outputs + o];
            }
            out[b * outputs + o] = value;
          }
        }
        return std::vector<Tensor>{std::move(y)};
      },
      std::move(device));
}

absl::StatusOr<std::vector<Tensor>> FakeBackend::Run(
    const std::vector<Tensor>& inputs, int batch_size) {
  absl::Notification* release;
  {
    absl::MutexLock lock(&mu_);
    batch_sizes_.push_back(batch_size);
    runs_cv_.SignalAll();
    release = release_;
  }
  if (release != nullptr &&
      !release->WaitForNotificationWithTimeout(kTestTimeout)) {
    return absl::InternalError("test never released the backend");
  }
  {
    absl::MutexLock lock(&mu_);
    if (clock_ != nullptr) clock_->Advance(compute_time_);
    if (!fail_.ok()) return fail_;
  }
  return compute_(inputs, batch_size);
}

void FakeBackend::BlockUntil(absl::Notification* release) {
  absl::MutexLock lock(&mu_);
  release_ = release;
}

void FakeBackend::FailWith(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_ = std::move(status);
}

void FakeBackend::AdvanceDuringRun(FakeClock* clock,
                                   absl::Duration compute_time) {
  absl::MutexLock lock(&mu_);
  clock_ = clock;
  compute_time_ = compute_time;
}

void FakeBackend::NotifyOnDestruction(absl::Notification* destroyed) {
  absl::MutexLock lock(&mu_);
  destroyed_ = destroyed;
}

bool FakeBackend::WaitForRuns(int n) {
  // A CondVar rather than Mutex::Await(Condition): Abseil evaluates a
  // Condition on whichever thread unlocks, which TSan cannot follow in
  // Debian's uninstrumented Abseil.
  const absl::Time deadline = absl::Now() + kTestTimeout;
  absl::MutexLock lock(&mu_);
  while (static_cast<int>(batch_sizes_.size()) < n) {
    if (runs_cv_.WaitWithDeadline(&mu_, deadline)) {
      return static_cast<int>(batch_sizes_.size()) >= n;
    }
  }
  return true;
}

std::vector<int> FakeBackend::batch_sizes() const {
  absl::MutexLock lock(&mu_);
  return batch_sizes_;
}

absl::Status WriteFakeModel(const std::string& path, const LinearModel& model) {
  std::ofstream out(path);
  out << "linear " << model.inputs << "\n"
      << "weights " << absl::StrJoin(model.weights, " ") << "\n"
      << "bias " << absl::StrJoin(model.bias, " ") << "\n";
  if (model.fail_when_sum_above) {
    out << "fail_when_sum_above " << *model.fail_when_sum_above << "\n";
  }
  out.close();
  return out ? absl::OkStatus()
             : absl::InternalError(absl::StrCat("cannot write ", path));
}

namespace {

absl::StatusOr<LinearModel> ReadFakeModel(const std::string& path) {
  std::ifstream in(path);
  LinearModel model;
  std::string word;
  if (!(in >> word) || word != "linear" || !(in >> model.inputs)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot load fake model ", path, ": not a linear model"));
  }
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    fields >> word;
    float value;
    if (word == "weights") {
      while (fields >> value) model.weights.push_back(value);
    } else if (word == "bias") {
      while (fields >> value) model.bias.push_back(value);
    } else if (word == "fail_when_sum_above" && fields >> value) {
      model.fail_when_sum_above = value;
    }
  }
  if (model.bias.empty() ||
      static_cast<int64_t>(model.weights.size()) !=
          model.inputs * static_cast<int64_t>(model.bias.size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot load fake model ", path, ": weights are not inputs x outputs"));
  }
  return model;
}

}  // namespace

absl::Status RegisterFakeBackend(BackendRegistry& registry) {
  return registry.Register(
      kFakePlatform, kFakeArtifact,
      [](const BackendLoadRequest& request)
          -> absl::StatusOr<std::unique_ptr<Backend>> {
        if (request.device != "auto" && request.device != "cpu") {
          return absl::FailedPreconditionError(absl::StrCat(
              "device \"", request.device, "\" is not available here"));
        }
        absl::StatusOr<LinearModel> model =
            ReadFakeModel(request.artifact_path);
        if (!model.ok()) return model.status();
        const std::vector<TensorSpec> inputs =
            SpecsFromConfig(request.config->input());
        const std::vector<TensorSpec> outputs =
            SpecsFromConfig(request.config->output());
        return std::unique_ptr<Backend>(
            FakeBackend::Linear(inputs[0], outputs[0], *model));
      });
}

absl::StatusOr<InferenceResult> RunSample(const ServableModel& servable,
                                          std::vector<Tensor> inputs) {
  struct Answer {
    absl::Notification done;
    absl::Status status;
    InferenceResult result;
  };
  auto answer = std::make_shared<Answer>();
  auto task = std::make_unique<InferenceTask>();
  task->inputs = std::move(inputs);
  task->done = [answer](absl::Status status, InferenceResult result) {
    answer->status = std::move(status);
    answer->result = std::move(result);
    answer->done.Notify();
  };
  servable.Submit(std::move(task));
  if (!answer->done.WaitForNotificationWithTimeout(kTestTimeout)) {
    return absl::DeadlineExceededError("no answer within the test timeout");
  }
  if (!answer->status.ok()) return answer->status;
  return std::move(answer->result);
}

absl::StatusOr<std::vector<float>> InferFloats(
    const ServableModel& servable, const std::vector<float>& input) {
  const TensorSpec& spec = servable.inputs()[0];
  absl::StatusOr<InferenceResult> result =
      RunSample(servable, {Tensor::FromFloats(spec.name, spec.dims, input)});
  if (!result.ok()) return result.status();
  return Floats(result->outputs[0]);
}

std::vector<float> Floats(const Tensor& tensor) {
  const float* values = tensor.values<float>();
  return std::vector<float>(values, values + tensor.ElementCount());
}

}  // namespace lineserve::testing
