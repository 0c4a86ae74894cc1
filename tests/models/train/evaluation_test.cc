#include "models/train/evaluation.h"

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

}  // namespace
}  // namespace lineserve::train
