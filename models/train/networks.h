// The trainable networks, built as torch::jit::Module so that what is
// trained is what is saved: standard TorchScript that torch::jit::load (the
// server) and torch.jit.load (Python) open alike.
//
// LibTorch's C++ frontend modules cannot be saved as TorchScript, so each
// network registers its parameters and buffers on a jit module and defines
// forward() from TorchScript source using torch.* ops. Every module has a
// `training` attribute (train()/eval() switch it) that batch norm and
// dropout read.
#ifndef LINESERVE_MODELS_TRAIN_NETWORKS_H_
#define LINESERVE_MODELS_TRAIN_NETWORKS_H_

#include <torch/script.h>

#include <string>
#include <vector>

#include "models/train/tree_boosting.h"

namespace lineserve::train {

struct InspectionCnnOptions {
  int in_channels = 1;
  int num_classes = 2;
  // Output channels of each conv block; every block halves the resolution.
  std::vector<int> block_channels = {16, 32, 64, 128};
  // Convolutions per block (3x3, batch norm, ReLU each).
  int convs_per_block = 1;
  double dropout = 0.2;
  // In eval mode, forward() averages the logits of the four flips of the
  // input (4x the compute per image); training mode sees one view.
  bool flip_averaging = false;
  // Stored in the artifact as attribute `labels` (List[str]).
  std::vector<std::string> labels;
};

// Conv blocks, then global average and max pooling concatenated, dropout
// and a linear layer to one logit per class (method `logits`; `forward` adds
// the optional flip averaging). Input [B, C, H, W] float;
// output [B, num_classes] logits. Weights drawn from LibTorch's global RNG
// (seed it with torch::manual_seed for reproducible runs).
torch::jit::Module BuildInspectionCnn(const InspectionCnnOptions& options);

struct SegmentationInspectorOptions {
  int in_channels = 1;
  int num_classes = 2;
  int ok_index = 0;  // the class that means "no defect here"
  // Output channels of each conv block; every block but the last halves the
  // resolution, so the cell grid is input / 2^(blocks - 1).
  std::vector<int> block_channels = {16, 32, 64, 128};
  int convs_per_block = 2;
  // U-Net style decoder levels (0 to blocks - 1): each doubles the cell
  // grid, joining the upsampled features with the encoder block's output at
  // that resolution, so the grid is input / 2^(blocks - 1 - decoder_levels)
  // and thin defects keep cells of their own.
  int decoder_levels = 0;
  // The image's defect score is the mean defect probability of its `top_k`
  // most defective cells.
  int top_k = 2;
  // In eval mode, forward() averages the class probabilities of the four
  // flips of the input.
  bool flip_averaging = true;
  std::vector<std::string> labels;  // attribute `labels`
};

// A fully convolutional network that classifies every cell of the image
// (defect class or ok, learnt from the defect masks) and derives the image's
// answer from its cells, so the verdict rests on where a defect is rather
// than on what the whole photo looks like. Methods:
//   features(x)   [B, C, H, W] -> the last features [B, F, H/s, W/s]
//   cells(x)      [B, C, H, W] -> cell logits [B, K, H/s, W/s] (a 1x1
//                 conv of the features)
//   aggregate(c)  cell logits -> image class probabilities [B, K]:
//                 P(defect) = mean of the top_k cells' 1 - P(ok), split
//                 over the defect classes as those cells vote; P(ok) the rest
//   pool(p)       the same from cell probabilities (softmax of cells)
//   heatmap(x)    [B, H/s, W/s] defect probability per cell
//   forward(x)    a tuple: the log of aggregate(cells(x)), so the server's
//                 softmax returns the image probabilities, and the cell
//                 probabilities [B, K, H/s, W/s] (the defect map); both
//                 flip-averaged in eval, the image's calibrated once
//                 CalibrateSegmentationInspector has run.
//   anomaly(f)    features -> [B] the image's anomaly score (calibration)
torch::jit::Module BuildSegmentationInspector(
    const SegmentationInspectorOptions& options);

// What calibrating a segmentation inspector takes, measured on good images
// (the OK training images of the model being calibrated).
struct InspectorCalibration {
  // Per feature channel over every cell: the anomaly score of a cell is the
  // mean over channels of (f - mean)^2 * inv_var, an image's the mean of
  // its top_k cells' (the inspector's anomaly(f) method).
  torch::Tensor feature_mean;     // [F]
  torch::Tensor feature_inv_var;  // [F]
  // The good images' supervised defect scores (1 - P(ok) of the
  // uncalibrated forward) and anomaly scores, in any order.
  std::vector<float> good_supervised;
  std::vector<float> good_anomaly;
};

// Sets the feature statistics alone, so anomaly(f) can be measured before
// the references exist.
void SetInspectorFeatureStatistics(torch::jit::Module& module,
                                   const torch::Tensor& mean,
                                   const torch::Tensor& inv_var);

// From then on (eval mode) the image's defect score is the larger of two
// percentiles among the good images: its supervised score's and its
// anomaly score's. A defect the classifier has learnt scores high on the
// first, a surface unlike any good one on the second. Each percentile is
// (good images scoring strictly below + the score's place in [0, 1]) /
// (good images + 1), the place being the supervised score itself and
// a / (1 + a) for the anomaly score a >= 0: a percentile that still grows
// with the score between two references and beyond the last, so images
// beyond every good one are not tied. P(ok) = 1 - that score, the defect
// classes share the rest as the classifier split it; the cell probabilities
// (the defect map) stay the classifier's. Sets the `calibrated` attribute and
// the buffers feature_mean, feature_inv_var, good_supervised, good_anomaly
// (sorted), all saved with the module.
void CalibrateSegmentationInspector(torch::jit::Module& module,
                                    const InspectorCalibration& calibration);

struct TabularMlpOptions {
  int inputs = 1;
  std::vector<int> hidden = {64, 32};
  // Independent networks trained side by side; the output is their mean.
  int ensemble = 1;
  double dropout = 0.1;
  // Input scaling baked into the model so clients send raw features:
  // x' = log1p(max(x, 0)) where log_transform[i], then (x' - mean) / std.
  std::vector<float> mean;
  std::vector<float> std;
  std::vector<bool> log_transform;
};

// Input [B, inputs] float; output [B, 1].
torch::jit::Module BuildTabularMlp(const TabularMlpOptions& options);

// The boosted trees as tensors, evaluated for a whole batch at once: each
// tree's leaf index is built from its level comparisons (oblivious: all
// levels' tests in one gather; depth-wise: level by level, each row's test
// picked by the bits so far), leaf values are gathered and summed. Input [B,
// num_features] raw features (trees need no scaling); output [B, 1]. Matches
// ensemble.Predict() up to float summation order.
torch::jit::Module BuildTreeEnsembleModel(const TreeEnsemble& ensemble);

// The image scores of a forward() result: the result itself, or the first
// element of a tuple (a model that also returns its defect map).
torch::Tensor ImageScores(const torch::IValue& result);

// Copies of every parameter and buffer, to keep the best epoch's weights.
std::vector<torch::Tensor> SnapshotState(const torch::jit::Module& module);
void RestoreState(torch::jit::Module& module,
                  const std::vector<torch::Tensor>& snapshot);

// Parameters to optimise (requires_grad set).
std::vector<torch::Tensor> TrainableParameters(
    const torch::jit::Module& module);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_NETWORKS_H_
