#include "models/preprocess/tabular_encoder.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::preprocess {
namespace {

namespace v1 = ::lineserve::v1;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Feature* AddNumeric(v1::TabularPreprocessing* config,
                        const std::string& name) {
  v1::Feature* feature = config->add_features();
  feature->set_name(name);
  feature->set_kind(v1::Feature::KIND_NUMERIC);
  return feature;
}

v1::Feature* AddCategorical(v1::TabularPreprocessing* config,
                            const std::string& name,
                            const std::vector<std::string>& categories) {
  v1::Feature* feature = config->add_features();
  feature->set_name(name);
  feature->set_kind(v1::Feature::KIND_CATEGORICAL);
  for (const std::string& category : categories) {
    feature->add_categories(category);
  }
  return feature;
}

// A production-line row: [workers, department(2), shift(3), overtime,
// line_type(2)], the last two optional.
v1::TabularPreprocessing LineConfig() {
  v1::TabularPreprocessing config;
  AddNumeric(&config, "workers");
  AddCategorical(&config, "department", {"Sewing", "Finishing "});
  AddCategorical(&config, "shift", {"1", "2", "3"});
  v1::Feature* overtime = AddNumeric(&config, "overtime");
  overtime->set_optional(true);
  overtime->set_default_value(1.5f);
  AddCategorical(&config, "line_type", {"manual", "automated"})
      ->set_optional(true);
  return config;
}

TabularEncoder MustCreate(const v1::TabularPreprocessing& config) {
  absl::StatusOr<TabularEncoder> encoder = TabularEncoder::Create(config);
  EXPECT_TRUE(encoder.ok()) << encoder.status();
  return *std::move(encoder);
}

FeatureRow FullRow() {
  return {{"workers", 52.0},
          {"department", std::string("sewing")},
          {"shift", std::string("2")},
          {"overtime", 3.25},
          {"line_type", std::string("automated")}};
}

absl::Status EncodeRow(const TabularEncoder& encoder, const FeatureRow& row) {
  std::vector<float> out(encoder.width(), -1.0f);
  return encoder.Encode(row, out.data());
}

void ExpectEncodeError(const FeatureRow& row,
                       const std::string& expected_message) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  absl::Status status = EncodeRow(encoder, row);
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(expected_message));
}

void ExpectCreateError(const v1::TabularPreprocessing& config,
                       const std::string& expected_message) {
  absl::StatusOr<TabularEncoder> encoder = TabularEncoder::Create(config);
  ASSERT_EQ(encoder.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(encoder.status().message(), HasSubstr(expected_message));
}

// --- Encoding.

TEST(TabularEncoderTest, CountsOneHotWidth) {
  EXPECT_EQ(MustCreate(LineConfig()).width(), 1u + 2u + 3u + 1u + 2u);
}

TEST(TabularEncoderTest, EncodesInConfigOrder) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  std::vector<float> out(encoder.width(), -1.0f);
  ASSERT_TRUE(encoder.Encode(FullRow(), out.data()).ok());
  EXPECT_THAT(out, ElementsAre(52.0f, 1, 0, 0, 1, 0, 3.25f, 0, 1));
}

TEST(TabularEncoderTest, IgnoresOrderOfRow) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  FeatureRow reversed = FullRow();
  std::reverse(reversed.begin(), reversed.end());
  std::vector<float> in_order(encoder.width());
  std::vector<float> out_of_order(encoder.width());
  ASSERT_TRUE(encoder.Encode(FullRow(), in_order.data()).ok());
  ASSERT_TRUE(encoder.Encode(reversed, out_of_order.data()).ok());
  EXPECT_EQ(in_order, out_of_order);
}

TEST(TabularEncoderTest, OneHotFollowsCategoryOrder) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  const char* shifts[] = {"1", "2", "3"};
  for (int i = 0; i < 3; ++i) {
    FeatureRow row = FullRow();
    row[2].second = std::string(shifts[i]);
    std::vector<float> out(encoder.width(), -1.0f);
    ASSERT_TRUE(encoder.Encode(row, out.data()).ok());
    for (int j = 0; j < 3; ++j) {
      EXPECT_EQ(out[3 + j], i == j ? 1.0f : 0.0f) << "shift " << shifts[i];
    }
  }
}

