#include "server/repository/model_repository.h"

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "models/config/model_config.h"
#include "server/repository/repository_poller.h"
#include "tests/support/fake_backend.h"
#include "tests/support/fake_clock.h"
#include "tests/support/test_configs.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::lineserve::testing::ImageConfig;
using ::lineserve::testing::kFakeArtifact;
using ::lineserve::testing::kFakePlatform;
using ::lineserve::testing::kTestTimeout;
using ::lineserve::testing::LinearModel;
using ::lineserve::testing::MakeTempDir;
using ::lineserve::testing::TabularConfig;
using ::lineserve::testing::WriteFakeModel;
using lineserve::v1::ModelConfig;
using lineserve::v1::ModelStatus;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr auto kReady = lineserve::v1::VERSION_STATE_READY;
constexpr auto kFailed = lineserve::v1::VERSION_STATE_FAILED;
constexpr auto kUnloading = lineserve::v1::VERSION_STATE_UNLOADING;

// Runs one sample through a servable and waits (bounded) for its answer.
absl::StatusOr<std::vector<float>> Infer(const ServableModel& servable,
                                         std::vector<float> input) {
  return ::lineserve::testing::InferFloats(servable, input);
}

// (version, state) pairs of a model's status, for compact expectations.
std::vector<std::pair<int64_t, lineserve::v1::VersionState>> States(
    const ModelStatus& status) {
  std::vector<std::pair<int64_t, lineserve::v1::VersionState>> states;
  for (const auto& version : status.versions()) {
    states.emplace_back(version.version(), version.state());
  }
  return states;
}

class ModelRepositoryTest : public ::testing::Test {
 protected:
  // The tabular model "efficiency" (3 features): version v answers
  // x0 + 2 x1 + 3 x2 + v, so the answer tells which version ran.
  void AddEfficiencyVersion(int64_t version) {
    LinearModel model;
    model.inputs = 3;
    model.weights = {1, 2, 3};
    model.bias = {static_cast<float>(version)};
    WriteVersion("efficiency", version, model);
  }

  // A version whose artifact is not a model: it fails to load.
  void AddCorruptEfficiencyVersion(int64_t version) {
    const std::string dir = absl::StrCat(ModelDir("efficiency"), "/", version);
    fs::create_directories(dir);
    ASSERT_TRUE(
        WriteFileAtomically(absl::StrCat(dir, "/", kFakeArtifact), "garbage")
            .ok());
  }

  void WriteEfficiencyConfig(
      const std::function<void(ModelConfig&)>& edit = nullptr) {
    ModelConfig config = TabularConfig("efficiency", 3);
    if (edit) edit(config);
    WriteConfig(config);
  }

  // The image model "quality": logits = (sum of pixels, 0).
  void AddQualityModel() {
    WriteConfig(ImageConfig("quality"));
    LinearModel model;
    model.inputs = 4;
    model.weights = {1, 0, 1, 0, 1, 0, 1, 0};
    model.bias = {0, 0};
    WriteVersion("quality", 1, model);
  }

  // Written for the fake backend: these tests link no LibTorch.
  void WriteConfig(ModelConfig config) {
    config.set_platform(kFakePlatform);
    fs::create_directories(fs::path(root_) / config.name());
    ASSERT_TRUE(
        WriteModelConfig(ModelDir(config.name()) + "/config.pbtxt", config)
            .ok());
  }

  void WriteVersion(const std::string& name, int64_t version,
                    const LinearModel& model) {
    const std::string dir = absl::StrCat(ModelDir(name), "/", version);
    fs::create_directories(dir);
    absl::Status status =
        WriteFakeModel(absl::StrCat(dir, "/", kFakeArtifact), model);
    ASSERT_TRUE(status.ok()) << status;
  }

  std::string ModelDir(const std::string& name) const {
    return absl::StrCat(root_, "/", name);
  }

