// Image builders and comparisons shared by the image_*_test.cc files.
//
// Test-only, header-only; every function returns a new Image the caller owns
// and touches no global state.
#ifndef LINESERVE_TESTS_MODELS_PREPROCESS_IMAGE_TEST_UTIL_H_
#define LINESERVE_TESTS_MODELS_PREPROCESS_IMAGE_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "models/preprocess/image.h"
#include "models/preprocess/image_encode.h"

namespace lineserve::preprocess {

inline Image MakeImage(int width, int height, int channels,
                       const std::function<float(int, int, int)>& value) {
  Image image;
  image.width = width;
  image.height = height;
  image.channels = channels;
  image.data.resize(static_cast<size_t>(width) * height * channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) image.at(y, x, c) = value(y, x, c);
    }
  }
  return image;
}

// Smooth content, which JPEG keeps well.
inline Image Gradient(int width, int height, int channels) {
  return MakeImage(width, height, channels, [&](int y, int x, int c) {
    return (static_cast<float>(x) / (width - 1) * 0.6f +
            static_cast<float>(y) / (height - 1) * 0.3f + 0.05f * c);
  });
}

// Every sample on the 8-bit grid, so an 8-bit round trip is exact.
inline Image EightBitPattern(int width, int height, int channels) {
  return MakeImage(width, height, channels, [](int y, int x, int c) {
    return static_cast<float>((x * 37 + y * 11 + c * 91) % 256) / 255.0f;
  });
}

inline void ExpectImagesNear(const Image& actual, const Image& expected,
                             float tolerance) {
  ASSERT_EQ(actual.width, expected.width);
  ASSERT_EQ(actual.height, expected.height);
  ASSERT_EQ(actual.channels, expected.channels);
  ASSERT_EQ(actual.data.size(), expected.data.size());
  for (size_t i = 0; i < actual.data.size(); ++i) {
    ASSERT_NEAR(actual.data[i], expected.data[i], tolerance) << "sample " << i;
  }
}

inline uint32_t Crc32(const unsigned char* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit) {
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
  }
  return ~crc;
}

inline void PutBigEndian32(std::string* bytes, size_t offset, uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    (*bytes)[offset + i] = static_cast<char>((value >> (24 - 8 * i)) & 0xFF);
  }
}

// A PNG that is only a signature and an IHDR chunk (valid CRC) declaring the
// given size and layout (libpng's bit depth and colour type): decoding it can
// only succeed in reading the header.
inline std::string PngHeaderOnly(uint32_t width, uint32_t height,
                                 int bit_depth = 8, int color_type = 0) {
  absl::StatusOr<std::string> png =
      EncodePng(MakeImage(1, 1, 1, [](int, int, int) { return 0.0f; }));
  EXPECT_TRUE(png.ok());
  std::string bytes = png->substr(0, 33);  // signature + IHDR chunk
  PutBigEndian32(&bytes, 16, width);
  PutBigEndian32(&bytes, 20, height);
  bytes[24] = static_cast<char>(bit_depth);
  bytes[25] = static_cast<char>(color_type);
  PutBigEndian32(&bytes, 29,
                 Crc32(reinterpret_cast<const unsigned char*>(&bytes[12]), 17));
  return bytes;
}

}  // namespace lineserve::preprocess

#endif  // LINESERVE_TESTS_MODELS_PREPROCESS_IMAGE_TEST_UTIL_H_
