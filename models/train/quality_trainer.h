// Trains the quality-inspection model (image classification) from an
// image-folder data set and publishes it as a new version in a model
// repository: model.pt (TorchScript), metrics.json and config.pbtxt.
#ifndef LINESERVE_MODELS_TRAIN_QUALITY_TRAINER_H_
#define LINESERVE_MODELS_TRAIN_QUALITY_TRAINER_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/train/model_artifacts.h"

namespace lineserve::train {

struct QualityTrainOptions {
  std::string data_dir;    // DIR/<class>/*.png|jpg
  std::string repository;  // model repository root
  std::string model_name = "quality_inspection";
  std::string ok_label = "ok";  // the good class; every other is a defect
  // Model input, square, in pixels; images are letterboxed into it.
  int image_size = 128;
  // "gray" or "rgb".
  std::string color_mode = "gray";
  double validation_fraction = 0.2;
  int max_epochs = 50;
  // Stop after this many epochs without a better validation macro-F1.
  int patience = 10;
  int batch_size = 32;
  double learning_rate = 3e-3;
  double weight_decay = 1e-4;
  // Class weights in the loss are (n_max / n_class)^power: 0 ignores the
  // imbalance, 1 balances it fully.
  double class_weight_power = 0.5;
  std::vector<int> block_channels = {16, 32, 64, 128};
  int convs_per_block = 2;
  // Serve the average over the image's flips (see InspectionCnnOptions).
  bool flip_averaging = true;
  uint64_t seed = 1;
  int threads = 1;  // decoding threads; LibTorch's are set by the caller
  // Serving defaults written into a new config.pbtxt.
  int max_batch_size = 16;
  int64_t max_queue_delay_microseconds = 2000;
  bool overwrite_config = false;
};

// Progress goes to `log`. Errors: NOT_FOUND / INVALID_ARGUMENT for the data,
// FAILED_PRECONDITION for an incompatible existing config, INTERNAL for
// LibTorch failures.
absl::StatusOr<TrainResult> TrainQualityModel(
    const QualityTrainOptions& options, std::ostream& log);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_QUALITY_TRAINER_H_
