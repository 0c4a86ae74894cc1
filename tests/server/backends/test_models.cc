#include "tests/server/backends/test_models.h"

#include <torch/script.h>

#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/config/model_config.h"

namespace lineserve::testing {

namespace {

// Builds a module with `parameters`, defines `source` on it and saves it.
absl::Status SaveModule(
    const std::string& path,
    const std::vector<std::pair<std::string, torch::Tensor>>& parameters,
    const std::string& source) {
  try {
    torch::jit::Module module("TestModel");
    for (const auto& [name, value] : parameters) {
      module.register_parameter(name, value, false);
    }
    module.define(source);
    module.save(path);
  } catch (const c10::Error& e) {
    return absl::InternalError(e.what_without_backtrace());
  } catch (const std::exception& e) {
    // TorchScript compile errors are not c10::Errors.
    return absl::InternalError(e.what());
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteLinearModel(const std::string& path,
                              const LinearModel& model) {
  const int64_t outputs = static_cast<int64_t>(model.bias.size());
  if (outputs < 1 ||
      static_cast<int64_t>(model.weights.size()) != model.inputs * outputs) {
    return absl::InvalidArgumentError("weights must be inputs x outputs");
  }
  std::string source =
      "def forward(self, x):\n"
      "    y = torch.matmul(torch.flatten(x, 1), self.weight) + self.bias\n";
  if (model.fail_when_sum_above.has_value()) {
    // `raise` needs Python's resolver for the exception type; `assert`
    // compiles to a raise on its own.
    absl::StrAppend(&source, "    assert bool(torch.sum(x) <= ",
                    *model.fail_when_sum_above, "), \"input too large\"\n");
  }
  absl::StrAppend(&source, "    return y\n");
  return SaveModule(
      path,
      {{"weight",
        torch::tensor(model.weights).reshape({model.inputs, outputs})},
       {"bias", torch::tensor(model.bias)}},
      source);
}

absl::Status WriteScriptModel(const std::string& path,
                              const std::string& source) {
  return SaveModule(path, {}, source);
}

const char kTwoInputModelSource[] = R"(
def forward(self, count: Tensor, x: Tensor) -> Tuple[Tensor, Tensor]:
    scaled = x * count.float()
    total = count + torch.sum((x > 0).long(), 1, keepdim=True)
    return (scaled, total)
)";

lineserve::v1::ModelConfig TwoInputConfig(const std::string& name) {
  lineserve::v1::ModelConfig config;
  config.set_name(name);
  config.set_task(lineserve::v1::TASK_KIND_TENSOR);
  const auto add = [](lineserve::v1::TensorSpec* spec, const char* tensor,
                      lineserve::v1::DataType type, int64_t dim) {
    spec->set_name(tensor);
    spec->set_data_type(type);
    spec->add_dims(dim);
  };
  add(config.add_input(), "x", lineserve::v1::TYPE_FP32, 3);
  add(config.add_input(), "count", lineserve::v1::TYPE_INT64, 1);
  add(config.add_output(), "scaled", lineserve::v1::TYPE_FP32, 3);
  add(config.add_output(), "total", lineserve::v1::TYPE_INT64, 1);
  config.set_max_batch_size(4);
  config.set_device("cpu");
  ApplyModelConfigDefaults(config);
  return config;
}

}  // namespace lineserve::testing
