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
#include "models/config/model_config.h"
#include "server/repository/unloader.h"
#include "tests/support/fake_backend.h"
#include "tests/support/fake_clock.h"

namespace lineserve {
namespace {

using lineserve::v1::ModelConfig;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::lineserve::testing::FakeBackend;
using ::lineserve::testing::Floats;
using ::lineserve::testing::kTestTimeout;

// Answers each sample with (sum of its inputs + j) for output j, with the
// config's specs.
std::shared_ptr<FakeBackend> SumBackend(const ModelConfig& config) {
  const std::vector<TensorSpec> inputs = SpecsFromConfig(config.input());
  const std::vector<TensorSpec> outputs = SpecsFromConfig(config.output());
  const int64_t out_size = outputs[0].dims[0];
  return std::make_shared<FakeBackend>(
      inputs, outputs,
      [inputs, outputs, out_size](const std::vector<Tensor>& in, int batch_size)
          -> absl::StatusOr<std::vector<Tensor>> {
        const int64_t in_size = in[0].ElementCount() / batch_size;
        Tensor y = Tensor::Zeros(outputs[0].name, DataType::kFp32,
                                 {batch_size, out_size});
        for (int b = 0; b < batch_size; ++b) {
          const float* x = in[0].values<float>() + b * in_size;
          const float sum = std::accumulate(x, x + in_size, 0.0f);
          for (int64_t j = 0; j < out_size; ++j) {
            y.mutable_values<float>()[b * out_size + j] =
                sum + static_cast<float>(j);
          }
        }
        return std::vector<Tensor>{std::move(y)};
      },
      "fake:0");
}

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

// One sample for `config`'s input, and where its answer lands.
std::unique_ptr<InferenceTask> MakeTask(const ModelConfig& config,
                                        std::vector<float> input,
                                        Answer* answer,
                                        absl::Notification* done) {
  const TensorSpec spec = SpecsFromConfig(config.input())[0];
  auto task = std::make_unique<InferenceTask>();
  task->inputs.push_back(Tensor::FromFloats(spec.name, spec.dims, input));
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
  options.backend = SumBackend(options.config);
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();
  EXPECT_EQ((*servable)->name(), "efficiency");
  EXPECT_EQ((*servable)->version(), 3);
  EXPECT_EQ((*servable)->device(), "fake:0");
  ASSERT_EQ((*servable)->inputs().size(), 1u);
  EXPECT_EQ((*servable)->inputs()[0].dims, (std::vector<int64_t>{2}));
  EXPECT_EQ((*servable)->outputs()[0].name, "prediction");
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
  (*servable)->Submit(MakeTask(TabularConfig(), input, &answer, &done));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kTestTimeout));
  ASSERT_TRUE(answer.status.ok()) << answer.status;
  EXPECT_THAT(Floats(answer.result.outputs[0]), ElementsAre(5.5f));
  EXPECT_EQ(answer.result.batch_size, 1);
}

TEST(ServableModelTest, ImageModelHasPreprocessorAndDefaultTimeout) {
  ServableModelOptions options;
  options.config = ImageConfig();
  options.version = 1;
  options.backend = SumBackend(options.config);
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();
  EXPECT_EQ((*servable)->tabular_encoder(), nullptr);
  ASSERT_NE((*servable)->image_preprocessor(), nullptr);
  EXPECT_EQ((*servable)->image_preprocessor()->output_size(), 18u);
  EXPECT_EQ((*servable)->default_timeout(), absl::Microseconds(2500));

  // max_batch_size 0: served one sample at a time.
  Answer answer;
  absl::Notification done;
  (*servable)->Submit(
      MakeTask(ImageConfig(), std::vector<float>(18, 1.0f), &answer, &done));
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kTestTimeout));
  ASSERT_TRUE(answer.status.ok()) << answer.status;
  EXPECT_THAT(Floats(answer.result.outputs[0]), ElementsAre(18.0f, 19.0f));
}

