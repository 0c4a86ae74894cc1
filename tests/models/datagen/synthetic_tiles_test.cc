#include "models/datagen/synthetic_tiles.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "models/preprocess/image.h"

namespace lineserve::datagen {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh folder per test and process: CTest may run tests in parallel.
class TempFolder {
 public:
  TempFolder() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::path(::testing::TempDir()) /
            absl::StrCat("synthetic_tiles_", info->test_suite_name(), "_",
                         info->name(), "_", getpid());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

double Sum(const preprocess::Image& image) {
  double sum = 0.0;
  for (float v : image.data) sum += v;
  return sum;
}

TileSample Render(const std::string& label, uint64_t seed, int min_side_px = 64,
                  int max_side_px = 128) {
  absl::StatusOr<TileSample> sample =
      RenderTile(label, seed, min_side_px, max_side_px);
  if (!sample.ok()) {
    ADD_FAILURE() << sample.status();
    return {};
  }
  return *std::move(sample);
}

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

preprocess::Image Decode(const fs::path& path) {
  absl::StatusOr<std::string> bytes = ReadFile(path.string());
  if (!bytes.ok()) {
    ADD_FAILURE() << bytes.status();
    return {};
  }
  absl::StatusOr<preprocess::Image> image = preprocess::DecodeImage(*bytes);
  if (!image.ok()) {
    ADD_FAILURE() << path << ": " << image.status();
    return {};
  }
  return *std::move(image);
}

TEST(SyntheticTileClassesTest, AreTheFourFolderNames) {
  EXPECT_THAT(SyntheticTileClasses(),
              ElementsAre("ok", "scratch", "spot", "crack"));
}

TEST(RenderTileTest, SameSeedGivesIdenticalPixels) {
  for (const std::string& label : SyntheticTileClasses()) {
    const TileSample a = Render(label, 42);
    const TileSample b = Render(label, 42);
    EXPECT_EQ(a.image.data, b.image.data) << label;
    EXPECT_EQ(a.mask.data, b.mask.data) << label;
    EXPECT_EQ(a.label, label);
  }
}

TEST(RenderTileTest, DifferentSeedsGiveDifferentPixels) {
  for (const std::string& label : SyntheticTileClasses()) {
    const TileSample a = Render(label, 1, 96, 96);
    const TileSample b = Render(label, 2, 96, 96);
    EXPECT_NE(a.image.data, b.image.data) << label;
  }
}

TEST(RenderTileTest, ImageIsGreyInRangeAndMaskMatchesItsSize) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    for (const std::string& label : SyntheticTileClasses()) {
      const TileSample s = Render(label, seed);
      EXPECT_EQ(s.image.channels, 1);
      EXPECT_EQ(s.mask.channels, 1);
      EXPECT_EQ(s.mask.width, s.image.width);
      EXPECT_EQ(s.mask.height, s.image.height);
      EXPECT_GE(s.image.width, 64);
      EXPECT_LE(s.image.width, 128);
      EXPECT_GE(s.image.height, 64);
      EXPECT_LE(s.image.height, 128);
      ASSERT_EQ(s.image.data.size(),
                static_cast<size_t>(s.image.width) * s.image.height);
      for (float v : s.image.data) ASSERT_TRUE(v >= 0.0f && v <= 1.0f) << v;
      for (float v : s.mask.data) ASSERT_TRUE(v == 0.0f || v == 1.0f) << v;
    }
  }
}

TEST(RenderTileTest, MaskIsEmptyForOkAndMarksEveryDefect) {
  for (uint64_t seed = 1; seed <= 50; ++seed) {
    for (const std::string& label : SyntheticTileClasses()) {
      const double area = Sum(Render(label, seed).mask);
      if (label == "ok") {
        EXPECT_EQ(area, 0.0) << seed;
      } else {
        EXPECT_GE(area, 3.0) << label << " seed " << seed;
      }
    }
  }
}

