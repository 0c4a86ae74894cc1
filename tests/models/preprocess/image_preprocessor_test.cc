#include "models/preprocess/image_preprocessor.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/preprocess/image_encode.h"
#include "tests/models/preprocess/image_test_util.h"

namespace lineserve::preprocess {
namespace {

namespace v1 = ::lineserve::v1;
using ::testing::Each;
using ::testing::FloatNear;
using ::testing::HasSubstr;

Image Constant(int width, int height, int channels, float value) {
  return MakeImage(width, height, channels,
                   [value](int, int, int) { return value; });
}

// Identity normalisation (mean 0, std 1), so outputs are the pixels.
v1::ImagePreprocessing Config(int width, int height, v1::ColorMode color_mode,
                              v1::ResizeMode resize_mode) {
  v1::ImagePreprocessing config;
  config.set_width(width);
  config.set_height(height);
  config.set_color_mode(color_mode);
  config.set_resize_mode(resize_mode);
  config.set_normalization(v1::NORMALIZATION_MEAN_STD);
  const int channels = color_mode == v1::COLOR_MODE_RGB ? 3 : 1;
  for (int c = 0; c < channels; ++c) {
    config.add_mean(0.0f);
    config.add_std(1.0f);
  }
  return config;
}

ImagePreprocessor MustCreate(const v1::ImagePreprocessing& config) {
  absl::StatusOr<ImagePreprocessor> preprocessor =
      ImagePreprocessor::Create(config);
  EXPECT_TRUE(preprocessor.ok()) << preprocessor.status();
  return *std::move(preprocessor);
}

std::vector<float> MustProcess(const ImagePreprocessor& preprocessor,
                               const Image& image) {
  // Filled with a sentinel so that unwritten outputs show.
  std::vector<float> out(preprocessor.output_size(), -999.0f);
  absl::Status status = preprocessor.ProcessDecoded(image, out.data());
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

// Output sample in planar CHW order.
float At(const std::vector<float>& out, const ImagePreprocessor& p, int c,
         int y, int x) {
  return out[(static_cast<size_t>(c) * p.height() + y) * p.width() + x];
}

void ExpectCreateError(const v1::ImagePreprocessing& config,
                       const std::string& expected_message) {
  absl::StatusOr<ImagePreprocessor> preprocessor =
      ImagePreprocessor::Create(config);
  ASSERT_EQ(preprocessor.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(preprocessor.status().message(), HasSubstr(expected_message));
}

// --- Config validation.

TEST(ImagePreprocessorTest, RejectsNonPositiveSize) {
  v1::ImagePreprocessing config =
      Config(0, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH);
  ExpectCreateError(config, "image.width must be > 0");
  config.set_width(4);
  config.set_height(-2);
  ExpectCreateError(config, "image.height must be > 0");
}

TEST(ImagePreprocessorTest, RejectsUnsetEnums) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH);
  config.set_color_mode(v1::COLOR_MODE_UNSPECIFIED);
  ExpectCreateError(config, "image.color_mode");

  config = Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_UNSPECIFIED);
  ExpectCreateError(config, "image.resize_mode");

  config = Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH);
  config.set_normalization(v1::NORMALIZATION_UNSPECIFIED);
  ExpectCreateError(config, "image.normalization");
}

TEST(ImagePreprocessorTest, RejectsMeanStdNotMatchingChannels) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH);
  config.mutable_mean()->RemoveLast();
  ExpectCreateError(config, "image.mean must have 3 value(s)");

  config = Config(4, 4, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH);
  config.add_std(1.0f);
  ExpectCreateError(config, "image.std must have 3 value(s)");
}

TEST(ImagePreprocessorTest, RejectsNonPositiveOrNonFiniteStd) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH);
  config.set_std(1, 0.0f);
  ExpectCreateError(config, "image.std[1] must be > 0");
  config.set_std(1, std::nanf(""));
  ExpectCreateError(config, "image.std[1] must be finite");
  config.set_std(1, 1.0f);
  config.set_mean(2, INFINITY);
  ExpectCreateError(config, "image.mean[2] must be finite");
}

