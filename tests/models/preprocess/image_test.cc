#include "models/preprocess/image.h"

#include <png.h>

#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/preprocess/image_encode.h"
#include "tests/models/preprocess/image_test_util.h"

namespace lineserve::preprocess {
namespace {

using ::testing::HasSubstr;

constexpr int kMutationRounds = 300;

// --- Raw PNG writer, for layouts EncodePng does not produce (alpha,
// palette, low bit depths, interlacing). C-style around setjmp, as in the
// library.

struct RawPng {
  int width = 0;
  int height = 0;
  int bit_depth = 8;
  int color_type = PNG_COLOR_TYPE_GRAY;
  bool interlaced = false;
  std::vector<unsigned char> rows;  // packed rows, back to back
  std::vector<png_color> palette;
  std::vector<png_byte> transparency;
};

extern "C" void TestPngWrite(png_structp png, png_bytep data, size_t length) {
  static_cast<std::string*>(png_get_io_ptr(png))
      ->append(reinterpret_cast<const char*>(data), length);
}
extern "C" void TestPngFlush(png_structp) {}

bool WritePngRows(const RawPng* spec, png_bytepp rows, std::string* out) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, &TestPngWrite, &TestPngFlush);
  png_set_IHDR(png, info, spec->width, spec->height, spec->bit_depth,
               spec->color_type,
               spec->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!spec->palette.empty()) {
    png_set_PLTE(png, info, spec->palette.data(),
                 static_cast<int>(spec->palette.size()));
  }
  if (!spec->transparency.empty()) {
    png_set_tRNS(png, info, spec->transparency.data(),
                 static_cast<int>(spec->transparency.size()), nullptr);
  }
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

std::string WriteRawPng(const RawPng& spec) {
  const size_t row_bytes = spec.rows.size() / spec.height;
  std::vector<png_bytep> rows(spec.height);
  std::vector<unsigned char> copy = spec.rows;
  for (int y = 0; y < spec.height; ++y) rows[y] = copy.data() + y * row_bytes;
  std::string out;
  EXPECT_TRUE(WritePngRows(&spec, rows.data(), &out));
  return out;
}

std::string RandomBytes(uint32_t seed, size_t size) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) byte = static_cast<char>(random() & 0xFF);
  return bytes;
}

// --- Format detection and input errors.

TEST(ImageTest, DetectsPngAndJpeg) {
  const Image image = Gradient(8, 8, 3);
  absl::StatusOr<std::string> png = EncodePng(image);
  absl::StatusOr<std::string> jpeg = EncodeJpeg(image);
  ASSERT_TRUE(png.ok()) << png.status();
  ASSERT_TRUE(jpeg.ok()) << jpeg.status();
  EXPECT_EQ(DetectImageFormat(*png).value(), ImageFormat::kPng);
  EXPECT_EQ(DetectImageFormat(*jpeg).value(), ImageFormat::kJpeg);
}

TEST(ImageTest, RejectsEmptyInput) {
  absl::StatusOr<Image> image = DecodeImage("");
  ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("empty"));
}

TEST(ImageTest, RejectsGifNamingIt) {
  absl::StatusOr<Image> image =
      DecodeImage(std::string("GIF89a\x01\x00\x01\x00\x00\x00\x00", 13));
  ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("GIF"));
}

TEST(ImageTest, RejectsUnknownFormat) {
  absl::StatusOr<Image> image = DecodeImage("hello, world");
  ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("PNG or JPEG"));
}

TEST(ImageTest, RejectsRandomBytesAfterPngSignature) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    const std::string bytes = "\x89PNG\r\n\x1a\n" + RandomBytes(seed, 2000);
    absl::StatusOr<Image> image = DecodeImage(bytes);
    ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument)
        << "seed " << seed << ": " << image.status();
  }
}

TEST(ImageTest, RejectsRandomBytesAfterJpegSignature) {
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    const std::string bytes = "\xFF\xD8\xFF" + RandomBytes(seed, 2000);
    absl::StatusOr<Image> image = DecodeImage(bytes);
    ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument)
        << "seed " << seed << ": " << image.status();
  }
}

TEST(ImageTest, RejectsPngWithBadChecksum) {
  absl::StatusOr<std::string> png = EncodePng(Gradient(32, 32, 3));
  ASSERT_TRUE(png.ok());
  std::string bytes = *png;
  // Flip a byte inside the first IDAT chunk (after signature and IHDR).
  bytes[33 + 8 + 4] ^= 0x55;
  absl::StatusOr<Image> image = DecodeImage(bytes);
  ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("corrupt PNG"));
}

