#include "server/inference/inference_pipeline.h"

#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/config/model_config.h"
#include "models/preprocess/image_encode.h"
#include "server/inference/model_io.h"
#include "tests/support/fake_backend.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_configs.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::lineserve::testing::Floats;
using ::lineserve::testing::kFakeArtifact;
using ::lineserve::testing::kFakePlatform;
using ::lineserve::testing::kTestTimeout;
using ::lineserve::testing::LinearModel;
using lineserve::v1::ModelConfig;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// What the pipeline reported, in order.
class RecordingObserver : public InferenceObserver {
 public:
  void OnRequest(absl::string_view method, absl::string_view model,
                 int64_t version, const absl::Status& status,
                 absl::Duration duration) override {
    absl::MutexLock lock(&mu_);
    events_.push_back(absl::StrCat(method, " ", model, " v", version, " ",
                                   absl::StatusCodeToString(status.code()), " ",
                                   absl::FormatDuration(duration)));
  }
  std::vector<std::string> events() const {
    absl::MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> events_ ABSL_GUARDED_BY(mu_);
};

// Prepares one image request, preprocessed as the model says.
Prepare ImagePrepare(std::string encoded) {
  return
      [encoded = std::move(encoded)](
          const ServableModel& model) -> absl::StatusOr<std::vector<Sample>> {
        absl::StatusOr<Sample> sample = ImageSample(model, encoded);
        if (!sample.ok()) return sample.status();
        return std::vector<Sample>{*std::move(sample)};
      };
}

// Where a request's outcome lands; Wait() is bounded.
struct Landing {
  absl::Notification done;
  InferenceOutcome outcome;
  int calls = 0;

  Complete Callback() {
    return [this](InferenceOutcome o) {
      ++calls;
      outcome = std::move(o);
      done.Notify();
    };
  }
  bool Wait() { return done.WaitForNotificationWithTimeout(kTestTimeout); }
};

class InferencePipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(::lineserve::testing::RegisterFakeBackend(backends_).ok());
    // "efficiency": y = x0 + 2 x1 + 3 x2 + 1; waits up to 10 ms for a batch
    // of 4 on the fake clock, even when idle.
    ModelConfig efficiency =
        ::lineserve::testing::TabularConfig("efficiency", 3);
    efficiency.mutable_dynamic_batching()->set_wait_when_idle(true);
    efficiency.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
        10'000);
    efficiency.mutable_dynamic_batching()->set_default_timeout_microseconds(
        50'000);
    AddModel(efficiency, {3, {1, 2, 3}, {1}, std::nullopt});
    // "quality": grey 2x2 images, logits (sum of normalised pixels, 0).
    AddModel(::lineserve::testing::ImageConfig("quality"),
             {4, {1, 0, 1, 0, 1, 0, 1, 0}, {0, 0}, std::nullopt});

    ModelRepositoryOptions options;
    options.root = root_;
    options.backends = &backends_;
    options.clock = &clock_;
    auto repository = ModelRepository::Create(std::move(options));
    ASSERT_TRUE(repository.ok()) << repository.status();
    repository_ = *std::move(repository);
    ASSERT_TRUE(repository_->LoadAll().ok());
    InferencePipelineOptions pipeline_options;
    pipeline_options.repository = repository_.get();
    pipeline_options.clock = &clock_;
    pipeline_options.observer = &observer_;
    pipeline_ = std::make_unique<InferencePipeline>(pipeline_options);
  }

  void TearDown() override {
    pipeline_.reset();
    repository_.reset();
    fs::remove_all(root_);
  }

  void AddModel(ModelConfig config, const LinearModel& model) {
    config.set_platform(kFakePlatform);
    const fs::path dir = fs::path(root_) / config.name();
    fs::create_directories(dir / "1");
    ASSERT_TRUE(WriteModelConfig((dir / "config.pbtxt").string(), config).ok());
    ASSERT_TRUE(::lineserve::testing::WriteFakeModel(
                    (dir / "1" / kFakeArtifact).string(), model)
                    .ok());
  }

  // A Predict-like request of `rows` feature rows.
  void Predict(std::vector<std::vector<double>> rows, Landing* landing,
               InferenceRequest request = {}) {
    request.method = "Predict";
    if (request.model.empty()) request.model = "efficiency";
    request.sample_label = "rows";
    pipeline_->Run(
        std::move(request),
        [rows](
            const ServableModel& model) -> absl::StatusOr<std::vector<Sample>> {
          std::vector<Sample> samples;
          for (const auto& row : rows) {
            preprocess::FeatureRow features;
            for (size_t i = 0; i < row.size(); ++i) {
              features.emplace_back(absl::StrCat("f", i), row[i]);
            }
            absl::StatusOr<Sample> sample = FeatureSample(model, features);
            if (!sample.ok()) return sample.status();
            samples.push_back(*std::move(sample));
          }
          return samples;
        },
        landing->Callback());
  }

