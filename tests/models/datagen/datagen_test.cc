#include <algorithm>
#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/datagen/synthetic_production.h"
#include "models/datagen/synthetic_tiles.h"
#include "server/common/file_util.h"

namespace lineserve::datagen {
namespace {
namespace fs = std::filesystem;

float MaskArea(const preprocess::Image& mask) {
  float sum = 0;
  for (float v : mask.data) sum += v;
  return sum;
}

TEST(SyntheticTilesTest, SameSeedSamePixelsOtherSeedOtherPixels) {
  const TileSample a = RenderTile("crack", 5, 64, 96);
  const TileSample b = RenderTile("crack", 5, 64, 96);
  const TileSample c = RenderTile("crack", 6, 64, 96);
  EXPECT_EQ(a.image.data, b.image.data);
  EXPECT_EQ(a.mask.data, b.mask.data);
  EXPECT_NE(a.image.data, c.image.data);
}

TEST(SyntheticTilesTest, MasksMarkDefectsOnlyAndMatchTheImage) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    for (const std::string& label : TileLabels()) {
      const TileSample s = RenderTile(label, seed, 64, 128);
      ASSERT_EQ(s.image.width, s.mask.width);
      ASSERT_EQ(s.image.height, s.mask.height);
      EXPECT_GE(s.image.width, 64);
      EXPECT_LE(s.image.height, 128);
      for (float v : s.image.data) ASSERT_TRUE(v >= 0.0f && v <= 1.0f);
      if (label == "ok") {
        EXPECT_EQ(MaskArea(s.mask), 0.0f) << seed;
      } else {
        EXPECT_GT(MaskArea(s.mask), 4.0f) << label << " " << seed;
      }
    }
  }
}

TEST(SyntheticTilesTest, DefectsChangeThePixelsUnderTheirMask) {
  // The same seed draws the same surface; the defect must differ from it
  // where the mask says, so the label is learnable from the pixels.
  const TileSample spot = RenderTile("spot", 9, 96, 96);
  double inside = 0, outside = 0;
  int n_in = 0, n_out = 0;
  for (size_t i = 0; i < spot.image.data.size(); ++i) {
    if (spot.mask.data[i] > 0) {
      inside += spot.image.data[i];
      ++n_in;
    } else {
      outside += spot.image.data[i];
      ++n_out;
    }
  }
  ASSERT_GT(n_in, 0);
  EXPECT_LT(inside / n_in, outside / n_out - 0.03);
}

TEST(SyntheticTilesTest, SizeDoesNotGiveTheLabelAway) {
  // Per class, the mean side over many images is close to the middle of the
  // range: no class is systematically larger.
  for (const std::string& label : TileLabels()) {
    double sum = 0;
    for (uint64_t seed = 0; seed < 200; ++seed) {
      sum += RenderTile(label, seed * 7919 + 1, 100, 200).image.width;
    }
    EXPECT_NEAR(sum / 200, 150, 8) << label;
  }
}

TEST(SyntheticTilesTest, WritesTheImageFolderLayout) {
  const fs::path out = fs::path(::testing::TempDir()) / "synthetic_tiles";
  fs::remove_all(out);
  SyntheticTilesOptions options;
  options.output_dir = out.string();
  options.ok_count = 3;
  options.defect_count_per_class = 2;
  options.min_side_px = 40;
  options.max_side_px = 60;
  ASSERT_TRUE(GenerateSyntheticTiles(options).ok());
  for (const std::string& label : TileLabels()) {
    const auto count = [&](const char* kind) {
      return std::distance(fs::directory_iterator(out / kind / label),
                           fs::directory_iterator{});
    };
    EXPECT_EQ(count("images"), label == "ok" ? 3 : 2) << label;
    EXPECT_EQ(count("masks"), label == "ok" ? 3 : 2) << label;
  }
  const std::string first =
      *ReadFile((out / "images" / "crack" / "syn_crack_0000.png").string());
  ASSERT_TRUE(GenerateSyntheticTiles(options).ok());
  EXPECT_EQ(
      *ReadFile((out / "images" / "crack" / "syn_crack_0000.png").string()),
      first);
  auto decoded = preprocess::DecodeImage(first);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->channels, 1);
  fs::remove_all(out);
}

TEST(SyntheticTilesTest, RejectsBadOptions) {
  SyntheticTilesOptions options;
  options.output_dir = ::testing::TempDir();
  options.min_side_px = 200;
  options.max_side_px = 100;
  EXPECT_EQ(GenerateSyntheticTiles(options).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SyntheticProductionTest, HasTheRealTablesColumnsAndQuirks) {
  const std::string csv = RenderProductionTable(300, 3);
  EXPECT_EQ(csv, RenderProductionTable(300, 3));
  EXPECT_NE(csv, RenderProductionTable(300, 4));
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 301u);
  EXPECT_EQ(lines[0],
            "date,quarter,department,day,team,targeted_productivity,smv,wip,"
            "over_time,incentive,idle_time,idle_men,no_of_style_change,"
            "no_of_workers,actual_productivity");
  std::set<std::string> departments, days;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<std::string> cells = absl::StrSplit(lines[i], ',');
    ASSERT_EQ(cells.size(), 15u) << lines[i];
    departments.insert(cells[2]);
    days.insert(cells[3]);
    const bool finishing = cells[2].rfind("finishing", 0) == 0;
    EXPECT_EQ(cells[7].empty(), finishing) << lines[i];
    const int team = std::stoi(cells[4]);
    EXPECT_TRUE(team >= 1 && team <= 12);
    const double actual = std::stod(cells[14]);
    EXPECT_TRUE(actual >= 0.2 && actual <= 1.12) << actual;
    EXPECT_THAT(cells[1], ::testing::StartsWith("Quarter"));
  }
  EXPECT_THAT(departments, ::testing::UnorderedElementsAre(
                               "sweing", "finishing", "finishing "));
  EXPECT_EQ(days.count("Friday"), 0u);
  EXPECT_EQ(days.size(), 6u);
}

}  // namespace
}  // namespace lineserve::datagen
