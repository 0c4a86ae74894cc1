#include "models/preprocess/image_resize.h"

#include "gtest/gtest.h"
#include "models/preprocess/image.h"
#include "tests/models/preprocess/image_test_util.h"

namespace lineserve::preprocess {
namespace {

// --- Resizing.

TEST(ImageTest, ResizeKeepsConstantImageConstant) {
  const Image constant =
      MakeImage(7, 5, 3, [](int, int, int c) { return 0.25f + 0.25f * c; });
  const int sizes[][2] = {{3, 2}, {11, 13}, {3, 13}, {20, 1}, {1, 1}, {6, 5}};
  for (const auto& size : sizes) {
    const Image resized = Resize(constant, size[0], size[1]);
    ASSERT_EQ(resized.width, size[0]);
    ASSERT_EQ(resized.height, size[1]);
    ASSERT_EQ(resized.channels, 3);
    for (int y = 0; y < resized.height; ++y) {
      for (int x = 0; x < resized.width; ++x) {
        for (int c = 0; c < 3; ++c) {
          ASSERT_NEAR(resized.at(y, x, c), 0.25f + 0.25f * c, 1e-6f)
              << size[0] << "x" << size[1];
        }
      }
    }
  }
}

TEST(ImageTest, ShrinkingCheckerboardByTwoAverages) {
  const Image board = MakeImage(8, 6, 1, [](int y, int x, int) {
    return static_cast<float>((x + y) % 2);
  });
  const Image resized = Resize(board, 4, 3);
  for (float value : resized.data) EXPECT_NEAR(value, 0.5f, 1e-6f);
}

TEST(ImageTest, ShrinkingByNonIntegerFactorWeighsByArea) {
  // Three samples into two: each output covers 1.5 input samples.
  const float row[3] = {0.0f, 0.3f, 0.9f};
  const Image line =
      MakeImage(3, 1, 1, [&](int, int x, int) { return row[x]; });
  const Image resized = Resize(line, 2, 1);
  EXPECT_NEAR(resized.at(0, 0, 0), (0.0f + 0.3f * 0.5f) / 1.5f, 1e-6f);
  EXPECT_NEAR(resized.at(0, 1, 0), (0.3f * 0.5f + 0.9f) / 1.5f, 1e-6f);
}

TEST(ImageTest, GrowingInterpolatesBilinearly) {
  const Image line =
      MakeImage(1, 2, 1, [](int y, int, int) { return static_cast<float>(y); });
  const Image resized = Resize(line, 1, 4);
  // Output centres at -0.25, 0.25, 0.75, 1.25 in input pixels, clamped.
  EXPECT_NEAR(resized.at(0, 0, 0), 0.0f, 1e-6f);
  EXPECT_NEAR(resized.at(1, 0, 0), 0.25f, 1e-6f);
  EXPECT_NEAR(resized.at(2, 0, 0), 0.75f, 1e-6f);
  EXPECT_NEAR(resized.at(3, 0, 0), 1.0f, 1e-6f);
}

TEST(ImageTest, ResizeGrowsOneAxisAndShrinksTheOther) {
  // Columns alternate 0/1 (averaged to 0.5 when halved); rows go 0, 1
  // (interpolated when doubled).
  const Image image = MakeImage(4, 2, 1, [](int y, int x, int) {
    return static_cast<float>(x % 2) * static_cast<float>(y);
  });
  const Image resized = Resize(image, 2, 4);
  const float expected_rows[4] = {0.0f, 0.125f, 0.375f, 0.5f};
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 2; ++x) {
      EXPECT_NEAR(resized.at(y, x, 0), expected_rows[y], 1e-6f)
          << "y=" << y << " x=" << x;
    }
  }
}

TEST(ImageTest, ResizeToSameSizeIsIdentity) {
  const Image image = EightBitPattern(5, 4, 3);
  EXPECT_EQ(Resize(image, 5, 4).data, image.data);
}

}  // namespace
}  // namespace lineserve::preprocess