TEST(RenderTileTest, DefectIsDrawnOnTheSameSurfaceAsOk) {
  // The seed fixes size and surface for every class, so comparing with "ok"
  // isolates the defect: it must be visible where the mask is and stronger
  // there than anywhere it spills over (anti-aliased rims, faded ends).
  for (const char* label : {"scratch", "spot", "crack"}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      const TileSample ok = Render("ok", seed);
      const TileSample defect = Render(label, seed);
      ASSERT_EQ(ok.image.width, defect.image.width);
      ASSERT_EQ(ok.image.height, defect.image.height);
      double inside = 0.0, outside = 0.0;
      int inside_count = 0, outside_count = 0;
      for (size_t i = 0; i < ok.image.data.size(); ++i) {
        const double diff = std::abs(defect.image.data[i] - ok.image.data[i]);
        if (defect.mask.data[i] > 0.0f) {
          inside += diff;
          ++inside_count;
        } else if (diff > 0.0) {
          outside += diff;
          ++outside_count;
        }
      }
      ASSERT_GT(inside_count, 0) << label << " seed " << seed;
      const double inside_mean = inside / inside_count;
      EXPECT_GT(inside_mean, 0.03) << label << " seed " << seed;
      if (outside_count > 0) {
        EXPECT_LT(outside / outside_count, inside_mean)
            << label << " seed " << seed;
      }
    }
  }
}

TEST(RenderTileTest, SizeDoesNotDependOnTheClass) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const TileSample ok = Render("ok", seed);
    for (const char* label : {"scratch", "spot", "crack"}) {
      const TileSample defect = Render(label, seed);
      EXPECT_EQ(defect.image.width, ok.image.width);
      EXPECT_EQ(defect.image.height, ok.image.height);
    }
  }
}

