#include "models/train/tree_boosting.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::train {
namespace {

using ::testing::HasSubstr;

// Uniform in [0, 1) straight from the engine's bits, so the data are the
// same on every standard library.
double Uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

struct Data {
  int rows = 0;
  int cols = 0;
  std::vector<float> x;  // row-major
  std::vector<float> y;
  const float* row(int i) const { return &x[static_cast<size_t>(i) * cols]; }
};

// `cols` uniform features; y = f(row).
template <typename F>
Data Make(int rows, int cols, uint64_t seed, F f) {
  std::mt19937_64 rng(seed);
  Data d;
  d.rows = rows;
  d.cols = cols;
  for (int i = 0; i < rows * cols; ++i) {
    d.x.push_back(static_cast<float>(Uniform(rng)));
  }
  for (int i = 0; i < rows; ++i) d.y.push_back(f(d.row(i), rng));
  return d;
}

double Mae(const TreeEnsemble& e, const Data& d) {
  double sum = 0;
  for (int i = 0; i < d.rows; ++i)
    sum += std::fabs(e.Predict(d.row(i)) - d.y[i]);
  return sum / d.rows;
}

absl::StatusOr<TreeEnsemble> Fit(const Data& train, const Data* val,
                                 const BoostingOptions& o,
                                 BoostingReport* report = nullptr) {
  static const std::vector<float> kNone;
  return FitBoostedTrees(train.x.data(), train.rows, train.cols, train.y,
                         val ? val->x.data() : nullptr, val ? val->rows : 0,
                         val ? val->y : kNone, o, report);
}

float Step(const float* r, std::mt19937_64&) {
  return r[0] < 0.3f ? 0.2f : (r[0] < 0.7f ? 1.0f : 0.5f);
}

TEST(TreeBoostingTest, FitsAStepFunctionNearlyExactly) {
  // 200 distinct values and 255 bins: every gap between training values is
  // a candidate, so both steps can be cut exactly.
  const Data train = Make(200, 1, 1, Step);
  const Data test = Make(300, 1, 2, Step);
  BoostingOptions o;
  o.loss = BoostingLoss::kL2;
  o.depth = 2;
  o.learning_rate = 0.3;
  o.max_trees = 60;
  o.max_bins = 255;
  o.l2_leaf = 0;
  o.min_rows_per_leaf = 1;
  o.row_subsample = 1.0;
  const auto e = Fit(train, nullptr, o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->num_trees(), 60);
  EXPECT_LT(Mae(*e, train), 1e-3);
  // The cuts sit between training values, so a test point can fall on the
  // wrong side only within a training gap.
  EXPECT_LT(Mae(*e, test), 0.02);
}

TEST(TreeBoostingTest, SplitsOnTheInformativeFeatureNotNoise) {
  // Column 0 is noise, column 1 decides y.
  const auto f = [](const float* r, std::mt19937_64&) {
    return r[1] > 0.5f ? 1.0f : 0.0f;
  };
  const Data train = Make(400, 2, 3, f);
  const Data test = Make(200, 2, 4, f);
  BoostingOptions o;
  o.depth = 1;
  o.max_trees = 40;
  o.learning_rate = 0.3;
  o.early_stopping_rounds = 0;
  const auto e = Fit(train, nullptr, o);
  ASSERT_TRUE(e.ok()) << e.status();
  // Until the step is learnt every tree must cut column 1 near 0.5.
  for (int t = 0; t < 10; ++t) {
    EXPECT_EQ(e->split_features[t], 1) << "tree " << t;
    EXPECT_NEAR(e->split_thresholds[t], 0.5, 0.02) << "tree " << t;
  }
  EXPECT_LT(Mae(*e, test), 0.05);
}

TEST(TreeBoostingTest, L1ShrugsOffOutliersThatPullL2) {
  // y = x0 plus, on every 10th row, a huge positive error.
  std::mt19937_64 rng(5);
  Data train;
  train.rows = 400;
  train.cols = 1;
  for (int i = 0; i < train.rows; ++i) {
    const float v = static_cast<float>(Uniform(rng));
    train.x.push_back(v);
    train.y.push_back(i % 10 == 0 ? v + 50.0f : v);
  }
  const Data clean =
      Make(200, 1, 6, [](const float* r, std::mt19937_64&) { return r[0]; });
  BoostingOptions o;
  o.depth = 3;
  o.max_trees = 150;
  o.learning_rate = 0.1;
  o.early_stopping_rounds = 0;
  o.loss = BoostingLoss::kL1;
  const auto l1 = Fit(train, nullptr, o);
  o.loss = BoostingLoss::kL2;
  const auto l2 = Fit(train, nullptr, o);
  ASSERT_TRUE(l1.ok()) << l1.status();
  ASSERT_TRUE(l2.ok()) << l2.status();
  const double l1_mae = Mae(*l1, clean);
  const double l2_mae = Mae(*l2, clean);
  EXPECT_LT(l1_mae, 0.05);
  EXPECT_GT(l2_mae, 2.0);  // the mean is dragged up by ~5
  EXPECT_LT(l1_mae * 20, l2_mae);
}

TEST(TreeBoostingTest, EarlyStoppingKeepsTheBestPrefix) {
  // The target is pure noise, so validation stops improving at once.
  const auto noise = [](const float*, std::mt19937_64& rng) {
    return static_cast<float>(Uniform(rng));
  };
  const Data train = Make(200, 3, 7, noise);
  const Data val = Make(100, 3, 8, noise);
  BoostingOptions o;
  o.max_trees = 300;
  o.early_stopping_rounds = 20;
  o.learning_rate = 0.2;
  BoostingReport report;
  const auto e = Fit(train, &val, o, &report);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_LT(report.trees_kept, o.max_trees);
  EXPECT_EQ(e->num_trees(), report.trees_kept);
  // Fitting stopped exactly `early_stopping_rounds` trees after the best.
  EXPECT_EQ(report.validation_curve.size(),
            static_cast<size_t>(report.trees_kept + o.early_stopping_rounds));
  if (report.trees_kept > 0) {
    EXPECT_DOUBLE_EQ(report.best_validation_loss,
                     report.validation_curve[report.trees_kept - 1]);
  }
  for (double loss : report.validation_curve) {
    EXPECT_GE(loss, report.best_validation_loss);
  }
  // The kept ensemble scores the reported loss on the validation rows.
  EXPECT_NEAR(Mae(*e, val), report.best_validation_loss, 1e-6);
  EXPECT_EQ(e->split_features.size(),
            static_cast<size_t>(report.trees_kept) * o.depth);
}

TEST(TreeBoostingTest, WithoutValidationKeepsEveryTree) {
  const Data train = Make(100, 2, 9, Step);
  BoostingOptions o;
  o.max_trees = 30;
  BoostingReport report;
  const auto e = Fit(train, nullptr, o, &report);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->num_trees(), 30);
  EXPECT_EQ(report.trees_kept, 30);
  EXPECT_TRUE(report.validation_curve.empty());
  EXPECT_TRUE(std::isnan(report.best_validation_loss));
}