  std::unique_ptr<ModelRepository> LoadRepository(
      std::string device_override = "",
      RepositoryObserver* observer = nullptr) {
    ModelRepositoryOptions options;
    options.root = root_;
    options.device_override = std::move(device_override);
    options.observer = observer;
    options.backends = &backends_;
    auto repository = ModelRepository::Create(std::move(options));
    EXPECT_TRUE(repository.ok()) << repository.status();
    absl::Status status = (*repository)->LoadAll();
    EXPECT_TRUE(status.ok()) << status;
    return std::move(*repository);
  }

  // The answer of `name` version `version` (0: newest) to row (1, 0, 0).
  float EfficiencyAnswer(const ModelRepository& repository,
                         int64_t version = 0) {
    auto servable = repository.Get("efficiency", version);
    EXPECT_TRUE(servable.ok()) << servable.status();
    if (!servable.ok()) return -1;
    auto output = Infer(**servable, {1, 0, 0});
    EXPECT_TRUE(output.ok()) << output.status();
    return output.ok() ? output->at(0) : -1;
  }

  void SetUp() override {
    ASSERT_TRUE(::lineserve::testing::RegisterFakeBackend(backends_).ok());
  }

  ~ModelRepositoryTest() override { std::filesystem::remove_all(root_); }

  BackendRegistry backends_;
  std::string root_ = MakeTempDir("model-repository");
};

TEST_F(ModelRepositoryTest, LoadsTwoModelsThatAnswer) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  AddQualityModel();
  auto repository = LoadRepository();

  const std::vector<ModelStatus> models = repository->List();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].name(), "efficiency");
  EXPECT_THAT(States(models[0]), ElementsAre(std::pair{1, kReady}));
  EXPECT_EQ(models[0].default_version(), 1);
  EXPECT_EQ(models[0].versions(0).device(), "cpu");
  EXPECT_EQ(models[0].config().tabular().features_size(), 3);
  EXPECT_EQ(models[1].name(), "quality");
  EXPECT_THAT(States(models[1]), ElementsAre(std::pair{1, kReady}));

  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 2.0f);
  auto quality = repository->Get("quality", 0);
  ASSERT_TRUE(quality.ok()) << quality.status();
  EXPECT_NE((*quality)->image_preprocessor(), nullptr);
  auto logits = Infer(**quality, {0.5f, 1, -1, 2});
  ASSERT_TRUE(logits.ok()) << logits.status();
  EXPECT_THAT(*logits, ElementsAre(FloatEq(2.5f), FloatEq(0)));
}

TEST_F(ModelRepositoryTest, LatestOnePolicyServesOnlyTheNewest) {
  WriteEfficiencyConfig();
  for (int v : {1, 2, 3}) AddEfficiencyVersion(v);
  auto repository = LoadRepository();

  EXPECT_THAT(States(repository->List()[0]), ElementsAre(std::pair{3, kReady}));
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 4.0f);
  auto old = repository->Get("efficiency", 2);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(old.status().message(), "model 'efficiency' has no version 2");
}

TEST_F(ModelRepositoryTest, AllPolicyServesEveryVersionAndNewestByDefault) {
  WriteEfficiencyConfig([](ModelConfig& config) {
    config.mutable_version_policy()->mutable_all();
  });
  for (int v : {1, 2, 3}) AddEfficiencyVersion(v);
  // Not versions: hidden staging folders, non-canonical names, no model.pt.
  fs::create_directories(ModelDir("efficiency") + "/.staging-1-2");
  fs::create_directories(ModelDir("efficiency") + "/07");
  fs::create_directories(ModelDir("efficiency") + "/9");
  auto repository = LoadRepository();

  const ModelStatus status = repository->List()[0];
  EXPECT_THAT(States(status),
              ElementsAre(std::pair{1, kReady}, std::pair{2, kReady},
                          std::pair{3, kReady}));
  EXPECT_EQ(status.default_version(), 3);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository, 0), 4.0f);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository, 1), 2.0f);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository, 2), 3.0f);
}

