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
  // width * height * channels * bytes per sample as stored (ImageInfo::
  // decoded_bytes()) above this is RESOURCE_EXHAUSTED, checked with the
  // pixel limit: a small file declaring a large 16-bit RGBA image is refused
  // before it costs memory.
  int64_t max_decoded_bytes = int64_t{64} << 20;
};

// What an image's header declares, read without decoding the pixels.
struct ImageInfo {
  ImageFormat format = ImageFormat::kPng;
  uint32_t width = 0;
  uint32_t height = 0;
  // Samples per pixel as stored: 1 grey, 2 grey+alpha, 3 colour (a palette
  // counts as the RGB it expands to), 4 RGBA.
  int channels = 0;
  // 1 for 8 bits or fewer, 2 for 16 (12-bit JPEG decodes to 16).
  int bytes_per_sample = 1;

  uint64_t pixels() const { return uint64_t{width} * height; }
  // The samples as stored: pixels() * channels * bytes_per_sample.
  uint64_t decoded_bytes() const {
    return pixels() * static_cast<uint64_t>(channels) * bytes_per_sample;
  }
  // What decoding it holds at its peak: the stored samples plus the Image
  // (floats, grey or RGB).
  uint64_t decode_memory_bytes() const {
    return decoded_bytes() + pixels() * (channels >= 3 ? 3 : 1) * sizeof(float);
  }
};

// Reads the header of a PNG (IHDR) or JPEG (up to the first scan).
// INVALID_ARGUMENT as DecodeImage for an unknown format or a header that
// cannot be read; the limits are not applied (see CheckDecodeLimits).
absl::StatusOr<ImageInfo> ReadImageInfo(absl::string_view bytes);

// RESOURCE_EXHAUSTED when `info` is above the pixel or decoded-bytes limit,
// naming the size and the limit.
absl::Status CheckDecodeLimits(const ImageInfo& info,
                               const DecodeLimits& limits);

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
