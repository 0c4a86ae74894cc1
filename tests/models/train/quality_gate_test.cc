#include "models/train/quality_gate.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::train {
namespace {

using ::testing::HasSubstr;

TEST(QualityGateTest, AModelWorseThanAReferenceIsRefusedNamingBothFigures) {
  nlohmann::json metrics;
  std::ostringstream log;
  absl::Status status = ApplyQualityGate(
      {"mae", false, false}, 0.1047,
      {{"baseline targeted_productivity", 0.0918}, {"version 3", 0.0744}},
      metrics, log);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(),
              HasSubstr("mae 0.1047 is worse than baseline "
                        "targeted_productivity 0.0918, version 3 0.0744"));
  EXPECT_THAT(status.message(), HasSubstr("--force"));
  EXPECT_FALSE(metrics["quality_gate"]["passed"].get<bool>());
  EXPECT_EQ(metrics["quality_gate"]["references"]["version 3"], 0.0744);
}

TEST(QualityGateTest, EqualOrBetterPassesAndHigherCanBeBetter) {
  nlohmann::json metrics;
  std::ostringstream log;
  EXPECT_TRUE(ApplyQualityGate({"mae", false, false}, 0.0744,
                               {{"version 1", 0.0744}}, metrics, log)
                  .ok());
  EXPECT_TRUE(metrics["quality_gate"]["passed"].get<bool>());
  EXPECT_TRUE(ApplyQualityGate({"roc_auc", true, false}, 0.91,
                               {{"baseline chance", 0.5}, {"version 2", 0.9}},
                               metrics, log)
                  .ok());
  EXPECT_FALSE(ApplyQualityGate({"roc_auc", true, false}, 0.89,
                                {{"version 2", 0.9}}, metrics, log)
                   .ok());
}

TEST(QualityGateTest, ForcePublishesAndRecordsThatItWasForced) {
  nlohmann::json metrics;
  std::ostringstream log;
  EXPECT_TRUE(ApplyQualityGate({"mae", false, true}, 0.2, {{"baseline", 0.1}},
                               metrics, log)
                  .ok());
  EXPECT_TRUE(metrics["quality_gate"]["forced"].get<bool>());
  EXPECT_THAT(log.str(), HasSubstr("published anyway (--force)"));
}

TEST(QualityGateTest, RecordedOutOfFoldFigureOnlyForAVersionOfEveryItem) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "recorded_figure";
  std::filesystem::create_directories(dir);
  auto write = [&](const nlohmann::json& metrics) {
    std::ofstream(dir / "metrics.json") << metrics.dump();
  };
  const DataIdentity a{"csv", "a.csv", "fnv1a64:a"};
  // A version from before fingerprints: the path decides.
  write({{"mae", 0.07},
         {"training", {{"published_on", "all_rows"}, {"csv", "a.csv"}}}});
  EXPECT_EQ(RecordedOutOfFoldFigure(dir.string(), "all_rows", a, "mae"), 0.07);
  // Another table, or a model of one fold: not comparable that way.
  EXPECT_FALSE(RecordedOutOfFoldFigure(dir.string(), "all_rows",
                                       {"csv", "b.csv", "fnv1a64:a"}, "mae"));
  write({{"mae", 0.07},
         {"training", {{"published_on", "first_fold"}, {"csv", "a.csv"}}}});
  EXPECT_FALSE(RecordedOutOfFoldFigure(dir.string(), "all_rows", a, "mae"));
  // With a fingerprint, the content decides: a copy elsewhere is the same
  // data, the same path with other content is not.
  write({{"mae", 0.07},
         {"training",
          {{"published_on", "all_rows"},
           {"csv", "a.csv"},
           {"data_fingerprint", "fnv1a64:a"}}}});
  EXPECT_EQ(RecordedOutOfFoldFigure(dir.string(), "all_rows",
                                    {"csv", "copy/a.csv", "fnv1a64:a"}, "mae"),
            0.07);
  EXPECT_FALSE(RecordedOutOfFoldFigure(dir.string(), "all_rows",
                                       {"csv", "a.csv", "fnv1a64:b"}, "mae"));
  // The quality model's figure sits under defect_score.
  const DataIdentity d{"data_dir", "d", "fnv1a64:d"};
  write({{"defect_score", {{"roc_auc", 0.9}}},
         {"training", {{"published_on", "all_tiles"}, {"data_dir", "d"}}}});
  EXPECT_EQ(RecordedOutOfFoldFigure(dir.string(), "all_tiles", d, "roc_auc"),
            0.9);
  std::ofstream(dir / "metrics.json") << "{not json";
  EXPECT_FALSE(
      RecordedOutOfFoldFigure(dir.string(), "all_tiles", d, "roc_auc"));
  EXPECT_FALSE(RecordedOutOfFoldFigure((dir / "missing").string(), "all_tiles",
                                       d, "roc_auc"));
}

TEST(QualityGateTest, FingerprintFollowsContentAndNamesNotLocation) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "fingerprint";
  std::filesystem::create_directories(dir / "copy");
  auto write = [](const std::filesystem::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  };
  write(dir / "x.png", "abc");
  write(dir / "copy" / "x.png", "abc");
  write(dir / "y.png", "abd");
  auto of = [](std::vector<NamedFile> files) {
    absl::StatusOr<std::string> f = FingerprintFiles(files);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.value_or("");
  };
  const std::string original = of({{"ok/x.png", (dir / "x.png").string()}});
  EXPECT_THAT(original, ::testing::MatchesRegex("fnv1a64:[0-9a-f]{16}"));
  EXPECT_EQ(of({{"ok/x.png", (dir / "copy" / "x.png").string()}}), original);
  // One byte, the name (a class), or the split between files changes it.
  EXPECT_NE(of({{"ok/x.png", (dir / "y.png").string()}}), original);
  EXPECT_NE(of({{"crack/x.png", (dir / "x.png").string()}}), original);
  write(dir / "ab", "ab");
  write(dir / "c", "c");
  write(dir / "a", "a");
  write(dir / "bc", "bc");
  EXPECT_NE(of({{"", (dir / "ab").string()}, {"", (dir / "c").string()}}),
            of({{"", (dir / "a").string()}, {"", (dir / "bc").string()}}));
  const absl::StatusOr<std::string> missing =
      FingerprintFiles({{"", (dir / "none.csv").string()}});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("none.csv"));
}

}  // namespace
}  // namespace lineserve::train