TEST(ImagePreprocessorTest, RejectsMeanStdWithPerImage) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH);
  config.set_normalization(v1::NORMALIZATION_PER_IMAGE);
  ExpectCreateError(config, "image.mean and image.std must be empty");
  config.clear_mean();
  config.clear_std();
  EXPECT_TRUE(ImagePreprocessor::Create(config).ok());
}

TEST(ImagePreprocessorTest, RejectsBadPadValueAndNegativeLimits) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_LETTERBOX);
  config.set_pad_value(std::nanf(""));
  ExpectCreateError(config, "image.pad_value must be finite");
  config.set_pad_value(0.0f);
  config.set_max_pixels(-1);
  ExpectCreateError(config, "image.max_pixels must be >= 0");
  config.set_max_pixels(0);
  config.set_max_encoded_bytes(-5);
  ExpectCreateError(config, "image.max_encoded_bytes must be >= 0");
}

TEST(ImagePreprocessorTest, UnsetLimitsTakeDefaults) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH);
  const ImagePreprocessor defaults = MustCreate(config);
  EXPECT_EQ(defaults.limits().max_pixels, DecodeLimits().max_pixels);
  EXPECT_EQ(defaults.limits().max_encoded_bytes,
            DecodeLimits().max_encoded_bytes);
  config.set_max_pixels(1234);
  config.set_max_encoded_bytes(5678);
  const ImagePreprocessor custom = MustCreate(config);
  EXPECT_EQ(custom.limits().max_pixels, 1234);
  EXPECT_EQ(custom.limits().max_encoded_bytes, 5678);
}

TEST(ImagePreprocessorTest, ReportsOutputShape) {
  const ImagePreprocessor p =
      MustCreate(Config(5, 3, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH));
  EXPECT_EQ(p.width(), 5);
  EXPECT_EQ(p.height(), 3);
  EXPECT_EQ(p.channels(), 3);
  EXPECT_EQ(p.output_size(), 45u);
}

// --- Layout and geometry.

TEST(ImagePreprocessorTest, WritesPlanarChannels) {
  const ImagePreprocessor p =
      MustCreate(Config(2, 1, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH));
  const Image image = MakeImage(
      2, 1, 3, [](int, int x, int c) { return 0.1f * (1 + c + 3 * x); });
  EXPECT_THAT(MustProcess(p, image),
              testing::Pointwise(FloatNear(1e-6f),
                                 {0.1f, 0.4f, 0.2f, 0.5f, 0.3f, 0.6f}));
}

TEST(ImagePreprocessorTest, StretchFillsWholeOutputIgnoringAspect) {
  const ImagePreprocessor p =
      MustCreate(Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH));
  // 4x2, rows 0 and 1: stretched vertically, no padding anywhere.
  const Image image =
      MakeImage(4, 2, 1, [](int y, int, int) { return y == 0 ? 0.2f : 0.6f; });
  const std::vector<float> out = MustProcess(p, image);
  const float expected_rows[4] = {0.2f, 0.3f, 0.5f, 0.6f};
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_NEAR(At(out, p, 0, y, x), expected_rows[y], 1e-6f);
    }
  }
}

TEST(ImagePreprocessorTest, LetterboxPadsAboveAndBelowWideImage) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_LETTERBOX);
  config.set_pad_value(-1.0f);
  const ImagePreprocessor p = MustCreate(config);
  // 8x4 scales by 1/2 to 4x2, centred: rows 1-2.
  const std::vector<float> out = MustProcess(p, Constant(8, 4, 1, 0.75f));
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 4; ++x) {
      EXPECT_FLOAT_EQ(At(out, p, 0, y, x), (y == 1 || y == 2) ? 0.75f : -1.0f)
          << "y=" << y << " x=" << x;
    }
  }
}