TEST(RenderTileTest, RejectsUnknownClassAndBadSides) {
  EXPECT_EQ(RenderTile("blowhole", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderTile("ok", 1, 200, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderTile("ok", 1, 8, 100).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RenderTile("ok", 1, 100, 100000).status().code(),
            absl::StatusCode::kInvalidArgument);
}

SyntheticTilesOptions SmallSet(const fs::path& dir) {
  SyntheticTilesOptions options;
  options.output_dir = dir.string();
  options.ok_count = 6;
  options.defect_count_per_class = 3;
  options.min_side_px = 40;
  options.max_side_px = 72;
  options.seed = 7;
  return options;
}

TEST(GenerateSyntheticTilesTest, WritesImagesAndMasksPerClass) {
  TempFolder temp;
  ASSERT_TRUE(GenerateSyntheticTiles(SmallSet(temp.path())).ok());
  std::set<std::string> names;
  for (const std::string& label : SyntheticTileClasses()) {
    const std::vector<fs::path> images =
        FilesIn(temp.path() / "images" / label);
    const std::vector<fs::path> masks = FilesIn(temp.path() / "masks" / label);
    const size_t expected = label == "ok" ? 6 : 3;
    ASSERT_EQ(images.size(), expected) << label;
    ASSERT_EQ(masks.size(), expected) << label;
    for (size_t i = 0; i < images.size(); ++i) {
      EXPECT_EQ(images[i].filename(), masks[i].filename());
      EXPECT_THAT(images[i].filename().string(), HasSubstr("syn_"));
      EXPECT_EQ(images[i].extension(), ".png");
      names.insert(images[i].filename().string());
      const preprocess::Image image = Decode(images[i]);
      const preprocess::Image mask = Decode(masks[i]);
      EXPECT_EQ(image.channels, 1);
      EXPECT_EQ(mask.channels, 1);
      EXPECT_EQ(mask.width, image.width);
      EXPECT_EQ(mask.height, image.height);
      for (float v : mask.data) ASSERT_TRUE(v == 0.0f || v == 1.0f);
      if (label == "ok") {
        EXPECT_EQ(Sum(mask), 0.0) << images[i];
      } else {
        EXPECT_GT(Sum(mask), 0.0) << images[i];
      }
    }
  }
  EXPECT_EQ(names.size(), 15u) << "file names must be unique across classes";
}

TEST(GenerateSyntheticTilesTest, SameSeedWritesIdenticalBytes) {
  TempFolder temp;
  SyntheticTilesOptions options = SmallSet(temp.path() / "a");
  ASSERT_TRUE(GenerateSyntheticTiles(options).ok());
  options.output_dir = (temp.path() / "b").string();
  ASSERT_TRUE(GenerateSyntheticTiles(options).ok());
  options.output_dir = (temp.path() / "c").string();
  options.seed = 8;
  ASSERT_TRUE(GenerateSyntheticTiles(options).ok());
  int compared = 0, differing_from_other_seed = 0;
  for (const char* kind : {"images", "masks"}) {
    for (const std::string& label : SyntheticTileClasses()) {
      for (const fs::path& a : FilesIn(temp.path() / "a" / kind / label)) {
        const fs::path relative = fs::relative(a, temp.path() / "a");
        const std::string bytes_a = *ReadFile(a.string());
        EXPECT_EQ(bytes_a, *ReadFile((temp.path() / "b" / relative).string()))
            << relative;
        if (bytes_a != *ReadFile((temp.path() / "c" / relative).string())) {
          ++differing_from_other_seed;
        }
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 30);
  // Every image differs with another seed; "ok" masks are all black anyway.
  EXPECT_GE(differing_from_other_seed, 15 + 9);
}

TEST(GenerateSyntheticTilesTest, SizeDistributionIsTheSameForEveryClass) {
  TempFolder temp;
  SyntheticTilesOptions options;
  options.output_dir = temp.path().string();
  options.ok_count = 60;
  options.defect_count_per_class = 60;
  options.min_side_px = 32;
  options.max_side_px = 64;
  ASSERT_TRUE(GenerateSyntheticTiles(options).ok());
  for (const std::string& label : SyntheticTileClasses()) {
    std::vector<int> widths, heights;
    for (const fs::path& path : FilesIn(temp.path() / "images" / label)) {
      const preprocess::Image image = Decode(path);
      widths.push_back(image.width);
      heights.push_back(image.height);
    }
    ASSERT_EQ(widths.size(), 60u);
    for (const std::vector<int>* sides : {&widths, &heights}) {
      const auto [min, max] = std::minmax_element(sides->begin(), sides->end());
      // Uniform on [32, 64]: every class covers nearly the whole range...
      EXPECT_LE(*min, 38) << label;
      EXPECT_GE(*max, 58) << label;
      // ...around the same middle (standard error of the mean is about 1.2).
      double mean = 0.0;
      for (int side : *sides) mean += side;
      mean /= sides->size();
      EXPECT_NEAR(mean, 48.0, 4.5) << label;
    }
  }
}

TEST(GenerateSyntheticTilesTest, RejectsBadOptions) {
  TempFolder temp;
  SyntheticTilesOptions options = SmallSet(temp.path());
  options.ok_count = -1;
  EXPECT_EQ(GenerateSyntheticTiles(options).code(),
            absl::StatusCode::kInvalidArgument);
  options = SmallSet(temp.path());
  options.min_side_px = 100;
  options.max_side_px = 50;
  EXPECT_EQ(GenerateSyntheticTiles(options).code(),
            absl::StatusCode::kInvalidArgument);
  options = SmallSet(temp.path());
  options.output_dir.clear();
  EXPECT_EQ(GenerateSyntheticTiles(options).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(GenerateSyntheticTilesTest, ReportsTheFolderItCannotCreate) {
  TempFolder temp;
  // A file where the output folder should be.
  const fs::path blocker = temp.path() / "not_a_folder";
  ASSERT_TRUE(WriteFileAtomically(blocker.string(), "x").ok());
  SyntheticTilesOptions options = SmallSet(blocker);
  const absl::Status status = GenerateSyntheticTiles(options);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(blocker.string()));
}

}  // namespace
}  // namespace lineserve::datagen