TEST_F(ModelRepositoryTest, SpecificPolicyServesTheListedVersions) {
  WriteEfficiencyConfig([](ModelConfig& config) {
    auto* specific = config.mutable_version_policy()->mutable_specific();
    specific->add_versions(1);
    specific->add_versions(2);
    specific->add_versions(5);
  });
  for (int v : {1, 2, 3}) AddEfficiencyVersion(v);
  auto repository = LoadRepository();

  const ModelStatus status = repository->List()[0];
  EXPECT_THAT(States(status),
              ElementsAre(std::pair{1, kReady}, std::pair{2, kReady},
                          std::pair{5, kFailed}));
  EXPECT_THAT(status.versions(2).message(),
              HasSubstr("version_policy.specific lists version 5"));
  EXPECT_EQ(status.default_version(), 2);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 3.0f);
  EXPECT_EQ(repository->Get("efficiency", 3).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repository->Get("efficiency", 5).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ModelRepositoryTest, UnknownModelIsNotFound) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();
  auto servable = repository->Get("nope", 0);
  EXPECT_EQ(servable.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(servable.status().message(), "model 'nope' is not loaded");
  EXPECT_EQ(repository->GetStatus("nope").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repository->Get("efficiency", -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ModelRepositoryTest, CorruptModelFileFailsOnlyThatVersion) {
  WriteEfficiencyConfig([](ModelConfig& config) {
    config.mutable_version_policy()->mutable_all();
  });
  AddEfficiencyVersion(1);
  AddCorruptEfficiencyVersion(2);
  auto repository = LoadRepository();

  const ModelStatus status = repository->List()[0];
  EXPECT_THAT(States(status),
              ElementsAre(std::pair{1, kReady}, std::pair{2, kFailed}));
  EXPECT_THAT(status.versions(1).message(),
              HasSubstr("cannot load fake model"));
  EXPECT_EQ(status.default_version(), 1);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 2.0f);
  auto failed = repository->Get("efficiency", 2);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(),
              HasSubstr("model 'efficiency' version 2 is failed"));
}

TEST_F(ModelRepositoryTest, BrokenConfigFailsOnlyThatModel) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  fs::create_directories(ModelDir("broken") + "/1");
  ASSERT_TRUE(WriteFileAtomically(ModelDir("broken") + "/config.pbtxt",
                                  "name: \"broken\"\nmax_batch_size: x\n")
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomically(ModelDir("broken") + "/1/model.pt", "unused").ok());
  auto repository = LoadRepository();

  const std::vector<ModelStatus> models = repository->List();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].name(), "broken");
  EXPECT_THAT(States(models[0]), ElementsAre(std::pair{1, kFailed}));
  EXPECT_THAT(models[0].versions(0).message(), HasSubstr("config.pbtxt:2:"));
  EXPECT_EQ(models[0].default_version(), 0);
  auto broken = repository->Get("broken", 0);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(broken.status().message(),
              HasSubstr("model 'broken' has no ready version"));
  EXPECT_THAT(States(models[1]), ElementsAre(std::pair{1, kReady}));
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 2.0f);
}

TEST_F(ModelRepositoryTest, UnavailableDeviceFailsTheVersionsWithTheReason) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository("cuda:7");
  const ModelStatus status = repository->List()[0];
  EXPECT_EQ(status.config().device(), "cuda:7");
  ASSERT_EQ(status.versions_size(), 1);
  EXPECT_EQ(status.versions(0).state(), kFailed);
  EXPECT_THAT(status.versions(0).message(), HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(status.versions(0).message(), HasSubstr("cuda:7"));
}

TEST_F(ModelRepositoryTest, MissingRootIsNotFound) {
  ModelRepositoryOptions options;
  options.root = root_ + "/absent";
  options.backends = &backends_;
  auto repository = ModelRepository::Create(std::move(options));
  ASSERT_TRUE(repository.ok());
  absl::Status status = (*repository)->LoadAll();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr(root_ + "/absent"));
}

TEST_F(ModelRepositoryTest, ReloadPicksUpANewVersionAndOldHandlesStillAnswer) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();
  auto v1 = repository->Get("efficiency", 0);
  ASSERT_TRUE(v1.ok()) << v1.status();

  AddEfficiencyVersion(2);
  absl::Status reloaded = repository->Reload("efficiency");
  ASSERT_TRUE(reloaded.ok()) << reloaded;
  EXPECT_THAT(States(repository->List()[0]), ElementsAre(std::pair{2, kReady}));
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 3.0f);
  EXPECT_EQ(repository->Get("efficiency", 1).status().code(),
            absl::StatusCode::kNotFound);

  // Version 1 is out of the repository but alive while held.
  auto answer = Infer(**v1, {1, 0, 0});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, ElementsAre(2.0f));
}

