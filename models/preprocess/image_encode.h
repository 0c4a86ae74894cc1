// PNG and JPEG encoding of an Image (see image.h), for tests and the
// synthetic data generator (models/datagen). Library lineserve_image_encode,
// which the server does not link: serving only ever decodes.
//
// Pure functions over values: the caller owns the Image, the returned bytes
// are a new string the caller owns. No global state: safe to call from any
// thread. Invalid arguments are INVALID_ARGUMENT, never a crash; samples
// outside [0, 1] (and NaN) are clamped.
#ifndef LINESERVE_MODELS_PREPROCESS_IMAGE_ENCODE_H_
#define LINESERVE_MODELS_PREPROCESS_IMAGE_ENCODE_H_

#include <string>

#include "absl/status/statusor.h"
#include "models/preprocess/image.h"

namespace lineserve::preprocess {

// `image` must have 1 or 3 channels, a positive size and width * height *
// channels samples. `bit_depth` is 8 or 16; JPEG `quality` is 1..100.
absl::StatusOr<std::string> EncodePng(const Image& image, int bit_depth = 8);
absl::StatusOr<std::string> EncodeJpeg(const Image& image, int quality = 92);

}  // namespace lineserve::preprocess

#endif  // LINESERVE_MODELS_PREPROCESS_IMAGE_ENCODE_H_
