#include "models/train/quality_gate.h"

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

}  // namespace
}  // namespace lineserve::train