TEST_F(ModelRepositoryTest, ReloadKeepsUnchangedVersionsLoaded) {
  WriteEfficiencyConfig([](ModelConfig& config) {
    config.mutable_version_policy()->mutable_all();
  });
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();
  auto before = repository->Get("efficiency", 1);
  ASSERT_TRUE(before.ok());
  AddEfficiencyVersion(2);
  ASSERT_TRUE(repository->Reload("efficiency").ok());
  auto after = repository->Get("efficiency", 1);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(before->get(), after->get());
  EXPECT_EQ((*repository->Get("efficiency", 0))->version(), 2);
}

TEST_F(ModelRepositoryTest, FailedReloadLeavesThePreviousVersionServing) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();

  // Latest 1 now selects version 2, which is corrupt.
  AddCorruptEfficiencyVersion(2);
  absl::Status reloaded = repository->Reload("efficiency");
  EXPECT_FALSE(reloaded.ok());
  EXPECT_THAT(reloaded.message(), HasSubstr("version 2"));
  const ModelStatus status = repository->List()[0];
  EXPECT_THAT(States(status),
              ElementsAre(std::pair{1, kReady}, std::pair{2, kFailed}));
  EXPECT_EQ(status.default_version(), 1);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 2.0f);

  // So does a config broken after loading.
  ASSERT_TRUE(
      WriteFileAtomically(ModelDir("efficiency") + "/config.pbtxt", "name: 3")
          .ok());
  EXPECT_EQ(repository->Reload("efficiency").code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 2.0f);
  EXPECT_EQ(repository->List()[0].config().tabular().features_size(), 3);
}

TEST_F(ModelRepositoryTest, ReloadLoadsAModelAddedAfterStart) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();
  EXPECT_EQ(repository->Reload("quality").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(repository->Reload("../etc").code(),
            absl::StatusCode::kInvalidArgument);

  AddQualityModel();
  ASSERT_TRUE(repository->Reload("quality").ok());
  EXPECT_TRUE(repository->Get("quality", 1).ok());
}

TEST_F(ModelRepositoryTest, ShutdownUnloadsAndHeldHandlesRefuseNewWork) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();
  auto held = repository->Get("efficiency", 0);
  ASSERT_TRUE(held.ok());

  repository->Shutdown();
  EXPECT_EQ(repository->Get("efficiency", 0).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_THAT(States(repository->List()[0]),
              ElementsAre(std::pair{1, kUnloading}));
  EXPECT_EQ(repository->Reload("efficiency").code(),
            absl::StatusCode::kFailedPrecondition);

  // Shutdown drained the batchers: queued work was answered, new work is
  // refused even through a handle obtained before.
  EXPECT_EQ(Infer(**held, {0, 1, 0}).status().code(),
            absl::StatusCode::kUnavailable);
  // The repository waits for outside handles before it goes.
  held->reset();
  repository.reset();
}

