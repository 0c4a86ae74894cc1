#include "models/train/quality_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <numeric>
#include <optional>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/config/model_config.h"
#include "models/data/image_folder.h"
#include "models/data/split.h"
#include "models/postprocess/classification.h"
#include "models/preprocess/image_preprocessor.h"
#include "models/train/evaluation.h"
#include "models/train/model_artifacts.h"
#include "models/train/networks.h"
#include "models/train/progress.h"
#include "models/train/publish.h"
#include "models/train/quality_gate.h"

namespace lineserve::train {
namespace {

namespace fs = std::filesystem;
using lineserve::v1::ModelConfig;

constexpr char kInputName[] = "image";
constexpr char kOutputName[] = "logits";
constexpr char kCellOutputName[] = "cell_probabilities";

bool IsSegmentation(const QualityTrainOptions& options) {
  return options.architecture == "segmentation";
}

int64_t CellStride(const QualityTrainOptions& options) {
  return int64_t{1} << std::max<int64_t>(
             0, static_cast<int64_t>(options.block_channels.size()) - 1 -
                    options.decoder_levels);
}

absl::StatusOr<ModelConfig> ProposedConfig(const QualityTrainOptions& options,
                                           const data::ImageFolder& folder) {
  ModelConfig config;
  config.set_name(options.model_name);
  config.set_task(lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION);
  config.set_platform("torchscript");
  config.set_description(absl::StrCat(
      IsSegmentation(options)
          ? "Surface defect segmentation-classifier (verdict from per-cell "
            "defect maps)"
          : "Surface defect classifier",
      " trained by lineserve-train on ", options.data_dir));
  auto* image = config.mutable_image();
  image->set_width(options.image_size);
  image->set_height(options.image_size);
  int channels = 1;
  if (options.color_mode == "gray") {
    image->set_color_mode(lineserve::v1::COLOR_MODE_GRAY);
  } else if (options.color_mode == "rgb") {
    image->set_color_mode(lineserve::v1::COLOR_MODE_RGB);
    channels = 3;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "--color: \"", options.color_mode, "\" is not gray or rgb"));
  }
  // Letterboxing keeps the aspect ratio (image size differs between defect
  // classes on real lines, a shortcut a model must not learn), and per-image
  // standardisation makes the model indifferent to exposure.
  image->set_resize_mode(lineserve::v1::RESIZE_MODE_LETTERBOX);
  image->set_normalization(lineserve::v1::NORMALIZATION_PER_IMAGE);
  image->set_pad_value(0.0f);
  image->set_max_encoded_bytes(int64_t{16} << 20);
  image->set_max_pixels(16'000'000);

  auto* input = config.add_input();
  input->set_name(kInputName);
  input->set_data_type(lineserve::v1::TYPE_FP32);
  for (int64_t d : {int64_t{channels}, int64_t{options.image_size},
                    int64_t{options.image_size}}) {
    input->add_dims(d);
  }
  auto* output = config.add_output();
  output->set_name(kOutputName);
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(static_cast<int64_t>(folder.classes.size()));
  if (IsSegmentation(options)) {
    // The defect map: every label's probability in each cell of the grid;
    // every block but the last halves it (max pooling rounds down).
    const int64_t grid = options.image_size / CellStride(options);
    auto* cells = config.add_output();
    cells->set_name(kCellOutputName);
    cells->set_data_type(lineserve::v1::TYPE_FP32);
    for (int64_t d :
         {static_cast<int64_t>(folder.classes.size()), grid, grid}) {
      cells->add_dims(d);
    }
  }

  auto* classification = config.mutable_classification();
  for (const auto& label : folder.classes) classification->add_labels(label);
  classification->set_ok_label(options.ok_label);
  classification->set_defect_threshold(postprocess::kDefaultDefectThreshold);

  config.set_max_batch_size(options.max_batch_size);
  config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
      options.max_queue_delay_microseconds);
  config.set_device("auto");
  ApplyModelConfigDefaults(config);
  return config;
}

// The masks, letterboxed exactly like the images, as defect fractions in
// [0, 1] per pixel: [N, 1, S, S].
absl::StatusOr<std::vector<float>> LoadMasks(const QualityTrainOptions& options,
                                             const data::ImageFolder& folder,
                                             std::string* masks_dir) {
  *masks_dir = options.masks_dir;
  if (masks_dir->empty()) {
    // "DIR/images/" names the folder as "DIR/images" does. The parent of a
    // bare folder name is empty: "masks" is then relative to the working
    // directory, as the data folder is.
    fs::path images = fs::path(options.data_dir).lexically_normal();
    if (!images.has_filename()) images = images.parent_path();
    *masks_dir = (images.parent_path() / "masks").string();
  }
  ASSIGN_OR_RETURN(data::ImageFolder masks,
                   data::MatchingMasks(folder, *masks_dir));
  lineserve::v1::ImagePreprocessing spec;
  spec.set_width(options.image_size);
  spec.set_height(options.image_size);
  spec.set_color_mode(lineserve::v1::COLOR_MODE_GRAY);
  spec.set_resize_mode(lineserve::v1::RESIZE_MODE_LETTERBOX);
  spec.set_normalization(lineserve::v1::NORMALIZATION_MEAN_STD);
  spec.add_mean(0.0f);
  spec.add_std(1.0f);
  spec.set_pad_value(0.0f);
  spec.set_max_encoded_bytes(int64_t{16} << 20);
  spec.set_max_pixels(16'000'000);
  ASSIGN_OR_RETURN(auto preprocessor,
                   preprocess::ImagePreprocessor::Create(spec));
  return data::LoadImageFolder(masks, preprocessor, options.threads);
}

// Which augmentations --augment asks for.
struct Augmentation {
  bool symmetries = false;
  bool shifts = false;
};

absl::StatusOr<Augmentation> ParseAugmentation(const std::string& list) {
  Augmentation a;
  if (list == "none") return a;
  for (absl::string_view name : absl::StrSplit(list, ',')) {
    if (name == "symmetries") {
      a.symmetries = true;
    } else if (name == "shifts") {
      a.shifts = true;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--augment: \"", name,
                       "\" is not one of symmetries, shifts (or none alone)"));
    }
  }
  return a;
}

// Random flips, quarter turns and shifts of a batch [B, C, H, W] (square),
// in place of new memory. Surface defects have no preferred orientation,
// and a camera station's framing drifts by a few pixels: both are safe for
// this task. Image and mask channels travel together.
torch::Tensor Augment(const torch::Tensor& batch, const Augmentation& which,
                      std::mt19937_64& rng, float pad_value) {
  if (!which.symmetries && !which.shifts) return batch;
  const int64_t b = batch.size(0), h = batch.size(2), w = batch.size(3);
  const int64_t max_shift = which.shifts ? std::max<int64_t>(1, h / 16) : 0;
  torch::Tensor padded =
      max_shift > 0
          ? torch::constant_pad_nd(
                batch, {max_shift, max_shift, max_shift, max_shift}, pad_value)
          : batch;
  std::vector<torch::Tensor> out;
  out.reserve(b);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t dy = max_shift > 0 ? rng() % (2 * max_shift + 1) : 0;
    const int64_t dx = max_shift > 0 ? rng() % (2 * max_shift + 1) : 0;
    torch::Tensor x = padded[i].slice(1, dy, dy + h).slice(2, dx, dx + w);
    if (which.symmetries) {
      if (rng() & 1) x = x.flip({2});
      if (rng() & 1) x = x.flip({1});
      if (rng() & 1) x = x.transpose(1, 2);  // with the flips: all 8
    }
    out.push_back(x);
  }
  return torch::stack(out);
}