// The exporter's contract, on arrays written by hand: level j of tree t is
// entry t*depth+j and sets bit j when x > threshold; leaves of tree t start
// at t << depth.
TEST(TreeBoostingTest, PredictFollowsTheDocumentedLayout) {
  TreeEnsemble e;
  e.num_features = 3;
  e.depth = 2;
  e.bias = 10;
  e.split_features = {2, 0, /*tree 1*/ 1, 1};
  e.split_thresholds = {0.5f, 1.0f, /*tree 1*/ 0.0f, 2.0f};
  e.leaf_values = {1, 2, 4, 8, /*tree 1*/ 100, 200, 300, 400};
  ASSERT_EQ(e.num_trees(), 2);
  // Tree 0: bit0 = x2 > .5, bit1 = x0 > 1. Tree 1: bit0 = x1 > 0, bit1 = x1
  // > 2.
  const float a[] = {0, 0, 0};     // leaves 0, 0
  const float b[] = {0, 1, 0.6f};  // leaves 1, 1
  const float c[] = {2, 3, 0};     // leaves 2, 3
  const float d[] = {1, 2, 0.5f};  // x == threshold stays on bit 0: 0, 1
  EXPECT_FLOAT_EQ(e.Predict(a), 10 + 1 + 100);
  EXPECT_FLOAT_EQ(e.Predict(b), 10 + 2 + 200);
  EXPECT_FLOAT_EQ(e.Predict(c), 10 + 4 + 400);
  EXPECT_FLOAT_EQ(e.Predict(d), 10 + 1 + 200);
}

