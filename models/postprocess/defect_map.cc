#include "models/postprocess/defect_map.h"

#include <algorithm>
#include <cmath>

namespace lineserve::postprocess {
namespace {

// The image pixels [first, first + count) that the input pixels
// [begin, end) show, along one axis where input pixels [offset, offset +
// span) hold `image_size` image pixels. count is 0 when [begin, end) lies
// in the padding.
struct Extent {
  int first = 0;
  int count = 0;
};

Extent ToImage(double begin, double end, int offset, int span, int image_size) {
  begin = std::max(begin, static_cast<double>(offset));
  end = std::min(end, static_cast<double>(offset) + span);
  if (!(end > begin) || span <= 0 || image_size <= 0) return {};
  const double scale = static_cast<double>(image_size) / span;
  const int first =
      std::clamp(static_cast<int>(std::floor((begin - offset) * scale)), 0,
                 image_size - 1);
  const int last =
      std::clamp(static_cast<int>(std::ceil((end - offset) * scale)), first + 1,
                 image_size);
  return {first, last - first};
}

// The smallest region holding both.
ImageRegion Union(const ImageRegion& a, const ImageRegion& b) {
  const int left = std::min(a.x, b.x);
  const int top = std::min(a.y, b.y);
  const int right = std::max(a.x + a.width, b.x + b.width);
  const int bottom = std::max(a.y + a.height, b.y + b.height);
  return {left, top, right - left, bottom - top};
}

}  // namespace

DefectMap BuildDefectMap(const float* probabilities, int labels, int rows,
                         int columns, int ok_index, float threshold,
                         const preprocess::InputPlacement& placement,
                         bool defect_verdict) {
  DefectMap map;
  map.rows = rows;
  map.columns = columns;
  map.cell_threshold = threshold;
  if (probabilities == nullptr || labels < 1 || rows < 1 || columns < 1) {
    return map;
  }
  const double cell_width =
      static_cast<double>(placement.input_width) / columns;
  const double cell_height = static_cast<double>(placement.input_height) / rows;
  const size_t plane = static_cast<size_t>(rows) * columns;
  for (int r = 0; r < rows; ++r) {
    const Extent y =
        ToImage(r * cell_height, (r + 1) * cell_height, placement.y,
                placement.height, placement.image_height);
    if (y.count == 0) continue;
    for (int c = 0; c < columns; ++c) {
      const Extent x =
          ToImage(c * cell_width, (c + 1) * cell_width, placement.x,
                  placement.width, placement.image_width);
      if (x.count == 0) continue;
      const size_t at = static_cast<size_t>(r) * columns + c;
      DefectCell cell;
      cell.row = r;
      cell.column = c;
      cell.region = {x.first, y.first, x.count, y.count};
      float best = -1.0f;
      for (int k = 0; k < labels; ++k) {
        const float p = probabilities[k * plane + at];
        if (k == ok_index) {
          cell.defect_probability = 1.0f - p;
        } else if (p > best) {
          best = p;
          cell.defect_label = k;
        }
      }
      cell.defect_probability = std::clamp(cell.defect_probability, 0.0f, 1.0f);
      map.cells.push_back(cell);
    }
  }
  // The region: every cell at the threshold; for a defect verdict without
  // one, the likeliest cell.
  for (const DefectCell& cell : map.cells) {
    if (cell.defect_probability < threshold) continue;
    map.defect_region = map.defect_region.has_value()
                            ? Union(*map.defect_region, cell.region)
                            : cell.region;
  }
  if (defect_verdict && !map.defect_region.has_value() && !map.cells.empty()) {
    const DefectCell& likeliest =
        *std::max_element(map.cells.begin(), map.cells.end(),
                          [](const DefectCell& a, const DefectCell& b) {
                            return a.defect_probability < b.defect_probability;
                          });
    map.defect_region = likeliest.region;
  }
  return map;
}

}  // namespace lineserve::postprocess
