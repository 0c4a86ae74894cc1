#include "models/preprocess/image_encode.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "models/preprocess/image.h"
#include "tests/models/preprocess/image_test_util.h"

namespace lineserve::preprocess {
namespace {

// --- PNG round trips.

TEST(ImageTest, RoundTripsEightBitGreyPng) {
  const Image original = EightBitPattern(13, 7, 1);
  absl::StatusOr<std::string> png = EncodePng(original);
  ASSERT_TRUE(png.ok()) << png.status();
  absl::StatusOr<Image> decoded = DecodeImage(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectImagesNear(*decoded, original, 1e-6f);
}

TEST(ImageTest, RoundTripsEightBitRgbPng) {
  const Image original = EightBitPattern(9, 11, 3);
  absl::StatusOr<std::string> png = EncodePng(original);
  ASSERT_TRUE(png.ok()) << png.status();
  absl::StatusOr<Image> decoded = DecodeImage(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectImagesNear(*decoded, original, 1e-6f);
}

TEST(ImageTest, RoundTripsSixteenBitRgbPng) {
  const Image original = MakeImage(5, 3, 3, [](int y, int x, int c) {
    return static_cast<float>((x * 4099 + y * 7919 + c * 257 + 1) % 65536) /
           65535.0f;
  });
  absl::StatusOr<std::string> png = EncodePng(original, 16);
  ASSERT_TRUE(png.ok()) << png.status();
  absl::StatusOr<Image> decoded = DecodeImage(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectImagesNear(*decoded, original, 1e-7f);
}

// --- JPEG round trips.

TEST(ImageTest, RoundTripsGreyJpegWithinTolerance) {
  const Image original = Gradient(40, 30, 1);
  absl::StatusOr<std::string> jpeg = EncodeJpeg(original, 95);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  absl::StatusOr<Image> decoded = DecodeImage(*jpeg);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 1);
  ExpectImagesNear(*decoded, original, 4.0f / 255);
}

TEST(ImageTest, RoundTripsColourJpegWithinTolerance) {
  const Image original = Gradient(40, 30, 3);
  absl::StatusOr<std::string> jpeg = EncodeJpeg(original, 95);
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  absl::StatusOr<Image> decoded = DecodeImage(*jpeg);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 3);
  ExpectImagesNear(*decoded, original, 6.0f / 255);
}

TEST(ImageTest, EncodersRejectInvalidArguments) {
  const Image image = Gradient(4, 4, 3);
  EXPECT_EQ(EncodePng(image, 12).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeJpeg(image, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeJpeg(image, 101).status().code(),
            absl::StatusCode::kInvalidArgument);
  Image two_channels = Gradient(4, 4, 2);
  EXPECT_EQ(EncodePng(two_channels).status().code(),
            absl::StatusCode::kInvalidArgument);
  Image short_data = image;
  short_data.data.pop_back();
  EXPECT_EQ(EncodePng(short_data).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeJpeg(Image{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ImageTest, EncoderClampsOutOfRangeSamples) {
  Image image = MakeImage(3, 1, 1, [](int, int x, int) {
    return x == 0 ? -0.5f : (x == 1 ? 1.5f : std::nanf(""));
  });
  absl::StatusOr<std::string> png = EncodePng(image);
  ASSERT_TRUE(png.ok());
  absl::StatusOr<Image> decoded = DecodeImage(*png);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->data, (std::vector<float>{0.0f, 1.0f, 0.0f}));
}

}  // namespace
}  // namespace lineserve::preprocess