TEST(TabularEncoderTest, ComparesCategoriesTrimmedAndLowerCased) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  for (const char* spelling : {"finishing", "Finishing ", "  FINISHING\t"}) {
    FeatureRow row = FullRow();
    row[1].second = std::string(spelling);
    std::vector<float> out(encoder.width(), -1.0f);
    ASSERT_TRUE(encoder.Encode(row, out.data()).ok()) << spelling;
    EXPECT_EQ(out[1], 0.0f) << spelling;
    EXPECT_EQ(out[2], 1.0f) << spelling;
  }
}

TEST(TabularEncoderTest, NormalizesCategoryText) {
  EXPECT_EQ(TabularEncoder::NormalizeCategory("  Finishing \n"), "finishing");
  EXPECT_EQ(TabularEncoder::NormalizeCategory("SEWING"), "sewing");
  EXPECT_EQ(TabularEncoder::NormalizeCategory(" "), "");
}

TEST(TabularEncoderTest, LooksUpNumberForCategoricalByShortestText) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  FeatureRow row = FullRow();
  row[2].second = 3.0;  // "3"
  std::vector<float> out(encoder.width(), -1.0f);
  ASSERT_TRUE(encoder.Encode(row, out.data()).ok());
  EXPECT_THAT(std::vector<float>(out.begin() + 3, out.begin() + 6),
              ElementsAre(0, 0, 1));

  row[2].second = 3.5;
  absl::Status status = encoder.Encode(row, out.data());
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("\"shift\""));
  EXPECT_THAT(status.message(), HasSubstr("\"3.5\""));
}

TEST(TabularEncoderTest, MatchesFractionalAndLargeNumberCategories) {
  v1::TabularPreprocessing config;
  AddCategorical(&config, "speed", {"0.5", "100000000", "-2"});
  const TabularEncoder encoder = MustCreate(config);
  std::vector<float> out(encoder.width());
  ASSERT_TRUE(encoder.Encode({{"speed", 0.5}}, out.data()).ok());
  EXPECT_THAT(out, ElementsAre(1, 0, 0));
  ASSERT_TRUE(encoder.Encode({{"speed", 1e8}}, out.data()).ok());
  EXPECT_THAT(out, ElementsAre(0, 1, 0));
  ASSERT_TRUE(encoder.Encode({{"speed", -2.0}}, out.data()).ok());
  EXPECT_THAT(out, ElementsAre(0, 0, 1));
}

TEST(TabularEncoderTest, FillsOptionalFeaturesWhenAbsent) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  const FeatureRow row = {{"workers", 10.0},
                          {"department", std::string("Sewing")},
                          {"shift", std::string("1")}};
  std::vector<float> out(encoder.width(), -1.0f);
  ASSERT_TRUE(encoder.Encode(row, out.data()).ok());
  // overtime takes its default, line_type an all-zero one-hot.
  EXPECT_THAT(out, ElementsAre(10, 1, 0, 1, 0, 0, 1.5f, 0, 0));
}

// --- Encoding errors: each names the feature.

TEST(TabularEncoderTest, RejectsMissingFeature) {
  FeatureRow row = FullRow();
  row.erase(row.begin());  // workers
  ExpectEncodeError(row, "missing feature \"workers\"");
}

TEST(TabularEncoderTest, ListsEveryMissingFeature) {
  ExpectEncodeError({{"workers", 1.0}},
                    "missing features \"department\", \"shift\"");
}

TEST(TabularEncoderTest, RejectsUnknownFeature) {
  FeatureRow row = FullRow();
  row.emplace_back("temperature", 21.0);
  ExpectEncodeError(row, "unknown feature \"temperature\"");
}

TEST(TabularEncoderTest, RejectsRepeatedFeature) {
  FeatureRow row = FullRow();
  row.emplace_back("workers", 53.0);
  ExpectEncodeError(row, "feature \"workers\" is given more than once");
}

