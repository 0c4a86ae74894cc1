#include "models/postprocess/defect_map.h"

#include <vector>

#include "gtest/gtest.h"

namespace lineserve::postprocess {
namespace {

// [labels, rows, columns] probabilities: every cell ok, except `hot` cells
// given P(ok) = 1 - p split over the defect labels as `split` says.
struct Grid {
  int labels, rows, columns;
  std::vector<float> p;
  Grid(int k, int r, int c) : labels(k), rows(r), columns(c) {
    p.assign(static_cast<size_t>(k) * r * c, 0.0f);
    for (int i = 0; i < r * c; ++i) p[i] = 1.0f;  // label 0 is ok
  }
  void Set(int row, int column, int label, float defect) {
    const size_t at = static_cast<size_t>(row) * columns + column;
    const size_t plane = static_cast<size_t>(rows) * columns;
    p[at] = 1.0f - defect;
    p[label * plane + at] = defect;
  }
};

preprocess::InputPlacement Placement(int input, int image_width,
                                     int image_height, int x, int y, int width,
                                     int height) {
  preprocess::InputPlacement placement;
  placement.input_width = input;
  placement.input_height = input;
  placement.image_width = image_width;
  placement.image_height = image_height;
  placement.x = x;
  placement.y = y;
  placement.width = width;
  placement.height = height;
  return placement;
}

TEST(DefectMapTest, StretchedImageCellsTileTheImage) {
  // 4 x 4 cells over a 16-pixel input that holds a 100 x 60 image stretched.
  Grid grid(3, 4, 4);
  grid.Set(1, 2, 2, 0.9f);
  const DefectMap map =
      BuildDefectMap(grid.p.data(), 3, 4, 4, /*ok_index=*/0, 0.5f,
                     Placement(16, 100, 60, 0, 0, 16, 16));
  ASSERT_EQ(map.cells.size(), 16u);
  EXPECT_EQ(map.rows, 4);
  EXPECT_EQ(map.columns, 4);
  // Cell (1, 2): x 50..75, y 15..30.
  const DefectCell& hot = map.cells[1 * 4 + 2];
  EXPECT_EQ(hot.row, 1);
  EXPECT_EQ(hot.column, 2);
  EXPECT_EQ(hot.region, (ImageRegion{50, 15, 25, 15}));
  EXPECT_FLOAT_EQ(hot.defect_probability, 0.9f);
  EXPECT_EQ(hot.defect_label, 2);
  ASSERT_TRUE(map.defect_region.has_value());
  EXPECT_EQ(*map.defect_region, (ImageRegion{50, 15, 25, 15}));
  // Every pixel in exactly one cell.
  long area = 0;
  for (const DefectCell& cell : map.cells) {
    area += static_cast<long>(cell.region.width) * cell.region.height;
  }
  EXPECT_EQ(area, 100 * 60);
  EXPECT_EQ(map.cells.back().region, (ImageRegion{75, 45, 25, 15}));
}

TEST(DefectMapTest, LetterboxPaddingCellsAreLeftOut) {
  // An 80 x 40 image in a 16 x 16 input: 16 x 8 at y 4..12. Cells of 4
  // pixels: rows 0 and 3 are padding only.
  Grid grid(2, 4, 4);
  grid.Set(1, 0, 1, 0.7f);
  grid.Set(2, 3, 1, 0.6f);
  grid.Set(3, 3, 1, 0.99f);  // padding: never reported
  const DefectMap map = BuildDefectMap(grid.p.data(), 2, 4, 4, 0, 0.5f,
                                       Placement(16, 80, 40, 0, 4, 16, 8));
  ASSERT_EQ(map.cells.size(), 8u);
  EXPECT_EQ(map.cells.front().row, 1);
  EXPECT_EQ(map.cells.back().row, 2);
  // Row 1 is input y 4..8: image y 0..20; row 2: image y 20..40.
  EXPECT_EQ(map.cells[0].region, (ImageRegion{0, 0, 20, 20}));
  EXPECT_EQ(map.cells[7].region, (ImageRegion{60, 20, 20, 20}));
  ASSERT_TRUE(map.defect_region.has_value());
  EXPECT_EQ(*map.defect_region, (ImageRegion{0, 0, 80, 40}));
}

TEST(DefectMapTest, PartlyPaddedCellsCoverOnlyTheImage) {
  // A 30 x 20 image in a 12-pixel input: 12 x 8 at y 2..10. Cells of 3
  // pixels: row 0 (y 0..3) holds one image row, row 3 (y 9..12) one too.
  Grid grid(2, 4, 4);
  grid.Set(0, 1, 1, 0.8f);
  const DefectMap map = BuildDefectMap(grid.p.data(), 2, 4, 4, 0, 0.5f,
                                       Placement(12, 30, 20, 0, 2, 12, 8));
  ASSERT_EQ(map.cells.size(), 16u);
  // Input y 2..3 is image y 0..2.5: pixels 0..3 (rounded out).
  EXPECT_EQ(map.cells[1].region, (ImageRegion{7, 0, 8, 3}));
  EXPECT_EQ(*map.defect_region, map.cells[1].region);
  EXPECT_EQ(map.cells[15].region.y + map.cells[15].region.height, 20);
}

TEST(DefectMapTest, NothingAtTheThresholdMeansNoRegion) {
  Grid grid(2, 2, 2);
  grid.Set(0, 0, 1, 0.49f);
  const DefectMap map = BuildDefectMap(grid.p.data(), 2, 2, 2, 0, 0.5f,
                                       Placement(8, 8, 8, 0, 0, 8, 8));
  EXPECT_EQ(map.cells.size(), 4u);
  EXPECT_FALSE(map.defect_region.has_value());
  EXPECT_FLOAT_EQ(map.cell_threshold, 0.5f);
  // At the threshold exactly, the cell is defective.
  grid.Set(1, 1, 1, 0.5f);
  const DefectMap at = BuildDefectMap(grid.p.data(), 2, 2, 2, 0, 0.5f,
                                      Placement(8, 8, 8, 0, 0, 8, 8));
  ASSERT_TRUE(at.defect_region.has_value());
  EXPECT_EQ(*at.defect_region, (ImageRegion{4, 4, 4, 4}));
}

TEST(DefectMapTest, DefectVerdictUnderTheThresholdGetsItsLikeliestCell) {
  // The verdict averages views and top cells: it can reach the threshold
  // while no cell of the averaged map does.
  Grid grid(2, 2, 2);
  grid.Set(0, 1, 1, 0.3f);
  grid.Set(1, 0, 1, 0.45f);
  const auto placement = Placement(8, 16, 16, 0, 0, 8, 8);
  const DefectMap ok = BuildDefectMap(grid.p.data(), 2, 2, 2, 0, 0.5f,
                                      placement, /*defect_verdict=*/false);
  EXPECT_FALSE(ok.defect_region.has_value());
  const DefectMap defect = BuildDefectMap(grid.p.data(), 2, 2, 2, 0, 0.5f,
                                          placement, /*defect_verdict=*/true);
  ASSERT_TRUE(defect.defect_region.has_value());
  EXPECT_EQ(*defect.defect_region, (ImageRegion{0, 8, 8, 8}));
  // Cells at the threshold make the region as always.
  grid.Set(0, 0, 1, 0.6f);
  const DefectMap reached =
      BuildDefectMap(grid.p.data(), 2, 2, 2, 0, 0.5f, placement, true);
  EXPECT_EQ(*reached.defect_region, (ImageRegion{0, 0, 8, 8}));
}

TEST(DefectMapTest, OkIndexNeedNotBeFirst) {
  // Labels {crack, ok}: ok is 1.
  std::vector<float> p = {0.8f, 0.1f, 0.2f, 0.9f};  // [2, 1, 2]
  const DefectMap map = BuildDefectMap(p.data(), 2, 1, 2, /*ok_index=*/1, 0.5f,
                                       Placement(4, 4, 2, 0, 1, 4, 2));
  ASSERT_EQ(map.cells.size(), 2u);
  EXPECT_FLOAT_EQ(map.cells[0].defect_probability, 0.8f);
  EXPECT_EQ(map.cells[0].defect_label, 0);
  EXPECT_FLOAT_EQ(map.cells[1].defect_probability, 0.1f);
  EXPECT_EQ(*map.defect_region, (ImageRegion{0, 0, 2, 2}));
}

TEST(DefectMapTest, EmptyGridGivesAnEmptyMap) {
  const DefectMap map =
      BuildDefectMap(nullptr, 2, 4, 4, 0, 0.5f, Placement(8, 8, 8, 0, 0, 8, 8));
  EXPECT_TRUE(map.cells.empty());
  EXPECT_FALSE(map.defect_region.has_value());
}

}  // namespace
}  // namespace lineserve::postprocess
