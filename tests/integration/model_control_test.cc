// Model control end to end on loopback, with the fake backend (what is
// tested is the control plane, not a framework): admin token and modes on
// the control RPCs, health that follows the models, the repository index,
// and rollouts by polling.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/lineserve_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "models/config/model_config.h"
#include "server/service/line_server.h"
#include "tests/support/fake_backend.h"
#include "tests/support/serving_stack.h"
#include "tests/support/test_configs.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::lineserve::testing::kFakeArtifact;
using ::lineserve::testing::kFakePlatform;
using ::lineserve::testing::LinearModel;
using ::lineserve::testing::ServingStack;
using ::lineserve::testing::ServingStackOptions;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kToken[] = "line-7-admin-token-0123456789";
constexpr char kEfficiency[] = "efficiency_prediction";
constexpr char kPredictService[] = "lineserve.v1.EfficiencyPrediction";

class RefusalRecorder : public InferenceObserver {
 public:
  void OnAdminRefused(absl::string_view method,
                      absl::string_view reason) override {
    absl::MutexLock lock(&mu_);
    refusals_.push_back(absl::StrCat(method, " ", reason));
  }
  std::vector<std::string> refusals() const {
    absl::MutexLock lock(&mu_);
    return refusals_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> refusals_ ABSL_GUARDED_BY(mu_);
};

class ModelControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(::lineserve::testing::RegisterFakeBackend(backends_).ok());
    lineserve::v1::ModelConfig config =
        ::lineserve::testing::TabularConfig(kEfficiency, 3);
    config.set_platform(kFakePlatform);
    fs::create_directories(fs::path(root_) / kEfficiency);
    ASSERT_TRUE(
        WriteModelConfig(
            (fs::path(root_) / kEfficiency / "config.pbtxt").string(), config)
            .ok());
    Publish(1);
  }

  void TearDown() override {
    stack_.reset();
    fs::remove_all(root_);
  }

  // Version v answers x0 + v, published as the trainer does: a complete
  // hidden folder renamed into place.
  void Publish(int64_t version, bool corrupt = false) {
    const fs::path model = fs::path(root_) / kEfficiency;
    const fs::path staging = model / absl::StrCat(".staging-", version);
    fs::create_directories(staging);
    if (corrupt) {
      ASSERT_TRUE(
          WriteFileAtomically((staging / kFakeArtifact).string(), "junk").ok());
    } else {
      LinearModel linear;
      linear.inputs = 3;
      linear.weights = {1, 0, 0};
      linear.bias = {static_cast<float>(version)};
      ASSERT_TRUE(::lineserve::testing::WriteFakeModel(
                      (staging / kFakeArtifact).string(), linear)
                      .ok());
    }
    fs::rename(staging, model / std::to_string(version));
  }

  void Start(ModelControlMode mode, std::string token = kToken) {
    ServingStackOptions options;
    options.root = root_;
    options.backends = &backends_;
    options.mode = mode;
    options.admin_token = std::move(token);
    options.inference_observer = &recorder_;
    options.poll_interval = absl::Milliseconds(20);
    auto stack = ServingStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  LineserveClient Client(const std::string& token) const {
    ClientOptions options;
    options.server = stack_->address();
    options.admin_token = token;
    return LineserveClient(options);
  }

  // The version that answers a Predict now (0 on failure).
  int64_t AnsweringVersion() { return AnsweringVersion(*stack_); }
  static int64_t AnsweringVersion(ServingStack& stack) {
    lineserve::v1::PredictRequest request;
    auto& features = *request.add_rows()->mutable_features();
    features["f0"].set_number(0);
    features["f1"].set_number(0);
    features["f2"].set_number(0);
    auto response = stack.client().Predict(request);
    return response.ok() ? response->answered_by().model_version() : 0;
  }

  bool Serving(const std::string& service) {
    auto serving = stack_->client().Health(service);
    EXPECT_TRUE(serving.ok()) << serving.status();
    return serving.ok() && *serving;
  }

  std::string root_ = ::lineserve::testing::MakeTempDir("model-control");
  BackendRegistry backends_;
  RefusalRecorder recorder_;
  std::unique_ptr<ServingStack> stack_;
};