TEST(TreeBoostingTest, DepthwisePredictFollowsTheDocumentedLayout) {
  TreeEnsemble e;
  e.num_features = 2;
  e.depth = 2;
  e.shape = TreeShape::kDepthwise;
  e.bias = 0;
  ASSERT_EQ(e.splits_per_tree(), 3);
  // Root x0 > .5; at level 1 the node for path 0 tests x1 > .5 and the node
  // for path 1 (bit 0 set) tests x1 > .8.
  e.split_features = {0, 1, 1};
  e.split_thresholds = {0.5f, 0.5f, 0.8f};
  e.leaf_values = {1, 2, 3, 4};
  ASSERT_EQ(e.num_trees(), 1);
  EXPECT_EQ(e.SplitAt(0, 0), 0);
  EXPECT_EQ(e.SplitAt(1, 0), 1);
  EXPECT_EQ(e.SplitAt(1, 1), 2);
  const float a[] = {0, 0.6f};  // path 0, x1 > .5: leaf 2
  const float b[] = {1, 0.6f};  // path 1, x1 <= .8: leaf 1
  const float c[] = {1, 0.9f};  // path 1, x1 > .8: leaf 3
  const float d[] = {0, 0};     // leaf 0
  EXPECT_FLOAT_EQ(e.Predict(a), 3);
  EXPECT_FLOAT_EQ(e.Predict(b), 2);
  EXPECT_FLOAT_EQ(e.Predict(c), 4);
  EXPECT_FLOAT_EQ(e.Predict(d), 1);
}

// y depends on x0, and then on x1 left of x0 = .5 and on x2 right of it:
// one depth-wise tree of two levels can say so, an oblivious one cannot (its
// second level tests one feature on both sides). L2, so that a tree splits
// on the residuals themselves, not on their signs.
TEST(TreeBoostingTest, DepthwiseTreesLearnWhatEachBranchNeeds) {
  const auto f = [](const float* r, std::mt19937_64&) {
    return r[0] > 0.5f ? (r[2] > 0.5f ? 3.0f : 2.0f)
                       : (r[1] > 0.5f ? 1.0f : 0.0f);
  };
  const Data train = Make(600, 3, 31, f);
  const Data test = Make(300, 3, 32, f);
  BoostingOptions o;
  o.depth = 2;
  o.max_trees = 1;
  o.learning_rate = 1.0;
  o.l2_leaf = 0;
  o.row_subsample = 1.0;
  o.loss = BoostingLoss::kL2;
  o.shape = TreeShape::kDepthwise;
  const auto depthwise = Fit(train, nullptr, o);
  ASSERT_TRUE(depthwise.ok()) << depthwise.status();
  ASSERT_EQ(depthwise->split_features.size(), 3u);
  EXPECT_EQ(depthwise->split_features[0], 0);
  EXPECT_EQ(depthwise->split_features[1], 1);  // path 0: x0 <= .5
  EXPECT_EQ(depthwise->split_features[2], 2);  // path 1: x0 > .5
  EXPECT_LT(Mae(*depthwise, test), 0.05);
  o.shape = TreeShape::kOblivious;
  const auto oblivious = Fit(train, nullptr, o);
  ASSERT_TRUE(oblivious.ok()) << oblivious.status();
  EXPECT_GT(Mae(*oblivious, test), 0.15);
}

TEST(TreeBoostingTest, DepthwiseLeavesKeepTheMinimumRows) {
  const Data train = Make(200, 2, 41, [](const float* r, std::mt19937_64&) {
    return r[0] > 0.97f ? 5.0f : r[1];  // a tiny corner worth isolating
  });
  BoostingOptions o;
  o.depth = 4;
  o.max_trees = 20;
  o.min_rows_per_leaf = 15;
  o.row_subsample = 1.0;
  o.shape = TreeShape::kDepthwise;
  const auto e = Fit(train, nullptr, o);
  ASSERT_TRUE(e.ok()) << e.status();
  // Count the training rows in every leaf of every tree.
  const int per_tree = e->splits_per_tree();
  for (int t = 0; t < e->num_trees(); ++t) {
    std::vector<int> rows_in(16, 0);
    for (int i = 0; i < train.rows; ++i) {
      uint32_t leaf = 0;
      for (int j = 0; j < 4; ++j) {
        const int s = t * per_tree + e->SplitAt(j, leaf);
        leaf |= static_cast<uint32_t>(train.row(i)[e->split_features[s]] >
                                      e->split_thresholds[s])
                << j;
      }
      ++rows_in[leaf];
    }
    for (int l = 0; l < 16; ++l) {
      EXPECT_TRUE(rows_in[l] == 0 || rows_in[l] >= 15)
          << "tree " << t << " leaf " << l << ": " << rows_in[l] << " rows";
    }
  }
}

TEST(TreeBoostingTest, ParsesTreeShapes) {
  EXPECT_EQ(*ParseTreeShape("Depthwise"), TreeShape::kDepthwise);
  EXPECT_EQ(*ParseTreeShape("oblivious"), TreeShape::kOblivious);
  const auto bad = ParseTreeShape("lossguide");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("lossguide"));
  EXPECT_STREQ(TreeShapeName(TreeShape::kDepthwise), "depthwise");
}

