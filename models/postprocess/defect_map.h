// From a model's per-cell class probabilities to where the defect is in the
// request's image: each cell of the model's grid mapped back through the
// preprocessing's scaling and letterbox padding to the image pixels it
// judged, and the region of the cells at or above the cell threshold.
//
// Pure functions over values; thread-safe.
#ifndef LINESERVE_MODELS_POSTPROCESS_DEFECT_MAP_H_
#define LINESERVE_MODELS_POSTPROCESS_DEFECT_MAP_H_

#include <optional>
#include <vector>

#include "models/preprocess/image_preprocessor.h"

namespace lineserve::postprocess {

// A rectangle of image pixels: (x, y) top-left, x right, y down.
struct ImageRegion {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;

  bool operator==(const ImageRegion& other) const {
    return x == other.x && y == other.y && width == other.width &&
           height == other.height;
  }
};

struct DefectCell {
  int row = 0;
  int column = 0;
  // The image pixels the cell covers (at least one pixel each way).
  ImageRegion region;
  float defect_probability = 0.0f;  // 1 - P(ok)
  // The likeliest label other than ok; -1 when the model has no other.
  int defect_label = -1;
};

struct DefectMap {
  int rows = 0;
  int columns = 0;
  // Row by row; cells that cover only padding are left out.
  std::vector<DefectCell> cells;
  float cell_threshold = 0.0f;
  // The smallest region holding every cell at or above cell_threshold; for
  // a defect verdict none of whose cells reaches it, the likeliest cell.
  std::optional<ImageRegion> defect_region;
};

// `probabilities` holds one image's [labels, rows, columns] class
// probabilities per cell; the grid covers the whole model input, whose
// pixels `placement` relates to the image's. A cell over the image is
// defective when 1 - P(ok_index) >= threshold. The image's verdict
// (`defect_verdict`) averages its likeliest cells over several views, so a
// defect verdict can come with every cell just under the threshold: its
// region is then the likeliest cell, never none.
DefectMap BuildDefectMap(const float* probabilities, int labels, int rows,
                         int columns, int ok_index, float threshold,
                         const preprocess::InputPlacement& placement,
                         bool defect_verdict = false);

}  // namespace lineserve::postprocess

#endif  // LINESERVE_MODELS_POSTPROCESS_DEFECT_MAP_H_
