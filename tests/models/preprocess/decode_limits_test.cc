// The decode budget: the bytes an image's header declares (width x height x
// channels x bytes per sample) against DecodeLimits, and the server-wide
// DecodeMemory concurrent decodes share.
#include <png.h>

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/preprocess/decode_memory.h"
#include "models/preprocess/image.h"
#include "models/preprocess/image_encode.h"
#include "models/preprocess/image_preprocessor.h"
#include "tests/models/preprocess/image_test_util.h"

namespace lineserve::preprocess {
namespace {

using ::testing::HasSubstr;

TEST(DecodeLimitsTest, ReadsPngLayoutFromHeader) {
  absl::StatusOr<ImageInfo> info =
      ReadImageInfo(PngHeaderOnly(4000, 4000, 16, PNG_COLOR_TYPE_RGB_ALPHA));
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, ImageFormat::kPng);
  EXPECT_EQ(info->width, 4000u);
  EXPECT_EQ(info->height, 4000u);
  EXPECT_EQ(info->channels, 4);
  EXPECT_EQ(info->bytes_per_sample, 2);
  EXPECT_EQ(info->decoded_bytes(), 128'000'000u);
  // The stored samples plus the RGB floats decoding produces.
  EXPECT_EQ(info->decode_memory_bytes(), 128'000'000u + 192'000'000u);
}

TEST(DecodeLimitsTest, ReadsJpegLayoutFromHeader) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Gradient(40, 30, 3));
  ASSERT_TRUE(jpeg.ok());
  absl::StatusOr<ImageInfo> info = ReadImageInfo(*jpeg);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->format, ImageFormat::kJpeg);
  EXPECT_EQ(info->width, 40u);
  EXPECT_EQ(info->height, 30u);
  EXPECT_EQ(info->channels, 3);
  EXPECT_EQ(info->bytes_per_sample, 1);
}

TEST(DecodeLimitsTest, ReadImageInfoRefusesWhatIsNoImage) {
  EXPECT_EQ(ReadImageInfo("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadImageInfo("\x89PNG\r\n\x1a\n").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadImageInfo("\xFF\xD8\xFF garbage").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// The probe of the issue: a small file declaring 4000x4000 16-bit RGBA was
// within the pixel limit and took 274 MB to decode.
TEST(DecodeLimitsTest, RefusesSixteenBitRgbaByDecodedBytesFromHeaderAlone) {
  absl::StatusOr<Image> image =
      DecodeImage(PngHeaderOnly(4000, 4000, 16, PNG_COLOR_TYPE_RGB_ALPHA));
  ASSERT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(image.status().message(),
            "image is 4000x4000 with 4 channels of 16 bits (128000000 bytes "
            "decoded), above the limit of 67108864 bytes");
  // The same size in 8-bit grey is 16 MB: within the limit, so only the
  // missing pixel data stops it.
  EXPECT_EQ(DecodeImage(PngHeaderOnly(4000, 4000)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(DecodeLimitsTest, DecodedBytesLimitAppliesToJpeg) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Gradient(40, 30, 3));
  ASSERT_TRUE(jpeg.ok());
  DecodeLimits limits;
  limits.max_decoded_bytes = 40 * 30 * 3 - 1;
  EXPECT_EQ(DecodeImage(*jpeg, limits).status().code(),
            absl::StatusCode::kResourceExhausted);
  limits.max_decoded_bytes = 40 * 30 * 3;
  EXPECT_TRUE(DecodeImage(*jpeg, limits).ok());
}

TEST(DecodeMemoryTest, LeasesShareTheCapacityAndReturnIt) {
  DecodeMemory memory(1000);
  absl::StatusOr<DecodeMemory::Lease> a = memory.Reserve(600);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(memory.in_use_bytes(), 600u);
  absl::StatusOr<DecodeMemory::Lease> b = memory.Reserve(500);
  ASSERT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(b.status().message(), HasSubstr("400 of 1000 are free"));
  absl::StatusOr<DecodeMemory::Lease> c = memory.Reserve(400);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(memory.in_use_bytes(), 1000u);
  {
    DecodeMemory::Lease moved = *std::move(a);
    EXPECT_EQ(moved.bytes(), 600u);
    EXPECT_EQ(memory.in_use_bytes(), 1000u);
  }
  EXPECT_EQ(memory.in_use_bytes(), 400u);
  *c = DecodeMemory::Lease();
  EXPECT_EQ(memory.in_use_bytes(), 0u);
  EXPECT_TRUE(memory.Reserve(1000).ok());
  EXPECT_EQ(memory.in_use_bytes(), 0u);  // the lease was a temporary
}

TEST(DecodeMemoryTest, RefusesWhatCanNeverFit) {
  DecodeMemory memory(1000);
  absl::StatusOr<DecodeMemory::Lease> lease = memory.Reserve(1001);
  ASSERT_EQ(lease.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(lease.status().message(),
              HasSubstr("more than the server's decode memory of 1000"));
}

lineserve::v1::ImagePreprocessing GreyConfig() {
  lineserve::v1::ImagePreprocessing config;
  config.set_width(8);
  config.set_height(8);
  config.set_color_mode(lineserve::v1::COLOR_MODE_GRAY);
  config.set_resize_mode(lineserve::v1::RESIZE_MODE_STRETCH);
  config.set_normalization(lineserve::v1::NORMALIZATION_PER_IMAGE);
  return config;
}

TEST(DecodeMemoryTest, ProcessHoldsTheDecodesMemoryWhileItRuns) {
  absl::StatusOr<ImagePreprocessor> preprocessor =
      ImagePreprocessor::Create(GreyConfig());
  ASSERT_TRUE(preprocessor.ok()) << preprocessor.status();
  absl::StatusOr<std::string> png = EncodePng(Gradient(64, 32, 1));
  ASSERT_TRUE(png.ok());
  std::vector<float> out(preprocessor->output_size());
  // 64 x 32 grey 8-bit: 2048 stored bytes and 2048 floats.
  const uint64_t needed = 64 * 32 + 64 * 32 * sizeof(float);

  DecodeMemory roomy(needed);
  ASSERT_TRUE(preprocessor->Process(*png, out.data(), &roomy).ok());
  EXPECT_EQ(roomy.in_use_bytes(), 0u);

  DecodeMemory busy(needed);
  absl::StatusOr<DecodeMemory::Lease> other = busy.Reserve(1);
  ASSERT_TRUE(other.ok());
  absl::Status refused = preprocessor->Process(*png, out.data(), &busy);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.message(), HasSubstr("decode memory is busy"));
}

TEST(DecodeMemoryTest, ProcessAppliesTheConfiguredDecodedBytesLimit) {
  lineserve::v1::ImagePreprocessing config = GreyConfig();
  config.set_max_decoded_bytes(64 * 32 - 1);
  absl::StatusOr<ImagePreprocessor> preprocessor =
      ImagePreprocessor::Create(config);
  ASSERT_TRUE(preprocessor.ok()) << preprocessor.status();
  absl::StatusOr<std::string> png = EncodePng(Gradient(64, 32, 1));
  ASSERT_TRUE(png.ok());
  std::vector<float> out(preprocessor->output_size());
  DecodeMemory memory(1 << 20);
  EXPECT_EQ(preprocessor->Process(*png, out.data(), &memory).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(preprocessor->Process(*png, out.data()).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(memory.in_use_bytes(), 0u);
}

}  // namespace
}  // namespace lineserve::preprocess