TEST(ImageTest, RejectsEveryTruncationOfPng) {
  absl::StatusOr<std::string> png = EncodePng(Gradient(16, 16, 3));
  ASSERT_TRUE(png.ok());
  for (size_t size = 0; size < png->size(); ++size) {
    absl::StatusOr<Image> image = DecodeImage(png->substr(0, size));
    ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument)
        << "prefix of " << size << " bytes: " << image.status();
  }
  absl::StatusOr<Image> half = DecodeImage(png->substr(0, png->size() / 2));
  EXPECT_THAT(half.status().message(), HasSubstr("truncated PNG"));
  EXPECT_TRUE(DecodeImage(*png).ok());
}

TEST(ImageTest, RejectsEveryTruncationOfJpeg) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Gradient(16, 16, 3));
  ASSERT_TRUE(jpeg.ok());
  for (size_t size = 0; size < jpeg->size(); ++size) {
    absl::StatusOr<Image> image = DecodeImage(jpeg->substr(0, size));
    ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument)
        << "prefix of " << size << " bytes: " << image.status();
  }
  // libjpeg only warns about a premature end (and invents grey pixels);
  // the decoder must turn that into an error.
  absl::StatusOr<Image> half = DecodeImage(jpeg->substr(0, jpeg->size() / 2));
  EXPECT_THAT(half.status().message(), HasSubstr("truncated JPEG"));
  EXPECT_TRUE(DecodeImage(*jpeg).ok());
}

TEST(ImageTest, RejectsJpegWithMarkerInsideScan) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Gradient(64, 64, 3));
  ASSERT_TRUE(jpeg.ok());
  std::string bytes = *jpeg;
  const size_t scan = bytes.find("\xFF\xDA");
  ASSERT_NE(scan, std::string::npos);
  // An end-of-image marker in the middle of the entropy-coded data: libjpeg
  // warns "premature end of data segment" and would pad with zeros.
  const size_t middle = scan + (bytes.size() - scan) / 2;
  bytes[middle] = '\xFF';
  bytes[middle + 1] = '\xD9';
  absl::StatusOr<Image> image = DecodeImage(bytes);
  ASSERT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(image.status().message(), HasSubstr("JPEG"));
}

// Deterministic mutations of valid files: whatever the damage, decoding
// answers (success or a status), never crashes; run under the sanitizers.
void ExpectMutationsHandled(const std::string& valid) {
  std::mt19937 random(12345);
  for (int round = 0; round < kMutationRounds; ++round) {
    std::string bytes = valid;
    const int flips = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < flips; ++i) {
      bytes[random() % bytes.size()] = static_cast<char>(random() & 0xFF);
    }
    absl::StatusOr<Image> image = DecodeImage(bytes);
    if (image.ok()) {
      EXPECT_EQ(image->data.size(), static_cast<size_t>(image->width) *
                                        image->height * image->channels);
    } else {
      EXPECT_THAT(image.status().code(),
                  testing::AnyOf(absl::StatusCode::kInvalidArgument,
                                 absl::StatusCode::kResourceExhausted))
          << image.status();
    }
  }
}

TEST(ImageTest, HandlesMutatedPng) {
  absl::StatusOr<std::string> png = EncodePng(Gradient(24, 16, 3));
  ASSERT_TRUE(png.ok());
  ExpectMutationsHandled(*png);
}

TEST(ImageTest, HandlesMutatedJpeg) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Gradient(24, 16, 3));
  ASSERT_TRUE(jpeg.ok());
  ExpectMutationsHandled(*jpeg);
}

// --- Limits.

TEST(ImageTest, RefusesPayloadAboveEncodedSizeLimit) {
  absl::StatusOr<std::string> png = EncodePng(Gradient(16, 16, 1));
  ASSERT_TRUE(png.ok());
  DecodeLimits limits;
  limits.max_encoded_bytes = static_cast<int64_t>(png->size()) - 1;
  absl::StatusOr<Image> image = DecodeImage(*png, limits);
  ASSERT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(
      image.status().message(),
      HasSubstr(absl::StrCat("encoded image is ", png->size(),
                             " bytes, above the limit of ", png->size() - 1)));
  limits.max_encoded_bytes = static_cast<int64_t>(png->size());
  EXPECT_TRUE(DecodeImage(*png, limits).ok());
}

