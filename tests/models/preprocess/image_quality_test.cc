#include "models/preprocess/image_quality.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/models/preprocess/image_test_util.h"

namespace lineserve::preprocess {
namespace {

using ::testing::HasSubstr;

// A textured frame: seeded noise around mid-grey, spread ~0.1.
Image Textured(int width, int height, int channels) {
  std::mt19937 random(7);
  std::normal_distribution<float> noise(0.5f, 0.1f);
  return MakeImage(width, height, channels,
                   [&](int, int, int) { return noise(random); });
}

Image Flat(int width, int height, int channels, float value) {
  return MakeImage(width, height, channels,
                   [value](int, int, int) { return value; });
}

TEST(ImageQualityTest, TexturedFrameIsOk) {
  const ImageQualityReport report =
      AssessImageQuality(Textured(248, 373, 1), 128, 128);
  EXPECT_EQ(report.issue, ImageQualityIssue::kOk);
  EXPECT_NEAR(report.spread, 0.1, 0.01);
  EXPECT_TRUE(report.detail.empty());
}

TEST(ImageQualityTest, BlackWhiteAndGreyFramesAreBlank) {
  for (float value : {0.0f, 1.0f, 0.5f}) {
    for (int channels : {1, 3}) {
      const ImageQualityReport report =
          AssessImageQuality(Flat(300, 300, channels, value), 128, 128);
      EXPECT_EQ(report.issue, ImageQualityIssue::kBlank)
          << value << " " << channels;
      EXPECT_THAT(report.detail, HasSubstr("blank frame"));
    }
  }
}

TEST(ImageQualityTest, SensorNoiseAloneIsStillBlank) {
  std::mt19937 random(3);
  std::normal_distribution<float> noise(0.2f, 0.004f);
  const Image capped =
      MakeImage(320, 240, 1, [&](int, int, int) { return noise(random); });
  EXPECT_EQ(AssessImageQuality(capped, 128, 128).issue,
            ImageQualityIssue::kBlank);
}

TEST(ImageQualityTest, TinyFramesAreTooSmall) {
  const ImageQualityReport one =
      AssessImageQuality(Flat(1, 1, 3, 0.3f), 128, 128);
  EXPECT_EQ(one.issue, ImageQualityIssue::kTooSmall);
  EXPECT_EQ(one.detail, "frame is 1x1, shorter side below 32 pixels");
  EXPECT_EQ(AssessImageQuality(Textured(400, 16, 1), 128, 128).issue,
            ImageQualityIssue::kTooSmall);
  EXPECT_EQ(AssessImageQuality(Textured(32, 32, 1), 128, 128).issue,
            ImageQualityIssue::kOk);
}

TEST(ImageQualityTest, StripsFarFromTheInputAspectAreWrongAspect) {
  const ImageQualityReport strip =
      AssessImageQuality(Textured(500, 100, 1), 128, 128);
  EXPECT_EQ(strip.issue, ImageQualityIssue::kWrongAspect);
  EXPECT_THAT(strip.detail, HasSubstr("5.0x off"));
  // The tallest tile of the data set is 2.7:1.
  EXPECT_EQ(AssessImageQuality(Textured(100, 270, 1), 128, 128).issue,
            ImageQualityIssue::kOk);
  // Against a wide model input the same strip fits.
  EXPECT_EQ(AssessImageQuality(Textured(500, 100, 1), 256, 64).issue,
            ImageQualityIssue::kOk);
}

TEST(ImageQualityTest, NamesAreMetricLabels) {
  EXPECT_STREQ(ImageQualityIssueName(ImageQualityIssue::kOk), "ok");
  EXPECT_STREQ(ImageQualityIssueName(ImageQualityIssue::kBlank), "blank");
  EXPECT_STREQ(ImageQualityIssueName(ImageQualityIssue::kTooSmall),
               "too_small");
  EXPECT_STREQ(ImageQualityIssueName(ImageQualityIssue::kWrongAspect),
               "wrong_aspect");
}

}  // namespace
}  // namespace lineserve::preprocess