TEST(TreeBoostingTest, AveragedEnsemblePredictsTheMembersMean) {
  const Data train = Make(300, 3, 21, [](const float* r, std::mt19937_64&) {
    return r[0] + 0.5f * r[1];
  });
  BoostingOptions o;
  o.max_trees = 30;
  std::vector<TreeEnsemble> members;
  for (uint64_t seed : {1, 2, 3}) {
    o.seed = seed;
    auto fitted = Fit(train, nullptr, o);
    ASSERT_TRUE(fitted.ok()) << fitted.status();
    members.push_back(*std::move(fitted));
  }
  const TreeEnsemble mean = AverageEnsembles(members);
  EXPECT_EQ(mean.num_trees(), 90);
  EXPECT_EQ(mean.depth, members[0].depth);
  for (int i = 0; i < train.rows; i += 17) {
    double expected = 0;
    for (const auto& m : members) expected += m.Predict(train.row(i)) / 3.0;
    EXPECT_NEAR(mean.Predict(train.row(i)), expected, 1e-5) << i;
  }
  EXPECT_EQ(AverageEnsembles({}).num_trees(), 0);
}

TEST(TreeBoostingTest, PredictMatchesAByHandWalkOfFittedArrays) {
  const auto f = [](const float* r, std::mt19937_64& rng) {
    return static_cast<float>(r[0] * r[1] + (r[2] > 0.4f) + 0.1 * Uniform(rng));
  };
  const Data train = Make(300, 4, 10, f);
  const Data val = Make(100, 4, 11, f);
  BoostingOptions o;
  o.depth = 3;
  o.max_trees = 50;
  const auto e = Fit(train, &val, o);
  ASSERT_TRUE(e.ok()) << e.status();
  const int trees = e->num_trees();
  ASSERT_GT(trees, 0);
  ASSERT_EQ(e->split_features.size(), static_cast<size_t>(trees) * 3);
  ASSERT_EQ(e->split_thresholds.size(), static_cast<size_t>(trees) * 3);
  ASSERT_EQ(e->leaf_values.size(), static_cast<size_t>(trees) * 8);
  EXPECT_EQ(e->num_features, 4);
  EXPECT_EQ(e->depth, 3);
  for (int i = 0; i < val.rows; ++i) {
    const float* x = val.row(i);
    double sum = e->bias;
    for (int t = 0; t < trees; ++t) {
      int leaf = 0;
      for (int j = 0; j < 3; ++j) {
        const int feature = e->split_features[t * 3 + j];
        ASSERT_GE(feature, 0);
        ASSERT_LT(feature, 4);
        if (x[feature] > e->split_thresholds[t * 3 + j]) leaf += 1 << j;
      }
      sum += e->leaf_values[t * 8 + leaf];
    }
    EXPECT_NEAR(e->Predict(x), sum, 1e-5) << "row " << i;
  }
}

TEST(TreeBoostingTest, SameSeedSameEnsemble) {
  const auto f = [](const float* r, std::mt19937_64& rng) {
    return static_cast<float>(r[0] + r[1] * r[1] + 0.2 * Uniform(rng));
  };
  const Data train = Make(200, 3, 12, f);
  const Data val = Make(60, 3, 13, f);
  BoostingOptions o;
  o.max_trees = 40;
  o.seed = 42;
  const auto a = Fit(train, &val, o);
  const auto b = Fit(train, &val, o);
  o.seed = 43;
  const auto c = Fit(train, &val, o);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->bias, b->bias);
  EXPECT_EQ(a->split_features, b->split_features);
  EXPECT_EQ(a->split_thresholds, b->split_thresholds);
  EXPECT_EQ(a->leaf_values, b->leaf_values);
  // Another seed draws other rows for each tree.
  EXPECT_NE(a->leaf_values, c->leaf_values);
}

TEST(TreeBoostingTest, ConstantFeaturesGiveAConstantModel) {
  Data train;
  train.rows = 20;
  train.cols = 2;
  train.x.assign(40, 1.0f);
  for (int i = 0; i < 20; ++i) train.y.push_back(static_cast<float>(i));
  BoostingOptions o;
  o.max_trees = 5;
  o.depth = 2;
  const auto e = Fit(train, nullptr, o);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->num_trees(), 5);
  // No split sends any row to bit 1, whatever its value.
  const float big[] = {std::numeric_limits<float>::infinity(), 1e30f};
  const float one[] = {1.0f, 1.0f};
  EXPECT_EQ(e->Predict(big), e->Predict(one));
  EXPECT_NEAR(e->Predict(one), 9.5, 1.0);
}

