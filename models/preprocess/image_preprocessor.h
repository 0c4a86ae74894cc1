// Turns encoded image bytes into a model's input, exactly as configured in
// the model's ImagePreprocessing. The trainer and the server both use this
// class, so a model sees the same pixels at training and at serving time.
//
// Details the config leaves open:
//  - LETTERBOX scales by min(width / w, height / h), rounds the scaled size
//    to the nearest pixel (at least 1) and centres it; an odd leftover
//    padding row or column goes to the bottom or right.
//  - PER_IMAGE uses one mean and one standard deviation over all channels
//    (the colour balance is kept), population deviation, floored at 1e-5 so
//    that flat images map to ~0 instead of amplified rounding noise. Setting
//    mean or std with PER_IMAGE is a config error.
//  - Colour images become grey by BT.601 luma before resizing; grey images
//    are replicated to RGB after resizing (same result, less work).
//
// Immutable after Create(); Process() may be called from many threads.
#ifndef LINESERVE_MODELS_PREPROCESS_IMAGE_PREPROCESSOR_H_
#define LINESERVE_MODELS_PREPROCESS_IMAGE_PREPROCESSOR_H_

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lineserve/v1/model_config.pb.h"
#include "models/preprocess/decode_memory.h"
#include "models/preprocess/image.h"
#include "models/preprocess/image_quality.h"

namespace lineserve::preprocess {

// Where an image lands in the model input: of the input's input_width x
// input_height pixels, the rectangle (x, y, width, height) holds the
// image_width x image_height pixels of the image, scaled; the rest is
// padding. STRETCH fills the whole input.
struct InputPlacement {
  int input_width = 0;
  int input_height = 0;
  int image_width = 0;
  int image_height = 0;
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
};

class ImagePreprocessor {
 public:
  // Validates the config: width/height > 0, a colour mode, a resize mode, a
  // normalisation; for MEAN_STD one mean and one std > 0 per channel. Unset
  // limits (0) take DecodeLimits' defaults. Errors name the config field.
  static absl::StatusOr<ImagePreprocessor> Create(
      const lineserve::v1::ImagePreprocessing& config);

  int width() const { return width_; }
  int height() const { return height_; }
  int channels() const { return channels_; }
  // Floats written by Process(): channels * height * width.
  size_t output_size() const {
    return static_cast<size_t>(channels_) * height_ * width_;
  }
  const DecodeLimits& limits() const { return limits_; }

  // Decodes `encoded` and writes the model input, planar CHW, to
  // out[0 .. output_size()). With `memory`, the decode's peak memory
  // (ImageInfo::decode_memory_bytes(), from the header) is reserved from it
  // first and held until the input is written: RESOURCE_EXHAUSTED when it
  // does not fit. With `quality`, the decoded frame's camera check
  // (AssessImageQuality against this input's size) is written there; with
  // `placement`, where the image landed in the input.
  absl::Status Process(absl::string_view encoded, float* out,
                       DecodeMemory* memory = nullptr,
                       ImageQualityReport* quality = nullptr,
                       InputPlacement* placement = nullptr) const;

  // Where an image of that size lands in the input (both sizes >= 1).
  InputPlacement Place(int image_width, int image_height) const;

  // Same from already decoded pixels (the trainer decodes once and augments).
  absl::Status ProcessDecoded(const Image& image, float* out) const;

 private:
  ImagePreprocessor() = default;

  int width_ = 0;
  int height_ = 0;
  int channels_ = 0;
  lineserve::v1::ResizeMode resize_mode_ =
      lineserve::v1::RESIZE_MODE_UNSPECIFIED;
  lineserve::v1::Normalization normalization_ =
      lineserve::v1::NORMALIZATION_UNSPECIFIED;
  std::vector<float> mean_;
  std::vector<float> std_;
  float pad_value_ = 0.0f;
  DecodeLimits limits_;
};

}  // namespace lineserve::preprocess

#endif  // LINESERVE_MODELS_PREPROCESS_IMAGE_PREPROCESSOR_H_
