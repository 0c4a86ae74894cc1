#include "models/train/model_artifacts.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "models/config/model_config.h"

namespace lineserve::train {
namespace {
namespace fs = std::filesystem;

class ModelArtifactsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ =
        fs::path(::testing::TempDir()) /
        absl::StrCat(
            "artifacts_",
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(repo_);
    fs::create_directories(repo_);
  }
  void TearDown() override { fs::remove_all(repo_); }

  fs::path repo_;
};

TEST_F(ModelArtifactsTest, PublishesNumberedVersionsAtomically) {
  fs::create_directories(repo_ / "m" / "7");
  fs::create_directories(repo_ / "m" / "notaversion");
  EXPECT_EQ(NextModelVersion((repo_ / "m").string()), 8);
  auto writer = VersionWriter::Create(repo_.string(), "m");
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::ofstream(writer->StagedPath("model.pt")) << "x";
  // Staged files are invisible to anyone scanning version folders.
  EXPECT_FALSE(fs::exists(repo_ / "m" / "8"));
  auto version = writer->Publish();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(*version, 8);
  EXPECT_TRUE(fs::exists(repo_ / "m" / "8" / "model.pt"));
  EXPECT_FALSE(writer->Publish().ok());
}

TEST_F(ModelArtifactsTest, UnpublishedStagingIsRemoved) {
  {
    auto writer = VersionWriter::Create(repo_.string(), "m");
    ASSERT_TRUE(writer.ok());
    std::ofstream(writer->StagedPath("model.pt")) << "x";
  }
  EXPECT_TRUE(fs::is_empty(repo_ / "m"));
}

// A valid tabular config whose one categorical feature has the categories
// "a" and `category`.
lineserve::v1::ModelConfig TabularConfig(const std::string& category) {
  lineserve::v1::ModelConfig config;
  config.set_name("m");
  config.set_task(lineserve::v1::TASK_KIND_TABULAR_REGRESSION);
  auto* input = config.add_input();
  input->set_name("f");
  input->set_data_type(lineserve::v1::TYPE_FP32);
  input->add_dims(2);
  auto* output = config.add_output();
  output->set_name("y");
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(1);
  auto* feature = config.mutable_tabular()->add_features();
  feature->set_name("c");
  feature->set_kind(lineserve::v1::Feature::KIND_CATEGORICAL);
  feature->add_categories("a");
  feature->add_categories(category);
  ApplyModelConfigDefaults(config);
  EXPECT_TRUE(ValidateModelConfig(config).ok()) << ValidateModelConfig(config);
  return config;
}

TEST_F(ModelArtifactsTest,
       ReconcileWritesServingSettingsOnlyAndKeepsTheOperators) {
  const std::string dir = (repo_ / "m").string();
  fs::create_directories(dir);
  ASSERT_TRUE(ReconcileModelConfig(dir, TabularConfig("b"), false).ok());
  auto written = LoadModelConfig(dir + "/config.pbtxt");
  ASSERT_TRUE(written.ok()) << written.status();
  // The contract is the versions' business (model.json).
  EXPECT_FALSE(HasContract(*written));
  EXPECT_EQ(written->name(), "m");
  // An operator's serving settings survive a retrain, even one whose
  // features differ: nothing to refuse, the contract travels per version.
  written->set_instance_count(3);
  ASSERT_TRUE(WriteModelConfig(dir + "/config.pbtxt", *written).ok());
  ASSERT_TRUE(ReconcileModelConfig(dir, TabularConfig("z"), false).ok());
  EXPECT_EQ(LoadModelConfig(dir + "/config.pbtxt")->instance_count(), 3);
  // --overwrite-config brings the trainer's serving defaults back (here
  // none: 0, the server's default).
  ASSERT_TRUE(ReconcileModelConfig(dir, TabularConfig("z"), true).ok());
  EXPECT_EQ(LoadModelConfig(dir + "/config.pbtxt")->instance_count(), 0);
}

TEST_F(ModelArtifactsTest, ContractChangesNameTheFieldsClientsSee) {
  lineserve::v1::ModelConfig before = TabularConfig("b");
  lineserve::v1::ModelConfig after = before;
  after.mutable_tabular()->mutable_features(0)->set_default_value(7);
  after.set_description("retrained");
  EXPECT_EQ(ContractChanges(before, after), "");
  after.mutable_tabular()->mutable_features(0)->set_categories(1, "z");
  EXPECT_THAT(ContractChanges(before, after),
              ::testing::HasSubstr("tabular.features[0].categories[1]"));
}

TEST_F(ModelArtifactsTest, VersionContractRoundTripsAndAppliesOverServing) {
  const lineserve::v1::ModelConfig full = TabularConfig("b");
  const std::string path = (repo_ / "model.json").string();
  ASSERT_TRUE(WriteVersionContract(path, full).ok());
  auto contract = LoadVersionContract(path);
  ASSERT_TRUE(contract.ok()) << contract.status();
  auto merged = ApplyVersionContract(ServingOf(full), *contract, path);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(*merged, full));
  // Serving settings do not belong in a version's contract.
  EXPECT_EQ(ParseVersionContract("{\"max_batch_size\": 4, \"task\": "
                                 "\"TASK_KIND_TENSOR\"}",
                                 "m.json")
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseVersionContract("{\"nonsense\": 1}", "m.json").ok());
}

}  // namespace
}  // namespace lineserve::train
