// The in-memory Image, PNG/JPEG decoding and channel conversion.
//
// Pure functions over values: the caller owns every Image and byte buffer,
// nothing is retained. No LibTorch, no threads, no global state: safe to call
// from any thread. Decoding never trusts its input: every failure (unknown
// format, corrupt or truncated data, size above the limits) is an
// absl::Status with a message a client can act on, never a crash; the pixel
// limit is checked from the header, before the pixel buffer is allocated.
//
// Resizing is in image_resize.h; encoding (for tests and the synthetic data
// generator only, a separate library the server does not link) in
// image_encode.h.
#ifndef LINESERVE_MODELS_PREPROCESS_IMAGE_H_
#define LINESERVE_MODELS_PREPROCESS_IMAGE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lineserve::preprocess {

enum class ImageFormat { kPng, kJpeg };

struct DecodeLimits {
  // Encoded payloads larger than this are RESOURCE_EXHAUSTED before decoding.
  int64_t max_encoded_bytes = int64_t{16} << 20;
  // width * height above this is RESOURCE_EXHAUSTED after reading the header,
  // before the pixel buffer is allocated.
  int64_t max_pixels = 16'000'000;
};

// Decoded pixels, interleaved (row-major, channels last), every sample scaled
// to [0, 1] (8-bit by 1/255, 16-bit by 1/65535). `channels` is 1 or 3: alpha
// is dropped and palettes are expanded when decoding.
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<float> data;  // size width * height * channels

  float at(int y, int x, int c) const {
    return data[(static_cast<size_t>(y) * width + x) * channels + c];
  }
  float& at(int y, int x, int c) {
    return data[(static_cast<size_t>(y) * width + x) * channels + c];
  }
};

// Recognises PNG and JPEG by their signatures; INVALID_ARGUMENT otherwise.
absl::StatusOr<ImageFormat> DetectImageFormat(absl::string_view bytes);

// Decodes PNG (grey, grey+alpha, RGB, RGBA, palette; 1 to 16 bits) or JPEG
// (greyscale or colour). Errors: INVALID_ARGUMENT for unsupported, corrupt or
// truncated data; RESOURCE_EXHAUSTED above `limits`.
absl::StatusOr<Image> DecodeImage(absl::string_view bytes,
                                  const DecodeLimits& limits = {});

// Returns the image with `channels` (1 or 3) channels: grey is replicated,
// colour becomes luma (ITU-R BT.601 weights).
Image ConvertChannels(const Image& image, int channels);

}  // namespace lineserve::preprocess

#endif  // LINESERVE_MODELS_PREPROCESS_IMAGE_H_
