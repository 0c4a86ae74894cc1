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
  write({{"mae", 0.07},
         {"training", {{"published_on", "all_rows"}, {"csv", "a.csv"}}}});
  EXPECT_EQ(
      RecordedOutOfFoldFigure(dir.string(), "all_rows", "csv", "a.csv", "mae"),
      0.07);
  // Another table, or a model of one fold: not comparable that way.
  EXPECT_FALSE(
      RecordedOutOfFoldFigure(dir.string(), "all_rows", "csv", "b.csv", "mae"));
  write({{"mae", 0.07},
         {"training", {{"published_on", "first_fold"}, {"csv", "a.csv"}}}});
  EXPECT_FALSE(
      RecordedOutOfFoldFigure(dir.string(), "all_rows", "csv", "a.csv", "mae"));
  // The quality model's figure sits under defect_score.
  write({{"defect_score", {{"roc_auc", 0.9}}},
         {"training", {{"published_on", "all_tiles"}, {"data_dir", "d"}}}});
  EXPECT_EQ(RecordedOutOfFoldFigure(dir.string(), "all_tiles", "data_dir", "d",
                                    "roc_auc"),
            0.9);
  std::ofstream(dir / "metrics.json") << "{not json";
  EXPECT_FALSE(RecordedOutOfFoldFigure(dir.string(), "all_tiles", "data_dir",
                                       "d", "roc_auc"));
  EXPECT_FALSE(RecordedOutOfFoldFigure((dir / "missing").string(), "all_tiles",
                                       "data_dir", "d", "roc_auc"));
}

}  // namespace
}  // namespace lineserve::train