TEST(TreeBoostingTest, RejectsBadOptionsNamingThem) {
  const Data train = Make(20, 2, 14, Step);
  struct Case {
    const char* name;
    void (*mutate)(BoostingOptions&);
  };
  const Case cases[] = {
      {"max_trees", [](BoostingOptions& o) { o.max_trees = 0; }},
      {"depth", [](BoostingOptions& o) { o.depth = 0; }},
      {"depth", [](BoostingOptions& o) { o.depth = 11; }},
      {"learning_rate", [](BoostingOptions& o) { o.learning_rate = 0; }},
      {"learning_rate", [](BoostingOptions& o) { o.learning_rate = 1.5; }},
      {"learning_rate",
       [](BoostingOptions& o) { o.learning_rate = std::nan(""); }},
      {"max_bins", [](BoostingOptions& o) { o.max_bins = 0; }},
      {"max_bins", [](BoostingOptions& o) { o.max_bins = 256; }},
      {"l2_leaf", [](BoostingOptions& o) { o.l2_leaf = -1; }},
      {"min_rows_per_leaf",
       [](BoostingOptions& o) { o.min_rows_per_leaf = 0; }},
      {"row_subsample", [](BoostingOptions& o) { o.row_subsample = 0; }},
      {"row_subsample", [](BoostingOptions& o) { o.row_subsample = 1.01; }},
      {"loss",
       [](BoostingOptions& o) { o.loss = static_cast<BoostingLoss>(7); }},
      {"early_stopping_rounds",
       [](BoostingOptions& o) { o.early_stopping_rounds = -1; }},
  };
  for (const Case& c : cases) {
    BoostingOptions o;
    c.mutate(o);
    const auto e = Fit(train, nullptr, o);
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(e.status().message(), HasSubstr(c.name));
  }
}

TEST(TreeBoostingTest, RejectsBadInputs) {
  const Data train = Make(20, 2, 15, Step);
  const BoostingOptions o;
  const std::vector<float> none;
  const auto code = [](const absl::StatusOr<TreeEnsemble>& e) {
    return e.status().code();
  };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(FitBoostedTrees(train.x.data(), 0, 2, {}, nullptr, 0, none, o,
                                 nullptr)),
            kInvalid);
  EXPECT_EQ(code(FitBoostedTrees(train.x.data(), 20, 0, train.y, nullptr, 0,
                                 none, o, nullptr)),
            kInvalid);
  EXPECT_EQ(code(FitBoostedTrees(nullptr, 20, 2, train.y, nullptr, 0, none, o,
                                 nullptr)),
            kInvalid);
  const std::vector<float> short_y(19, 0.0f);
  EXPECT_EQ(code(FitBoostedTrees(train.x.data(), 20, 2, short_y, nullptr, 0,
                                 none, o, nullptr)),
            kInvalid);
  // Validation rows declared but missing, or with the wrong target count.
  EXPECT_EQ(code(FitBoostedTrees(train.x.data(), 20, 2, train.y, nullptr, 20,
                                 train.y, o, nullptr)),
            kInvalid);
  EXPECT_EQ(code(FitBoostedTrees(train.x.data(), 20, 2, train.y, train.x.data(),
                                 20, short_y, o, nullptr)),
            kInvalid);

  Data bad = train;
  bad.x[7] = std::numeric_limits<float>::quiet_NaN();
  auto e = Fit(bad, nullptr, o);
  EXPECT_EQ(code(e), kInvalid);
  EXPECT_THAT(e.status().message(), HasSubstr("x[7]"));
  bad = train;
  bad.y[3] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(code(Fit(bad, nullptr, o)), kInvalid);
  bad = train;
  bad.y[0] = std::numeric_limits<float>::infinity();
  e = Fit(train, &bad, o);
  EXPECT_EQ(code(e), kInvalid);
  EXPECT_THAT(e.status().message(), HasSubstr("val_y"));
}

TEST(TreeBoostingTest, ParsesLossNames) {
  EXPECT_EQ(*ParseBoostingLoss("l1"), BoostingLoss::kL1);
  EXPECT_EQ(*ParseBoostingLoss("MAE"), BoostingLoss::kL1);
  EXPECT_EQ(*ParseBoostingLoss("l2"), BoostingLoss::kL2);
  EXPECT_EQ(ParseBoostingLoss("huber").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_STREQ(BoostingLossName(BoostingLoss::kL2), "l2");
}

}  // namespace
}  // namespace lineserve::train
