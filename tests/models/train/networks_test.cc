#include "models/train/networks.h"

#include <algorithm>
#include <random>
#include <sstream>
#include <utility>

#include "gtest/gtest.h"

namespace lineserve::train {
namespace {

class TreeModelTest : public ::testing::TestWithParam<TreeShape> {};

TEST_P(TreeModelTest, AnswersAsTheFittedEnsemble) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const int rows = 300, cols = 3;
  std::vector<float> x(rows * cols), y(rows);
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) x[r * cols + c] = u(rng);
    y[r] = (x[r * cols] > 0.2f ? 1.0f : 0.0f) + 0.5f * x[r * cols + 2];
  }
  BoostingOptions options;
  options.max_trees = 40;
  options.depth = 3;
  options.shape = GetParam();
  auto ensemble = FitBoostedTrees(x.data(), rows, cols, y, nullptr, 0, {},
                                  options, nullptr);
  ASSERT_TRUE(ensemble.ok()) << ensemble.status();
  ASSERT_EQ(ensemble->num_trees(), 40);

  torch::jit::Module module = BuildTreeEnsembleModel(*ensemble);
  torch::NoGradGuard no_grad;
  torch::Tensor input = torch::from_blob(x.data(), {rows, cols});
  torch::Tensor out = module.forward({input}).toTensor();
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{rows, 1}));
  for (int r = 0; r < rows; ++r) {
    EXPECT_NEAR(out[r][0].item<float>(), ensemble->Predict(&x[r * cols]), 1e-5)
        << "row " << r;
  }
}

TEST_P(TreeModelTest, EmptyEnsembleAnswersItsBias) {
  TreeEnsemble empty;
  empty.num_features = 2;
  empty.depth = 2;
  empty.shape = GetParam();
  empty.bias = 0.75f;
  torch::jit::Module module = BuildTreeEnsembleModel(empty);
  torch::Tensor out = module.forward({torch::zeros({3, 2})}).toTensor();
  EXPECT_TRUE(torch::allclose(out, torch::full({3, 1}, 0.75f)));
}