TEST(ImageTest, RefusesPngAbovePixelLimitFromHeaderAlone) {
  // No pixel data follows the header: only a check made on the header can
  // answer RESOURCE_EXHAUSTED (decoding further would report truncation).
  absl::StatusOr<Image> image = DecodeImage(PngHeaderOnly(5000, 4000));
  ASSERT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(image.status().message(),
            "image is 5000x4000 (20000000 pixels), above the limit of "
            "16000000");
}

TEST(ImageTest, RefusesHugePngHeaderWithoutAllocating) {
  // 2^31-1 squared pixels would exhaust memory if anything were allocated.
  absl::StatusOr<Image> image =
      DecodeImage(PngHeaderOnly(0x7FFFFFFF, 0x7FFFFFFF));
  EXPECT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(ImageTest, RefusesJpegAbovePixelLimit) {
  absl::StatusOr<std::string> jpeg = EncodeJpeg(Gradient(16, 16, 3));
  ASSERT_TRUE(jpeg.ok());
  std::string bytes = *jpeg;
  const size_t frame = bytes.find("\xFF\xC0");
  ASSERT_NE(frame, std::string::npos);
  // SOF0: marker, length (2), precision (1), height (2), width (2).
  bytes[frame + 5] = static_cast<char>(4000 >> 8);
  bytes[frame + 6] = static_cast<char>(4000 & 0xFF);
  bytes[frame + 7] = static_cast<char>(5000 >> 8);
  bytes[frame + 8] = static_cast<char>(5000 & 0xFF);
  absl::StatusOr<Image> image = DecodeImage(bytes);
  ASSERT_EQ(image.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(image.status().message(),
            "image is 5000x4000 (20000000 pixels), above the limit of "
            "16000000");
}

TEST(ImageTest, AcceptsImageExactlyAtPixelLimit) {
  absl::StatusOr<std::string> png = EncodePng(Gradient(20, 10, 1));
  ASSERT_TRUE(png.ok());
  DecodeLimits limits;
  limits.max_pixels = 200;
  EXPECT_TRUE(DecodeImage(*png, limits).ok());
  limits.max_pixels = 199;
  EXPECT_EQ(DecodeImage(*png, limits).status().code(),
            absl::StatusCode::kResourceExhausted);
}

// --- PNG decoding: precision and layouts EncodePng does not produce.

TEST(ImageTest, DecodesSixteenBitGreyPngKeepingPrecision) {
  // Samples between two 8-bit levels: an 8-bit path would move them by up
  // to 1/510.
  const Image original = MakeImage(8, 4, 1, [](int y, int x, int) {
    return static_cast<float>(1000 + 37 * (y * 8 + x)) / 65535.0f;
  });
  absl::StatusOr<std::string> png = EncodePng(original, 16);
  ASSERT_TRUE(png.ok()) << png.status();
  absl::StatusOr<Image> decoded = DecodeImage(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectImagesNear(*decoded, original, 1e-7f);
  const float as_eight_bit = std::round(original.data[0] * 255.0f) / 255.0f;
  EXPECT_GT(std::fabs(as_eight_bit - decoded->data[0]), 1e-4f);
}

TEST(ImageTest, DropsAlphaOfRgbaPng) {
  RawPng spec;
  spec.width = 3;
  spec.height = 2;
  spec.color_type = PNG_COLOR_TYPE_RGB_ALPHA;
  for (int i = 0; i < 6; ++i) {
    const unsigned char pixel[4] = {static_cast<unsigned char>(10 * i),
                                    static_cast<unsigned char>(100 + i),
                                    static_cast<unsigned char>(250 - i),
                                    static_cast<unsigned char>(i * 40)};
    spec.rows.insert(spec.rows.end(), pixel, pixel + 4);
  }
  absl::StatusOr<Image> decoded = DecodeImage(WriteRawPng(spec));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 3);
  for (int i = 0; i < 6; ++i) {
    EXPECT_FLOAT_EQ(decoded->at(i / 3, i % 3, 0), 10 * i / 255.0f);
    EXPECT_FLOAT_EQ(decoded->at(i / 3, i % 3, 1), (100 + i) / 255.0f);
    EXPECT_FLOAT_EQ(decoded->at(i / 3, i % 3, 2), (250 - i) / 255.0f);
  }
}

TEST(ImageTest, DropsAlphaOfSixteenBitGreyAlphaPng) {
  RawPng spec;
  spec.width = 2;
  spec.height = 1;
  spec.bit_depth = 16;
  spec.color_type = PNG_COLOR_TYPE_GRAY_ALPHA;
  // Big-endian samples: grey 0x1234, alpha 0xFFFF; grey 0xABCD, alpha 0.
  spec.rows = {0x12, 0x34, 0xFF, 0xFF, 0xAB, 0xCD, 0x00, 0x00};
  absl::StatusOr<Image> decoded = DecodeImage(WriteRawPng(spec));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->channels, 1);
  EXPECT_FLOAT_EQ(decoded->at(0, 0, 0), 0x1234 / 65535.0f);
  EXPECT_FLOAT_EQ(decoded->at(0, 1, 0), 0xABCD / 65535.0f);
}

TEST(ImageTest, ExpandsPalettePngWithTransparency) {
  RawPng spec;
  spec.width = 4;
  spec.height = 1;
  spec.bit_depth = 2;
  spec.color_type = PNG_COLOR_TYPE_PALETTE;
  spec.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
  spec.transparency = {0, 128};  // entries 0 and 1 partly transparent
  // Indices 3, 2, 1, 0 packed two bits each, most significant first.
  spec.rows = {0b11100100};
  absl::StatusOr<Image> decoded = DecodeImage(WriteRawPng(spec));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->channels, 3);
  ASSERT_EQ(decoded->width, 4);
  const float expected[4][3] = {
      {10, 20, 30}, {0, 0, 255}, {0, 255, 0}, {255, 0, 0}};
  for (int x = 0; x < 4; ++x) {
    for (int c = 0; c < 3; ++c) {
      EXPECT_FLOAT_EQ(decoded->at(0, x, c), expected[x][c] / 255.0f)
          << "x=" << x << " c=" << c;
    }
  }
}

