// Gradient boosting of decision trees of a fixed depth for tabular
// regression, in two shapes.
//
// An oblivious tree (CatBoost's symmetric tree) uses one (feature,
// threshold) test per level, shared by every node of that level. A
// depth-wise tree (the classic CART shape) gives every node its own test.
// Either way a tree of depth d has 2^d leaves, bit j of a row's leaf number
// is set when the row passes the test it meets at level j, and the test a
// row meets at level j is
//
//   oblivious: split[t * d + j]
//   depthwise: split[t * (2^d - 1) + (2^j - 1) + (leaf & (2^j - 1))]
//
// (the depth-wise tree stored level by level, each level's nodes numbered
// by the bits of the path to them), so
//
//   leaf(t, x) = sum_j ((x[split_features[s_j]] > split_thresholds[s_j]) << j)
//   prediction = bias + sum_t leaf_values[t * 2^d + leaf(t, x)]
//
// That arithmetic is all a model needs at serving time, which is why the
// exporter can turn a TreeEnsemble into a handful of TorchScript tensors;
// the array layout above is the contract it relies on. A node that splits
// nothing has threshold +inf: every row takes bit 0.
//
// Fitting is single-threaded, deterministic for a given seed and input (on
// every standard library), and never throws: bad inputs and options come
// back as INVALID_ARGUMENT naming the culprit. The caller keeps ownership of
// every input; the returned ensemble owns its arrays and is immutable data,
// safe to Predict from any number of threads.
#ifndef LINESERVE_MODELS_TRAIN_TREE_BOOSTING_H_
#define LINESERVE_MODELS_TRAIN_TREE_BOOSTING_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace lineserve::train {

enum class BoostingLoss {
  // Mean absolute error. Splits are chosen on the residuals' signs (the L1
  // gradient) and every leaf is set to the median residual of its rows, the
  // exact L1 step for that partition; neither is moved by a few outliers.
  kL1,
  // Mean squared error: Newton leaves, sum(residual) / (rows + l2_leaf).
  kL2,
};

// "l1" / "mae" or "l2" / "mse" (any case); INVALID_ARGUMENT otherwise.
absl::StatusOr<BoostingLoss> ParseBoostingLoss(absl::string_view name);
const char* BoostingLossName(BoostingLoss loss);

enum class TreeShape {
  // One test per level: few parameters, hard to overfit, the default.
  kOblivious,
  // One test per node, each chosen for the rows that reach it. Only splits
  // that leave min_rows_per_leaf rows on both sides and improve the node
  // are made.
  kDepthwise,
};

// "oblivious" or "depthwise" (any case); INVALID_ARGUMENT otherwise.
absl::StatusOr<TreeShape> ParseTreeShape(absl::string_view name);
const char* TreeShapeName(TreeShape shape);

struct BoostingOptions {
  // Upper bound on the number of trees; early stopping picks the count.
  int max_trees = 500;
  // Levels per tree, so 2^depth leaves. 1..10.
  int depth = 4;
  // Shrinkage applied to every leaf value. (0, 1].
  double learning_rate = 0.05;
  // Candidate thresholds per feature, 1..255: midpoints between consecutive
  // distinct training values when a feature has at most max_bins + 1 of
  // them, otherwise midpoints at max_bins evenly spaced quantiles.
  int max_bins = 64;
  // L2 regularisation of leaf values: a leaf of n rows is shrunk by
  // n / (n + l2_leaf), so sparse leaves move the prediction less. >= 0.
  double l2_leaf = 3.0;
  // Leaves with fewer sampled rows than this keep value 0, and splits are
  // scored accordingly. >= 1 (1 disables the rule).
  int min_rows_per_leaf = 5;
  // Share of the training rows drawn (without replacement) for each tree.
  // (0, 1].
  double row_subsample = 0.8;
  BoostingLoss loss = BoostingLoss::kL1;
  TreeShape shape = TreeShape::kOblivious;
  // Stop once the validation loss has not improved for this many trees and
  // keep the best prefix. 0 disables early stopping (all max_trees kept).
  int early_stopping_rounds = 50;
  uint64_t seed = 1;
};

struct TreeEnsemble {
  int num_features = 0;
  int depth = 0;
  TreeShape shape = TreeShape::kOblivious;
  // Prediction before any tree: the training median (L1) or mean (L2).
  float bias = 0.0f;
  // num_trees() * splits_per_tree() entries, tree t's at
  // [t * splits_per_tree(), ...) in the order the file comment gives. A
  // test sets its bit when x[feature] > threshold (so NaN sets no bit).
  std::vector<int32_t> split_features;
  std::vector<float> split_thresholds;
  // num_trees() * 2^depth entries, tree t's leaves at [t << depth, ...),
  // already multiplied by the learning rate. Leaves no training row reached
  // hold 0.
  std::vector<float> leaf_values;

  int num_trees() const;
  // depth (oblivious) or 2^depth - 1 (depthwise).
  int splits_per_tree() const;
  // Where in a tree's splits the test at `level` is for a row whose leaf
  // bits below `level` are `path`.
  int SplitAt(int level, uint32_t path) const;
  // `row` holds num_features floats. Sums in double, returns float.
  float Predict(const float* row) const;
};

struct BoostingReport {
  // Trees in the returned ensemble (may be 0 if no tree ever helped).
  int trees_kept = 0;
  // Validation loss (MAE for kL1, MSE for kL2) of the returned ensemble;
  // NaN without a validation set.
  double best_validation_loss = 0.0;
  // validation_curve[i]: validation loss after i + 1 trees, for every tree
  // fitted (including those dropped by early stopping).
  std::vector<double> validation_curve;
};

// The mean of several ensembles of the same width and depth as one
// ensemble: every member's trees, leaf values divided by the member count,
// and the mean bias, so Predict() is the mean of the members' predictions
// (up to float rounding). Empty input: an empty ensemble.
TreeEnsemble AverageEnsembles(const std::vector<TreeEnsemble>& members);

// Fits an ensemble to `rows` x `cols` row-major features `x` and targets
// `y` (y.size() == rows). The validation rows (`val_x`, `val_rows` x `cols`,
// `val_y`) only decide when to stop; with val_rows == 0 (val_x may then be
// null) all max_trees are kept. All values must be finite. `report` may be
// null.
absl::StatusOr<TreeEnsemble> FitBoostedTrees(const float* x, int rows, int cols,
                                             const std::vector<float>& y,
                                             const float* val_x, int val_rows,
                                             const std::vector<float>& val_y,
                                             const BoostingOptions& options,
                                             BoostingReport* report);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_TREE_BOOSTING_H_