// A depth-wise tree written by hand: each row's second test depends on its
// first answer, which the exported model must follow as Predict does.
TEST(NetworksTest, DepthwiseModelFollowsEachRowsPath) {
  TreeEnsemble e;
  e.num_features = 3;
  e.depth = 2;
  e.shape = TreeShape::kDepthwise;
  e.bias = 1;
  // Root: x0 > 0; left child (bit 0 clear): x1 > 5; right child: x2 > -5.
  e.split_features = {0, 1, 2};
  e.split_thresholds = {0.0f, 5.0f, -5.0f};
  e.leaf_values = {10, 20, 30, 40};
  std::vector<float> x = {-1, 0, 0,  /* leaf 0 */
                          1,  0, -9, /* leaf 1 */
                          -1, 9, 0,  /* leaf 2 */
                          1,  0, 0}; /* leaf 3 */
  torch::jit::Module module = BuildTreeEnsembleModel(e);
  torch::NoGradGuard no_grad;
  torch::Tensor out =
      module.forward({torch::from_blob(x.data(), {4, 3})}).toTensor();
  const float expected[] = {11, 21, 31, 41};
  for (int r = 0; r < 4; ++r) {
    EXPECT_FLOAT_EQ(e.Predict(&x[r * 3]), expected[r]) << "row " << r;
    EXPECT_FLOAT_EQ(out[r][0].item<float>(), expected[r]) << "row " << r;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, TreeModelTest,
                         ::testing::Values(TreeShape::kOblivious,
                                           TreeShape::kDepthwise),
                         [](const auto& info) {
                           return std::string(TreeShapeName(info.param));
                         });

TEST(NetworksTest, MlpTrainsMembersApartAndAnswersTheirMean) {
  TabularMlpOptions options;
  options.inputs = 4;
  options.ensemble = 3;
  options.hidden = {8};
  options.dropout = 0.0;
  options.log_transform = {true, false, false, false};
  torch::manual_seed(1);
  torch::jit::Module module = BuildTabularMlp(options);
  torch::Tensor x = torch::rand({5, 4}) * 200;
  torch::NoGradGuard no_grad;
  module.train();
  torch::Tensor members = module.forward({x}).toTensor();
  ASSERT_EQ(members.sizes(), (std::vector<int64_t>{5, 3}));
  module.eval();
  torch::Tensor mean = module.forward({x}).toTensor();
  ASSERT_EQ(mean.sizes(), (std::vector<int64_t>{5, 1}));
  EXPECT_TRUE(torch::allclose(mean, members.mean(1, true), 1e-5, 1e-6));
}

TEST(NetworksTest, CnnShapesAndBatchNormFollowTrainingFlag) {
  InspectionCnnOptions options;
  options.num_classes = 4;
  options.block_channels = {4, 8};
  options.labels = {"a", "b", "c", "d"};
  torch::manual_seed(1);
  torch::jit::Module module = BuildInspectionCnn(options);
  torch::Tensor x = torch::randn({2, 1, 16, 24});
  torch::NoGradGuard no_grad;
  module.eval();
  torch::Tensor before = module.forward({x}).toTensor();
  ASSERT_EQ(before.sizes(), (std::vector<int64_t>{2, 4}));
  // In eval mode running statistics are read, never updated.
  EXPECT_TRUE(torch::equal(before, module.forward({x}).toTensor()));
  module.train();
  module.forward({x * 5 + 3});
  module.eval();
  EXPECT_FALSE(torch::equal(before, module.forward({x}).toTensor()));
}

TEST(NetworksTest, FlipAveragingServesTheMeanOfTheFourFlips) {
  InspectionCnnOptions options;
  options.num_classes = 3;
  options.block_channels = {4};
  options.flip_averaging = true;
  torch::manual_seed(2);
  torch::jit::Module module = BuildInspectionCnn(options);
  torch::Tensor x = torch::randn({2, 1, 8, 12});
  torch::NoGradGuard no_grad;
  module.eval();
  auto logits = [&](const torch::Tensor& input) {
    return module.run_method("logits", input).toTensor();
  };
  const torch::Tensor expected =
      (logits(x) + logits(x.flip({3})) + logits(x.flip({2})) +
       logits(x.flip({2, 3}))) /
      4;
  EXPECT_TRUE(
      torch::allclose(module.forward({x}).toTensor(), expected, 1e-5, 1e-6));
}

// Three classes (ok second), two small blocks: an 8x12 input has 4x6 cells.
SegmentationInspectorOptions SmallInspector() {
  SegmentationInspectorOptions options;
  options.num_classes = 3;
  options.ok_index = 1;
  options.block_channels = {4, 8};
  options.convs_per_block = 1;
  return options;
}

// The segmentation network serves its image probabilities and, from the
// same passes, its cell probabilities: both the mean over the four flips,
// each flipped view's cells mapped back to the image's orientation.
TEST(NetworksTest, SegmentationServesFlipAveragedImageAndCellProbabilities) {
  SegmentationInspectorOptions options = SmallInspector();
  options.top_k = 2;
  options.flip_averaging = true;
  torch::manual_seed(3);
  torch::jit::Module module = BuildSegmentationInspector(options);
  // Not symmetric, so a cell mapped back the wrong way shows.
  torch::Tensor x = torch::randn({2, 1, 8, 12});
  torch::NoGradGuard no_grad;
  module.eval();
  const auto outputs = module.forward({x}).toTupleRef().elements();
  ASSERT_EQ(outputs.size(), 2u);
  const torch::Tensor image = outputs[0].toTensor();
  const torch::Tensor cells = outputs[1].toTensor();
  ASSERT_EQ(cells.sizes(), (std::vector<int64_t>{2, 3, 4, 6}));
  EXPECT_EQ(ImageScores(module.forward({x})).sizes(),
            (std::vector<int64_t>{2, 3}));

  auto probabilities = [&](const torch::Tensor& input) {
    return torch::softmax(module.run_method("cells", input).toTensor(), 1);
  };
  auto aggregate = [&](const torch::Tensor& input) {
    return module
        .run_method("aggregate", module.run_method("cells", input).toTensor())
        .toTensor();
  };
  const torch::Tensor expected_cells =
      (probabilities(x) + probabilities(x.flip({3})).flip({3}) +
       probabilities(x.flip({2})).flip({2}) +
       probabilities(x.flip({2, 3})).flip({2, 3})) /
      4;
  EXPECT_TRUE(torch::allclose(cells, expected_cells, 1e-5, 1e-6));
  const torch::Tensor expected_image =
      (aggregate(x) + aggregate(x.flip({3})) + aggregate(x.flip({2})) +
       aggregate(x.flip({2, 3}))) /
      4;
  EXPECT_TRUE(torch::allclose(image.exp(), expected_image, 1e-5, 1e-6));
  // The cells' defect probability is what heatmap() gives for one view.
  EXPECT_TRUE(torch::allclose(1.0 - probabilities(x).select(1, 1),
                              module.run_method("heatmap", x).toTensor(), 1e-6,
                              1e-6));
}

// Calibrated, the image's defect score is the larger of its supervised and
// anomaly scores' percentiles among the references; the defect classes keep
// the classifier's split of it, the cells stay the classifier's, and the
// calibration is saved with the module.
TEST(NetworksTest, CalibratedScoreIsTheLargerPercentileAmongGoodImages) {
  SegmentationInspectorOptions options = SmallInspector();
  options.flip_averaging = false;
  torch::manual_seed(5);
  torch::jit::Module module = BuildSegmentationInspector(options);
  torch::NoGradGuard no_grad;
  module.eval();
  const torch::Tensor x = torch::randn({3, 1, 8, 12});
  auto run = [&](torch::jit::Module& m) {
    const auto out = m.forward({x}).toTupleRef().elements();
    return std::make_pair(out[0].toTensor().exp(), out[1].toTensor());
  };
  const auto [plain, plain_cells] = run(module);
  const torch::Tensor supervised = 1.0 - plain.select(1, 1);
  const torch::Tensor f = module.run_method("features", x).toTensor();
  const int64_t channels = f.size(1);

  // References: supervised scores around the images' own, anomaly scores
  // above any image's, so the supervised percentile decides.
  InspectorCalibration calibration;
  calibration.feature_mean = torch::zeros({channels});
  calibration.feature_inv_var = torch::ones({channels});
  SetInspectorFeatureStatistics(module, calibration.feature_mean,
                                calibration.feature_inv_var);
  const torch::Tensor anomaly = module.run_method("anomaly", f).toTensor();
  const torch::Tensor expected_anomaly =
      std::get<0>(torch::topk((f * f).mean(1).flatten(1), 2, 1)).mean(1);
  EXPECT_TRUE(torch::allclose(anomaly, expected_anomaly, 1e-5, 1e-6));
  const float s0 = supervised[0].item<float>();
  calibration.good_supervised = {s0 + 0.5f, s0 - 1.0f, s0, s0 - 0.5f};
  calibration.good_anomaly = {1e9f, 2e9f};
  CalibrateSegmentationInspector(module, calibration);
  const auto [calibrated, cells] = run(module);
  EXPECT_TRUE(torch::equal(cells, plain_cells));
  // Each image: the larger of (references below + its score) / 5 and
  // (0 + a / (1 + a)) / 3; image 0's is the first, (2 + s0) / 5.
  const torch::Tensor refs = torch::tensor(calibration.good_supervised);
  for (int64_t i = 0; i < 3; ++i) {
    const float s = supervised[i].item<float>();
    const float a = anomaly[i].item<float>();
    const float below = static_cast<float>((refs < s).sum().item<int64_t>());
    const float d = std::max((below + s) / 5, (a / (1 + a)) / 3);
    EXPECT_NEAR(1.0f - calibrated[i][1].item<float>(), d, 1e-5) << i;
    // The defect classes share the defect score as the classifier split it.
    EXPECT_NEAR((calibrated[i][0] / calibrated[i][2]).item<float>(),
                (plain[i][0] / plain[i][2]).item<float>(), 1e-4);
  }
  EXPECT_NEAR(1.0f - calibrated[0][1].item<float>(), (2 + s0) / 5, 1e-5);

  // Anomaly references below every image's: its percentile is above 2/3.
  calibration.good_anomaly = {-2.0f, -1.0f};
  CalibrateSegmentationInspector(module, calibration);
  EXPECT_LT(run(module).first.select(1, 1).max().item<float>(), 1.0f / 3);

  // Saved and loaded, it answers the same.
  std::stringstream saved;
  module.save(saved);
  torch::jit::Module loaded = torch::jit::load(saved);
  loaded.eval();
  EXPECT_TRUE(torch::allclose(run(loaded).first, run(module).first));
  // Training mode is never calibrated.
  // (The same dropout draws for both.)
  module.train();
  torch::manual_seed(9);
  const torch::Tensor trained =
      module.forward({x}).toTupleRef().elements()[0].toTensor().exp();
  torch::manual_seed(9);
  EXPECT_TRUE(torch::allclose(
      trained,
      module.run_method("aggregate", module.run_method("cells", x).toTensor())
          .toTensor(),
      1e-5, 1e-6));
}

// Each decoder level doubles the cell grid; the cells still feed the same
// image probabilities and defect map.
TEST(NetworksTest, DecoderLevelsRefineTheCellGrid) {
  SegmentationInspectorOptions options;
  options.num_classes = 2;
  options.block_channels = {4, 8, 16};
  options.convs_per_block = 1;
  torch::NoGradGuard no_grad;
  torch::Tensor x = torch::randn({3, 1, 16, 24});
  for (int levels : {0, 1, 2}) {
    options.decoder_levels = levels;
    torch::manual_seed(4);
    torch::jit::Module module = BuildSegmentationInspector(options);
    module.eval();
    const int64_t stride = int64_t{4} >> levels;
    EXPECT_EQ(module.run_method("cells", x).toTensor().sizes(),
              (std::vector<int64_t>{3, 2, 16 / stride, 24 / stride}))
        << levels;
    const auto outputs = module.forward({x}).toTupleRef().elements();
    EXPECT_EQ(outputs[1].toTensor().sizes(),
              (std::vector<int64_t>{3, 2, 16 / stride, 24 / stride}));
    EXPECT_EQ(outputs[0].toTensor().sizes(), (std::vector<int64_t>{3, 2}));
    // Training mode trains the decoder too: every parameter gets a gradient.
    module.train();
    torch::AutoGradMode grad(true);
    module.run_method("cells", x).toTensor().sum().backward();
    for (const torch::Tensor& p : TrainableParameters(module)) {
      ASSERT_TRUE(p.grad().defined()) << levels;
    }
  }
}

}  // namespace
}  // namespace lineserve::train