TEST(ImagePreprocessorTest, LetterboxPadsLeftAndRightOfTallImage) {
  v1::ImagePreprocessing config =
      Config(6, 4, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_LETTERBOX);
  config.set_pad_value(9.0f);
  const ImagePreprocessor p = MustCreate(config);
  // 1x2 grows by 2 to 2x4, centred: columns 2-3, in every channel.
  const std::vector<float> out = MustProcess(p, Constant(1, 2, 3, 0.5f));
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 4; ++y) {
      for (int x = 0; x < 6; ++x) {
        EXPECT_FLOAT_EQ(At(out, p, c, y, x), (x == 2 || x == 3) ? 0.5f : 9.0f)
            << "c=" << c << " y=" << y << " x=" << x;
      }
    }
  }
}

TEST(ImagePreprocessorTest, LetterboxPutsOddPaddingRowAtBottom) {
  const ImagePreprocessor p =
      MustCreate(Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_LETTERBOX));
  // 4x1 keeps its size: one padding row above, two below.
  const std::vector<float> out = MustProcess(p, Constant(4, 1, 1, 1.0f));
  for (int x = 0; x < 4; ++x) {
    EXPECT_FLOAT_EQ(At(out, p, 0, 0, x), 0.0f);
    EXPECT_FLOAT_EQ(At(out, p, 0, 1, x), 1.0f);
    EXPECT_FLOAT_EQ(At(out, p, 0, 2, x), 0.0f);
    EXPECT_FLOAT_EQ(At(out, p, 0, 3, x), 0.0f);
  }
}

TEST(ImagePreprocessorTest, LetterboxWithMatchingAspectHasNoPadding) {
  v1::ImagePreprocessing config =
      Config(4, 2, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_LETTERBOX);
  config.set_pad_value(-5.0f);
  const ImagePreprocessor p = MustCreate(config);
  EXPECT_THAT(MustProcess(p, Constant(8, 4, 1, 0.3f)),
              Each(FloatNear(0.3f, 1e-6f)));
}

TEST(ImagePreprocessorTest, PlaceSaysWhereTheImageLands) {
  const ImagePreprocessor letterbox =
      MustCreate(Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_LETTERBOX));
  // As the padding tests above: 8x4 at rows 1-2, 4x1 at row 1, 1x2 grown.
  InputPlacement wide = letterbox.Place(8, 4);
  EXPECT_EQ(wide.input_width, 4);
  EXPECT_EQ(wide.input_height, 4);
  EXPECT_EQ(wide.image_width, 8);
  EXPECT_EQ(wide.image_height, 4);
  EXPECT_EQ(wide.x, 0);
  EXPECT_EQ(wide.y, 1);
  EXPECT_EQ(wide.width, 4);
  EXPECT_EQ(wide.height, 2);
  const InputPlacement strip = letterbox.Place(4, 1);
  EXPECT_EQ(strip.y, 1);
  EXPECT_EQ(strip.height, 1);
  const InputPlacement tall = letterbox.Place(1, 2);
  EXPECT_EQ(tall.x, 1);
  EXPECT_EQ(tall.width, 2);
  EXPECT_EQ(tall.height, 4);

  const ImagePreprocessor stretch =
      MustCreate(Config(6, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH));
  const InputPlacement whole = stretch.Place(8, 4);
  EXPECT_EQ(whole.x, 0);
  EXPECT_EQ(whole.y, 0);
  EXPECT_EQ(whole.width, 6);
  EXPECT_EQ(whole.height, 4);

  // Process reports the placement of the image it decoded.
  absl::StatusOr<std::string> png = EncodePng(Constant(8, 4, 1, 0.5f));
  ASSERT_TRUE(png.ok());
  std::vector<float> out(letterbox.output_size());
  InputPlacement reported;
  ASSERT_TRUE(
      letterbox.Process(*png, out.data(), nullptr, nullptr, &reported).ok());
  EXPECT_EQ(reported.image_width, 8);
  EXPECT_EQ(reported.y, 1);
  EXPECT_EQ(reported.height, 2);
}

// --- Normalisation.