TEST(TabularEncoderTest, RejectsNanAndInfinity) {
  FeatureRow row = FullRow();
  row[0].second = std::numeric_limits<double>::quiet_NaN();
  ExpectEncodeError(row, "feature \"workers\" is NaN");
  row[0].second = -std::numeric_limits<double>::infinity();
  ExpectEncodeError(row, "feature \"workers\" is infinite");
  row = FullRow();
  row[2].second = std::numeric_limits<double>::quiet_NaN();
  ExpectEncodeError(row, "feature \"shift\" is NaN");
}

TEST(TabularEncoderTest, RejectsNumberOutsideFloatRange) {
  FeatureRow row = FullRow();
  row[3].second = 1e300;
  ExpectEncodeError(row, "feature \"overtime\" is 1e+300, outside the float");
}

TEST(TabularEncoderTest, RejectsStringForNumericFeature) {
  FeatureRow row = FullRow();
  row[0].second = std::string("52");
  ExpectEncodeError(row,
                    "feature \"workers\" is numeric, got the string \"52\"");
}

TEST(TabularEncoderTest, RejectsUnknownCategoryListingExpected) {
  FeatureRow row = FullRow();
  row[1].second = std::string("Cutting");
  ExpectEncodeError(row,
                    "feature \"department\" has unknown category \"cutting\"; "
                    "expected one of \"sewing\", \"finishing\"");
}

TEST(TabularEncoderTest, EscapesClientTextInMessages) {
  FeatureRow row = FullRow();
  row.emplace_back("bad\nname", 1.0);
  ExpectEncodeError(row, "unknown feature \"bad\\nname\"");
}

TEST(TabularEncoderTest, RejectsNullOutput) {
  const TabularEncoder encoder = MustCreate(LineConfig());
  EXPECT_EQ(encoder.Encode(FullRow(), nullptr).code(),
            absl::StatusCode::kInvalidArgument);
}

// --- Config validation.

TEST(TabularEncoderTest, RejectsEmptyConfig) {
  ExpectCreateError(v1::TabularPreprocessing(),
                    "tabular.features must not be empty");
}

TEST(TabularEncoderTest, RejectsEmptyOrRepeatedName) {
  v1::TabularPreprocessing config = LineConfig();
  AddNumeric(&config, "");
  ExpectCreateError(config, "tabular.features[5].name must not be empty");

  config = LineConfig();
  AddNumeric(&config, "shift");
  ExpectCreateError(
      config,
      "tabular.features[5] (\"shift\").name repeats tabular.features[2].name");
}

TEST(TabularEncoderTest, RejectsUnsetKind) {
  v1::TabularPreprocessing config = LineConfig();
  config.mutable_features(1)->set_kind(v1::Feature::KIND_UNSPECIFIED);
  ExpectCreateError(config,
                    "tabular.features[1] (\"department\").kind must be");
}

TEST(TabularEncoderTest, RejectsBadCategories) {
  v1::TabularPreprocessing config;
  AddCategorical(&config, "shift", {});
  ExpectCreateError(config,
                    "tabular.features[0] (\"shift\").categories must "
                    "not be empty");

  config.Clear();
  AddCategorical(&config, "shift", {"day", " "});
  ExpectCreateError(config, "categories[1] is empty");

  config.Clear();
  AddCategorical(&config, "department", {"Sewing", "finishing", " SEWING"});
  ExpectCreateError(config, "categories[2] \" SEWING\" repeats categories[0]");

  config.Clear();
  AddNumeric(&config, "workers")->add_categories("a");
  ExpectCreateError(config, "categories must be empty for a KIND_NUMERIC");
}

TEST(TabularEncoderTest, RejectsNonFiniteDefault) {
  v1::TabularPreprocessing config;
  v1::Feature* feature = AddNumeric(&config, "overtime");
  feature->set_optional(true);
  feature->set_default_value(std::numeric_limits<float>::infinity());
  ExpectCreateError(config, "default_value must be finite");
}

}  // namespace
}  // namespace lineserve::preprocess
