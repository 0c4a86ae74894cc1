#include "models/train/evaluation.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

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

OperatingPoint EvaluateAt(const std::vector<double>& scores,
                          const std::vector<bool>& is_defect,
                          double threshold) {
  assert(scores.size() == is_defect.size());
  int defects = 0, oks = 0, flagged_defects = 0, flagged_oks = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const bool flagged = scores[i] >= threshold;
    if (is_defect[i]) {
      ++defects;
      flagged_defects += flagged;
    } else {
      ++oks;
      flagged_oks += flagged;
    }
  }
  OperatingPoint point;
  point.threshold = threshold;
  point.defect_recall = Ratio(flagged_defects, defects);
  point.false_alarm_rate = Ratio(flagged_oks, oks);
  point.precision = Ratio(flagged_defects, flagged_defects + flagged_oks);
  return point;
}

double ThresholdForRecall(const std::vector<double>& scores,
                          const std::vector<bool>& is_defect,
                          double target_recall) {
  std::vector<double> defect_scores;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (is_defect[i]) defect_scores.push_back(scores[i]);
  }
  if (defect_scores.empty()) return std::numeric_limits<double>::infinity();
  std::sort(defect_scores.begin(), defect_scores.end(), std::greater<>());
  // Flagging the top n defects needs threshold defect_scores[n - 1]; ties
  // only add recall, so the first n that reaches the target is the answer.
  const double n = static_cast<double>(defect_scores.size());
  const size_t needed = static_cast<size_t>(
      std::clamp(std::ceil(target_recall * n - 1e-9), 1.0, n));
  return defect_scores[needed - 1];
}

DefectScoreReport EvaluateDefectScores(const std::vector<double>& scores,
                                       const std::vector<bool>& is_defect,
                                       double target_recall) {
  assert(scores.size() == is_defect.size());
  DefectScoreReport report;
  report.target_recall = target_recall;
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  for (bool d : is_defect) (d ? report.defects : report.oks) += 1;

  // Walk the thresholds from high to low, one block of tied scores at a
  // time. AUC: each OK part counts the defects above it, plus half of the
  // tied ones. AP: precision at each block times the recall it adds.
  double above_defects = 0, above_oks = 0, auc_pairs = 0, ap = 0;
  std::vector<OperatingPoint> points;
  for (size_t start = 0; start < order.size();) {
    size_t end = start;
    double block_defects = 0, block_oks = 0;
    while (end < order.size() && scores[order[end]] == scores[order[start]]) {
      (is_defect[order[end]] ? block_defects : block_oks) += 1;
      ++end;
    }
    auc_pairs += block_oks * (above_defects + 0.5 * block_defects);
    above_defects += block_defects;
    above_oks += block_oks;
    if (block_defects > 0) {
      ap += Ratio(block_defects, report.defects) *
            Ratio(above_defects, above_defects + above_oks);
    }
    OperatingPoint point;
    point.threshold = scores[order[start]];
    point.defect_recall = Ratio(above_defects, report.defects);
    point.false_alarm_rate = Ratio(above_oks, report.oks);
    point.precision = Ratio(above_defects, above_defects + above_oks);
    points.push_back(point);
    start = end;
  }
  report.roc_auc =
      Ratio(auc_pairs, static_cast<double>(report.defects) * report.oks);
  report.average_precision = ap;
  const size_t stride = std::max<size_t>(1, (points.size() + 49) / 50);
  for (size_t i = 0; i < points.size(); i += stride) {
    report.curve.push_back(points[i]);
  }
  if (!points.empty() && (points.size() - 1) % stride != 0) {
    report.curve.push_back(points.back());
  }
  report.at_target = EvaluateAt(
      scores, is_defect, ThresholdForRecall(scores, is_defect, target_recall));
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

nlohmann::json ToJson(const OperatingPoint& point) {
  return {{"threshold", point.threshold},
          {"defect_recall", point.defect_recall},
          {"false_alarm_rate", point.false_alarm_rate},
          {"precision", point.precision}};
}

nlohmann::json ToJson(const DefectScoreReport& report) {
  nlohmann::json curve = nlohmann::json::array();
  for (const OperatingPoint& p : report.curve) curve.push_back(ToJson(p));
  return {{"defects", report.defects},
          {"oks", report.oks},
          {"roc_auc", report.roc_auc},
          {"average_precision", report.average_precision},
          {"target_defect_recall", report.target_recall},
          {"at_target", ToJson(report.at_target)},
          {"roc_curve", curve}};
}

nlohmann::json ToJson(const RegressionReport& report) {
  return {{"count", report.count},
          {"mae", report.mae},
          {"rmse", report.rmse},
          {"r2", report.r2}};
}

nlohmann::json MeanAndSpread(const std::vector<nlohmann::json>& folds) {
  nlohmann::json mean = nlohmann::json::object(),
                 spread = nlohmann::json::object();
  for (const auto& [key, unused] : folds.front().items()) {
    double sum = 0, squares = 0;
    for (const auto& f : folds) sum += f[key].get<double>();
    const double m = sum / folds.size();
    for (const auto& f : folds) {
      squares += std::pow(f[key].get<double>() - m, 2);
    }
    mean[key] = m;
    spread[key] = std::sqrt(squares / folds.size());
  }
  return {{"mean", mean}, {"std", spread}};
}

}  // namespace lineserve::train
