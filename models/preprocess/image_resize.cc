#include "models/preprocess/image_resize.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace lineserve::preprocess {
namespace {

// Contributions of source samples to one destination sample along one axis.
struct AxisWeights {
  // Taps of destination i are taps[begin[i] .. begin[i + 1]).
  std::vector<size_t> begin;
  std::vector<int> source;
  std::vector<float> weight;
};

AxisWeights ComputeAxisWeights(int source_size, int target_size) {
  AxisWeights weights;
  weights.begin.reserve(target_size + 1);
  const double scale = static_cast<double>(source_size) / target_size;
  for (int i = 0; i < target_size; ++i) {
    weights.begin.push_back(weights.source.size());
    const size_t first = weights.source.size();
    if (target_size < source_size) {
      // Area averaging: destination i covers [i, i + 1) * scale of the
      // source; each source sample counts by its overlap with that span.
      const double start = i * scale;
      const double end = (i + 1) * scale;
      const int last = std::min(source_size, static_cast<int>(std::ceil(end)));
      for (int s = static_cast<int>(std::floor(start)); s < last; ++s) {
        const double overlap =
            std::min<double>(end, s + 1) - std::max<double>(start, s);
        if (overlap <= 1e-9) continue;
        weights.source.push_back(s);
        weights.weight.push_back(static_cast<float>(overlap));
      }
    } else if (target_size > source_size) {
      // Bilinear with pixel centres aligned (half-pixel convention), the
      // border sample repeated beyond the edges.
      double position = (i + 0.5) * scale - 0.5;
      position = std::clamp(position, 0.0, source_size - 1.0);
      const int left = static_cast<int>(std::floor(position));
      const int right = std::min(left + 1, source_size - 1);
      const double fraction = position - left;
      weights.source.push_back(left);
      weights.weight.push_back(static_cast<float>(1.0 - fraction));
      if (right != left && fraction > 0.0) {
        weights.source.push_back(right);
        weights.weight.push_back(static_cast<float>(fraction));
      }
    } else {
      weights.source.push_back(i);
      weights.weight.push_back(1.0f);
    }
    // Normalised so that a constant image stays exactly constant whatever
    // the rounding in the spans above.
    float total = 0.0f;
    for (size_t t = first; t < weights.source.size(); ++t) {
      total += weights.weight[t];
    }
    for (size_t t = first; t < weights.source.size(); ++t) {
      weights.weight[t] /= total;
    }
  }
  weights.begin.push_back(weights.source.size());
  return weights;
}

}  // namespace

Image Resize(const Image& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  if (image.width <= 0 || image.height <= 0 || width <= 0 || height <= 0) {
    // Outside the contract; an all-zero image is safer than reading nothing.
    Image empty;
    empty.width = std::max(width, 0);
    empty.height = std::max(height, 0);
    empty.channels = image.channels;
    empty.data.assign(static_cast<size_t>(empty.width) * empty.height *
                          std::max(image.channels, 0),
                      0.0f);
    return empty;
  }
  const int channels = image.channels;
  const AxisWeights columns = ComputeAxisWeights(image.width, width);
  const AxisWeights rows = ComputeAxisWeights(image.height, height);

  // Horizontal pass: image.height x width.
  std::vector<float> horizontal(static_cast<size_t>(image.height) * width *
                                channels);
  for (int y = 0; y < image.height; ++y) {
    const float* in =
        image.data.data() + static_cast<size_t>(y) * image.width * channels;
    float* out = horizontal.data() + static_cast<size_t>(y) * width * channels;
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c) {
        float sum = 0.0f;
        for (size_t t = columns.begin[x]; t < columns.begin[x + 1]; ++t) {
          sum += columns.weight[t] *
                 in[static_cast<size_t>(columns.source[t]) * channels + c];
        }
        out[static_cast<size_t>(x) * channels + c] = sum;
      }
    }
  }

  // Vertical pass: height x width.
  Image result;
  result.width = width;
  result.height = height;
  result.channels = channels;
  const size_t row_size = static_cast<size_t>(width) * channels;
  result.data.assign(static_cast<size_t>(height) * row_size, 0.0f);
  for (int y = 0; y < height; ++y) {
    float* out = result.data.data() + static_cast<size_t>(y) * row_size;
    for (size_t t = rows.begin[y]; t < rows.begin[y + 1]; ++t) {
      const float weight = rows.weight[t];
      const float* in =
          horizontal.data() + static_cast<size_t>(rows.source[t]) * row_size;
      for (size_t i = 0; i < row_size; ++i) out[i] += weight * in[i];
    }
  }
  return result;
}

}  // namespace lineserve::preprocess
