#include "models/preprocess/image_preprocessor.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "models/preprocess/image_resize.h"

namespace lineserve::preprocess {
namespace {

namespace v1 = ::lineserve::v1;

// Floor of the standard deviation in PER_IMAGE normalisation, on the [0, 1]
// scale. A flat image has none, and resampling one leaves float rounding
// noise (~1e-7) that must not be blown up to unit variance: a floor well above
// that maps flat images to ~0. It stays below one 16-bit grey level
// (1/65535), so any image with real content is standardised exactly.
constexpr double kPerImageMinStd = 1e-5;

// Enum value as its proto name, or its number when the config holds a value
// this build does not know (proto3 enums are open).
template <typename Enum>
std::string EnumName(Enum value, const std::string& name) {
  return name.empty() ? absl::StrCat(static_cast<int>(value)) : name;
}

absl::Status CheckPerChannel(
    const google::protobuf::RepeatedField<float>& values,
    absl::string_view field, int channels, const std::string& color_mode,
    bool positive) {
  if (values.size() != channels) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image.", field, " must have ", channels,
        " value(s), one per channel of ", color_mode, ", got ", values.size()));
  }
  for (int c = 0; c < channels; ++c) {
    const float value = values.Get(c);
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "image.", field, "[", c, "] must be finite, got ", value));
    }
    if (positive && !(value > 0.0f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("image.", field, "[", c, "] must be > 0, got ", value));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> LimitOrDefault(int64_t configured,
                                       absl::string_view field,
                                       int64_t default_value) {
  if (configured < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image.", field,
                     " must be >= 0 (0 means the default), got ", configured));
  }
  return configured == 0 ? default_value : configured;
}

absl::Status CheckImage(const Image& image) {
  if (image.width <= 0 || image.height <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image is ", image.width, "x", image.height,
                     ", expected a non-empty image"));
  }
  if (image.channels != 1 && image.channels != 3) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image has ", image.channels, " channels, expected 1 or 3"));
  }
  const size_t expected = static_cast<size_t>(image.width) * image.height *
                          static_cast<size_t>(image.channels);
  if (image.data.size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image data has ", image.data.size(), " samples, expected ", expected));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ImagePreprocessor> ImagePreprocessor::Create(
    const v1::ImagePreprocessing& config) {
  ImagePreprocessor preprocessor;
  if (config.width() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image.width must be > 0, got ", config.width()));
  }
  if (config.height() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("image.height must be > 0, got ", config.height()));
  }
  preprocessor.width_ = config.width();
  preprocessor.height_ = config.height();

  const std::string color_mode =
      EnumName(config.color_mode(), v1::ColorMode_Name(config.color_mode()));
  switch (config.color_mode()) {
    case v1::COLOR_MODE_GRAY:
      preprocessor.channels_ = 1;
      break;
    case v1::COLOR_MODE_RGB:
      preprocessor.channels_ = 3;
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "image.color_mode must be COLOR_MODE_GRAY or COLOR_MODE_RGB, got ",
          color_mode));
  }

  switch (config.resize_mode()) {
    case v1::RESIZE_MODE_STRETCH:
    case v1::RESIZE_MODE_LETTERBOX:
      preprocessor.resize_mode_ = config.resize_mode();
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("image.resize_mode must be RESIZE_MODE_STRETCH or "
                       "RESIZE_MODE_LETTERBOX, got ",
                       EnumName(config.resize_mode(),
                                v1::ResizeMode_Name(config.resize_mode()))));
  }

  switch (config.normalization()) {
    case v1::NORMALIZATION_MEAN_STD: {
      absl::Status status = CheckPerChannel(
          config.mean(), "mean", preprocessor.channels_, color_mode, false);
      if (!status.ok()) return status;
      status = CheckPerChannel(config.std(), "std", preprocessor.channels_,
                               color_mode, true);
      if (!status.ok()) return status;
      preprocessor.mean_.assign(config.mean().begin(), config.mean().end());
      preprocessor.std_.assign(config.std().begin(), config.std().end());
      break;
    }
    case v1::NORMALIZATION_PER_IMAGE:
      // Values here would be silently ignored, which hides a config mistake
      // (a model trained with MEAN_STD served with PER_IMAGE, say).
      if (config.mean_size() != 0 || config.std_size() != 0) {
        return absl::InvalidArgumentError(
            "image.mean and image.std must be empty with "
            "NORMALIZATION_PER_IMAGE");
      }
      break;
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          "image.normalization must be NORMALIZATION_MEAN_STD or "
          "NORMALIZATION_PER_IMAGE, got ",
          EnumName(config.normalization(),
                   v1::Normalization_Name(config.normalization()))));
  }
  preprocessor.normalization_ = config.normalization();

  if (!std::isfinite(config.pad_value())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image.pad_value must be finite, got ", config.pad_value()));
  }
  preprocessor.pad_value_ = config.pad_value();

  const DecodeLimits defaults;
  absl::StatusOr<int64_t> max_encoded_bytes =
      LimitOrDefault(config.max_encoded_bytes(), "max_encoded_bytes",
                     defaults.max_encoded_bytes);
  if (!max_encoded_bytes.ok()) return max_encoded_bytes.status();
  absl::StatusOr<int64_t> max_pixels =
      LimitOrDefault(config.max_pixels(), "max_pixels", defaults.max_pixels);
  if (!max_pixels.ok()) return max_pixels.status();
  absl::StatusOr<int64_t> max_decoded_bytes =
      LimitOrDefault(config.max_decoded_bytes(), "max_decoded_bytes",
                     defaults.max_decoded_bytes);
  if (!max_decoded_bytes.ok()) return max_decoded_bytes.status();
  preprocessor.limits_.max_encoded_bytes = *max_encoded_bytes;
  preprocessor.limits_.max_pixels = *max_pixels;
  preprocessor.limits_.max_decoded_bytes = *max_decoded_bytes;
  return preprocessor;
}

