// Resampling of a decoded Image (see image.h) to a new width and height.
//
// A pure function over values: takes the source by const reference and
// returns a new Image the caller owns. No global state: safe to call from
// any thread.
#ifndef LINESERVE_MODELS_PREPROCESS_IMAGE_RESIZE_H_
#define LINESERVE_MODELS_PREPROCESS_IMAGE_RESIZE_H_

#include "models/preprocess/image.h"

namespace lineserve::preprocess {

// Resamples to width x height: area averaging along an axis that shrinks,
// bilinear interpolation along an axis that grows. Both sizes must be > 0.
Image Resize(const Image& image, int width, int height);

}  // namespace lineserve::preprocess

#endif  // LINESERVE_MODELS_PREPROCESS_IMAGE_RESIZE_H_