// Square crops of `size` from a batch of images stacked with their mask
// (last channel), at offsets on the cell grid. A crop of a defect image is
// centred on a defect pixel with probability 0.7, so few steps are spent
// on plain surface that OK images already show.
torch::Tensor RandomCrops(const torch::Tensor& batch,
                          const torch::Tensor& is_defect_image, int64_t size,
                          int64_t stride, std::mt19937_64& rng) {
  const int64_t h = batch.size(2), w = batch.size(3);
  const int64_t mask_channel = batch.size(1) - 1;
  std::vector<torch::Tensor> out;
  for (int64_t i = 0; i < batch.size(0); ++i) {
    int64_t cy = rng() % h, cx = rng() % w;
    if (is_defect_image[i].item<bool>() && rng() % 10 < 7) {
      const torch::Tensor where = torch::nonzero(batch[i][mask_channel] > 0.5);
      if (where.size(0) > 0) {
        const int64_t pick = rng() % where.size(0);
        cy = where[pick][0].item<int64_t>();
        cx = where[pick][1].item<int64_t>();
      }
    }
    auto origin = [&](int64_t centre, int64_t extent) {
      const int64_t jitter =
          static_cast<int64_t>(rng() % (size / 2 + 1)) - size / 4;
      const int64_t o =
          std::clamp<int64_t>(centre - size / 2 + jitter, 0, extent - size);
      return o / stride * stride;
    };
    const int64_t y0 = origin(cy, h), x0 = origin(cx, w);
    out.push_back(batch[i].slice(1, y0, y0 + size).slice(2, x0, x0 + size));
  }
  return torch::stack(out);
}

// Puts `module` in eval mode and hands `use` the listed images in batches
// of 64, in order, without gradients.
void ForEachBatch(torch::jit::Module& module, const torch::Tensor& images,
                  const std::vector<int>& indices,
                  const std::function<void(const torch::Tensor&)>& use) {
  constexpr size_t kBatch = 64;
  torch::NoGradGuard no_grad;
  module.eval();
  for (size_t start = 0; start < indices.size(); start += kBatch) {
    const size_t end = std::min(indices.size(), start + kBatch);
    const std::vector<int64_t> idx(indices.begin() + start,
                                   indices.begin() + end);
    use(images.index_select(0, torch::tensor(idx)));
  }
}

// The served answer for every listed image: class probabilities as the
// server computes them (softmax of forward()).
std::vector<std::vector<float>> Probabilities(torch::jit::Module& module,
                                              const torch::Tensor& images,
                                              const std::vector<int>& indices) {
  std::vector<std::vector<float>> probabilities;
  probabilities.reserve(indices.size());
  ForEachBatch(module, images, indices, [&](const torch::Tensor& x) {
    const torch::Tensor logits = ImageScores(module.forward({x})).contiguous();
    const int k = static_cast<int>(logits.size(1));
    for (int64_t i = 0; i < logits.size(0); ++i) {
      probabilities.push_back(
          postprocess::Softmax(logits.data_ptr<float>() + i * k, k));
    }
  });
  return probabilities;
}

std::vector<float> BalancingWeights(const std::vector<double>& counts,
                                    double power) {
  const double largest = *std::max_element(counts.begin(), counts.end());
  std::vector<float> weights(counts.size());
  for (size_t c = 0; c < counts.size(); ++c) {
    weights[c] =
        static_cast<float>(std::pow(largest / std::max(1.0, counts[c]), power));
  }
  return weights;
}

// What the trainer knows about the whole data set.
struct Dataset {
  data::ImageFolder folder;
  int ok_index = 0;
  std::string masks_dir;    // empty for cnn
  std::string fingerprint;  // of the images (FingerprintFiles)
  // The decoded pixels. The tensors below view them without a copy, so a
  // Dataset is not moved once they are set.
  std::vector<float> pixels;
  std::vector<float> mask_pixels;
  torch::Tensor images;  // [N, C, S, S]
  torch::Tensor masks;   // [N, 1, S, S] defect fraction; undefined for cnn
  torch::Tensor labels;  // [N] int64
  float pad_value = 0.0f;
};

// The anomaly study's scores of one fold (see
// QualityTrainOptions::anomaly_study).
struct AnomalyScores {
  // Per validation image: the anomaly score and the uncalibrated
  // supervised one.
  std::vector<double> validation;
  std::vector<double> validation_supervised;
  // The fold's good training images: the references a score's percentile
  // is taken against, for the anomaly and the supervised score.
  std::vector<double> good_anomaly;
  std::vector<double> good_supervised;
};

struct FoldResult {
  torch::jit::Module module;
  std::vector<int> validation;
  std::vector<std::vector<float>> probabilities;  // per validation image
  // With --defect-score calibrated: each validation image's uncalibrated
  // score (1 - P(ok) of the classifier's cells), the scale of the defect
  // map's cells.
  std::vector<double> cell_scale_scores;
  double seconds = 0.0;
  std::vector<float> class_weights;
  AnomalyScores anomaly;  // with --anomaly-study
};

// The network's last features of the listed images, in batches, to `use`.
void ForFeatures(torch::jit::Module& module, const torch::Tensor& images,
                 const std::vector<int>& indices,
                 const std::function<void(const torch::Tensor&)>& use) {
  ForEachBatch(module, images, indices, [&](const torch::Tensor& x) {
    use(module.run_method("features", x).toTensor());
  });
}

// The images' anomaly scores (the inspector's anomaly(f) of its features;
// the feature statistics must be set).
std::vector<double> AnomalyOf(torch::jit::Module& module,
                              const torch::Tensor& images,
                              const std::vector<int>& indices) {
  std::vector<double> out;
  ForFeatures(module, images, indices, [&](const torch::Tensor& f) {
    const torch::Tensor a =
        module.run_method("anomaly", f).toTensor().contiguous();
    for (int64_t i = 0; i < a.size(0); ++i) out.push_back(a[i].item<double>());
  });
  return out;
}