TEST(ImageTest, ExpandsOneBitGreyPng) {
  RawPng spec;
  spec.width = 8;
  spec.height = 1;
  spec.bit_depth = 1;
  spec.color_type = PNG_COLOR_TYPE_GRAY;
  spec.rows = {0b10110001};
  absl::StatusOr<Image> decoded = DecodeImage(WriteRawPng(spec));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const float expected[8] = {1, 0, 1, 1, 0, 0, 0, 1};
  for (int x = 0; x < 8; ++x) {
    EXPECT_FLOAT_EQ(decoded->at(0, x, 0), expected[x]) << "x=" << x;
  }
}

TEST(ImageTest, DecodesInterlacedPng) {
  RawPng spec;
  spec.width = 9;
  spec.height = 7;
  spec.color_type = PNG_COLOR_TYPE_RGB;
  spec.interlaced = true;
  const Image expected = EightBitPattern(9, 7, 3);
  for (float value : expected.data) {
    spec.rows.push_back(static_cast<unsigned char>(std::lround(value * 255)));
  }
  absl::StatusOr<Image> decoded = DecodeImage(WriteRawPng(spec));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ExpectImagesNear(*decoded, expected, 1e-6f);
}

// --- Channel conversion.

TEST(ImageTest, ConvertsGreyToRgbByReplication) {
  const Image grey = EightBitPattern(3, 2, 1);
  const Image rgb = ConvertChannels(grey, 3);
  ASSERT_EQ(rgb.channels, 3);
  ASSERT_EQ(rgb.width, 3);
  ASSERT_EQ(rgb.height, 2);
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) {
      for (int c = 0; c < 3; ++c) {
        EXPECT_EQ(rgb.at(y, x, c), grey.at(y, x, 0));
      }
    }
  }
}

TEST(ImageTest, ConvertsRgbToGreyWithBt601Weights) {
  Image rgb = MakeImage(4, 1, 3, [](int, int x, int c) {
    if (x == 3) return 0.5f;
    return c == x ? 1.0f : 0.0f;
  });
  const Image grey = ConvertChannels(rgb, 1);
  ASSERT_EQ(grey.channels, 1);
  EXPECT_NEAR(grey.at(0, 0, 0), 0.299f, 1e-6f);
  EXPECT_NEAR(grey.at(0, 1, 0), 0.587f, 1e-6f);
  EXPECT_NEAR(grey.at(0, 2, 0), 0.114f, 1e-6f);
  EXPECT_NEAR(grey.at(0, 3, 0), 0.5f, 1e-6f);
}

TEST(ImageTest, ConvertingToSameChannelsCopies) {
  const Image image = EightBitPattern(3, 3, 3);
  const Image same = ConvertChannels(image, 3);
  EXPECT_EQ(same.data, image.data);
}

}  // namespace
}  // namespace lineserve::preprocess
