#include "models/train/evaluation.h"

#include <cassert>
#include <cmath>

namespace lineserve::train {
namespace {

double Ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

double F1(double precision, double recall) {
  return Ratio(2 * precision * recall, precision + recall);
}

}  // namespace

ClassificationReport EvaluateClassification(
    const std::vector<std::string>& labels, int ok_index,
    const std::vector<int>& truth, const std::vector<int>& predicted) {
  assert(truth.size() == predicted.size());
  const int k = static_cast<int>(labels.size());
  ClassificationReport report;
  report.count = static_cast<int>(truth.size());
  report.confusion_matrix.assign(k, std::vector<int>(k, 0));
  int correct = 0;
  int binary_correct = 0;
  int defects = 0, flagged = 0, flagged_defects = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const int t = truth[i];
    const int p = predicted[i];
    ++report.confusion_matrix[t][p];
    correct += t == p;
    const bool is_defect = t != ok_index;
    const bool called_defect = p != ok_index;
    binary_correct += is_defect == called_defect;
    defects += is_defect;
    flagged += called_defect;
    flagged_defects += is_defect && called_defect;
  }
  report.accuracy = Ratio(correct, report.count);
  report.defect_vs_ok_accuracy = Ratio(binary_correct, report.count);
  report.defect_recall = Ratio(flagged_defects, defects);
  report.defect_precision = Ratio(flagged_defects, flagged);

  double f1_sum = 0;
  for (int c = 0; c < k; ++c) {
    int support = 0, predicted_c = 0;
    for (int j = 0; j < k; ++j) {
      support += report.confusion_matrix[c][j];
      predicted_c += report.confusion_matrix[j][c];
    }
    ClassMetrics m;
    m.label = labels[c];
    m.support = support;
    m.precision = Ratio(report.confusion_matrix[c][c], predicted_c);
    m.recall = Ratio(report.confusion_matrix[c][c], support);
    m.f1 = F1(m.precision, m.recall);
    f1_sum += m.f1;
    report.per_class.push_back(m);
  }
  report.macro_f1 = k > 0 ? f1_sum / k : 0.0;
  return report;
}

RegressionReport EvaluateRegression(const std::vector<double>& truth,
                                    const std::vector<double>& predicted) {
  assert(truth.size() == predicted.size());
  RegressionReport report;
  report.count = static_cast<int>(truth.size());
  if (truth.empty()) return report;
  double mean = 0;
  for (double t : truth) mean += t;
  mean /= truth.size();
  double abs_sum = 0, sq_sum = 0, tot = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    const double e = predicted[i] - truth[i];
    abs_sum += std::fabs(e);
    sq_sum += e * e;
    tot += (truth[i] - mean) * (truth[i] - mean);
  }
  report.mae = abs_sum / truth.size();
  report.rmse = std::sqrt(sq_sum / truth.size());
  report.r2 = tot > 0 ? 1.0 - sq_sum / tot : 0.0;
  return report;
}

nlohmann::json ToJson(const ClassificationReport& report) {
  nlohmann::json per_class = nlohmann::json::object();
  for (const ClassMetrics& m : report.per_class) {
    per_class[m.label] = {{"precision", m.precision},
                          {"recall", m.recall},
                          {"f1", m.f1},
                          {"support", m.support}};
  }
  return {{"count", report.count},
          {"accuracy", report.accuracy},
          {"macro_f1", report.macro_f1},
          {"defect_vs_ok_accuracy", report.defect_vs_ok_accuracy},
          {"defect_recall", report.defect_recall},
          {"defect_precision", report.defect_precision},
          {"per_class", per_class},
          {"confusion_matrix", report.confusion_matrix}};
}

nlohmann::json ToJson(const RegressionReport& report) {
  return {{"count", report.count},
          {"mae", report.mae},
          {"rmse", report.rmse},
          {"r2", report.r2}};
}

}  // namespace lineserve::train