// What calibration takes (networks.h, InspectorCalibration), measured on
// the `good` images with the module uncalibrated: per feature channel the
// mean and variance over every cell, then every good image's anomaly and
// supervised score. Leaves the feature statistics set on the module.
InspectorCalibration MeasureCalibration(const Dataset& data,
                                        const std::vector<int>& good,
                                        torch::jit::Module& module) {
  torch::Tensor sum, squares;
  double cells = 0;
  ForFeatures(module, data.images, good, [&](const torch::Tensor& f) {
    const torch::Tensor f64 = f.to(torch::kDouble);
    const torch::Tensor s = f64.sum({0, 2, 3});
    const torch::Tensor q = (f64 * f64).sum({0, 2, 3});
    sum = sum.defined() ? sum + s : s;
    squares = squares.defined() ? squares + q : q;
    cells += static_cast<double>(f.size(0) * f.size(2) * f.size(3));
  });
  InspectorCalibration calibration;
  const torch::Tensor mean = sum / cells;
  calibration.feature_mean = mean.to(torch::kFloat);
  calibration.feature_inv_var =
      (1.0 / (squares / cells - mean * mean).clamp_min(1e-4)).to(torch::kFloat);
  SetInspectorFeatureStatistics(module, calibration.feature_mean,
                                calibration.feature_inv_var);
  for (double a : AnomalyOf(module, data.images, good)) {
    calibration.good_anomaly.push_back(static_cast<float>(a));
  }
  for (const auto& p : Probabilities(module, data.images, good)) {
    calibration.good_supervised.push_back(1.0f - p[data.ok_index]);
  }
  return calibration;
}

// The fold's good training images.
std::vector<int> GoodImages(const Dataset& data, const data::Split& split) {
  std::vector<int> good;
  for (int i : split.train) {
    if (data.folder.labels[i] == data.ok_index) good.push_back(i);
  }
  return good;
}

// The anomaly study's scores of a fold (the module with the feature
// statistics of `calibration` set); `probabilities`: the uncalibrated
// answers for the validation images.
AnomalyScores MeasureAnomaly(
    const Dataset& data, const data::Split& split,
    const InspectorCalibration& calibration,
    const std::vector<std::vector<float>>& probabilities,
    torch::jit::Module& module) {
  AnomalyScores result;
  result.validation = AnomalyOf(module, data.images, split.validation);
  for (const auto& p : probabilities) {
    result.validation_supervised.push_back(1.0f - p[data.ok_index]);
  }
  result.good_anomaly.assign(calibration.good_anomaly.begin(),
                             calibration.good_anomaly.end());
  result.good_supervised.assign(calibration.good_supervised.begin(),
                                calibration.good_supervised.end());
  return result;
}

// Cell targets [B, h, w]: the image's class where a cell holds a pixel
// that is mostly defect, ok elsewhere.
torch::Tensor CellTargets(const torch::Tensor& masks, const torch::Tensor& y,
                          int64_t stride, int ok_index) {
  torch::Tensor defect =
      torch::max_pool2d(masks, {stride, stride}, {stride, stride}).squeeze(1) >
      0.5;
  return torch::where(defect, y.view({-1, 1, 1}).expand_as(defect),
                      torch::full_like(defect, ok_index, torch::kLong));
}

// The defect-vs-OK figures of the served score 1 - P(ok) over `indices`,
// whose class probabilities are `probabilities` (same order).
DefectScoreReport ScoreReport(
    const QualityTrainOptions& options, const Dataset& data,
    const std::vector<int>& indices,
    const std::vector<std::vector<float>>& probabilities) {
  std::vector<double> scores;
  std::vector<bool> truth;
  for (size_t i = 0; i < indices.size(); ++i) {
    scores.push_back(1.0 - probabilities[i][data.ok_index]);
    truth.push_back(data.folder.labels[indices[i]] != data.ok_index);
  }
  return EvaluateDefectScores(scores, truth, options.target_defect_recall);
}

// Cells of the segmentation network are stride x stride pixels: every
// block after the first halves the resolution.

// Loss weights against the class imbalance, from the training side only.
struct ClassBalance {
  // Per class: of images for the cnn, of cells for the segmentation network.
  std::vector<float> weights;
  torch::Tensor class_weights;  // `weights` as a tensor
  // The image-level loss of the segmentation network weighs the two sides
  // of the verdict the same way.
  float defect_weight = 1.0f;
};

ClassBalance BalanceClasses(const QualityTrainOptions& options,
                            const Dataset& data, const data::Split& split,
                            int64_t stride) {
  const int k = static_cast<int>(data.folder.classes.size());
  const bool segmentation = IsSegmentation(options);
  std::vector<double> counts(k, 0.0);
  double train_defects = 0;
  for (int i : split.train) {
    const int label = data.folder.labels[i];
    train_defects += label != data.ok_index;
    if (!segmentation) counts[label] += 1;
  }
  if (segmentation) {
    const torch::Tensor index = torch::tensor(
        std::vector<int64_t>(split.train.begin(), split.train.end()));
    const torch::Tensor cells =
        CellTargets(data.masks.index_select(0, index),
                    data.labels.index_select(0, index), stride, data.ok_index);
    const torch::Tensor histogram = torch::bincount(cells.flatten(), {}, k);
    for (int c = 0; c < k; ++c) counts[c] = histogram[c].item<double>();
  }
  ClassBalance balance;
  balance.weights = BalancingWeights(counts, options.class_weight_power);
  balance.class_weights = torch::tensor(balance.weights);
  const double train_oks =
      static_cast<double>(split.train.size()) - train_defects;
  balance.defect_weight = static_cast<float>(
      std::pow(std::max(1.0, train_oks) / std::max(1.0, train_defects),
               options.class_weight_power));
  return balance;
}

// A freshly initialised network of the chosen architecture; its weights
// come from LibTorch's generator.
torch::jit::Module BuildNetwork(const QualityTrainOptions& options,
                                const Dataset& data) {
  const int k = static_cast<int>(data.folder.classes.size());
  if (IsSegmentation(options)) {
    SegmentationInspectorOptions net;
    net.in_channels = static_cast<int>(data.images.size(1));
    net.num_classes = k;
    net.ok_index = data.ok_index;
    net.block_channels = options.block_channels;
    net.convs_per_block = options.convs_per_block;
    net.decoder_levels = options.decoder_levels;
    net.top_k = options.top_k;
    net.flip_averaging = options.flip_averaging;
    net.labels = data.folder.classes;
    return BuildSegmentationInspector(net);
  }
  InspectionCnnOptions net;
  net.in_channels = static_cast<int>(data.images.size(1));
  net.num_classes = k;
  net.block_channels = options.block_channels;
  net.convs_per_block = options.convs_per_block;
  net.flip_averaging = options.flip_averaging;
  net.labels = data.folder.classes;
  return BuildInspectionCnn(net);
}

// One fold's network with its optimizer. `cells` gives the per-cell logits
// the segmentation loss reads; the cnn does not use it.
struct FoldModel {
  FoldModel(torch::jit::Module network, const QualityTrainOptions& options)
      : module(std::move(network)),
        optimizer(TrainableParameters(module),
                  torch::optim::AdamWOptions(options.learning_rate)
                      .weight_decay(options.weight_decay)),
        cells(
            module.get_method(IsSegmentation(options) ? "cells" : "forward")) {}

  torch::jit::Module module;
  torch::optim::AdamW optimizer;
  torch::jit::Method cells;
};

