#include "models/config/model_config.h"

#include <algorithm>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

using ::testing::HasSubstr;

constexpr char kImageConfig[] = R"pb(
  name: "quality_inspection"
  task: TASK_KIND_IMAGE_CLASSIFICATION
  input {
    name: "image"
    data_type: TYPE_FP32
    dims: [ 1, 64, 96 ]
  }
  output {
    name: "logits"
    data_type: TYPE_FP32
    dims: [ 3 ]
  }
  image {
    width: 96
    height: 64
    color_mode: COLOR_MODE_GRAY
    resize_mode: RESIZE_MODE_LETTERBOX
    normalization: NORMALIZATION_PER_IMAGE
  }
  classification {
    labels: [ "crack", "ok", "spot" ]
    ok_label: "ok"
  }
  max_batch_size: 16
  dynamic_batching { max_queue_delay_microseconds: 2000 }
)pb";

constexpr char kTabularConfig[] = R"pb(
  name: "efficiency_prediction"
  task: TASK_KIND_TABULAR_REGRESSION
  input {
    name: "features"
    data_type: TYPE_FP32
    dims: [ 3 ]
  }
  output {
    name: "efficiency"
    data_type: TYPE_FP32
    dims: [ 1 ]
  }
  tabular {
    features { name: "smv" kind: KIND_NUMERIC }
    features {
      name: "department"
      kind: KIND_CATEGORICAL
      categories: [ "sweing", "finishing" ]
    }
  }
)pb";

// Replaces `from` by `to` in the image config, failing if absent, so every
// negative test starts from a config known to be valid.
std::string ImageConfigWith(absl::string_view from, absl::string_view to) {
  std::string text = kImageConfig;
  EXPECT_THAT(text, HasSubstr(std::string(from)));
  return absl::StrReplaceAll(text, {{from, to}});
}

TEST(ModelConfigTest, ParsesImageConfigAndAppliesDefaults) {
  auto config = ParseModelConfig(kImageConfig, "config.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "quality_inspection");
  EXPECT_EQ(config->platform(), "torchscript");
  EXPECT_EQ(config->device(), "auto");
  // 0: the server decides (one execution per core its threads leave).
  EXPECT_EQ(config->instance_count(), 0);
  EXPECT_EQ(config->version_policy().latest().num_versions(), 1u);
  EXPECT_EQ(config->dynamic_batching().max_queue_size(), kDefaultMaxQueueSize);
  EXPECT_THAT(config->dynamic_batching().preferred_batch_size(),
              ::testing::ElementsAre(16));
  EXPECT_THAT(config->warmup().batch_sizes(), ::testing::ElementsAre(1, 16));
  EXPECT_EQ(config->classification().labels_size(), 3);
}

TEST(ModelConfigTest, ParsesTabularConfig) {
  auto config = ParseModelConfig(kTabularConfig, "config.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->tabular().features_size(), 2);
  EXPECT_EQ(config->max_batch_size(), 0);
  EXPECT_THAT(config->warmup().batch_sizes(), ::testing::ElementsAre(1));
}

TEST(ModelConfigTest, SyntaxErrorNamesFileLineAndColumn) {
  const std::string valid = kImageConfig;
  const int bad_line = std::count(valid.begin(), valid.end(), '\n') + 1;
  const std::string text = absl::StrCat(valid, "  colour: 3\n");
  auto config = ParseModelConfig(text, "repo/m/config.pbtxt");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              HasSubstr(absl::StrCat("repo/m/config.pbtxt:", bad_line, ":")));
  EXPECT_THAT(config.status().message(), HasSubstr("(in: colour: 3)"));
  EXPECT_THAT(config.status().message(), HasSubstr("colour"));
}

TEST(ModelConfigTest, WrongValueTypeIsASyntaxError) {
  auto config = ParseModelConfig(
      ImageConfigWith("max_batch_size: 16", "max_batch_size: \"many\""),
      "config.pbtxt");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("max_batch_size"));
}

struct BadCase {
  const char* from;
  const char* to;
  const char* field;
};

class ModelConfigFieldErrorTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(ModelConfigFieldErrorTest, NamesTheField) {
  const BadCase& c = GetParam();
  auto config = ParseModelConfig(ImageConfigWith(c.from, c.to), "cfg.pbtxt");
  ASSERT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument)
      << config.status();
  EXPECT_THAT(config.status().message(), HasSubstr("cfg.pbtxt: "));
  EXPECT_THAT(config.status().message(), HasSubstr(c.field));
}

