#include "models/train/quality_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/data/image_folder.h"
#include "models/data/split.h"
#include "models/train/evaluation.h"
#include "models/train/model_artifacts.h"
#include "models/train/networks.h"
#include "models/train/progress.h"
#include "models/train/publish.h"
#include "server/common/file_util.h"
#include "server/common/status_macros.h"
#include "server/postprocess/classification.h"
#include "server/preprocess/image_preprocessor.h"
#include "server/repository/model_config.h"

namespace lineserve::train {
namespace {

using lineserve::v1::ModelConfig;

constexpr char kInputName[] = "image";
constexpr char kOutputName[] = "logits";

absl::StatusOr<ModelConfig> ProposedConfig(const QualityTrainOptions& options,
                                           const data::ImageFolder& folder) {
  ModelConfig config;
  config.set_name(options.model_name);
  config.set_task(lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION);
  config.set_platform("torchscript");
  config.set_description(
      absl::StrCat("Surface defect classifier trained by lineserve-train on ",
                   options.data_dir));
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

// Random flips and shifts of a batch [B, C, H, W], in place of new memory.
// Surface defects have no preferred orientation, and a camera station's
// framing drifts by a few pixels: both are safe for this task.
torch::Tensor Augment(const torch::Tensor& batch, std::mt19937_64& rng,
                      float pad_value) {
  const int64_t b = batch.size(0), h = batch.size(2), w = batch.size(3);
  const int64_t max_shift = std::max<int64_t>(1, h / 16);
  torch::Tensor padded = torch::constant_pad_nd(
      batch, {max_shift, max_shift, max_shift, max_shift}, pad_value);
  std::vector<torch::Tensor> out;
  out.reserve(b);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t dy = rng() % (2 * max_shift + 1);
    const int64_t dx = rng() % (2 * max_shift + 1);
    torch::Tensor x = padded[i].slice(1, dy, dy + h).slice(2, dx, dx + w);
    if (rng() & 1) x = x.flip({2});
    if (rng() & 1) x = x.flip({1});
    out.push_back(x);
  }
  return torch::stack(out);
}

// Labels decided the way the server decides them (postprocess::Decide).
// `method` is "forward" (what is served) or "logits" (one view: cheaper,
// for choosing the best epoch).
std::vector<int> Predict(torch::jit::Module& module,
                         const torch::Tensor& images,
                         const std::vector<int>& indices, int ok_index,
                         float defect_threshold, const std::string& method) {
  constexpr size_t kBatch = 64;
  torch::NoGradGuard no_grad;
  module.eval();
  std::vector<int> predicted;
  predicted.reserve(indices.size());
  for (size_t start = 0; start < indices.size(); start += kBatch) {
    const size_t end = std::min(indices.size(), start + kBatch);
    std::vector<int64_t> idx(indices.begin() + start, indices.begin() + end);
    torch::Tensor x = images.index_select(0, torch::tensor(idx));
    torch::Tensor logits =
        module.get_method(method)({x}).toTensor().contiguous();
    const int k = static_cast<int>(logits.size(1));
    for (int64_t i = 0; i < logits.size(0); ++i) {
      const std::vector<float> p =
          postprocess::Softmax(logits.data_ptr<float>() + i * k, k);
      predicted.push_back(
          postprocess::Decide(p.data(), k, ok_index, defect_threshold).label);
    }
  }
  return predicted;
}

absl::StatusOr<TrainResult> Train(const QualityTrainOptions& options,
                                  std::ostream& log) {
  ASSIGN_OR_RETURN(data::ImageFolder folder,
                   data::ListImageFolder(options.data_dir));
  const auto ok_it =
      std::find(folder.classes.begin(), folder.classes.end(), options.ok_label);
  if (ok_it == folder.classes.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.data_dir, ": no class folder named \"",
                     options.ok_label, "\" (--ok-label)"));
  }
  const int ok_index = static_cast<int>(ok_it - folder.classes.begin());
  const float threshold = postprocess::kDefaultDefectThreshold;
  ASSIGN_OR_RETURN(ModelConfig config, ProposedConfig(options, folder));
  ASSIGN_OR_RETURN(auto preprocessor,
                   preprocess::ImagePreprocessor::Create(config.image()));

  log << "data: " << folder.paths.size() << " images in "
      << folder.classes.size() << " classes:";
  for (size_t c = 0; c < folder.classes.size(); ++c) {
    log << " " << folder.classes[c] << "=" << folder.CountOf(c);
  }
  log << std::endl;
  EpochProgress load_clock(log, 1);
  ASSIGN_OR_RETURN(
      std::vector<float> pixels,
      data::LoadImageFolder(folder, preprocessor, options.threads));
  log << absl::StrFormat("decoded and preprocessed in %.1f s",
                         load_clock.ElapsedSeconds())
      << std::endl;

  const int64_t n = static_cast<int64_t>(folder.paths.size());
  torch::Tensor images = torch::from_blob(
      pixels.data(),
      {n, preprocessor.channels(), preprocessor.height(), preprocessor.width()},
      torch::kFloat32);
  torch::Tensor labels = torch::tensor(
      std::vector<int64_t>(folder.labels.begin(), folder.labels.end()));

  const data::Split split = data::StratifiedSplit(
      folder.labels, options.validation_fraction, options.seed);
  if (split.train.empty() || split.validation.empty()) {
    return absl::InvalidArgumentError(
        "too few images for a train/validation split");
  }
  std::vector<int> val_truth;
  for (int i : split.validation) val_truth.push_back(folder.labels[i]);
  log << "split: " << split.train.size() << " train, "
      << split.validation.size() << " validation (stratified, seed "
      << options.seed << ")" << std::endl;