// Where a fold's training stands between epochs: each epoch reshuffles the
// previous order with the same generator, and the learning rate follows
// the step count.
struct FoldSchedule {
  std::mt19937_64 rng;
  std::vector<int> order;
  int total_steps = 1;
  int step = 0;
};

FoldSchedule StartSchedule(const QualityTrainOptions& options,
                           const data::Split& split, int fold) {
  FoldSchedule schedule{std::mt19937_64(options.seed * 1000003 + fold),
                        split.train};
  const int steps_per_epoch = static_cast<int>(
      (schedule.order.size() + options.batch_size - 1) / options.batch_size);
  schedule.total_steps = std::max(1, steps_per_epoch * options.epochs);
  return schedule;
}

// One-cycle schedule: short linear warm-up, then cosine decay to 0.
double OneCycleLearningRate(double peak, int step, int total_steps) {
  const double t = static_cast<double>(step) / total_steps;
  const double warm = 0.05;
  return t < warm ? peak * (t / warm + 0.01)
                  : peak * 0.5 * (1 + std::cos(M_PI * (t - warm) / (1 - warm)));
}

void SetLearningRate(torch::optim::AdamW& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
}

// What every training step of a fold reads.
struct StepContext {
  const QualityTrainOptions& options;
  const Dataset& data;
  const ClassBalance& balance;
  int64_t stride;
  Augmentation augmentation;
};

// The cell loss and the verdict's loss on an augmented (and, with --crop,
// cropped) batch of images and their masks.
torch::Tensor SegmentationLoss(const StepContext& c, FoldModel& model,
                               const torch::Tensor& index,
                               const torch::Tensor& y, std::mt19937_64& rng) {
  const QualityTrainOptions& options = c.options;
  const Dataset& data = c.data;
  torch::Tensor both = Augment(torch::cat({data.images.index_select(0, index),
                                           data.masks.index_select(0, index)},
                                          1),
                               c.augmentation, rng, data.pad_value);
  if (options.crop_size > 0 && options.crop_size < both.size(2)) {
    both =
        RandomCrops(both, y != data.ok_index, options.crop_size, c.stride, rng);
  }
  const int64_t channels = data.images.size(1);
  const torch::Tensor x = both.slice(1, 0, channels);
  const torch::Tensor targets = CellTargets(
      both.slice(1, channels, channels + 1), y, c.stride, data.ok_index);
  const torch::Tensor cells = model.cells({x}).toTensor();
  const torch::Tensor cell_loss = torch::nn::functional::cross_entropy(
      cells, targets,
      torch::nn::functional::CrossEntropyFuncOptions().weight(
          c.balance.class_weights));
  // The verdict is trained too: the aggregated defect probability against
  // the image's label.
  const torch::Tensor probs =
      model.module.get_method("aggregate")({cells}).toTensor();
  const torch::Tensor score =
      (1.0 - probs.select(1, data.ok_index)).clamp(1e-6, 1.0 - 1e-6);
  // A crop is a defect when it holds a defect cell (a whole image when its
  // label says so).
  const torch::Tensor is_defect =
      options.crop_size > 0
          ? (targets != data.ok_index).flatten(1).any(1).to(torch::kFloat)
          : (y != data.ok_index).to(torch::kFloat);
  const torch::Tensor image_loss =
      -(c.balance.defect_weight * is_defect * torch::log(score) +
        (1.0 - is_defect) * torch::log(1.0 - score))
           .mean();
  return cell_loss + image_loss;
}

// The whole-image loss of the cnn on an augmented batch.
torch::Tensor CnnLoss(const StepContext& c, FoldModel& model,
                      const torch::Tensor& index, const torch::Tensor& y,
                      std::mt19937_64& rng) {
  const torch::Tensor x = Augment(c.data.images.index_select(0, index),
                                  c.augmentation, rng, c.data.pad_value);
  const torch::Tensor logits = model.module.forward({x}).toTensor();
  return torch::nn::functional::cross_entropy(
      logits, y,
      torch::nn::functional::CrossEntropyFuncOptions().weight(
          c.balance.class_weights));
}

// One pass over the fold's training images in a new order; returns the
// mean loss per image.
double TrainEpoch(const StepContext& c, FoldModel& model,
                  FoldSchedule& schedule) {
  const QualityTrainOptions& options = c.options;
  std::vector<int>& order = schedule.order;
  model.module.train();
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[schedule.rng() % i]);
  }
  double loss_sum = 0;
  for (size_t start = 0; start < order.size(); start += options.batch_size) {
    SetLearningRate(model.optimizer,
                    OneCycleLearningRate(options.learning_rate, schedule.step,
                                         schedule.total_steps));
    ++schedule.step;
    const size_t end = std::min(order.size(), start + options.batch_size);
    std::vector<int64_t> idx(order.begin() + start, order.begin() + end);
    if (idx.size() < 2) continue;  // batch norm needs two samples
    const torch::Tensor index = torch::tensor(idx);
    const torch::Tensor y = c.data.labels.index_select(0, index);
    const torch::Tensor loss =
        IsSegmentation(options)
            ? SegmentationLoss(c, model, index, y, schedule.rng)
            : CnnLoss(c, model, index, y, schedule.rng);
    model.optimizer.zero_grad();
    loss.backward();
    model.optimizer.step();
    loss_sum += loss.item<double>() * idx.size();
  }
  return loss_sum / order.size();
}

// The epoch's progress detail. Every few epochs it adds a look at the
// validation tiles, for the operator only: the schedule is fixed and the
// last epoch is the model.
std::string EpochDetail(const StepContext& c, torch::jit::Module& module,
                        const data::Split& split, const std::string& fold_name,
                        int epoch, double loss) {
  std::string detail = absl::StrFormat("%sloss %.4f", fold_name, loss);
  if (epoch % 5 == 0 && epoch != c.options.epochs &&
      !split.validation.empty()) {
    const DefectScoreReport report =
        ScoreReport(c.options, c.data, split.validation,
                    Probabilities(module, c.data.images, split.validation));
    absl::StrAppendFormat(&detail, "  val auc %.3f  false alarms %.3f",
                          report.roc_auc, report.at_target.false_alarm_rate);
  }
  return detail;
}

