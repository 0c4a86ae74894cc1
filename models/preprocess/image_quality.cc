#include "models/preprocess/image_quality.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace lineserve::preprocess {
namespace {

// Grey level of pixel (x, y): the value, or BT.601 luma of RGB.
double Grey(const Image& image, int y, int x) {
  if (image.channels >= 3) {
    return 0.299 * image.at(y, x, 0) + 0.587 * image.at(y, x, 1) +
           0.114 * image.at(y, x, 2);
  }
  return image.at(y, x, 0);
}

// Standard deviation of the grey levels over a regular grid of at most
// 256 x 256 pixels: bounded work whatever the frame's size.
double GreySpread(const Image& image) {
  constexpr int kGrid = 256;
  const int step_x = std::max(1, image.width / kGrid);
  const int step_y = std::max(1, image.height / kGrid);
  double sum = 0.0;
  double sum_sq = 0.0;
  size_t n = 0;
  for (int y = 0; y < image.height; y += step_y) {
    for (int x = 0; x < image.width; x += step_x) {
      const double v = Grey(image, y, x);
      sum += v;
      sum_sq += v * v;
      ++n;
    }
  }
  if (n == 0) return 0.0;
  const double mean = sum / n;
  return std::sqrt(std::max(0.0, sum_sq / n - mean * mean));
}

}  // namespace

const char* ImageQualityIssueName(ImageQualityIssue issue) {
  switch (issue) {
    case ImageQualityIssue::kOk:
      return "ok";
    case ImageQualityIssue::kBlank:
      return "blank";
    case ImageQualityIssue::kTooSmall:
      return "too_small";
    case ImageQualityIssue::kWrongAspect:
      return "wrong_aspect";
  }
  return "unknown";
}

ImageQualityReport AssessImageQuality(const Image& image, int input_width,
                                      int input_height,
                                      const ImageQualityLimits& limits) {
  ImageQualityReport report;
  report.spread = GreySpread(image);
  const int side = std::min(image.width, image.height);
  if (side < limits.min_side) {
    report.issue = ImageQualityIssue::kTooSmall;
    report.detail =
        absl::StrCat("frame is ", image.width, "x", image.height,
                     ", shorter side below ", limits.min_side, " pixels");
    return report;
  }
  if (input_width > 0 && input_height > 0) {
    const double aspect = static_cast<double>(image.width) / image.height;
    const double expected = static_cast<double>(input_width) / input_height;
    const double factor = std::max(aspect / expected, expected / aspect);
    if (factor > limits.max_aspect_factor) {
      report.issue = ImageQualityIssue::kWrongAspect;
      report.detail = absl::StrFormat(
          "frame is %dx%d, its aspect %.2f is %.1fx off the model input's "
          "%.2f (at most %.1fx)",
          image.width, image.height, aspect, factor, expected,
          limits.max_aspect_factor);
      return report;
    }
  }
  if (report.spread < limits.min_spread) {
    report.issue = ImageQualityIssue::kBlank;
    report.detail =
        absl::StrFormat("grey-level spread %.4f, below %.4f: a blank frame",
                        report.spread, limits.min_spread);
  }
  return report;
}

}  // namespace lineserve::preprocess