INSTANTIATE_TEST_SUITE_P(
    Fields, ModelConfigFieldErrorTest,
    ::testing::Values(
        BadCase{"name: \"quality_inspection\"", "name: \"../etc\"", "name"},
        BadCase{"task: TASK_KIND_IMAGE_CLASSIFICATION", "", "task"},
        BadCase{"width: 96", "width: 0", "image.width"},
        BadCase{"dims: [ 1, 64, 96 ]", "dims: [ 3, 64, 96 ]", "input[0].dims"},
        BadCase{"dims: [ 3 ]", "dims: [ 4 ]", "output[0].dims"},
        BadCase{"ok_label: \"ok\"", "ok_label: \"good\"",
                "classification.ok_label"},
        BadCase{"ok_label: \"ok\"", "ok_label: \"ok\" defect_threshold: 1.5",
                "classification.defect_threshold"},
        BadCase{"ok_label: \"ok\"", "ok_label: \"ok\" cell_threshold: 0",
                "classification.cell_threshold"},
        BadCase{"\"crack\", \"ok\"", "\"ok\", \"ok\"", "classification.labels"},
        BadCase{"max_batch_size: 16", "max_batch_size: -1", "max_batch_size"},
        BadCase{"max_queue_delay_microseconds: 2000",
                "preferred_batch_size: 32",
                "dynamic_batching.preferred_batch_size"},
        BadCase{"max_batch_size: 16", "max_batch_size: 16 device: \"gpu\"",
                "device"},
        BadCase{"max_batch_size: 16",
                "max_batch_size: 16 version_policy { latest {} }",
                "version_policy.latest.num_versions"},
        BadCase{"max_batch_size: 16",
                "max_batch_size: 16 warmup { batch_sizes: 17 }",
                "warmup.batch_sizes"},
        BadCase{"max_batch_size: 16",
                "max_batch_size: 16 platform: \"Onnx Runtime\"", "platform"},
        BadCase{"name: \"image\"", "name: \"\"", "input[0]"}));

TEST(ModelConfigTest, AcceptsCudaDevices) {
  for (const char* device : {"cpu", "cuda", "cuda:0", "cuda:3", "auto"}) {
    auto config = ParseModelConfig(
        ImageConfigWith(
            "max_batch_size: 16",
            absl::StrCat("max_batch_size: 16 device: \"", device, "\"")),
        "config.pbtxt");
    EXPECT_TRUE(config.ok()) << device << ": " << config.status();
  }
}

// An image classifier's second output is its defect map: FP32 [labels,
// rows, columns].
TEST(ModelConfigTest, ImageClassifierMayDeclareADefectMap) {
  constexpr char kScores[] = "dims: [ 3 ]\n  }";
  const auto with_map = [&](absl::string_view map) {
    return ImageConfigWith(kScores,
                           absl::StrCat(kScores, "\n  output { ", map, " }"));
  };
  auto config = ParseModelConfig(
      with_map("name: \"cells\" data_type: TYPE_FP32 dims: [ 3, 8, 12 ]"),
      "config.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->output_size(), 2);

  const struct {
    const char* map;
    const char* message;
  } bad[] = {
      {"name: \"cells\" data_type: TYPE_FP32 dims: [ 2, 8, 12 ]",
       "output[1].dims is [2, 8, 12] but a defect map is [labels, rows, "
       "columns] with 3 labels and at least one row and column"},
      {"name: \"cells\" data_type: TYPE_FP32 dims: [ 3, 0, 12 ]",
       "output[1].dims"},
      {"name: \"cells\" data_type: TYPE_FP32 dims: [ 3, 96 ]",
       "output[1].dims is [3, 96]"},
      {"name: \"cells\" data_type: TYPE_INT64 dims: [ 3, 8, 12 ]",
       "output[1].data_type must be TYPE_FP32 (a defect map)"},
  };
  for (const auto& c : bad) {
    auto refused = ParseModelConfig(with_map(c.map), "config.pbtxt");
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument)
        << c.map;
    EXPECT_THAT(refused.status().message(), HasSubstr(c.message)) << c.map;
  }
  // Three outputs are still too many.
  auto three = ParseModelConfig(
      with_map("name: \"a\" data_type: TYPE_FP32 dims: [ 3, 1, 1 ] } "
               "output { name: \"b\" data_type: TYPE_FP32 dims: [ 1 ]"),
      "config.pbtxt");
  EXPECT_THAT(three.status().message(),
              HasSubstr("output holds the scores and at most a defect map "
                        "for this task, has 3"));
  // A regression has no defect map.
  auto regression = ParseModelConfig(
      absl::StrReplaceAll(
          kTabularConfig,
          {{"dims: [ 1 ]\n  }",
            "dims: [ 1 ]\n  }\n  output { name: \"m\" data_type: TYPE_FP32 "
            "dims: [ 1, 1, 1 ] }"}}),
      "config.pbtxt");
  EXPECT_THAT(regression.status().message(),
              HasSubstr("output must hold exactly one tensor"));
}

TEST(ModelConfigTest, TabularWidthMustMatchInput) {
  std::string text =
      absl::StrReplaceAll(kTabularConfig, {{"dims: [ 3 ]", "dims: [ 2 ]"}});
  auto config = ParseModelConfig(text, "config.pbtxt");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("input[0].dims"));
}

TEST(ModelConfigTest, WritesAndReadsBack) {
  auto config = ParseModelConfig(kImageConfig, "config.pbtxt");
  ASSERT_TRUE(config.ok()) << config.status();
  config->mutable_classification()->set_defect_threshold(0.25f);
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/model_config_test.pbtxt");
  ASSERT_TRUE(WriteModelConfig(path, *config).ok());
  auto read = LoadModelConfig(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->SerializeAsString(), config->SerializeAsString());
  std::filesystem::remove(path);
}

TEST(ModelConfigTest, RefusesToWriteAnInvalidConfig) {
  auto config = ParseModelConfig(kImageConfig, "config.pbtxt");
  ASSERT_TRUE(config.ok());
  config->mutable_image()->set_height(-4);
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/model_config_invalid.pbtxt");
  absl::Status status = WriteModelConfig(path, *config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("image.height"));
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ModelConfigTest, MissingFileIsNotFound) {
  auto config = LoadModelConfig("/nonexistent/lineserve/config.pbtxt");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace lineserve
