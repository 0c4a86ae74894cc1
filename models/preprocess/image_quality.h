// Camera sanity: whether a decoded frame can show a part at all. A capped
// lens, a dead sensor or a frame cut to a sliver still decodes, and a model
// answers it with confidence; this check flags such frames from their
// pixels so the answer says the verdict cannot be trusted.
//
// Pure functions over values; thread-safe.
#ifndef LINESERVE_MODELS_PREPROCESS_IMAGE_QUALITY_H_
#define LINESERVE_MODELS_PREPROCESS_IMAGE_QUALITY_H_

#include <string>

#include "models/preprocess/image.h"

namespace lineserve::preprocess {

enum class ImageQualityIssue { kOk, kBlank, kTooSmall, kWrongAspect };

// "ok", "blank", "too_small", "wrong_aspect" (metric label values).
const char* ImageQualityIssueName(ImageQualityIssue issue);

// With the defaults all 1,104 tiles of the magnetic-tile data set pass
// (shorter sides from 105 pixels, aspect up to 2.7:1, grey-level spread from
// 0.037), while a flat frame, a 16-pixel sliver and a 5:1 strip do not.
struct ImageQualityLimits {
  // Standard deviation of the grey levels (0..1) below which a frame is
  // blank; sensor noise alone is around 0.004.
  double min_spread = 0.01;
  // Shorter side, in pixels, below which a frame is too small.
  int min_side = 32;
  // Most the frame's width/height may differ from the model input's, as a
  // factor either way.
  double max_aspect_factor = 4.0;
};

struct ImageQualityReport {
  ImageQualityIssue issue = ImageQualityIssue::kOk;
  // The grey-level standard deviation measured (on a sample of at most
  // 65,536 pixels).
  double spread = 0.0;
  // Empty when OK; else what was measured against which limit.
  std::string detail;
};

// Checks, in order: too small, wrong aspect (against input_width /
// input_height), blank. The first failing one is reported.
ImageQualityReport AssessImageQuality(const Image& image, int input_width,
                                      int input_height,
                                      const ImageQualityLimits& limits = {});

}  // namespace lineserve::preprocess

#endif  // LINESERVE_MODELS_PREPROCESS_IMAGE_QUALITY_H_