// Trains one network on `split.train` and scores `split.validation` with
// it. `fold` seeds the weights and the batch order; `fold_name` prefixes
// the progress lines.
FoldResult TrainFold(const QualityTrainOptions& options, const Dataset& data,
                     const data::Split& split, int fold,
                     const std::string& fold_name, std::ostream& log) {
  const int64_t stride = CellStride(options);
  const ClassBalance balance = BalanceClasses(options, data, split, stride);
  // CheckOptions has parsed it already.
  const StepContext context{options, data, balance, stride,
                            *ParseAugmentation(options.augment)};
  torch::manual_seed(options.seed + fold);
  FoldModel model(BuildNetwork(options, data), options);
  FoldSchedule schedule = StartSchedule(options, split, fold);

  EpochProgress progress(log, options.epochs);
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const double loss = TrainEpoch(context, model, schedule);
    progress.Report(epoch, EpochDetail(context, model.module, split, fold_name,
                                       epoch, loss));
  }
  model.module.eval();
  FoldResult result;
  result.validation = split.validation;
  // The validation images are scored once with the answers the model is
  // published with; the anomaly study also needs the uncalibrated ones.
  const std::vector<int> good = GoodImages(data, split);
  const bool calibrate = options.defect_score == "calibrated";
  std::optional<InspectorCalibration> calibration;
  if (IsSegmentation(options) && !good.empty() &&
      (calibrate || options.anomaly_study)) {
    calibration = MeasureCalibration(data, good, model.module);
  }
  const bool studied =
      calibration && options.anomaly_study && !split.validation.empty();
  if (studied) {
    result.probabilities =
        Probabilities(model.module, data.images, split.validation);
    result.anomaly = MeasureAnomaly(data, split, *calibration,
                                    result.probabilities, model.module);
  }
  const bool calibrated = calibration && calibrate;
  if (calibrated && !split.validation.empty()) {
    const std::vector<std::vector<float>> uncalibrated =
        studied ? result.probabilities
                : Probabilities(model.module, data.images, split.validation);
    for (const auto& p : uncalibrated) {
      result.cell_scale_scores.push_back(1.0 - p[data.ok_index]);
    }
  }
  if (calibrated) CalibrateSegmentationInspector(model.module, *calibration);
  if (calibrated || !studied) {
    result.probabilities =
        Probabilities(model.module, data.images, split.validation);
  }
  result.seconds = progress.ElapsedSeconds();
  result.class_weights = balance.weights;
  result.module = std::move(model.module);
  return result;
}

// One fold's figures: the score report, the threshold for the target
// recall and the classification at that threshold.
struct FoldFigures {
  DefectScoreReport scores;
  ClassificationReport classes;
  float threshold = 0.5f;
};

FoldFigures Evaluate(const QualityTrainOptions& options, const Dataset& data,
                     const std::vector<int>& images,
                     const std::vector<std::vector<float>>& probabilities) {
  FoldFigures figures;
  std::vector<int> labels;
  for (int i : images) labels.push_back(data.folder.labels[i]);
  figures.scores = ScoreReport(options, data, images, probabilities);
  // The config holds a float in (0, 1); the server flags 1 - P(ok) >= it.
  figures.threshold =
      std::clamp(static_cast<float>(figures.scores.at_target.threshold), 1e-6f,
                 1.0f - 1e-6f);
  const int k = static_cast<int>(data.folder.classes.size());
  std::vector<int> predicted;
  for (const auto& p : probabilities) {
    predicted.push_back(
        postprocess::Decide(p.data(), k, data.ok_index, figures.threshold)
            .label);
  }
  figures.classes = EvaluateClassification(data.folder.classes, data.ok_index,
                                           labels, predicted);
  return figures;
}

nlohmann::json Summary(const FoldFigures& f) {
  return {{"roc_auc", f.scores.roc_auc},
          {"average_precision", f.scores.average_precision},
          {"threshold", f.threshold},
          {"defect_recall", f.scores.at_target.defect_recall},
          {"false_alarm_rate", f.scores.at_target.false_alarm_rate},
          {"macro_f1", f.classes.macro_f1},
          {"defect_vs_ok_accuracy", f.classes.defect_vs_ok_accuracy}};
}

absl::Status CheckOptions(const QualityTrainOptions& options) {
  if (options.architecture != "segmentation" && options.architecture != "cnn") {
    return absl::InvalidArgumentError(
        absl::StrCat("--architecture: \"", options.architecture,
                     "\" is not segmentation or cnn"));
  }
  if (options.defect_score != "supervised" &&
      options.defect_score != "calibrated") {
    return absl::InvalidArgumentError(
        absl::StrCat("--defect-score: \"", options.defect_score,
                     "\" is not supervised or calibrated"));
  }
  if (options.defect_score == "calibrated" && !IsSegmentation(options)) {
    return absl::InvalidArgumentError(
        "--defect-score calibrated needs --architecture segmentation");
  }
  if (!(options.target_defect_recall > 0 &&
        options.target_defect_recall <= 1)) {
    return absl::InvalidArgumentError(
        "--target-defect-recall must be in (0, 1]");
  }
  if (options.folds < 1) {
    return absl::InvalidArgumentError("--folds must be >= 1");
  }
  RETURN_IF_ERROR(ParseAugmentation(options.augment).status());
  if (options.decoder_levels < 0 ||
      options.decoder_levels >=
          std::max<int>(1, static_cast<int>(options.block_channels.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--decoder-levels must be in [0, ",
        std::max<int>(0, static_cast<int>(options.block_channels.size()) - 1),
        "] (one fewer than the conv blocks)"));
  }
  RETURN_IF_ERROR(CheckPublishChoice(options.publish));
  return absl::OkStatus();
}

// The listed images and which class is the good one; nothing decoded yet.
absl::StatusOr<Dataset> ListDataset(const QualityTrainOptions& options) {
  Dataset data;
  ASSIGN_OR_RETURN(data.folder, data::ListImageFolder(options.data_dir));
  const auto& classes = data.folder.classes;
  const auto ok_it =
      std::find(classes.begin(), classes.end(), options.ok_label);
  if (ok_it == classes.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.data_dir, ": no class folder named \"",
                     options.ok_label, "\" (--ok-label)"));
  }
  data.ok_index = static_cast<int>(ok_it - classes.begin());
  // Each image as <class>/<file name>: its class and name count, where
  // the data folder lies does not.
  std::vector<NamedFile> files;
  for (size_t i = 0; i < data.folder.paths.size(); ++i) {
    files.push_back(
        {absl::StrCat(
             classes[data.folder.labels[i]], "/",
             std::filesystem::path(data.folder.paths[i]).filename().string()),
         data.folder.paths[i]});
  }
  ASSIGN_OR_RETURN(data.fingerprint, FingerprintFiles(files));
  return data;
}

// Decodes every image, and for segmentation its mask, once for all folds,
// preprocessed as `config` tells the server to.
absl::Status DecodeDataset(const QualityTrainOptions& options,
                           const ModelConfig& config, std::ostream& log,
                           Dataset* data) {
  ASSIGN_OR_RETURN(auto preprocessor,
                   preprocess::ImagePreprocessor::Create(config.image()));
  data->pad_value = config.image().pad_value();
  const auto& classes = data->folder.classes;
  log << "data: " << data->folder.paths.size() << " images in "
      << classes.size() << " classes:";
  for (size_t c = 0; c < classes.size(); ++c) {
    log << " " << classes[c] << "=" << data->folder.CountOf(c);
  }
  log << std::endl;
  EpochProgress load_clock(log, 1);
  ASSIGN_OR_RETURN(
      data->pixels,
      data::LoadImageFolder(data->folder, preprocessor, options.threads));
  if (IsSegmentation(options)) {
    ASSIGN_OR_RETURN(data->mask_pixels,
                     LoadMasks(options, data->folder, &data->masks_dir));
  }
  log << absl::StrFormat("decoded and preprocessed in %.1f s",
                         load_clock.ElapsedSeconds())
      << std::endl;

  const int64_t n = static_cast<int64_t>(data->folder.paths.size());
  const int64_t s = options.image_size;
  data->images = torch::from_blob(
      data->pixels.data(), {n, preprocessor.channels(), s, s}, torch::kFloat32);
  if (!data->mask_pixels.empty()) {
    data->masks = torch::from_blob(data->mask_pixels.data(), {n, 1, s, s},
                                   torch::kFloat32);
  }
  data->labels = torch::tensor(std::vector<int64_t>(data->folder.labels.begin(),
                                                    data->folder.labels.end()));
  return absl::OkStatus();
}