  std::string root_ = ::lineserve::testing::MakeTempDir("pipeline");
  BackendRegistry backends_;
  FakeClock clock_;
  RecordingObserver observer_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferencePipeline> pipeline_;
};

TEST_F(InferencePipelineTest, RowsBatchTogetherAndAnswerInOrder) {
  Landing landing;
  Predict({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}}, &landing);
  // Four rows make a full batch: no time has to pass.
  ASSERT_TRUE(landing.Wait());
  const InferenceOutcome& outcome = landing.outcome;
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(outcome.model->name(), "efficiency");
  ASSERT_EQ(outcome.results.size(), 4u);
  std::vector<float> values;
  for (const InferenceResult& result : outcome.results) {
    values.push_back(RegressionValue(result));
    EXPECT_EQ(result.batch_size, 4);
  }
  EXPECT_THAT(values, ElementsAre(2, 3, 4, 7));
  EXPECT_THAT(observer_.events(), ElementsAre("Predict efficiency v1 OK 0"));
}

TEST_F(InferencePipelineTest, PartialBatchLeavesAtTheDelayOfTheFakeClock) {
  Landing landing;
  Predict({{1, 0, 0}}, &landing);
  clock_.Advance(absl::Milliseconds(9));
  EXPECT_FALSE(landing.done.HasBeenNotified());
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(landing.Wait());
  ASSERT_TRUE(landing.outcome.status.ok()) << landing.outcome.status;
  EXPECT_EQ(landing.outcome.results[0].queue_time, absl::Milliseconds(10));
  EXPECT_THAT(observer_.events(), ElementsAre("Predict efficiency v1 OK 10ms"));
}

