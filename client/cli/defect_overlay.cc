#include "client/cli/defect_overlay.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "models/preprocess/image_encode.h"

namespace lineserve::cli {
namespace {

constexpr float kRed[3] = {1.0f, 0.0f, 0.0f};
constexpr float kYellow[3] = {1.0f, 0.9f, 0.0f};

// Blends `colour` over the pixels of `region` (clipped to the image).
void Tint(preprocess::Image& image, const lineserve::v1::ImageRegion& region,
          const float* colour, float alpha) {
  const int x0 = std::clamp(region.x(), 0, image.width);
  const int y0 = std::clamp(region.y(), 0, image.height);
  const int x1 = std::clamp(region.x() + region.width(), x0, image.width);
  const int y1 = std::clamp(region.y() + region.height(), y0, image.height);
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) {
      for (int c = 0; c < 3; ++c) {
        float& v = image.at(y, x, c);
        v = (1.0f - alpha) * v + alpha * colour[c];
      }
    }
  }
}

// The outline of `region`, `thickness` pixels wide, inside it.
void Outline(preprocess::Image& image, const lineserve::v1::ImageRegion& r,
             int thickness) {
  const int t = std::max(1, std::min({thickness, r.width(), r.height()}));
  lineserve::v1::ImageRegion edge;
  edge.set_x(r.x());
  edge.set_y(r.y());
  edge.set_width(r.width());
  edge.set_height(t);
  Tint(image, edge, kYellow, 1.0f);  // top
  edge.set_y(r.y() + r.height() - t);
  Tint(image, edge, kYellow, 1.0f);  // bottom
  edge.set_y(r.y());
  edge.set_width(t);
  edge.set_height(r.height());
  Tint(image, edge, kYellow, 1.0f);  // left
  edge.set_x(r.x() + r.width() - t);
  Tint(image, edge, kYellow, 1.0f);  // right
}

}  // namespace

absl::StatusOr<preprocess::Image> DrawDefectOverlay(
    const preprocess::Image& image, const lineserve::v1::DefectMap& map) {
  if (map.image_width() != image.width || map.image_height() != image.height) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the defect map is for a ", map.image_width(), "x", map.image_height(),
        " image, this one is ", image.width, "x", image.height));
  }
  preprocess::Image out =
      image.channels == 3 ? image : preprocess::ConvertChannels(image, 3);
  const float threshold = map.cell_threshold();
  for (const lineserve::v1::DefectCell& cell : map.cells()) {
    const float p = cell.defect_probability();
    if (p < threshold) continue;
    // At the threshold a third, at certainty two thirds: the surface stays
    // visible under the tint.
    const float strength =
        threshold < 1.0f ? (p - threshold) / (1.0f - threshold) : 1.0f;
    Tint(out, cell.region(), kRed,
         0.33f + 0.33f * std::clamp(strength, 0.0f, 1.0f));
  }
  if (map.has_defect_region()) {
    // About 1/150 of the image's shorter side, so the frame shows at any
    // size.
    const int thickness = std::max(1, std::min(out.width, out.height) / 150);
    Outline(out, map.defect_region(), thickness);
  }
  return out;
}

absl::StatusOr<std::string> DefectOverlayPng(
    const std::string& encoded, const lineserve::v1::DefectMap& map) {
  absl::StatusOr<preprocess::Image> image = preprocess::DecodeImage(encoded);
  if (!image.ok()) return image.status();
  absl::StatusOr<preprocess::Image> drawn = DrawDefectOverlay(*image, map);
  if (!drawn.ok()) return drawn.status();
  return preprocess::EncodePng(*drawn);
}

}  // namespace lineserve::cli