// Validation by physical tile (see data::TileGroups): one hold-out, or one
// split per fold.
struct TileSplits {
  int tile_count = 0;
  std::vector<data::Split> splits;
};

absl::StatusOr<TileSplits> SplitByTile(const QualityTrainOptions& options,
                                       const Dataset& data, std::ostream& log) {
  const std::vector<int> tiles =
      data::TileGroups(data.folder.paths, data.folder.labels);
  TileSplits result;
  result.tile_count =
      tiles.empty() ? 0 : *std::max_element(tiles.begin(), tiles.end()) + 1;
  if (options.folds >= 2) {
    result.splits = data::GroupedStratifiedKFold(data.folder.labels, tiles,
                                                 options.folds, options.seed);
  } else {
    result.splits.push_back(data::GroupedStratifiedSplit(
        data.folder.labels, tiles, options.validation_fraction, options.seed));
  }
  for (const data::Split& split : result.splits) {
    if (split.train.empty() || split.validation.empty()) {
      return absl::InvalidArgumentError(
          "too few tiles for a train/validation split");
    }
  }
  log << "validation by tile: " << result.tile_count << " tiles; "
      << (options.folds >= 2
              ? absl::StrCat(options.folds, "-fold cross-validation")
              : absl::StrCat("hold-out ", result.splits[0].validation.size(),
                             " images"))
      << " (seed " << options.seed << ")" << std::endl;
  return result;
}

// Every fold's trained model and its figures on the fold's unseen tiles.
struct CrossValidation {
  std::vector<FoldResult> results;
  std::vector<FoldFigures> figures;
  std::vector<nlohmann::json> summaries;
};

void LogFigures(const std::string& name, const FoldFigures& figures,
                std::ostream& log) {
  log << absl::StrFormat(
             "%svalidation (unseen tiles): auc %.3f  ap %.3f  threshold "
             "%.4f -> defect recall %.3f, false alarms %.3f, macro-F1 %.3f",
             name, figures.scores.roc_auc, figures.scores.average_precision,
             figures.threshold, figures.scores.at_target.defect_recall,
             figures.scores.at_target.false_alarm_rate,
             figures.classes.macro_f1)
      << std::endl;
}

CrossValidation TrainFolds(const QualityTrainOptions& options,
                           const Dataset& data,
                           const std::vector<data::Split>& splits,
                           std::ostream& log) {
  CrossValidation cv;
  const size_t folds = splits.size();
  for (size_t f = 0; f < folds; ++f) {
    const std::string name =
        folds > 1 ? absl::StrCat("fold ", f + 1, "/", folds, " ") : "";
    cv.results.push_back(
        TrainFold(options, data, splits[f], static_cast<int>(f), name, log));
    const FoldResult& result = cv.results.back();
    cv.figures.push_back(
        Evaluate(options, data, result.validation, result.probabilities));
    cv.summaries.push_back(Summary(cv.figures.back()));
    LogFigures(folds > 1 ? absl::StrCat("fold ", f + 1, ": ") : "",
               cv.figures.back(), log);
  }
  return cv;
}

// The figures of every validation image of every fold, each scored by the
// fold model that never saw its tile (with k folds, each image once); the
// threshold is the one for the target recall over all of them.
FoldFigures OutOfFoldFigures(const QualityTrainOptions& options,
                             const Dataset& data, const CrossValidation& cv) {
  std::vector<int> images;
  std::vector<std::vector<float>> probabilities;
  for (const FoldResult& fold : cv.results) {
    images.insert(images.end(), fold.validation.begin(), fold.validation.end());
    probabilities.insert(probabilities.end(), fold.probabilities.begin(),
                         fold.probabilities.end());
  }
  return Evaluate(options, data, images, probabilities);
}

// With --defect-score calibrated, the defect map's cell threshold: the
// threshold on the classifier's own score (the cells' scale) that flags the
// target share of the defects among the given folds' validation images,
// each scored by its fold's model. Nothing for a supervised model, whose
// verdict threshold is already on that scale.
std::optional<float> CellThreshold(
    const QualityTrainOptions& options, const Dataset& data,
    const std::vector<const FoldResult*>& folds) {
  std::vector<double> scores;
  std::vector<bool> truth;
  for (const FoldResult* fold : folds) {
    if (fold->cell_scale_scores.size() != fold->validation.size()) continue;
    scores.insert(scores.end(), fold->cell_scale_scores.begin(),
                  fold->cell_scale_scores.end());
    for (int i : fold->validation) {
      truth.push_back(data.folder.labels[i] != data.ok_index);
    }
  }
  if (scores.empty() ||
      std::find(truth.begin(), truth.end(), true) == truth.end()) {
    return std::nullopt;
  }
  return std::clamp(static_cast<float>(ThresholdForRecall(
                        scores, truth, options.target_defect_recall)),
                    1e-6f, 1.0f - 1e-6f);
}

// What the published threshold does on tiles that did not choose it: for
// each fold, the threshold for the target recall is taken from the other
// folds' out-of-fold scores and applied to this fold. Adds to each fold's
// summary "held_out_threshold", "held_out_defect_recall",
// "held_out_false_alarm_rate" and, per defect class, the share of its
// images flagged ("flagged_<class>").
void AddHeldOutThresholdFigures(const QualityTrainOptions& options,
                                const Dataset& data, CrossValidation& cv) {
  const size_t folds = cv.results.size();
  if (folds < 2) return;
  auto score_of = [&](const std::vector<float>& p) {
    return 1.0 - p[data.ok_index];
  };
  for (size_t f = 0; f < folds; ++f) {
    std::vector<double> scores;
    std::vector<bool> truth;
    for (size_t g = 0; g < folds; ++g) {
      if (g == f) continue;
      const FoldResult& other = cv.results[g];
      for (size_t i = 0; i < other.validation.size(); ++i) {
        scores.push_back(score_of(other.probabilities[i]));
        truth.push_back(data.folder.labels[other.validation[i]] !=
                        data.ok_index);
      }
    }
    const double threshold =
        ThresholdForRecall(scores, truth, options.target_defect_recall);
    const FoldResult& fold = cv.results[f];
    std::vector<double> fold_scores;
    std::vector<bool> fold_truth;
    const size_t k = data.folder.classes.size();
    std::vector<double> flagged(k, 0), count(k, 0);
    for (size_t i = 0; i < fold.validation.size(); ++i) {
      const int label = data.folder.labels[fold.validation[i]];
      const double score = score_of(fold.probabilities[i]);
      fold_scores.push_back(score);
      fold_truth.push_back(label != data.ok_index);
      count[label] += 1;
      flagged[label] += score >= threshold;
    }
    const OperatingPoint point = EvaluateAt(fold_scores, fold_truth, threshold);
    nlohmann::json& summary = cv.summaries[f];
    summary["held_out_threshold"] = threshold;
    summary["held_out_defect_recall"] = point.defect_recall;
    summary["held_out_false_alarm_rate"] = point.false_alarm_rate;
    for (size_t c = 0; c < k; ++c) {
      if (static_cast<int>(c) == data.ok_index) continue;
      summary[absl::StrCat("flagged_", data.folder.classes[c])] =
          count[c] > 0 ? flagged[c] / count[c] : 0.0;
    }
  }
}