TEST(ServableModelTest, BackendNotMatchingTheConfigIsRefused) {
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 1;
  ModelConfig other = TabularConfig();
  other.mutable_input(0)->set_dims(0, 3);
  options.backend = SumBackend(other);
  auto servable = ServableModel::Create(std::move(options));
  EXPECT_EQ(servable.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(servable.status().message(),
              HasSubstr("model 'efficiency' version 1"));
  EXPECT_THAT(servable.status().message(),
              HasSubstr("the backend takes (features FP32 [3])"));
}

TEST(ServableModelTest, MissingBackendIsInvalidArgument) {
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 1;
  EXPECT_EQ(ServableModel::Create(std::move(options)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Submits rows {1, i} for i < n to a TabularConfig() model.
void SubmitRows(const ServableModel& servable, int n, Answer* answers,
                absl::Notification* done) {
  for (int i = 0; i < n; ++i) {
    servable.Submit(MakeTask(TabularConfig(), {1.0f, static_cast<float>(i)},
                             &answers[i], &done[i]));
  }
}

TEST(ServableModelTest, DestructionAnswersQueuedTasks) {
  // A fake clock and a long delay, waited out even on an idle model:
  // nothing leaves the queue on its own.
  FakeClock clock;
  ServableModelOptions options;
  options.config = TabularConfig();
  options.config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
      3600 * 1000000LL);
  options.config.mutable_dynamic_batching()->set_wait_when_idle(true);
  options.config.mutable_dynamic_batching()->clear_preferred_batch_size();
  options.version = 1;
  options.clock = &clock;
  options.backend = SumBackend(options.config);
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();

  Answer answers[3];
  absl::Notification done[3];
  SubmitRows(**servable, 3, answers, done);
  EXPECT_EQ((*servable)->queue_depth(), 3);
  servable->reset();  // drains: every task is answered before it returns
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(done[i].HasBeenNotified()) << i;
    ASSERT_TRUE(answers[i].status.ok()) << answers[i].status;
    EXPECT_THAT(Floats(answers[i].result.outputs[0]), ElementsAre(1.0f + i));
  }
}

// A SumBackend whose pass of b samples takes `fixed` + b x `per_sample` on
// `clock`.
std::shared_ptr<FakeBackend> TimedSumBackend(const ModelConfig& config,
                                             FakeClock& clock,
                                             absl::Duration fixed,
                                             absl::Duration per_sample) {
  std::shared_ptr<FakeBackend> sum = SumBackend(config);
  return std::make_shared<FakeBackend>(
      sum->inputs(), sum->outputs(),
      [sum, &clock, fixed, per_sample](const std::vector<Tensor>& in,
                                       int batch_size) {
        clock.Advance(fixed + batch_size * per_sample);
        return sum->Run(in, batch_size);
      },
      "fake:0");
}

// Three rows queued behind a long delay, then drained: the batch sizes
// their answers report.
std::vector<int> DrainedBatchSizes(std::shared_ptr<FakeBackend> backend,
                                   FakeClock& clock, bool tune,
                                   int* max_batch_size) {
  ServableModelOptions options;
  options.config = TabularConfig();  // max_batch_size 4, preferred 4
  options.config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
      3600 * 1000000LL);
  options.config.mutable_dynamic_batching()->set_wait_when_idle(true);
  options.version = 1;
  options.clock = &clock;
  options.backend = std::move(backend);
  options.tune_max_batch_size = tune;
  auto servable = ServableModel::Create(std::move(options));
  EXPECT_TRUE(servable.ok()) << servable.status();
  if (!servable.ok()) return {};
  *max_batch_size = (*servable)->max_batch_size();
  Answer answers[3];
  absl::Notification done[3];
  SubmitRows(**servable, 3, answers, done);
  servable->reset();  // drains: batches of at most the cap
  std::vector<int> sizes;
  for (const Answer& answer : answers) {
    EXPECT_TRUE(answer.status.ok()) << answer.status;
    sizes.push_back(answer.result.batch_size);
  }
  return sizes;
}

TEST(ServableModelTest, TunedBatchesStopWhereTheyNoLongerPay) {
  FakeClock clock;
  int cap = 0;
  // The same cost per row at every batch size: batching buys nothing, so
  // the tuned model computes each row alone (and drops its preferred
  // size 4, which it can no longer form).
  EXPECT_THAT(DrainedBatchSizes(
                  TimedSumBackend(TabularConfig(), clock, absl::ZeroDuration(),
                                  absl::Milliseconds(10)),
                  clock, /*tune=*/true, &cap),
              ElementsAre(1, 1, 1));
  EXPECT_EQ(cap, 1);
  // Untuned, the config's max_batch_size takes all three at once.
  EXPECT_THAT(DrainedBatchSizes(
                  TimedSumBackend(TabularConfig(), clock, absl::ZeroDuration(),
                                  absl::Milliseconds(10)),
                  clock, /*tune=*/false, &cap),
              ElementsAre(3, 3, 3));
  EXPECT_EQ(cap, 4);
  // A fixed cost per pass that batching shares: the tuned model keeps the
  // whole batch of 4.
  EXPECT_THAT(DrainedBatchSizes(TimedSumBackend(TabularConfig(), clock,
                                                absl::Milliseconds(10),
                                                absl::Microseconds(100)),
                                clock, /*tune=*/true, &cap),
              ElementsAre(3, 3, 3));
  EXPECT_EQ(cap, 4);
}

TEST(ServableModelTest, TuningThatFailsRefusesTheVersion) {
  FakeClock clock;
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 2;
  options.clock = &clock;
  auto backend = SumBackend(options.config);
  backend->FailWith(absl::InternalError("no memory"));
  options.backend = backend;
  options.tune_max_batch_size = true;
  auto servable = ServableModel::Create(std::move(options));
  EXPECT_EQ(servable.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(servable.status().message(),
              HasSubstr("model 'efficiency' version 2: timing batch size 1"));
}

TEST(ServableModelTest, InstanceCountZeroRunsTheServersDefaultOfWorkers) {
  // Three workers: three batches of one are in the backend at once.
  ServableModelOptions options;
  options.config = TabularConfig();
  options.config.set_max_batch_size(1);
  options.config.mutable_dynamic_batching()->clear_preferred_batch_size();
  options.config.set_instance_count(0);
  options.default_instance_count = 3;
  options.version = 1;
  auto backend = SumBackend(options.config);
  absl::Notification release;
  backend->BlockUntil(&release);
  options.backend = backend;
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();
  Answer answers[3];
  absl::Notification done[3];
  SubmitRows(**servable, 3, answers, done);
  EXPECT_TRUE(backend->WaitForRuns(3));
  release.Notify();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(done[i].WaitForNotificationWithTimeout(kTestTimeout)) << i;
    EXPECT_TRUE(answers[i].status.ok()) << answers[i].status;
  }
}

TEST(ServableModelTest, TensorModelServesDeclaredTensorsWithoutPreprocessing) {
  ModelConfig config;
  config.set_name("tensors");
  config.set_task(lineserve::v1::TASK_KIND_TENSOR);
  auto* input = config.add_input();
  input->set_name("x");
  input->set_data_type(lineserve::v1::TYPE_FP32);
  input->add_dims(3);
  auto* output = config.add_output();
  output->set_name("y");
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(2);
  config.set_max_batch_size(2);
  ApplyModelConfigDefaults(config);
  ASSERT_TRUE(ValidateModelConfig(config).ok()) << ValidateModelConfig(config);
  ServableModelOptions options;
  options.config = config;
  options.version = 1;
  options.backend = SumBackend(config);
  auto servable = ServableModel::Create(std::move(options));
  ASSERT_TRUE(servable.ok()) << servable.status();
  EXPECT_EQ((*servable)->image_preprocessor(), nullptr);
  EXPECT_EQ((*servable)->tabular_encoder(), nullptr);
  auto answer = ::lineserve::testing::InferFloats(**servable, {1, 2, 3});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, ElementsAre(6.0f, 7.0f));
}

