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

nlohmann::json ToJson(const ClassificationReport& report);
nlohmann::json ToJson(const RegressionReport& report);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_EVALUATION_H_