// The calibrated percentile of `score` among `sorted_reference`
// (networks.h, CalibrateSegmentationInspector): (references strictly below
// + `place`) / (references + 1), `place` in [0, 1] growing with the score.
double Percentile(const std::vector<double>& sorted_reference, double score,
                  double place) {
  const double below =
      static_cast<double>(std::lower_bound(sorted_reference.begin(),
                                           sorted_reference.end(), score) -
                          sorted_reference.begin());
  return (below + place) / (sorted_reference.size() + 1);
}

// metrics.json "anomaly_study": the out-of-fold ROC AUC, average precision
// and false-alarm rate at the target recall of the supervised score, the
// anomaly score, and their combinations (the mean and the larger of the two
// percentiles among the fold's good training images), pooled over folds
// and per fold.
nlohmann::json AnomalyStudy(const QualityTrainOptions& options,
                            const Dataset& data, const CrossValidation& cv,
                            std::ostream& log) {
  const std::vector<std::string> names = {"supervised", "anomaly",
                                          "mean_percentile", "max_percentile"};
  std::vector<std::vector<double>> pooled(names.size());
  std::vector<bool> pooled_truth;
  nlohmann::json folds = nlohmann::json::array();
  auto figures = [&](const std::vector<double>& scores,
                     const std::vector<bool>& truth) {
    const DefectScoreReport r =
        EvaluateDefectScores(scores, truth, options.target_defect_recall);
    return nlohmann::json{{"roc_auc", r.roc_auc},
                          {"average_precision", r.average_precision},
                          {"false_alarm_rate", r.at_target.false_alarm_rate}};
  };
  for (const FoldResult& fold : cv.results) {
    const AnomalyScores& a = fold.anomaly;
    if (a.validation.size() != fold.validation.size() ||
        a.validation_supervised.size() != fold.validation.size()) {
      return nullptr;
    }
    std::vector<double> good_anomaly = a.good_anomaly;
    std::vector<double> good_supervised = a.good_supervised;
    std::sort(good_anomaly.begin(), good_anomaly.end());
    std::sort(good_supervised.begin(), good_supervised.end());
    std::vector<std::vector<double>> scores(names.size());
    std::vector<bool> truth;
    for (size_t i = 0; i < fold.validation.size(); ++i) {
      const double supervised = a.validation_supervised[i];
      const double anomaly = a.validation[i];
      const double ps = Percentile(good_supervised, supervised, supervised);
      const double pa =
          Percentile(good_anomaly, anomaly, anomaly / (1.0 + anomaly));
      const double values[] = {supervised, anomaly, 0.5 * (ps + pa),
                               std::max(ps, pa)};
      for (size_t n = 0; n < names.size(); ++n) {
        scores[n].push_back(values[n]);
        pooled[n].push_back(values[n]);
      }
      truth.push_back(data.folder.labels[fold.validation[i]] != data.ok_index);
      pooled_truth.push_back(truth.back());
    }
    nlohmann::json per_fold;
    for (size_t n = 0; n < names.size(); ++n) {
      per_fold[names[n]] = figures(scores[n], truth);
    }
    folds.push_back(per_fold);
  }
  nlohmann::json study;
  study["reference"] = "the fold's good training images";
  for (size_t n = 0; n < names.size(); ++n) {
    study[names[n]] = figures(pooled[n], pooled_truth);
    log << absl::StrFormat(
               "anomaly study, %-16s out-of-fold auc %.3f  ap %.3f  false "
               "alarms %.3f",
               names[n], study[names[n]]["roc_auc"].get<double>(),
               study[names[n]]["average_precision"].get<double>(),
               study[names[n]]["false_alarm_rate"].get<double>())
        << std::endl;
  }
  study["folds"] = folds;
  return study;
}

// metrics.json "training": how the published model was made.
nlohmann::json TrainingSummary(const QualityTrainOptions& options,
                               const Dataset& data, const FoldResult& published,
                               double seconds) {
  return {
      {"data_dir", options.data_dir},
      {"data_fingerprint", data.fingerprint},
      {"masks_dir", data.masks_dir},
      {"architecture", options.architecture},
      {"published_on", options.publish == "all" ? "all_tiles" : "first_fold"},
      {"epochs", options.epochs},
      {"seconds", seconds},
      {"seconds_published_model", published.seconds},
      {"image_size", options.image_size},
      {"block_channels", options.block_channels},
      {"convs_per_block", options.convs_per_block},
      {"decoder_levels", options.decoder_levels},
      {"top_k", options.top_k},
      {"defect_score", options.defect_score},
      {"crop_size", options.crop_size},
      {"flip_averaging", options.flip_averaging},
      {"augment", options.augment},
      {"class_weights", published.class_weights}};
}

// metrics.json of the published model. Its figures (classification report,
// defect_score, threshold) are the out-of-fold ones when it is trained on
// every tile, else the first fold's; with several folds, "cross_validation"
// holds every fold's figures and their mean and spread. `seconds`: all
// training, the published model's included.
nlohmann::json Metrics(const QualityTrainOptions& options, const Dataset& data,
                       const TileSplits& tiles, const CrossValidation& cv,
                       const FoldFigures& reported, const FoldResult& published,
                       double seconds) {
  nlohmann::json metrics = ToJson(reported.classes);
  metrics["task"] = "image_classification";
  metrics["defect_score"] = ToJson(reported.scores);
  metrics["defect_threshold"] = reported.threshold;
  const bool all = options.publish == "all";
  metrics["split"] = {
      {"method", "grouped_by_tile"},
      {"tiles", tiles.tile_count},
      {"folds", options.folds},
      {"validation_fraction",
       options.folds >= 2 ? 1.0 / options.folds : options.validation_fraction},
      {"figures", all ? "out_of_fold" : "first_fold"},
      {"train_count",
       all ? data.folder.paths.size() : tiles.splits.front().train.size()},
      {"validation_count", reported.classes.count},
      {"seed", options.seed}};
  if (tiles.splits.size() > 1) {
    metrics["cross_validation"] = MeanAndSpread(cv.summaries);
    metrics["cross_validation"]["folds"] = cv.summaries;
  }
  metrics["labels"] = data.folder.classes;
  metrics["ok_label"] = options.ok_label;
  metrics["training"] = TrainingSummary(options, data, published, seconds);
  return metrics;
}