TEST(ImagePreprocessorTest, MeanStdNormalisesEachChannel) {
  v1::ImagePreprocessing config =
      Config(2, 2, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH);
  config.set_mean(0, 0.5f);
  config.set_mean(1, 0.25f);
  config.set_mean(2, 0.0f);
  config.set_std(0, 0.5f);
  config.set_std(1, 0.25f);
  config.set_std(2, 2.0f);
  const ImagePreprocessor p = MustCreate(config);
  const std::vector<float> out = MustProcess(p, Constant(2, 2, 3, 0.5f));
  const float expected[3] = {0.0f, 1.0f, 0.25f};
  for (int c = 0; c < 3; ++c) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(At(out, p, c, i / 2, i % 2), expected[c], 1e-6f);
    }
  }
}

TEST(ImagePreprocessorTest, PadValueIsWrittenAfterNormalisation) {
  v1::ImagePreprocessing config =
      Config(2, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_LETTERBOX);
  config.set_mean(0, 0.5f);
  config.set_std(0, 0.25f);
  config.set_pad_value(0.0f);
  const ImagePreprocessor p = MustCreate(config);
  // 2x2 of 1.0 -> (1 - 0.5) / 0.25 = 2 in rows 1-2; the padding is 0 as
  // configured, not (0 - 0.5) / 0.25.
  const std::vector<float> out = MustProcess(p, Constant(2, 2, 1, 1.0f));
  const float expected_rows[4] = {0.0f, 2.0f, 2.0f, 0.0f};
  for (int y = 0; y < 4; ++y) {
    for (int x = 0; x < 2; ++x) {
      EXPECT_FLOAT_EQ(At(out, p, 0, y, x), expected_rows[y]);
    }
  }
}

TEST(ImagePreprocessorTest, PerImageStandardisesOverResizedPixelsOnly) {
  v1::ImagePreprocessing config =
      Config(4, 8, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_LETTERBOX);
  config.set_normalization(v1::NORMALIZATION_PER_IMAGE);
  config.clear_mean();
  config.clear_std();
  config.set_pad_value(7.0f);
  const ImagePreprocessor p = MustCreate(config);
  // 4x4 image with values 0.2 and 0.6 in equal numbers (mean 0.4, std 0.2),
  // letterboxed into rows 2-5 of 4x8.
  const Image image = MakeImage(
      4, 4, 1, [](int y, int, int) { return y % 2 == 0 ? 0.2f : 0.6f; });
  const std::vector<float> out = MustProcess(p, image);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 4; ++x) {
      float expected = 7.0f;
      if (y >= 2 && y < 6) expected = y % 2 == 0 ? -1.0f : 1.0f;
      EXPECT_NEAR(At(out, p, 0, y, x), expected, 1e-5f)
          << "y=" << y << " x=" << x;
    }
  }
}

TEST(ImagePreprocessorTest, PerImageIsInvariantToExposure) {
  v1::ImagePreprocessing config =
      Config(6, 5, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH);
  config.set_normalization(v1::NORMALIZATION_PER_IMAGE);
  config.clear_mean();
  config.clear_std();
  const ImagePreprocessor p = MustCreate(config);
  const auto pattern = [](int y, int x, int c) {
    return 0.05f * ((x * 3 + y * 5 + c * 7) % 9);
  };
  const Image dark = MakeImage(12, 10, 3, pattern);
  const Image bright = MakeImage(12, 10, 3, [&](int y, int x, int c) {
    return 0.1f + 1.5f * pattern(y, x, c);
  });
  const std::vector<float> dark_out = MustProcess(p, dark);
  const std::vector<float> bright_out = MustProcess(p, bright);
  double sum = 0.0;
  double squares = 0.0;
  for (size_t i = 0; i < dark_out.size(); ++i) {
    EXPECT_NEAR(dark_out[i], bright_out[i], 1e-4f) << "sample " << i;
    sum += dark_out[i];
    squares += dark_out[i] * dark_out[i];
  }
  EXPECT_NEAR(sum / dark_out.size(), 0.0, 1e-5);
  EXPECT_NEAR(squares / dark_out.size(), 1.0, 1e-4);
}

