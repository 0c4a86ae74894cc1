#include "server/repository/servable_model.h"

#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/clock.h"
#include "server/repository/model_config.h"

namespace lineserve {
namespace {

using lineserve::v1::ModelConfig;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers each sample with (sum of its inputs + j) for output j, and tells
// when it is destroyed (which happens when the batcher is).
class FakeBackend : public Backend {
 public:
  FakeBackend(size_t input_size, size_t output_size,
              absl::Notification* destroyed = nullptr)
      : input_size_(input_size),
        output_size_(output_size),
        destroyed_(destroyed) {}
  ~FakeBackend() override {
    if (destroyed_ != nullptr) destroyed_->Notify();
  }

  size_t input_size() const override { return input_size_; }
  size_t output_size() const override { return output_size_; }
  std::string device() const override { return "fake:0"; }
  absl::Status Run(const float* input, int batch_size, float* output) override {
    for (int b = 0; b < batch_size; ++b) {
      const float sum = std::accumulate(input + b * input_size_,
                                        input + (b + 1) * input_size_, 0.0f);
      for (size_t j = 0; j < output_size_; ++j) {
        output[b * output_size_ + j] = sum + static_cast<float>(j);
      }
    }
    return absl::OkStatus();
  }

 private:
  const size_t input_size_;
  const size_t output_size_;
  absl::Notification* const destroyed_;
};

ModelConfig TabularConfig() {
  ModelConfig config;
  config.set_name("efficiency");
  config.set_task(lineserve::v1::TASK_KIND_TABULAR_REGRESSION);
  for (const char* name : {"staff", "target"}) {
    auto* feature = config.mutable_tabular()->add_features();
    feature->set_name(name);
    feature->set_kind(lineserve::v1::Feature::KIND_NUMERIC);
  }
  auto* input = config.add_input();
  input->set_name("features");
  input->set_data_type(lineserve::v1::TYPE_FP32);
  input->add_dims(2);
  auto* output = config.add_output();
  output->set_name("prediction");
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(1);
  config.set_max_batch_size(4);
  ApplyModelConfigDefaults(config);
  EXPECT_TRUE(ValidateModelConfig(config).ok());
  return config;
}

ModelConfig ImageConfig() {
  ModelConfig config;
  config.set_name("quality");
  config.set_task(lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION);
  auto* image = config.mutable_image();
  image->set_width(3);
  image->set_height(2);
  image->set_color_mode(lineserve::v1::COLOR_MODE_RGB);
  image->set_resize_mode(lineserve::v1::RESIZE_MODE_STRETCH);
  image->set_normalization(lineserve::v1::NORMALIZATION_PER_IMAGE);
  auto* input = config.add_input();
  input->set_name("image");
  input->set_data_type(lineserve::v1::TYPE_FP32);
  for (int dim : {3, 2, 3}) input->add_dims(dim);
  auto* output = config.add_output();
  output->set_name("logits");
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(2);
  config.mutable_classification()->add_labels("ok");
  config.mutable_classification()->add_labels("dent");
  config.mutable_classification()->set_ok_label("ok");
  config.set_max_batch_size(0);
  config.mutable_dynamic_batching()->set_default_timeout_microseconds(2500);
  ApplyModelConfigDefaults(config);
  EXPECT_TRUE(ValidateModelConfig(config).ok());
  return config;
}

struct Answer {
  absl::Status status;
  InferenceResult result;
};

// Submits one sample and returns the notification and answer to wait on.
std::unique_ptr<InferenceTask> MakeTask(std::vector<float> input,
                                        Answer* answer,
                                        absl::Notification* done) {
  auto task = std::make_unique<InferenceTask>();
  task->input = std::move(input);
  task->done = [answer, done](absl::Status status, InferenceResult result) {
    answer->status = std::move(status);
    answer->result = std::move(result);
    done->Notify();
  };
  return task;
}

TEST(ServableModelTest, TabularModelEncodesAndAnswersThroughTheBatcher) {
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 3;
  options.backend = std::make_shared<FakeBackend>(2, 1);
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();
  EXPECT_EQ((*servable)->name(), "efficiency");
  EXPECT_EQ((*servable)->version(), 3);
  EXPECT_EQ((*servable)->device(), "fake:0");
  EXPECT_EQ((*servable)->input_size(), 2u);
  EXPECT_EQ((*servable)->output_size(), 1u);
  EXPECT_EQ((*servable)->image_preprocessor(), nullptr);
  ASSERT_NE((*servable)->tabular_encoder(), nullptr);
  EXPECT_EQ((*servable)->default_timeout(), absl::InfiniteDuration());

  std::vector<float> input(2);
  ASSERT_TRUE((*servable)
                  ->tabular_encoder()
                  ->Encode({{"target", 4.0}, {"staff", 1.5}}, input.data())
                  .ok());
  Answer answer;
  absl::Notification done;
  (*servable)->Submit(MakeTask(input, &answer, &done));
  done.WaitForNotification();
  ASSERT_TRUE(answer.status.ok()) << answer.status;
  EXPECT_THAT(answer.result.output, ElementsAre(5.5f));
  EXPECT_EQ(answer.result.batch_size, 1);
}

TEST(ServableModelTest, ImageModelHasPreprocessorAndDefaultTimeout) {
  ServableModelOptions options;
  options.config = ImageConfig();
  options.version = 1;
  options.backend = std::make_shared<FakeBackend>(18, 2);
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();
  EXPECT_EQ((*servable)->tabular_encoder(), nullptr);
  ASSERT_NE((*servable)->image_preprocessor(), nullptr);
  EXPECT_EQ((*servable)->image_preprocessor()->output_size(), 18u);
  EXPECT_EQ((*servable)->default_timeout(), absl::Microseconds(2500));

  // max_batch_size 0: served one sample at a time.
  Answer answer;
  absl::Notification done;
  (*servable)->Submit(MakeTask(std::vector<float>(18, 1.0f), &answer, &done));
  done.WaitForNotification();
  ASSERT_TRUE(answer.status.ok()) << answer.status;
  EXPECT_THAT(answer.result.output, ElementsAre(18.0f, 19.0f));
}

TEST(ServableModelTest, BackendNotMatchingTheConfigIsRefused) {
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 1;
  options.backend = std::make_shared<FakeBackend>(3, 1);
  auto servable = ServableModel::Create(std::move(options));
  EXPECT_EQ(servable.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(servable.status().message(),
              HasSubstr("model 'efficiency' version 1"));
  EXPECT_THAT(servable.status().message(), HasSubstr("takes 3 floats"));
}

TEST(ServableModelTest, MissingBackendIsInvalidArgument) {
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 1;
  EXPECT_EQ(ServableModel::Create(std::move(options)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ServableModelTest, DestructionAnswersQueuedTasks) {
  // A fake clock and a long delay: nothing leaves the queue on its own.
  FakeClock clock;
  ServableModelOptions options;
  options.config = TabularConfig();
  options.config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
      3600 * 1000000LL);
  options.config.mutable_dynamic_batching()->clear_preferred_batch_size();
  options.version = 1;
  options.clock = &clock;
  options.backend = std::make_shared<FakeBackend>(2, 1);
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();

  Answer answers[3];
  absl::Notification done[3];
  for (int i = 0; i < 3; ++i) {
    (*servable)->Submit(
        MakeTask({1.0f, static_cast<float>(i)}, &answers[i], &done[i]));
  }
  EXPECT_EQ((*servable)->queue_depth(), 3);
  servable->reset();  // drains: every task is answered before it returns
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(done[i].HasBeenNotified()) << i;
    ASSERT_TRUE(answers[i].status.ok()) << answers[i].status;
    EXPECT_THAT(answers[i].result.output, ElementsAre(1.0f + i));
  }
}

TEST(ServableModelTest, LastHandleDroppedInsideDoneStillDrains) {
  absl::Notification backend_destroyed;
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 1;
  options.backend = std::make_shared<FakeBackend>(2, 1, &backend_destroyed);
  auto created = ServableModel::Create(std::move(options));
  ASSERT_TRUE(created.ok()) << created.status();
  std::shared_ptr<const ServableModel> servable = std::move(*created);

  // The callback holds the only handle once the test lets go of its own, so
  // the servable is destroyed on a batcher worker thread.
  absl::Notification answered;
  auto task = std::make_unique<InferenceTask>();
  task->input = {1.0f, 2.0f};
  task->done = [servable, &answered](absl::Status status, InferenceResult) {
    EXPECT_TRUE(status.ok()) << status;
    answered.Notify();
  };
  const ServableModel* raw = servable.get();
  servable.reset();
  raw->Submit(std::move(task));
  answered.WaitForNotification();
  // The batcher (and with it the backend) is shut down without deadlock.
  backend_destroyed.WaitForNotification();
  ServableModel::WaitForDetachedDrains();
}

}  // namespace
}  // namespace lineserve