// The newest published version's ROC AUC on `validation` (the published
// fold's images), each image read and preprocessed as that version says and
// scored by its own verdict rule (1 - P(its ok label)).
std::optional<double> PreviousVersionAuc(const QualityTrainOptions& options,
                                         const Dataset& data,
                                         const std::vector<int>& validation,
                                         const PublishedVersion& previous,
                                         std::ostream& log) {
  const auto& labels = previous.config.classification().labels();
  const auto ok = std::find(labels.begin(), labels.end(),
                            previous.config.classification().ok_label());
  absl::StatusOr<preprocess::ImagePreprocessor> preprocessor =
      preprocess::ImagePreprocessor::Create(previous.config.image());
  if (ok == labels.end() || !preprocessor.ok()) return std::nullopt;
  const int ok_index = static_cast<int>(ok - labels.begin());
  torch::jit::Module module =
      torch::jit::load(absl::StrCat(previous.dir, "/model.pt"));
  module.eval();
  torch::NoGradGuard no_grad;
  std::vector<double> scores;
  std::vector<bool> is_defect;
  std::vector<float> input(preprocessor->output_size());
  for (int i : validation) {
    absl::StatusOr<std::string> bytes = ReadFile(data.folder.paths[i]);
    absl::Status status = bytes.status();
    if (status.ok()) status = preprocessor->Process(*bytes, input.data());
    if (!status.ok()) {
      log << "quality gate: version " << previous.version << " cannot read "
          << data.folder.paths[i] << " (" << status.message()
          << "); compared with the baseline only" << std::endl;
      return std::nullopt;
    }
    torch::Tensor x =
        torch::from_blob(input.data(),
                         {1, preprocessor->channels(), preprocessor->height(),
                          preprocessor->width()},
                         torch::kFloat32);
    torch::Tensor p = torch::softmax(ImageScores(module.forward({x})), 1);
    scores.push_back(1.0 - p[0][ok_index].item<double>());
    is_defect.push_back(data.folder.labels[i] != data.ok_index);
  }
  return EvaluateDefectScores(scores, is_defect, options.target_defect_recall)
      .roc_auc;
}

// The baseline (chance: AUC 0.5) and the newest published version: its
// recorded out-of-fold figure when it was trained on every tile of this data
// set, else its score on `validation` (the first fold's unseen tiles).
std::vector<GateReference> GateReferences(const QualityTrainOptions& options,
                                          const Dataset& data,
                                          const std::vector<int>& validation,
                                          std::ostream& log) {
  std::vector<GateReference> references = {{"baseline chance", 0.5}};
  absl::StatusOr<std::optional<PublishedVersion>> latest =
      LatestPublishedVersion(
          absl::StrCat(options.repository, "/", options.model_name));
  if (!latest.ok() || !latest->has_value()) return references;
  const PublishedVersion& previous = **latest;
  if (std::optional<double> auc = RecordedOutOfFoldFigure(
          previous.dir, "all_tiles",
          {"data_dir", options.data_dir, data.fingerprint}, "roc_auc")) {
    references.push_back(
        {absl::StrCat("version ", previous.version, " (out-of-fold)"), *auc});
  } else if (std::optional<double> auc =
                 PreviousVersionAuc(options, data, validation, previous, log)) {
    references.push_back({absl::StrCat("version ", previous.version), *auc});
  }
  return references;
}

absl::StatusOr<TrainResult> Train(const QualityTrainOptions& options,
                                  std::ostream& log) {
  RETURN_IF_ERROR(CheckOptions(options));
  ASSIGN_OR_RETURN(Dataset data, ListDataset(options));
  ASSIGN_OR_RETURN(ModelConfig config, ProposedConfig(options, data.folder));
  RETURN_IF_ERROR(ReportContractChange(options.repository, config, log));
  RETURN_IF_ERROR(DecodeDataset(options, config, log, &data));
  ASSIGN_OR_RETURN(const TileSplits tiles, SplitByTile(options, data, log));

  EpochProgress total_clock(log, 1);
  CrossValidation cv = TrainFolds(options, data, tiles.splits, log);
  AddHeldOutThresholdFigures(options, data, cv);
  const std::vector<int> first_validation = cv.results.front().validation;
  nlohmann::json anomaly_study;
  if (options.anomaly_study && IsSegmentation(options)) {
    anomaly_study = AnomalyStudy(options, data, cv, log);
  }

  FoldResult published;
  FoldFigures reported;
  std::vector<int64_t> sample;
  std::vector<const FoldResult*> threshold_folds;
  for (const FoldResult& fold : cv.results) threshold_folds.push_back(&fold);
  if (options.publish != "all") threshold_folds.resize(1);
  const std::optional<float> cell_threshold =
      CellThreshold(options, data, threshold_folds);
  if (options.publish == "all") {
    // The threshold and the figures come from the out-of-fold scores; the
    // model from every tile, trained as each fold was.
    reported = OutOfFoldFigures(options, data, cv);
    if (tiles.splits.size() > 1) LogFigures("out-of-fold ", reported, log);
    data::Split everything;
    everything.train.resize(data.folder.paths.size());
    std::iota(everything.train.begin(), everything.train.end(), 0);
    published =
        TrainFold(options, data, everything,
                  static_cast<int>(tiles.splits.size()), "all tiles ", log);
    for (int64_t i = 0; i < std::min<int64_t>(8, everything.train.size());
         ++i) {
      sample.push_back(i);
    }
  } else {
    reported = cv.figures.front();
    published = std::move(cv.results.front());
    sample.assign(first_validation.begin(),
                  first_validation.begin() +
                      std::min<size_t>(8, first_validation.size()));
  }
  config.mutable_classification()->set_defect_threshold(reported.threshold);
  if (cell_threshold) {
    config.mutable_classification()->set_cell_threshold(*cell_threshold);
  }
  nlohmann::json metrics = Metrics(options, data, tiles, cv, reported,
                                   published, total_clock.ElapsedSeconds());
  if (cell_threshold) metrics["cell_threshold"] = *cell_threshold;
  if (!anomaly_study.is_null()) metrics["anomaly_study"] = anomaly_study;
  RETURN_IF_ERROR(ApplyQualityGate(
      {"roc_auc", /*higher_is_better=*/true, options.force},
      reported.scores.roc_auc,
      GateReferences(options, data, first_validation, log), metrics, log));
  return PublishModel(
      published.module, data.images.index_select(0, torch::tensor(sample)),
      std::move(metrics), config, options.repository, options.overwrite_config);
}

}  // namespace

absl::StatusOr<TrainResult> TrainQualityModel(
    const QualityTrainOptions& options, std::ostream& log) {
  return RunTraining([&] { return Train(options, log); });
}

}  // namespace lineserve::train
