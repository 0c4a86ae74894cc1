#include "models/train/evaluation.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::train {
namespace {

TEST(EvaluationTest, ClassificationFiguresByHand) {
  // labels: crack=0, ok=1, spot=2
  const std::vector<int> truth = {1, 1, 1, 1, 0, 0, 2, 2};
  const std::vector<int> pred = {1, 1, 1, 0, 0, 2, 2, 1};
  const ClassificationReport r =
      EvaluateClassification({"crack", "ok", "spot"}, 1, truth, pred);
  EXPECT_EQ(r.count, 8);
  EXPECT_DOUBLE_EQ(r.accuracy, 5.0 / 8);
  // Binary: ok rows 0-3 (one flagged), defects 4-7 (one missed, row 7).
  EXPECT_DOUBLE_EQ(r.defect_vs_ok_accuracy, 6.0 / 8);
  EXPECT_DOUBLE_EQ(r.defect_recall, 3.0 / 4);
  EXPECT_DOUBLE_EQ(r.defect_precision, 3.0 / 4);
  // crack: tp 1, predicted 2, support 2 -> p .5 r .5 f1 .5
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 0.5);
  // ok: tp 3, predicted 4, support 4 -> p .75 r .75
  EXPECT_DOUBLE_EQ(r.per_class[1].precision, 0.75);
  // spot: tp 1, predicted 2, support 2 -> .5
  EXPECT_DOUBLE_EQ(r.macro_f1, (0.5 + 0.75 + 0.5) / 3);
  EXPECT_EQ(r.confusion_matrix[1][0], 1);
  EXPECT_EQ(r.confusion_matrix[2][1], 1);
}

TEST(EvaluationTest, ClassWithoutPredictionsScoresZero) {
  const ClassificationReport r =
      EvaluateClassification({"a", "ok"}, 1, {0, 1}, {1, 1});
  EXPECT_DOUBLE_EQ(r.per_class[0].precision, 0.0);
  EXPECT_DOUBLE_EQ(r.per_class[0].f1, 0.0);
  EXPECT_DOUBLE_EQ(r.defect_recall, 0.0);
}

TEST(EvaluationTest, RegressionFigures) {
  const RegressionReport r = EvaluateRegression({1, 2, 3, 4}, {1, 2, 3, 6});
  EXPECT_DOUBLE_EQ(r.mae, 0.5);
  EXPECT_DOUBLE_EQ(r.rmse, 1.0);
  EXPECT_DOUBLE_EQ(r.r2, 1.0 - 4.0 / 5.0);
}

TEST(EvaluationTest, JsonHasTheReportedKeys) {
  const auto j =
      ToJson(EvaluateClassification({"crack", "ok"}, 1, {0, 1, 1}, {0, 1, 0}));
  for (const char* key :
       {"accuracy", "macro_f1", "defect_vs_ok_accuracy", "defect_recall",
        "defect_precision", "per_class", "confusion_matrix"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_DOUBLE_EQ(j["per_class"]["crack"]["precision"].get<double>(), 0.5);
}

TEST(DefectScoreTest, AucAndAveragePrecisionByHand) {
  // Defects 0.9, 0.6, 0.4; OK parts 0.7, 0.4, 0.1.
  const std::vector<double> scores = {0.9, 0.7, 0.6, 0.4, 0.4, 0.1};
  const std::vector<bool> defect = {true, false, true, true, false, false};
  const DefectScoreReport r = EvaluateDefectScores(scores, defect, 2.0 / 3);
  // Pairs (defect > ok): 0.9 beats all 3; 0.6 beats 0.4, 0.1; 0.4 ties 0.4
  // (half) and beats 0.1: 3 + 2 + 1.5 = 6.5 of 9.
  EXPECT_DOUBLE_EQ(r.roc_auc, 6.5 / 9);
  // Recall steps: 1/3 at precision 1, 1/3 at 2/3, 1/3 at 3/5.
  EXPECT_DOUBLE_EQ(r.average_precision, (1.0 + 2.0 / 3 + 3.0 / 5) / 3);
  EXPECT_EQ(r.defects, 3);
  EXPECT_EQ(r.oks, 3);
  EXPECT_DOUBLE_EQ(r.at_target.threshold, 0.6);
  EXPECT_DOUBLE_EQ(r.at_target.defect_recall, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.at_target.false_alarm_rate, 1.0 / 3);
  EXPECT_DOUBLE_EQ(r.curve.back().defect_recall, 1.0);
  EXPECT_DOUBLE_EQ(r.curve.back().false_alarm_rate, 1.0);
}

TEST(DefectScoreTest, ThresholdIsTheHighestThatReachesTheTargetRecall) {
  std::vector<double> scores;
  std::vector<bool> defect;
  for (int i = 1; i <= 20; ++i) {  // defects score 0.05 .. 1.00
    scores.push_back(i / 20.0);
    defect.push_back(true);
  }
  scores.push_back(0.5);
  defect.push_back(false);
  // 19 of 20 defects need the second lowest defect score.
  EXPECT_DOUBLE_EQ(ThresholdForRecall(scores, defect, 0.95), 0.10);
  EXPECT_DOUBLE_EQ(ThresholdForRecall(scores, defect, 0.96), 0.05);
  EXPECT_DOUBLE_EQ(ThresholdForRecall(scores, defect, 0.05), 1.0);
  const OperatingPoint p = EvaluateAt(scores, defect, 0.10);
  EXPECT_DOUBLE_EQ(p.defect_recall, 0.95);
  EXPECT_DOUBLE_EQ(p.false_alarm_rate, 1.0);
  // Tied defect scores only add recall: the threshold stays put.
  EXPECT_DOUBLE_EQ(
      ThresholdForRecall({0.8, 0.8, 0.8, 0.2}, {true, true, true, true}, 0.5),
      0.8);
  EXPECT_TRUE(std::isinf(ThresholdForRecall({0.3}, {false}, 0.95)));
}

TEST(DefectScoreTest, PerfectSeparationAndJson) {
  const DefectScoreReport r =
      EvaluateDefectScores({0.2, 0.8, 0.9}, {false, true, true}, 0.95);
  EXPECT_DOUBLE_EQ(r.roc_auc, 1.0);
  EXPECT_DOUBLE_EQ(r.average_precision, 1.0);
  EXPECT_DOUBLE_EQ(r.at_target.false_alarm_rate, 0.0);
  const nlohmann::json j = ToJson(r);
  for (const char* key : {"roc_auc", "average_precision", "at_target",
                          "roc_curve", "target_defect_recall"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(EvaluationTest, MeanAndSpreadOverFolds) {
  const nlohmann::json figures = MeanAndSpread(
      {{{"mae", 0.1}, {"trees", 10}}, {{"mae", 0.3}, {"trees", 30}}});
  EXPECT_DOUBLE_EQ(figures["mean"]["mae"].get<double>(), 0.2);
  EXPECT_DOUBLE_EQ(figures["std"]["mae"].get<double>(), 0.1);
  EXPECT_DOUBLE_EQ(figures["mean"]["trees"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(figures["std"]["trees"].get<double>(), 10.0);
}

}  // namespace
}  // namespace lineserve::train
