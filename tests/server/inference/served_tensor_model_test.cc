// A TorchScript model with two typed inputs (FP32 "x" [3], INT64 "count"
// [1]) and two outputs (FP32 "scaled" [3], INT64 "total" [1]) served from a
// repository through the inference pipeline with dynamic batching: four
// requests share one execution and each gets its own outputs.
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/config/model_config.h"
#include "server/backends/torchscript_backend.h"
#include "server/inference/inference_pipeline.h"
#include "tests/server/backends/test_models.h"
#include "tests/support/fake_backend.h"
#include "tests/support/test_configs.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::lineserve::testing::Floats;
using ::lineserve::testing::kTestTimeout;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

lineserve::v1::ModelConfig TwoInputConfig() {
  lineserve::v1::ModelConfig config =
      ::lineserve::testing::TwoInputConfig("two_inputs");
  // Only a full batch of four closes before a minute has passed, even on
  // an idle model.
  config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
      60'000'000);
  config.mutable_dynamic_batching()->set_wait_when_idle(true);
  return config;
}

class ServedTensorModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path dir = fs::path(root_) / "two_inputs";
    fs::create_directories(dir / "1");
    ASSERT_TRUE(
        WriteModelConfig((dir / "config.pbtxt").string(), TwoInputConfig())
            .ok());
    absl::Status written = ::lineserve::testing::WriteScriptModel(
        (dir / "1" / kTorchScriptArtifact).string(),
        ::lineserve::testing::kTwoInputModelSource);
    ASSERT_TRUE(written.ok()) << written;
    ASSERT_TRUE(RegisterTorchScriptBackend(backends_).ok());
    ModelRepositoryOptions options;
    options.root = root_;
    options.backends = &backends_;
    auto repository = ModelRepository::Create(std::move(options));
    ASSERT_TRUE(repository.ok()) << repository.status();
    repository_ = *std::move(repository);
    ASSERT_TRUE(repository_->LoadAll().ok());
    InferencePipelineOptions pipeline_options;
    pipeline_options.repository = repository_.get();
    pipeline_ = std::make_unique<InferencePipeline>(pipeline_options);
  }

  void TearDown() override {
    pipeline_.reset();
    repository_.reset();
    fs::remove_all(root_);
  }

  std::string root_ = ::lineserve::testing::MakeTempDir("served-tensors");
  BackendRegistry backends_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferencePipeline> pipeline_;
};

TEST_F(ServedTensorModelTest, FourRequestsShareOneBatchAndGetTheirOwnOutputs) {
  struct Landing {
    absl::Notification done;
    InferenceOutcome outcome;
  };
  Landing landings[4];
  for (int i = 0; i < 4; ++i) {
    InferenceRequest request;
    request.method = "ModelInfer";
    request.model = "two_inputs";
    pipeline_->Run(
        request,
        [i](const ServableModel&) -> absl::StatusOr<std::vector<Sample>> {
          Tensor count = Tensor::Zeros("count", DataType::kInt64, {1});
          count.mutable_values<int64_t>()[0] = 10 * (i + 1);
          Sample sample;
          sample.push_back(
              Tensor::FromFloats("x", {3}, {1.0f * i, -1.0f, 0.5f}));
          sample.push_back(std::move(count));
          return std::vector<Sample>{std::move(sample)};
        },
        [&landing = landings[i]](InferenceOutcome outcome) {
          landing.outcome = std::move(outcome);
          landing.done.Notify();
        });
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(landings[i].done.WaitForNotificationWithTimeout(kTestTimeout));
    const InferenceOutcome& outcome = landings[i].outcome;
    ASSERT_TRUE(outcome.status.ok()) << outcome.status;
    ASSERT_EQ(outcome.results.size(), 1u);
    const InferenceResult& result = outcome.results[0];
    EXPECT_EQ(result.batch_size, 4);
    ASSERT_EQ(result.outputs.size(), 2u);
    const float count = 10.0f * (i + 1);
    EXPECT_EQ(result.outputs[0].name, "scaled");
    EXPECT_EQ(result.outputs[0].shape, (std::vector<int64_t>{3}));
    EXPECT_THAT(Floats(result.outputs[0]),
                ElementsAre(i * count, -count, 0.5f * count));
    EXPECT_EQ(result.outputs[1].name, "total");
    EXPECT_EQ(result.outputs[1].dtype, DataType::kInt64);
    // count + the number of positive x values (x0 is positive from i = 1).
    EXPECT_EQ(result.outputs[1].values<int64_t>()[0],
              10 * (i + 1) + (i > 0 ? 2 : 1));
  }
}

TEST_F(ServedTensorModelTest, AMistypedInputIsRefusedNamingTheTensor) {
  absl::Notification done;
  InferenceOutcome outcome;
  InferenceRequest request;
  request.model = "two_inputs";
  pipeline_->Run(
      request,
      [](const ServableModel&) -> absl::StatusOr<std::vector<Sample>> {
        Sample sample;
        sample.push_back(Tensor::FromFloats("x", {3}, {1, 2, 3}));
        sample.push_back(Tensor::FromFloats("count", {1}, {2}));  // not INT64
        return std::vector<Sample>{std::move(sample)};
      },
      [&](InferenceOutcome o) {
        outcome = std::move(o);
        done.Notify();
      });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(kTestTimeout));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(outcome.status.message(),
              HasSubstr("tensor 'count': data type FP32, the model takes "
                        "INT64"));
}

}  // namespace
}  // namespace lineserve