TEST(ImagePreprocessorTest, PerImageMapsFlatImageToZeros) {
  v1::ImagePreprocessing config =
      Config(3, 3, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH);
  config.set_normalization(v1::NORMALIZATION_PER_IMAGE);
  config.clear_mean();
  config.clear_std();
  const ImagePreprocessor p = MustCreate(config);
  // Same size: no resampling, exactly flat.
  EXPECT_THAT(MustProcess(p, Constant(3, 3, 1, 0.8f)),
              Each(FloatNear(0.0f, 1e-6f)));
  // Resampled: float rounding noise must not be amplified to unit variance.
  EXPECT_THAT(MustProcess(p, Constant(5, 7, 1, 0.8f)),
              Each(FloatNear(0.0f, 0.05f)));
}

// --- Channels.

TEST(ImagePreprocessorTest, GrayModeUsesLumaOfColourImage) {
  const ImagePreprocessor p =
      MustCreate(Config(2, 2, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH));
  const Image red =
      MakeImage(4, 4, 3, [](int, int, int c) { return c == 0 ? 1.0f : 0.0f; });
  EXPECT_THAT(MustProcess(p, red), Each(FloatNear(0.299f, 1e-5f)));
}

TEST(ImagePreprocessorTest, RgbModeReplicatesGreyImage) {
  const ImagePreprocessor p =
      MustCreate(Config(3, 3, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_STRETCH));
  const Image grey =
      MakeImage(3, 3, 1, [](int y, int x, int) { return 0.1f * (y * 3 + x); });
  const std::vector<float> out = MustProcess(p, grey);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < 3; ++y) {
      for (int x = 0; x < 3; ++x) {
        EXPECT_NEAR(At(out, p, c, y, x), 0.1f * (y * 3 + x), 1e-6f);
      }
    }
  }
}

// --- Encoded input.

TEST(ImagePreprocessorTest, ProcessDecodesLikeProcessDecoded) {
  const ImagePreprocessor p =
      MustCreate(Config(5, 5, v1::COLOR_MODE_RGB, v1::RESIZE_MODE_LETTERBOX));
  const Image image = MakeImage(9, 6, 3, [](int y, int x, int c) {
    return static_cast<float>((x * 31 + y * 17 + c * 5) % 256) / 255.0f;
  });
  absl::StatusOr<std::string> png = EncodePng(image);
  ASSERT_TRUE(png.ok());
  std::vector<float> from_bytes(p.output_size());
  ASSERT_TRUE(p.Process(*png, from_bytes.data()).ok());
  EXPECT_THAT(from_bytes,
              testing::Pointwise(FloatNear(1e-6f), MustProcess(p, image)));
}

TEST(ImagePreprocessorTest, ProcessEnforcesConfiguredLimits) {
  v1::ImagePreprocessing config =
      Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH);
  config.set_max_pixels(99);
  const ImagePreprocessor few_pixels = MustCreate(config);
  absl::StatusOr<std::string> png = EncodePng(Constant(10, 10, 1, 0.5f));
  ASSERT_TRUE(png.ok());
  std::vector<float> out(16);
  absl::Status status = few_pixels.Process(*png, out.data());
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(), HasSubstr("above the limit of 99"));

  config.set_max_pixels(0);
  config.set_max_encoded_bytes(10);
  const ImagePreprocessor few_bytes = MustCreate(config);
  EXPECT_EQ(few_bytes.Process(*png, out.data()).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST(ImagePreprocessorTest, ProcessRejectsCorruptInput) {
  const ImagePreprocessor p =
      MustCreate(Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH));
  std::vector<float> out(p.output_size());
  EXPECT_EQ(p.Process("\x89PNG\r\n\x1a\nnot really", out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.Process("", out.data()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ImagePreprocessorTest, ProcessDecodedRejectsMalformedImage) {
  const ImagePreprocessor p =
      MustCreate(Config(4, 4, v1::COLOR_MODE_GRAY, v1::RESIZE_MODE_STRETCH));
  std::vector<float> out(p.output_size());
  Image short_data = Constant(3, 3, 1, 0.5f);
  short_data.data.pop_back();
  EXPECT_EQ(p.ProcessDecoded(short_data, out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.ProcessDecoded(Constant(3, 3, 2, 0.5f), out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.ProcessDecoded(Image{}, out.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.ProcessDecoded(Constant(3, 3, 1, 0.5f), nullptr).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lineserve::preprocess
