#include "tests/support/test_configs.h"

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "models/config/model_config.h"

namespace lineserve::testing {

using lineserve::v1::ModelConfig;

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