TEST_F(ModelRepositoryTest, UnregisteredPlatformFailsTheModelNamingIt) {
  ModelConfig config = TabularConfig("efficiency", 3);
  config.set_platform("onnxruntime");
  fs::create_directories(ModelDir("efficiency") + "/1");
  ASSERT_TRUE(
      WriteModelConfig(ModelDir("efficiency") + "/config.pbtxt", config).ok());
  auto repository = LoadRepository();
  const ModelStatus status = repository->List()[0];
  EXPECT_EQ(status.default_version(), 0);
  auto servable = repository->Get("efficiency", 0);
  EXPECT_EQ(servable.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(servable.status().message(),
              HasSubstr("model 'efficiency' has no ready version"));
}

TEST_F(ModelRepositoryTest, RepositoryNeedsABackendRegistry) {
  ModelRepositoryOptions options;
  options.root = root_;
  EXPECT_EQ(ModelRepository::Create(std::move(options)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(ModelRepositoryTest, RequestsDuringReloadsAlwaysFindAVersion) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();

  constexpr int kRequests = 200;
  int failures = 0;
  std::thread client([&] {
    for (int i = 0; i < kRequests; ++i) {
      auto servable = repository->Get("efficiency", 0);
      if (!servable.ok() || !Infer(**servable, {1, 0, 0}).ok()) ++failures;
    }
  });
  for (int version = 2; version <= 6; ++version) {
    AddEfficiencyVersion(version);
    EXPECT_TRUE(repository->Reload("efficiency").ok());
  }
  client.join();
  EXPECT_EQ(failures, 0);
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 7.0f);
}

// Records what the repository reports, as "load <model> <version> ok|failed",
// "reload <model> ok|failed" and "changed".
class RecordingObserver : public RepositoryObserver {
 public:
  void OnVersionLoaded(absl::string_view model, int64_t version,
                       const absl::Status& status) override {
    events.push_back(absl::StrCat("load ", model, " ", version, " ",
                                  status.ok() ? "ok" : "failed"));
  }
  void OnReload(absl::string_view model, const absl::Status& status) override {
    events.push_back(
        absl::StrCat("reload ", model, " ", status.ok() ? "ok" : "failed"));
  }
  void OnModelsChanged() override { events.push_back("changed"); }

  std::vector<std::string> events;  // loads are serialised: no lock needed
};

TEST_F(ModelRepositoryTest, ReportsEveryLoadOutcomeAndReloadToTheObserver) {
  WriteEfficiencyConfig([](ModelConfig& config) {
    config.mutable_version_policy()->mutable_all();
  });
  AddEfficiencyVersion(1);
  AddCorruptEfficiencyVersion(2);
  fs::create_directories(ModelDir("broken"));
  ASSERT_TRUE(
      WriteFileAtomically(ModelDir("broken") + "/config.pbtxt", "name: 3")
          .ok());
  RecordingObserver observer;
  auto repository = LoadRepository("", &observer);
  EXPECT_THAT(observer.events,
              ElementsAre("load broken 0 failed", "load efficiency 1 ok",
                          "load efficiency 2 failed", "changed"));

  // Version 1 is kept as it is (not loaded again); version 2 is retried.
  observer.events.clear();
  EXPECT_FALSE(repository->Reload("efficiency").ok());
  EXPECT_EQ(repository->Reload("absent").code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(repository->Reload("../outside").ok());  // not a model name
  EXPECT_THAT(
      observer.events,
      ElementsAre("load efficiency 2 failed", "reload efficiency failed",
                  "changed", "reload absent failed", "changed"));
}

TEST_F(ModelRepositoryTest,
       RescanLoadsNewVersionsAndModelsAndTouchesNothingElse) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  RecordingObserver observer;
  auto repository = LoadRepository("", &observer);
  auto v1 = repository->Get("efficiency", 0);
  ASSERT_TRUE(v1.ok());
  observer.events.clear();

  // Nothing changed on disk: nothing is loaded, logged or reported.
  ASSERT_TRUE(repository->Rescan().ok());
  EXPECT_THAT(observer.events, IsEmpty());
  EXPECT_EQ(repository->Get("efficiency", 0)->get(), v1->get());

  AddEfficiencyVersion(2);
  AddQualityModel();
  ASSERT_TRUE(repository->Rescan().ok());
  EXPECT_THAT(observer.events,
              ElementsAre("load efficiency 2 ok", "reload efficiency ok",
                          "load quality 1 ok", "reload quality ok", "changed"));
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 3.0f);
  EXPECT_TRUE(repository->Get("quality", 0).ok());
  // Version 1 left the repository; the handle still answers.
  EXPECT_EQ(repository->Get("efficiency", 1).status().code(),
            absl::StatusCode::kNotFound);
  auto answer = Infer(**v1, {1, 0, 0});
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_THAT(*answer, ElementsAre(2.0f));
}

TEST_F(ModelRepositoryTest,
       RescanKeepsACorruptNewestVersionFailedWithoutRetrying) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  RecordingObserver observer;
  auto repository = LoadRepository("", &observer);
  AddCorruptEfficiencyVersion(2);
  observer.events.clear();
  ASSERT_TRUE(repository->Rescan().ok());
  EXPECT_THAT(observer.events,
              ElementsAre("load efficiency 2 failed",
                          "reload efficiency failed", "changed"));
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 2.0f);  // v1 keeps serving
  EXPECT_THAT(States(repository->List()[0]),
              ElementsAre(std::pair{1, kReady}, std::pair{2, kFailed}));

  // The corrupt files did not change: the next polls leave them alone.
  observer.events.clear();
  ASSERT_TRUE(repository->Rescan().ok());
  ASSERT_TRUE(repository->Rescan().ok());
  EXPECT_THAT(observer.events, IsEmpty());

  // A good version 3 replaces both.
  AddEfficiencyVersion(3);
  ASSERT_TRUE(repository->Rescan().ok());
  EXPECT_THAT(States(repository->List()[0]), ElementsAre(std::pair{3, kReady}));
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 4.0f);
}

