// Evaluation figures the trainer reports in metrics.json.
//
// Pure functions over predictions and truths; no LibTorch, so they are unit
// tested on hand-computed cases.
#ifndef LINESERVE_MODELS_TRAIN_EVALUATION_H_
#define LINESERVE_MODELS_TRAIN_EVALUATION_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace lineserve::train {

struct ClassMetrics {
  std::string label;
  int support = 0;  // true instances in the evaluated split
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
};

struct ClassificationReport {
  int count = 0;
  double accuracy = 0.0;
  double macro_f1 = 0.0;
  // The two-class view a quality engineer cares about: ok vs any defect.
  double defect_vs_ok_accuracy = 0.0;
  double defect_recall = 0.0;     // defects flagged / defects present
  double defect_precision = 0.0;  // defects present / defects flagged
  std::vector<ClassMetrics> per_class;
  // confusion_matrix[truth][predicted], in label order.
  std::vector<std::vector<int>> confusion_matrix;
};

// `truth` and `predicted` hold label indices into `labels`; `ok_index` is the
// good class. Precision/recall/F1 of a class with no support or no prediction
// are 0, as scikit-learn reports them.
ClassificationReport EvaluateClassification(
    const std::vector<std::string>& labels, int ok_index,
    const std::vector<int>& truth, const std::vector<int>& predicted);

struct RegressionReport {
  int count = 0;
  double mae = 0.0;
  double rmse = 0.0;
  double r2 = 0.0;  // 1 - SS_res / SS_tot; 0 when the truth is constant
};

RegressionReport EvaluateRegression(const std::vector<double>& truth,
                                    const std::vector<double>& predicted);

// The two-class view of a defect score (higher = more likely a defect; the
// served score is 1 - P(ok)). A part is flagged when score >= threshold,
// the server's rule.
struct OperatingPoint {
  double threshold = 0.0;
  double defect_recall = 0.0;     // flagged defects / defects
  double false_alarm_rate = 0.0;  // flagged OK parts / OK parts
  double precision = 0.0;         // flagged defects / flagged parts
};

struct DefectScoreReport {
  int defects = 0;
  int oks = 0;
  // P(a random defect scores above a random OK part), ties counting 1/2.
  double roc_auc = 0.0;
  // Area under the precision-recall curve, as a step function over the
  // distinct thresholds (scikit-learn's average_precision_score).
  double average_precision = 0.0;
  double target_recall = 0.0;
  // The highest threshold that flags at least target_recall of the defects.
  OperatingPoint at_target;
  // The ROC curve at up to ~50 thresholds, for plots and reports.
  std::vector<OperatingPoint> curve;
};

// The figures at one threshold.
OperatingPoint EvaluateAt(const std::vector<double>& scores,
                          const std::vector<bool>& is_defect, double threshold);

// The highest threshold t (one of the defect scores) with
// recall(score >= t) >= target_recall; with no defects, +infinity.
double ThresholdForRecall(const std::vector<double>& scores,
                          const std::vector<bool>& is_defect,
                          double target_recall);

DefectScoreReport EvaluateDefectScores(const std::vector<double>& scores,
                                       const std::vector<bool>& is_defect,
                                       double target_recall);

// Mean and (population) standard deviation over the folds of every figure
// of the first fold's summary (a flat object of numbers; every fold has the
// first's keys): {"mean": {...}, "std": {...}}.
nlohmann::json MeanAndSpread(const std::vector<nlohmann::json>& folds);

nlohmann::json ToJson(const ClassificationReport& report);
nlohmann::json ToJson(const OperatingPoint& point);
nlohmann::json ToJson(const DefectScoreReport& report);
nlohmann::json ToJson(const RegressionReport& report);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_EVALUATION_H_