TEST_F(ModelControlTest, ControlRpcsNeedTheAdminToken) {
  Start(ModelControlMode::kExplicit);
  auto anonymous = Client("").ReloadModel(kEfficiency);
  EXPECT_EQ(anonymous.status().code(), absl::StatusCode::kUnauthenticated);
  auto wrong = Client("line-7-admin-token-0123456780").UnloadModel(kEfficiency);
  EXPECT_EQ(wrong.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(AnsweringVersion(), 1);  // nothing was unloaded

  Publish(2);
  auto reloaded = Client(kToken).ReloadModel(kEfficiency);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->default_version(), 2);
  EXPECT_EQ(AnsweringVersion(), 2);
  EXPECT_THAT(recorder_.refusals(), ElementsAre("ReloadModel missing_token",
                                                "UnloadModel wrong_token"));
  // The token is never echoed.
  EXPECT_THAT(std::string(wrong.message()), ::testing::Not(HasSubstr("0780")));
}

TEST_F(ModelControlTest, WithoutATokenConfiguredControlIsDisabled) {
  Start(ModelControlMode::kExplicit, /*token=*/"");
  auto refused = Client(kToken).UnloadModel(kEfficiency);
  EXPECT_EQ(refused.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(refused.message(), HasSubstr("--admin-token-file"));
  EXPECT_EQ(AnsweringVersion(), 1);
}

TEST_F(ModelControlTest, ModesDecideWhichControlRpcsExist) {
  Start(ModelControlMode::kNone);
  EXPECT_EQ(Client(kToken).ReloadModel(kEfficiency).status().code(),
            absl::StatusCode::kFailedPrecondition);
  stack_.reset();
  Start(ModelControlMode::kPoll);
  EXPECT_EQ(Client(kToken).UnloadModel(kEfficiency).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Client(kToken).LoadModel(kEfficiency).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Client(kToken).ReloadModel(kEfficiency).ok());
}

TEST_F(ModelControlTest,
       HealthFollowsTheModelAndACorruptVersionChangesNothing) {
  Start(ModelControlMode::kExplicit);
  EXPECT_TRUE(Serving(kPredictService));
  EXPECT_TRUE(Serving(kReadinessService));
  EXPECT_TRUE(Serving(""));

  Publish(2, /*corrupt=*/true);
  auto reloaded = Client(kToken).ReloadModel(kEfficiency);
  EXPECT_FALSE(reloaded.ok());
  EXPECT_THAT(reloaded.status().message(), HasSubstr("version 2"));
  EXPECT_EQ(AnsweringVersion(), 1);  // the previous version keeps answering
  EXPECT_TRUE(Serving(kPredictService));
  auto model = stack_->client().GetModel(kEfficiency);
  ASSERT_TRUE(model.ok());
  ASSERT_EQ(model->versions_size(), 2);
  EXPECT_EQ(model->versions(1).state(), lineserve::v1::VERSION_STATE_FAILED);
  EXPECT_THAT(model->versions(1).message(), HasSubstr("cannot load"));

  ASSERT_TRUE(Client(kToken).UnloadModel(kEfficiency).ok());
  EXPECT_FALSE(Serving(kPredictService));
  EXPECT_FALSE(Serving(kReadinessService));
  EXPECT_FALSE(Serving(""));
  EXPECT_TRUE(Serving(kLivenessService));
  EXPECT_EQ(AnsweringVersion(), 0);

  auto index = stack_->client().RepositoryIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->models_size(), 1);
  EXPECT_FALSE(index->models(0).loaded());
  EXPECT_EQ(index->models(0).versions_size(), 2);

  auto loaded = Client(kToken).LoadModel(kEfficiency);
  EXPECT_FALSE(loaded.ok());               // version 2 is still corrupt...
  EXPECT_FALSE(Serving(kPredictService));  // ...and latest 1 selects only it
  Publish(3);
  loaded = Client(kToken).LoadModel(kEfficiency);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(Serving(kPredictService));
  EXPECT_EQ(AnsweringVersion(), 3);
}