TEST_F(ModelRepositoryTest, RescanUnloadsAModelWhoseFolderIsGone) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  AddQualityModel();
  auto repository = LoadRepository();
  fs::remove_all(ModelDir("quality"));
  ASSERT_TRUE(repository->Rescan().ok());
  EXPECT_EQ(repository->Get("quality", 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repository->List().size(), 1u);
}

TEST_F(ModelRepositoryTest, UnloadStopsServingAndReloadBringsItBack) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();
  ASSERT_TRUE(repository->Unload("efficiency").ok());
  EXPECT_EQ(repository->Get("efficiency", 0).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(repository->List().empty());
  EXPECT_EQ(repository->Unload("efficiency").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(repository->Unload("../x").code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(repository->Reload("efficiency").ok());
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 2.0f);
}

TEST_F(ModelRepositoryTest, IndexListsEveryFolderOnDiskWithItsState) {
  WriteEfficiencyConfig();
  for (int v : {1, 2}) AddEfficiencyVersion(v);
  AddQualityModel();
  auto repository = LoadRepository();
  ASSERT_TRUE(repository->Unload("quality").ok());
  const lineserve::v1::RepositoryIndexResponse index = repository->Index();
  ASSERT_EQ(index.models_size(), 2);
  const auto& efficiency = index.models(0);
  EXPECT_EQ(efficiency.name(), "efficiency");
  EXPECT_TRUE(efficiency.loaded());
  ASSERT_EQ(efficiency.versions_size(), 2);
  EXPECT_EQ(efficiency.versions(0).state(),
            lineserve::v1::VERSION_STATE_UNAVAILABLE);
  EXPECT_EQ(efficiency.versions(0).message(),
            "not selected by the version policy");
  EXPECT_EQ(efficiency.versions(1).state(), kReady);
  const auto& quality = index.models(1);
  EXPECT_FALSE(quality.loaded());
  ASSERT_EQ(quality.versions_size(), 1);
  EXPECT_EQ(quality.versions(0).message(), "the model is not loaded");
}

TEST_F(ModelRepositoryTest, PollerRescansOnItsClocksInterval) {
  WriteEfficiencyConfig();
  AddEfficiencyVersion(1);
  auto repository = LoadRepository();
  FakeClock clock;
  RepositoryPoller poller(repository.get(), absl::Seconds(5), &clock);
  AddEfficiencyVersion(2);
  // The poller has read the time and sleeps until five seconds later.
  ASSERT_TRUE(clock.WaitForTimedWaiters(1, kTestTimeout));
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(poller.polls(), 0);
  clock.Advance(absl::Seconds(1));
  ASSERT_TRUE(poller.WaitForPollsAbove(0, kTestTimeout));
  EXPECT_FLOAT_EQ(EfficiencyAnswer(*repository), 3.0f);
}

TEST_F(ModelRepositoryTest, ModelWithoutVersionsIsUnavailable) {
  WriteEfficiencyConfig();
  auto repository = LoadRepository();
  EXPECT_THAT(repository->List()[0].versions(), IsEmpty());
  EXPECT_EQ(repository->Get("efficiency", 0).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace lineserve