  // Class weights against the imbalance, from the training side only.
  const int k = static_cast<int>(folder.classes.size());
  std::vector<double> train_counts(k, 0.0);
  for (int i : split.train) train_counts[folder.labels[i]] += 1;
  const double largest =
      *std::max_element(train_counts.begin(), train_counts.end());
  std::vector<float> weights(k);
  for (int c = 0; c < k; ++c) {
    weights[c] = static_cast<float>(std::pow(
        largest / std::max(1.0, train_counts[c]), options.class_weight_power));
  }
  const torch::Tensor class_weights = torch::tensor(weights);

  torch::manual_seed(options.seed);
  InspectionCnnOptions net;
  net.in_channels = preprocessor.channels();
  net.num_classes = k;
  net.block_channels = options.block_channels;
  net.convs_per_block = options.convs_per_block;
  net.flip_averaging = options.flip_averaging;
  net.labels = folder.classes;
  torch::jit::Module module = BuildInspectionCnn(net);

  torch::optim::AdamW optimizer(
      TrainableParameters(module),
      torch::optim::AdamWOptions(options.learning_rate)
          .weight_decay(options.weight_decay));

  std::mt19937_64 rng(options.seed);
  std::vector<int> order = split.train;
  const int steps_per_epoch = static_cast<int>(
      (order.size() + options.batch_size - 1) / options.batch_size);
  const int total_steps = steps_per_epoch * options.max_epochs;
  int step = 0;

  EpochProgress progress(log, options.max_epochs);
  double best_f1 = -1.0;
  int best_epoch = 0;
  std::vector<torch::Tensor> best_state;
  int epochs_run = 0;
  for (int epoch = 1; epoch <= options.max_epochs; ++epoch) {
    module.train();
    for (size_t i = order.size(); i > 1; --i) {
      std::swap(order[i - 1], order[rng() % i]);
    }
    double loss_sum = 0;
    for (size_t start = 0; start < order.size(); start += options.batch_size) {
      // One-cycle schedule: short linear warm-up, then cosine decay to 0.
      const double t = static_cast<double>(step) / total_steps;
      const double warm = 0.05;
      const double lr =
          t < warm ? options.learning_rate * (t / warm + 0.01)
                   : options.learning_rate * 0.5 *
                         (1 + std::cos(M_PI * (t - warm) / (1 - warm)));
      for (auto& group : optimizer.param_groups()) {
        static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
      }
      ++step;
      const size_t end = std::min(order.size(), start + options.batch_size);
      std::vector<int64_t> idx(order.begin() + start, order.begin() + end);
      if (idx.size() < 2) continue;  // batch norm needs two samples
      const torch::Tensor index = torch::tensor(idx);
      torch::Tensor x = Augment(images.index_select(0, index), rng,
                                config.image().pad_value());
      torch::Tensor y = labels.index_select(0, index);
      torch::Tensor logits = module.forward({x}).toTensor();
      torch::Tensor loss = torch::nn::functional::cross_entropy(
          logits, y,
          torch::nn::functional::CrossEntropyFuncOptions().weight(
              class_weights));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * idx.size();
    }
    epochs_run = epoch;
    const ClassificationReport report =
        EvaluateClassification(folder.classes, ok_index, val_truth,
                               Predict(module, images, split.validation,
                                       ok_index, threshold, "logits"));
    const bool improved = report.macro_f1 > best_f1;
    if (improved) {
      best_f1 = report.macro_f1;
      best_epoch = epoch;
      best_state = SnapshotState(module);
    }
    progress.Report(
        epoch,
        absl::StrFormat("loss %.4f  val macro_f1 %.3f  defect/ok acc "
                        "%.3f%s",
                        loss_sum / order.size(), report.macro_f1,
                        report.defect_vs_ok_accuracy, improved ? " *" : "  "));
    if (epoch - best_epoch >= options.patience) {
      log << "early stop: no better validation macro_f1 for "
          << options.patience << " epochs" << std::endl;
      break;
    }
  }
  RestoreState(module, best_state);
  module.eval();

  const ClassificationReport report =
      EvaluateClassification(folder.classes, ok_index, val_truth,
                             Predict(module, images, split.validation, ok_index,
                                     threshold, "forward"));

  nlohmann::json metrics = ToJson(report);
  metrics["task"] = "image_classification";
  metrics["split"] = {{"method", "stratified_random"},
                      {"validation_fraction", options.validation_fraction},
                      {"train_count", split.train.size()},
                      {"validation_count", split.validation.size()},
                      {"seed", options.seed}};
  metrics["labels"] = folder.classes;
  metrics["ok_label"] = options.ok_label;
  metrics["training"] = {{"data_dir", options.data_dir},
                         {"epochs_run", epochs_run},
                         {"best_epoch", best_epoch},
                         {"seconds", progress.ElapsedSeconds()},
                         {"image_size", options.image_size},
                         {"block_channels", options.block_channels},
                         {"convs_per_block", options.convs_per_block},
                         {"flip_averaging", options.flip_averaging},
                         {"class_weights", weights}};
  std::vector<int64_t> sample(
      split.validation.begin(),
      split.validation.begin() + std::min<size_t>(8, split.validation.size()));
  return PublishModel(module, images.index_select(0, torch::tensor(sample)),
                      std::move(metrics), config, options.repository,
                      options.overwrite_config);
}

}  // namespace

absl::StatusOr<TrainResult> TrainQualityModel(
    const QualityTrainOptions& options, std::ostream& log) {
  return RunTraining([&] { return Train(options, log); });
}

}  // namespace lineserve::train