absl::Status ImagePreprocessor::Process(absl::string_view encoded, float* out,
                                        DecodeMemory* memory,
                                        ImageQualityReport* quality,
                                        InputPlacement* placement) const {
  if (out == nullptr) {
    return absl::InvalidArgumentError("output buffer is null");
  }
  DecodeMemory::Lease lease;
  if (memory != nullptr) {
    if (static_cast<int64_t>(encoded.size()) > limits_.max_encoded_bytes) {
      // DecodeImage words this refusal.
      return DecodeImage(encoded, limits_).status();
    }
    absl::StatusOr<ImageInfo> info = ReadImageInfo(encoded);
    if (!info.ok()) return info.status();
    absl::Status within = CheckDecodeLimits(*info, limits_);
    if (!within.ok()) return within;
    absl::StatusOr<DecodeMemory::Lease> reserved =
        memory->Reserve(info->decode_memory_bytes());
    if (!reserved.ok()) return reserved.status();
    lease = *std::move(reserved);
  }
  absl::StatusOr<Image> image = DecodeImage(encoded, limits_);
  if (!image.ok()) return image.status();
  if (quality != nullptr) {
    *quality = AssessImageQuality(*image, width_, height_);
  }
  if (placement != nullptr) {
    *placement = Place(image->width, image->height);
  }
  return ProcessDecoded(*image, out);
}

InputPlacement ImagePreprocessor::Place(int image_width,
                                        int image_height) const {
  InputPlacement placement;
  placement.input_width = width_;
  placement.input_height = height_;
  placement.image_width = image_width;
  placement.image_height = image_height;
  placement.width = width_;
  placement.height = height_;
  if (resize_mode_ == lineserve::v1::RESIZE_MODE_LETTERBOX && image_width > 0 &&
      image_height > 0) {
    const double scale = std::min(static_cast<double>(width_) / image_width,
                                  static_cast<double>(height_) / image_height);
    placement.width = std::clamp(
        static_cast<int>(std::lround(image_width * scale)), 1, width_);
    placement.height = std::clamp(
        static_cast<int>(std::lround(image_height * scale)), 1, height_);
  }
  // An odd remainder puts the extra padding column/row right/bottom.
  placement.x = (width_ - placement.width) / 2;
  placement.y = (height_ - placement.height) / 2;
  return placement;
}

absl::Status ImagePreprocessor::ProcessDecoded(const Image& image,
                                               float* out) const {
  if (out == nullptr) {
    return absl::InvalidArgumentError("output buffer is null");
  }
  absl::Status valid = CheckImage(image);
  if (!valid.ok()) return valid;

  // Where the resized image lands in the output.
  const InputPlacement placement = Place(image.width, image.height);
  const int inner_width = placement.width;
  const int inner_height = placement.height;
  const int offset_x = placement.x;
  const int offset_y = placement.y;

  // Both steps are linear, so their order only matters for speed: drop
  // channels before resizing, replicate them after.
  Image resized;
  if (image.channels > channels_) {
    resized =
        Resize(ConvertChannels(image, channels_), inner_width, inner_height);
  } else {
    resized = Resize(image, inner_width, inner_height);
    if (resized.channels != channels_) {
      resized = ConvertChannels(resized, channels_);
    }
  }

  // out = (x - offset[c]) / scale[c].
  float offset[3] = {0.0f, 0.0f, 0.0f};
  float scale[3] = {1.0f, 1.0f, 1.0f};
  if (normalization_ == lineserve::v1::NORMALIZATION_MEAN_STD) {
    for (int c = 0; c < channels_; ++c) {
      offset[c] = mean_[c];
      scale[c] = std_[c];
    }
  } else {
    // Over every sample of every channel, so the colour balance is kept,
    // and in double so large images lose no precision.
    const size_t count = resized.data.size();
    double sum = 0.0;
    for (float value : resized.data) sum += value;
    const double mean = sum / count;
    double squares = 0.0;
    for (float value : resized.data) {
      const double delta = value - mean;
      squares += delta * delta;
    }
    const double deviation =
        std::max(std::sqrt(squares / count), kPerImageMinStd);
    for (int c = 0; c < channels_; ++c) {
      offset[c] = static_cast<float>(mean);
      scale[c] = static_cast<float>(deviation);
    }
  }

  const size_t plane = static_cast<size_t>(width_) * height_;
  if (inner_width != width_ || inner_height != height_) {
    std::fill(out, out + output_size(), pad_value_);
  }
  for (int c = 0; c < channels_; ++c) {
    float* out_plane = out + c * plane;
    for (int y = 0; y < inner_height; ++y) {
      float* out_row =
          out_plane + static_cast<size_t>(y + offset_y) * width_ + offset_x;
      for (int x = 0; x < inner_width; ++x) {
        out_row[x] = (resized.at(y, x, c) - offset[c]) / scale[c];
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace lineserve::preprocess