TEST(UnloaderTest, LastHandleDroppedInsideDoneIsReleasedOnTheUnloaderThread) {
  absl::Notification backend_destroyed;
  ServableModelOptions options;
  options.config = TabularConfig();
  options.version = 1;
  std::shared_ptr<FakeBackend> backend = SumBackend(options.config);
  backend->NotifyOnDestruction(&backend_destroyed);
  options.backend = std::move(backend);
  auto created = ServableModel::Create(std::move(options));
  ASSERT_TRUE(created.ok()) << created.status();
  Unloader unloader;
  std::shared_ptr<const ServableModel> servable =
      unloader.Share(*std::move(created));
  EXPECT_EQ(unloader.pending(), 1);

  // The callback holds the only handle once the test lets go of its own, so
  // the last reference is dropped on a batcher worker thread, which could
  // not join itself: the unloader's thread destroys the servable.
  absl::Notification answered;
  auto task = std::make_unique<InferenceTask>();
  task->inputs.push_back(Tensor::FromFloats("features", {2}, {1.0f, 2.0f}));
  task->done = [servable, &answered](absl::Status status, InferenceResult) {
    EXPECT_TRUE(status.ok()) << status;
    answered.Notify();
  };
  const ServableModel* raw = servable.get();
  servable.reset();
  raw->Submit(std::move(task));
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(kTestTimeout));
  // The batcher (and with it the backend) is shut down without deadlock.
  ASSERT_TRUE(backend_destroyed.WaitForNotificationWithTimeout(kTestTimeout));
  EXPECT_TRUE(unloader.WaitUntilIdle(kTestTimeout));
  EXPECT_EQ(unloader.pending(), 0);
}

}  // namespace
}  // namespace lineserve