// Control answers reach whoever holds the token, and a failed version's
// message reaches any client through GetModel, the index and inference
// errors: they name the model and version, never the folder the server
// keeps the repository in (the server's log has the full paths).
TEST_F(ModelControlTest, FailedLoadsNameTheModelNotTheRepositoryPath) {
  // A model whose config does not parse, one whose version_policy names a
  // version with no artifact, and a corrupt artifact for the served one.
  fs::create_directories(fs::path(root_) / "garbled" / "1");
  ASSERT_TRUE(WriteFileAtomically(
                  (fs::path(root_) / "garbled" / "config.pbtxt").string(),
                  "name: \"garbled\" platform: {")
                  .ok());
  lineserve::v1::ModelConfig pinned =
      ::lineserve::testing::TabularConfig("pinned", 3);
  pinned.set_platform(kFakePlatform);
  pinned.mutable_version_policy()->mutable_specific()->add_versions(7);
  fs::create_directories(fs::path(root_) / "pinned");
  ASSERT_TRUE(
      WriteModelConfig((fs::path(root_) / "pinned" / "config.pbtxt").string(),
                       pinned)
          .ok());
  Start(ModelControlMode::kExplicit);
  Publish(2, /*corrupt=*/true);
  const LineserveClient admin = Client(kToken);
  const auto no_root = ::testing::Not(HasSubstr(root_));

  auto corrupt = admin.LoadModel(kEfficiency);
  ASSERT_FALSE(corrupt.ok());
  EXPECT_THAT(corrupt.status().message(),
              HasSubstr("model 'efficiency_prediction' version 2"));
  EXPECT_THAT(corrupt.status().message(), HasSubstr("efficiency_prediction/2/"))
      << "names the artifact relative to the repository";
  EXPECT_THAT(corrupt.status().message(), no_root);
  auto garbled = admin.LoadModel("garbled");
  ASSERT_FALSE(garbled.ok());
  EXPECT_THAT(garbled.status().message(), HasSubstr("garbled"));
  EXPECT_THAT(garbled.status().message(), no_root);
  auto pinned_load = admin.LoadModel("pinned");
  ASSERT_FALSE(pinned_load.ok());
  EXPECT_THAT(pinned_load.status().message(), HasSubstr("version 7"));
  EXPECT_THAT(pinned_load.status().message(), no_root);
  auto ghost = admin.LoadModel("ghost");
  EXPECT_EQ(ghost.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(ghost.status().message(), HasSubstr("ghost"));
  EXPECT_THAT(ghost.status().message(), no_root);

  auto models = stack_->client().ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  int failed_versions = 0;
  for (const auto& model : models->models()) {
    for (const auto& version : model.versions()) {
      EXPECT_THAT(version.message(), no_root) << model.name();
      failed_versions +=
          version.state() == lineserve::v1::VERSION_STATE_FAILED ? 1 : 0;
    }
  }
  EXPECT_GE(failed_versions, 3);
  auto index = stack_->client().RepositoryIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  for (const auto& model : index->models()) {
    EXPECT_THAT(model.message(), no_root) << model.name();
    for (const auto& version : model.versions()) {
      EXPECT_THAT(version.message(), no_root) << model.name();
    }
  }
  // An anonymous caller asking for the failed version.
  lineserve::v1::PredictRequest request;
  request.mutable_model()->set_version(2);
  auto& features = *request.add_rows()->mutable_features();
  features["f0"].set_number(0);
  features["f1"].set_number(0);
  features["f2"].set_number(0);
  auto answer = stack_->client().Predict(request);
  ASSERT_FALSE(answer.ok());
  EXPECT_THAT(answer.status().message(), HasSubstr("version 2"));
  EXPECT_THAT(answer.status().message(), no_root);
}

TEST_F(ModelControlTest, PollingPicksUpEachPublishedVersion) {
  Start(ModelControlMode::kPoll);
  for (int64_t version = 2; version <= 6; ++version) {
    Publish(version);
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (AnsweringVersion() != version && absl::Now() < give_up) {
      stack_->poller()->WaitForPollsAbove(stack_->poller()->polls(),
                                          absl::Seconds(1));
    }
    ASSERT_EQ(AnsweringVersion(), version);
  }
  // Only the newest is loaded; the older ones were released.
  auto model = stack_->client().GetModel(kEfficiency);
  ASSERT_TRUE(model.ok());
  ASSERT_EQ(model->versions_size(), 1);
  EXPECT_EQ(model->versions(0).version(), 6);
}

TEST_F(ModelControlTest, ReplicasOnOneSharedFolderConvergeOnTheNewVersion) {
  // Two servers (as two pods on one volume) poll the same repository.
  Start(ModelControlMode::kPoll);
  ServingStackOptions options;
  options.root = root_;
  options.backends = &backends_;
  options.mode = ModelControlMode::kPoll;
  options.poll_interval = absl::Milliseconds(20);
  auto replica = ServingStack::Start(options);
  ASSERT_TRUE(replica.ok()) << replica.status();
  Publish(2);
  const auto answering = [](ServingStack& stack) {
    return AnsweringVersion(stack);
  };
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while ((answering(*stack_) != 2 || answering(**replica) != 2) &&
         absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ(answering(*stack_), 2);
  EXPECT_EQ(answering(**replica), 2);
}

}  // namespace
}  // namespace lineserve