TEST_F(InferencePipelineTest, UnknownModelIsNotFoundAndReportedByItsName) {
  Landing landing;
  InferenceRequest request;
  request.model = "nope";
  Predict({{1, 0, 0}}, &landing, request);
  ASSERT_TRUE(landing.done.HasBeenNotified());  // refused on this thread
  EXPECT_EQ(landing.outcome.status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(landing.outcome.model, nullptr);
  EXPECT_THAT(observer_.events(), ElementsAre("Predict nope v0 NOT_FOUND 0"));
}

TEST_F(InferencePipelineTest, ModelOfAnotherTaskIsFailedPrecondition) {
  Landing landing;
  InferenceRequest request;
  request.model = "quality";
  request.task = lineserve::v1::TASK_KIND_TABULAR_REGRESSION;
  Predict({{1, 0, 0}}, &landing, request);
  EXPECT_EQ(landing.outcome.status.code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(landing.outcome.status.message(),
              HasSubstr("model 'quality' does TASK_KIND_IMAGE_CLASSIFICATION"));
}

TEST_F(InferencePipelineTest, BadRowRefusesTheRequestBeforeAnyCompute) {
  Landing landing;
  Predict({{1, 0, 0}, {1, 0}}, &landing);  // the second row lacks f2
  ASSERT_TRUE(landing.done.HasBeenNotified());
  EXPECT_EQ(landing.outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(landing.outcome.results, IsEmpty());
  EXPECT_EQ((*repository_->Get("efficiency"))->queue_depth(), 0);
  EXPECT_EQ(landing.calls, 1);
}

TEST_F(InferencePipelineTest, ModelDefaultTimeoutExpiresQueuedRows) {
  // The model's default timeout (50 ms) is shorter than the client's 1 s.
  Landing landing;
  InferenceRequest request;
  request.timeout = absl::Seconds(1);
  // Two rows wait for the 10 ms delay; the clock jumps past both.
  Predict({{1, 0, 0}, {0, 1, 0}}, &landing, request);
  clock_.Advance(absl::Milliseconds(50));
  ASSERT_TRUE(landing.Wait());
  EXPECT_EQ(landing.outcome.status.code(), absl::StatusCode::kDeadlineExceeded)
      << landing.outcome.status;
  EXPECT_THAT(landing.outcome.status.message(), HasSubstr("rows[0]"));
}

TEST_F(InferencePipelineTest, CancellationAnswersQueuedRowsAtOnce) {
  auto cancellation = std::make_shared<Cancellation>();
  Landing landing;
  InferenceRequest request;
  request.cancellation = cancellation;
  Predict({{1, 0, 0}}, &landing, request);
  EXPECT_EQ((*repository_->Get("efficiency"))->queue_depth(), 1);
  // No time passes: only the cancellation's wake-up can answer it.
  cancellation->Cancel();
  ASSERT_TRUE(landing.Wait());
  EXPECT_EQ(landing.outcome.status.code(), absl::StatusCode::kCancelled);
  EXPECT_THAT(observer_.events(),
              ElementsAre("Predict efficiency v1 CANCELLED 0"));

  // A request of an already cancelled call never waits either.
  Landing late;
  Predict({{1, 0, 0}}, &late, request);
  ASSERT_TRUE(late.Wait());
  EXPECT_EQ(late.outcome.status.code(), absl::StatusCode::kCancelled);
}

TEST_F(InferencePipelineTest, ImageRequestsAreClassifiedWithTheConfigsLabels) {
  preprocess::Image white;
  white.width = white.height = 2;
  white.channels = 1;
  white.data.assign(4, 1.0f);
  const std::string png = *preprocess::EncodePng(white);
  Landing landing;
  InferenceRequest request;
  request.method = "Inspect";
  request.model = "quality";
  request.task = lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION;
  pipeline_->Run(request, ImagePrepare(png), landing.Callback());
  clock_.Advance(absl::Milliseconds(1));
  ASSERT_TRUE(landing.Wait());
  ASSERT_TRUE(landing.outcome.status.ok()) << landing.outcome.status;
  // White pixels normalise to 1: logits (4, 0), so "ok" wins.
  EXPECT_THAT(Floats(landing.outcome.results[0].outputs[0]),
              ElementsAre(4.0f, 0.0f));
  const Classification c =
      Classify(*landing.outcome.model, landing.outcome.results[0]);
  EXPECT_FALSE(c.decision.defect);
  EXPECT_NEAR(c.probabilities[0], 0.982f, 1e-3);

  // Bytes that are no image are refused by the shared preprocessing.
  Landing bad;
  pipeline_->Run(request, ImagePrepare("not an image"), bad.Callback());
  EXPECT_EQ(bad.outcome.status.code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(InferencePipelineTest, EachVersionAnswersWithItsOwnThreshold) {
  // "graded": config.pbtxt holds serving settings only, every version its
  // own contract; the versions share weights but not their threshold.
  ModelConfig full = ::lineserve::testing::ImageConfig("graded");
  full.set_platform(kFakePlatform);
  full.mutable_version_policy()->mutable_all();
  const fs::path dir = fs::path(root_) / "graded";
  fs::create_directories(dir);
  ASSERT_TRUE(
      WriteModelConfig((dir / "config.pbtxt").string(), ServingOf(full)).ok());
  const float thresholds[] = {0.9f, 0.1f};
  for (int version : {1, 2}) {
    const fs::path version_dir = dir / std::to_string(version);
    fs::create_directories(version_dir);
    full.mutable_classification()->set_defect_threshold(
        thresholds[version - 1]);
    ASSERT_TRUE(WriteVersionContract(
                    (version_dir / kVersionContractFile).string(), full)
                    .ok());
    // logits (0, sum of normalised pixels): mid grey (about 0 after
    // normalisation) gives P(defect) about 0.5.
    ASSERT_TRUE(::lineserve::testing::WriteFakeModel(
                    (version_dir / kFakeArtifact).string(),
                    {4, {0, 1, 0, 1, 0, 1, 0, 1}, {0, 0}, std::nullopt})
                    .ok());
  }
  ASSERT_TRUE(repository_->Reload("graded").ok());

  preprocess::Image grey;
  grey.width = grey.height = 2;
  grey.channels = 1;
  grey.data.assign(4, 0.5f);
  const std::string png = *preprocess::EncodePng(grey);
  for (int version : {1, 2}) {
    Landing landing;
    InferenceRequest request;
    request.model = "graded";
    request.version = version;
    pipeline_->Run(request, ImagePrepare(png), landing.Callback());
    clock_.Advance(absl::Milliseconds(1));
    ASSERT_TRUE(landing.Wait());
    ASSERT_TRUE(landing.outcome.status.ok()) << landing.outcome.status;
    const Classification c =
        Classify(*landing.outcome.model, landing.outcome.results[0]);
    EXPECT_NEAR(c.decision.defect_probability, 0.5f, 0.01);
    // The same image: OK under version 1's 0.9, a defect under 2's 0.1.
    EXPECT_EQ(c.decision.defect, version == 2) << "version " << version;
  }
}

TEST_F(InferencePipelineTest, EmptyRequestIsInvalidArgument) {
  Landing landing;
  Predict({}, &landing);
  EXPECT_EQ(landing.outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(landing.outcome.status.message(), HasSubstr("no samples"));
}

}  // namespace
}  // namespace lineserve
