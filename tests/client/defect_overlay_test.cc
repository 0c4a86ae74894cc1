#include "client/cli/defect_overlay.h"

#include <string>

#include "gtest/gtest.h"
#include "models/preprocess/image_encode.h"

namespace lineserve::cli {
namespace {

lineserve::v1::ImageRegion Region(int x, int y, int width, int height) {
  lineserve::v1::ImageRegion region;
  region.set_x(x);
  region.set_y(y);
  region.set_width(width);
  region.set_height(height);
  return region;
}

// A 40 x 20 grey image judged as 4 x 2 cells of 10 x 10; the cell at (20, 0)
// is defective.
lineserve::v1::DefectMap Map() {
  lineserve::v1::DefectMap map;
  map.set_rows(2);
  map.set_columns(4);
  map.set_cell_threshold(0.5f);
  map.set_image_width(40);
  map.set_image_height(20);
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 4; ++c) {
      auto* cell = map.add_cells();
      *cell->mutable_region() = Region(c * 10, r * 10, 10, 10);
      const bool hot = r == 0 && c == 2;
      cell->set_defect_probability(hot ? 0.9f : 0.1f);
      cell->set_defect_class("crack");
    }
  }
  *map.mutable_defect_region() = Region(20, 0, 10, 10);
  return map;
}

preprocess::Image Grey(int width, int height, float value) {
  preprocess::Image image;
  image.width = width;
  image.height = height;
  image.channels = 1;
  image.data.assign(static_cast<size_t>(width) * height, value);
  return image;
}

TEST(DefectOverlayTest, TintsTheDefectiveCellsAndOutlinesTheRegion) {
  auto drawn = DrawDefectOverlay(Grey(40, 20, 0.5f), Map());
  ASSERT_TRUE(drawn.ok()) << drawn.status();
  EXPECT_EQ(drawn->width, 40);
  EXPECT_EQ(drawn->height, 20);
  EXPECT_EQ(drawn->channels, 3);
  // Outside the region the picture is untouched.
  for (int c = 0; c < 3; ++c) EXPECT_FLOAT_EQ(drawn->at(15, 5, c), 0.5f);
  // Inside, red over grey: more red than green or blue.
  const float red = drawn->at(5, 25, 0);
  EXPECT_GT(red, 0.6f);
  EXPECT_LT(drawn->at(5, 25, 1), 0.4f);
  EXPECT_FLOAT_EQ(drawn->at(5, 25, 1), drawn->at(5, 25, 2));
  // The outline, on the region's edge: yellow.
  EXPECT_FLOAT_EQ(drawn->at(0, 20, 0), 1.0f);
  EXPECT_FLOAT_EQ(drawn->at(0, 20, 1), 0.9f);
  EXPECT_FLOAT_EQ(drawn->at(9, 29, 2), 0.0f);
}

TEST(DefectOverlayTest, PngIsTheInputsSize) {
  const preprocess::Image picture = Grey(40, 20, 0.3f);
  auto jpeg = preprocess::EncodeJpeg(picture);
  ASSERT_TRUE(jpeg.ok());
  auto png = DefectOverlayPng(*jpeg, Map());
  ASSERT_TRUE(png.ok()) << png.status();
  auto decoded = preprocess::DecodeImage(*png);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->width, 40);
  EXPECT_EQ(decoded->height, 20);
  EXPECT_EQ(decoded->channels, 3);
  EXPECT_EQ(preprocess::DetectImageFormat(*png).value(),
            preprocess::ImageFormat::kPng);
}

TEST(DefectOverlayTest, NoRegionLeavesThePictureAsItWas) {
  lineserve::v1::DefectMap map = Map();
  map.clear_defect_region();
  for (auto& cell : *map.mutable_cells()) cell.set_defect_probability(0.2f);
  auto drawn = DrawDefectOverlay(Grey(40, 20, 0.25f), map);
  ASSERT_TRUE(drawn.ok());
  for (float v : drawn->data) ASSERT_FLOAT_EQ(v, 0.25f);
}

TEST(DefectOverlayTest, MapOfAnotherImageIsRefused) {
  auto drawn = DrawDefectOverlay(Grey(41, 20, 0.5f), Map());
  EXPECT_EQ(drawn.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(drawn.status().message(),
            "the defect map is for a 40x20 image, this one is 41x20");
  EXPECT_EQ(DefectOverlayPng("not an image", Map()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lineserve::cli
