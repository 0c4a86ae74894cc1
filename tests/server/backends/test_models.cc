#include "tests/server/backends/test_models.h"

#include <stdlib.h>
#include <torch/script.h>

#include <cstdlib>
#include <exception>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "server/repository/model_config.h"

namespace lineserve::testing {

using lineserve::v1::ModelConfig;

absl::Status WriteLinearModel(const std::string& path,
                              const LinearModel& model) {
  const int64_t outputs = static_cast<int64_t>(model.bias.size());
  if (outputs < 1 ||
      static_cast<int64_t>(model.weights.size()) != model.inputs * outputs) {
    return absl::InvalidArgumentError("weights must be inputs x outputs");
  }
  try {
    torch::jit::Module module("LinearTestModel");
    module.register_parameter(
        "weight", torch::tensor(model.weights).reshape({model.inputs, outputs}),
        false);
    module.register_parameter("bias", torch::tensor(model.bias), false);
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

ModelConfig TabularConfig(const std::string& name, int num_features,
                          int max_batch_size) {
  ModelConfig config;
  config.set_name(name);
  config.set_task(lineserve::v1::TASK_KIND_TABULAR_REGRESSION);
  for (int i = 0; i < num_features; ++i) {
    auto* feature = config.mutable_tabular()->add_features();
    feature->set_name(absl::StrCat("f", i));
    feature->set_kind(lineserve::v1::Feature::KIND_NUMERIC);
  }
  auto* input = config.add_input();
  input->set_name("features");
  input->set_data_type(lineserve::v1::TYPE_FP32);
  input->add_dims(num_features);
  auto* output = config.add_output();
  output->set_name("prediction");
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(1);
  config.set_max_batch_size(max_batch_size);
  config.set_device("cpu");
  if (max_batch_size > 0) {
    config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(0);
  }
  ApplyModelConfigDefaults(config);
  return config;
}

ModelConfig ImageConfig(const std::string& name, int max_batch_size) {
  ModelConfig config;
  config.set_name(name);
  config.set_task(lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION);
  auto* image = config.mutable_image();
  image->set_width(2);
  image->set_height(2);
  image->set_color_mode(lineserve::v1::COLOR_MODE_GRAY);
  image->set_resize_mode(lineserve::v1::RESIZE_MODE_STRETCH);
  image->set_normalization(lineserve::v1::NORMALIZATION_MEAN_STD);
  image->add_mean(0.5f);
  image->add_std(0.5f);
  auto* input = config.add_input();
  input->set_name("image");
  input->set_data_type(lineserve::v1::TYPE_FP32);
  input->add_dims(1);
  input->add_dims(2);
  input->add_dims(2);
  auto* output = config.add_output();
  output->set_name("logits");
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(2);
  config.mutable_classification()->add_labels("ok");
  config.mutable_classification()->add_labels("scratch");
  config.mutable_classification()->set_ok_label("ok");
  config.set_max_batch_size(max_batch_size);
  config.set_device("cpu");
  if (max_batch_size > 0) {
    config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(0);
  }
  ApplyModelConfigDefaults(config);
  return config;
}

std::string MakeTempDir(const std::string& prefix) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::filesystem::path root =
      base != nullptr ? std::filesystem::path(base)
                      : std::filesystem::temp_directory_path();
  std::string dir = (root / absl::StrCat(prefix, "-XXXXXX")).string();
  if (::mkdtemp(dir.data()) == nullptr) std::abort();
  return dir;
}

}  // namespace lineserve::testing
