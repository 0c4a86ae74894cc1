// lineserve-train: produces the model artifacts lineserve serves.
//
//   lineserve-train quality    --data DIR --repo REPO      image classifier
//   lineserve-train efficiency --csv FILE --target COL --repo REPO
//   lineserve-train datagen    --out DIR                   synthetic data
#include <ATen/Parallel.h>
#include <spawn.h>
#include <sys/wait.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "models/base/allocator.h"
#include "models/base/command_line.h"
#include "models/base/version.h"
#include "models/data/csv_table.h"
#include "models/train/datagen_command.h"
#include "models/train/efficiency_trainer.h"
#include "models/train/html_report.h"
#include "models/train/model_artifacts.h"
#include "models/train/quality_trainer.h"

namespace lineserve::train {
namespace {

constexpr char kUsage[] =
    "usage: lineserve-train COMMAND [options]\n"
    "\n"
    "Trains the models lineserve serves and writes them into a model\n"
    "repository as a new version (model.pt, metrics.json, config.pbtxt).\n"
    "\n"
    "commands:\n"
    "  quality      train the quality-inspection image classifier\n"
    "  efficiency   train the production-efficiency regressor\n"
    "  datagen      write the bundled synthetic data sets\n"
    "  report       show the newest version's evaluation of every model\n"
    "               (--html: its HTML report)\n"
    "\n"
    "`lineserve-train COMMAND --help` lists a command's options; `--version`\n"
    "prints the version.\n";

int DefaultThreads() {
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// LibTorch starts with one intra-op thread on these machines: set it from
// the flag. Training is one stream of large ops, so inter-op threads only
// compete with intra-op ones. Says what it runs on, so timings of runs can
// be compared.
void SetTorchThreads(int threads) {
  at::set_num_interop_threads(1);
  at::set_num_threads(std::max(1, threads));
  std::cout << "threads: " << std::max(1, threads)
            << " (LibTorch intra-op); allocator: " << AllocatorName()
            << std::endl;
}

// Stores a parsed flag value, or says why it is not one (false).
template <typename T>
bool ParseChoice(const char* flag, absl::StatusOr<T> parsed, T* out) {
  if (!parsed.ok()) {
    std::cerr << "lineserve-train: --" << flag << ": "
              << parsed.status().message() << "\n";
    return false;
  }
  *out = *parsed;
  return true;
}

bool ParseInts(const std::string& text, std::vector<int>* out) {
  out->clear();
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int v = 0;
    if (!absl::SimpleAtoi(part, &v) || v <= 0) return false;
    out->push_back(v);
  }
  return !out->empty();
}

// Options every trainer has: where to publish, serving defaults for a new
// config, reproducibility and threads.
template <typename Options>
void AddCommonOptions(CommandLine& cli, Options& o, int* threads) {
  cli.AddString("repo", &o.repository, "model repository to publish into",
                true);
  cli.AddString("model", &o.model_name,
                "model name (folder in the repository)");
  cli.AddInt("max-batch-size", &o.max_batch_size,
             "serving batch limit written into a new config.pbtxt");
  cli.AddBool("overwrite-config", &o.overwrite_config,
              "rewrite config.pbtxt's serving settings with the trainer's "
              "defaults (each version carries its own contract either way)");
  cli.AddBool("force", &o.force,
              "publish even when the model is worse than the baselines or "
              "the newest published version");
  cli.AddUint64("seed", &o.seed,
                "seed of the split, the weights and the "
                "augmentation");
  cli.AddInt("threads", threads, "CPU threads for LibTorch and decoding");
}

int Report(const absl::StatusOr<TrainResult>& result) {
  if (!result.ok()) {
    std::cerr << "lineserve-train: " << result.status().message() << "\n";
    return 1;
  }
  std::cout << "\npublished version " << result->version << " at "
            << result->version_dir << "\n";
  std::cout << FiguresInWords(result->metrics, "  ");
  std::cout << "  figures: " << result->version_dir << "/metrics.json\n"
            << "  report:  " << result->report_path << "\n";
  return 0;
}

int RunQuality(const std::vector<std::string>& args) {
  QualityTrainOptions o;
  int threads = DefaultThreads();
  std::string blocks = "16,32,64,128";
  CommandLine cli(
      "lineserve-train quality --data DIR --repo REPO [options]",
      "Trains the quality-inspection model on an image-folder data set\n"
      "(DIR/<class>/*.png|jpg, one folder per class, one of them the good\n"
      "class), cross-validates it on tiles it has not seen, picks the\n"
      "decision threshold for --target-defect-recall from the out-of-fold\n"
      "scores, trains on every tile and publishes REPO/<model>/<next\n"
      "version>/.");
  cli.AddString("data", &o.data_dir, "image-folder data set", true);
  cli.AddString("masks", &o.masks_dir,
                "defect masks DIR/<class>/<image stem>.png (default: a "
                "`masks` folder beside --data)");
  cli.AddString("architecture", &o.architecture,
                "segmentation (cells learnt from the masks) or cnn "
                "(whole-image labels)");
  cli.AddString("ok-label", &o.ok_label, "class folder of good parts");
  cli.AddInt("image-size", &o.image_size, "model input side in pixels");
  cli.AddString("color", &o.color_mode, "gray or rgb");
  cli.AddDouble("validation-fraction", &o.validation_fraction,
                "share of each class's tiles held out (with --folds 1)");
  cli.AddInt("folds", &o.folds,
             "k-fold cross-validation by tile (1 = one hold-out)");
  cli.AddString("publish", &o.publish,
                "all (retrain on every tile, out-of-fold threshold) or fold "
                "(the first fold's model, no retraining)");
  cli.AddDouble("target-defect-recall", &o.target_defect_recall,
                "threshold chosen to flag this share of out-of-fold defects");
  cli.AddInt("epochs", &o.epochs, "training epochs (fixed schedule)");
  cli.AddInt("batch-size", &o.batch_size, "training batch size");
  cli.AddDouble("lr", &o.learning_rate, "peak learning rate (AdamW)");
  cli.AddDouble("weight-decay", &o.weight_decay, "AdamW weight decay");
  cli.AddDouble("class-weight-power", &o.class_weight_power,
                "loss weight per class = (largest/count)^power; 0 = none");
  cli.AddString("channels", &blocks, "channels of each conv block");
  cli.AddInt("convs-per-block", &o.convs_per_block, "3x3 convs per block");
  cli.AddInt("decoder-levels", &o.decoder_levels,
             "segmentation: U-Net decoder levels, each halving the cell side");
  cli.AddInt("top-k", &o.top_k,
             "segmentation: cells averaged into the defect score");
  cli.AddInt("crop", &o.crop_size,
             "segmentation: train on random crops of this side (0 = whole)");
  cli.AddBool("anomaly-study", &o.anomaly_study,
              "segmentation: also measure an OK-only anomaly score per fold");
  cli.AddString("defect-score", &o.defect_score,
                "supervised (1 - P(ok)) or, for segmentation, calibrated "
                "(the larger of its and an OK-only anomaly score's "
                "percentiles among the good training images)");
  cli.AddString("augment", &o.augment,
                "training augmentation: symmetries (flips, transposes), "
                "shifts, both comma-separated, or none");
  cli.AddBool("flip-averaging", &o.flip_averaging,
              "serve the mean over the four flips (4x compute)");
  AddCommonOptions(cli, o, &threads);
  if (auto code = cli.ParseForMain(args, "lineserve-train")) return *code;
  if (!ParseInts(blocks, &o.block_channels)) {
    std::cerr << "lineserve-train: --channels: expected positive integers\n";
    return 2;
  }
  o.threads = threads;
  SetTorchThreads(threads);
  return Report(TrainQualityModel(o, std::cout));
}

int RunEfficiency(const std::vector<std::string>& args) {
  EfficiencyTrainOptions o;
  int threads = DefaultThreads();
  std::string hidden = "64,32";
  CommandLine cli(
      "lineserve-train efficiency --csv FILE --target COLUMN --repo REPO "
      "[options]",
      "Trains the efficiency regressor on a CSV table (one row per line and\n"
      "shift, one column the target) and publishes REPO/<model>/<next "
      "version>/.\nText columns become categories, blanks in numeric columns "
      "are filled\nwith the training median; scaling is part of the model.");
  cli.AddString("csv", &o.csv_path, "training table", true);
  std::string delimiter;
  cli.AddString("delimiter", &delimiter,
                "the table's delimiter: \",\", \";\" or tab (default: found "
                "from the header)");
  cli.AddString("target", &o.target_column, "column to predict", true);
  cli.AddList("exclude", &o.exclude, "columns to leave out");
  cli.AddList("categorical", &o.categorical,
              "numeric columns to treat as categories");
  cli.AddInt("max-categories", &o.max_categories,
             "text columns with more distinct values are left out");
  cli.AddInt("folds", &o.folds,
             "k-fold cross-validation by row (1 = one hold-out of "
             "--test-fraction)");
  cli.AddString("publish", &o.publish,
                "all (retrain on every row with the folds' median tree "
                "count) or fold (the first fold's model)");
  cli.AddDouble("test-fraction", &o.test_fraction,
                "rows held out for the reported figures (with --folds 1)");
  cli.AddDouble("validation-fraction", &o.validation_fraction,
                "share of the other rows used for early stopping");
  cli.AddString("learner", &o.learner,
                "boosting (gradient-boosted trees) or mlp");
  std::string loss = BoostingLossName(o.boosting.loss);
  std::string shape = TreeShapeName(o.boosting.shape);
  cli.AddInt("trees", &o.boosting.max_trees,
             "boosting: most trees; early stopping keeps the best count");
  std::string depths = absl::StrJoin(o.tree_depths, ",");
  cli.AddString("tree-depth", &depths,
                "boosting: levels per tree; with several (4,5,6), each fold's "
                "early-stopping rows choose");
  cli.AddString("tree-shape", &shape,
                "boosting: oblivious (one test per level) or depthwise (one "
                "per node)");
  cli.AddInt("bagging", &o.bagging,
             "boosting: ensembles from different seeds, averaged");
  cli.AddDouble("shrinkage", &o.boosting.learning_rate,
                "boosting: learning rate applied to each tree");
  cli.AddString("loss", &loss, "boosting: l1 (mean absolute error) or l2");
  cli.AddInt("epochs", &o.max_epochs, "mlp: maximum training epochs");
  cli.AddInt("patience", &o.patience,
             "mlp: stop after this many epochs without better MAE");
  cli.AddInt("batch-size", &o.batch_size, "mlp: training batch size");
  cli.AddDouble("lr", &o.learning_rate, "mlp: learning rate (AdamW)");
  cli.AddDouble("weight-decay", &o.weight_decay, "mlp: AdamW weight decay");
  cli.AddString("hidden", &hidden, "mlp: hidden layer widths");
  cli.AddInt("ensemble", &o.ensemble, "mlp: networks averaged in the model");
  cli.AddDouble("dropout", &o.dropout, "mlp: dropout after hidden layers");
  AddCommonOptions(cli, o, &threads);
  if (auto code = cli.ParseForMain(args, "lineserve-train")) return *code;
  if (!ParseInts(hidden, &o.hidden)) {
    std::cerr << "lineserve-train: --hidden: expected positive integers\n";
    return 2;
  }
  if (!ParseInts(depths, &o.tree_depths)) {
    std::cerr << "lineserve-train: --tree-depth: expected positive integers\n";
    return 2;
  }
  if (!delimiter.empty()) {
    absl::StatusOr<char> parsed = data::ParseDelimiter(delimiter);
    if (!parsed.ok()) {
      std::cerr << "lineserve-train: --delimiter: " << parsed.status().message()
                << "\n";
      return 2;
    }
    o.delimiter = *parsed;
  }
  if (!ParseChoice("loss", ParseBoostingLoss(loss), &o.boosting.loss) ||
      !ParseChoice("tree-shape", ParseTreeShape(shape), &o.boosting.shape)) {
    return 2;
  }
  SetTorchThreads(threads);
  return Report(TrainEfficiencyModel(o, std::cout));
}

// Opens `path` with the desktop's browser when there is a desktop (a
// display and xdg-open); false otherwise, or when xdg-open fails.
bool OpenInBrowser(const std::string& path) {
  const char* x11 = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  if ((x11 == nullptr || *x11 == '\0') &&
      (wayland == nullptr || *wayland == '\0')) {
    return false;
  }
  std::string program = "xdg-open";
  std::vector<char*> argv = {program.data(), const_cast<char*>(path.c_str()),
                             nullptr};
  pid_t pid = 0;
  if (posix_spawnp(&pid, program.c_str(), nullptr, nullptr, argv.data(),
                   environ) != 0) {
    return false;
  }
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

int RunReport(const std::vector<std::string>& args) {
  std::string repository;
  bool html = false;
  CommandLine cli("lineserve-train report --repo REPO [--html]",
                  "Prints the evaluation (metrics.json) of the newest version "
                  "of every\nmodel in a model repository. With --html, "
                  "writes each one's report.html\n(confusion matrix, ROC and "
                  "precision-recall curves, residuals, the\nprevious version "
                  "beside it), prints where it is and opens it when a\n"
                  "desktop is present.");
  cli.AddString("repo", &repository, "model repository", true);
  cli.AddBool("html", &html,
              "write and open the newest versions' HTML reports");
  if (auto code = cli.ParseForMain(args, "lineserve-train")) return *code;
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> models;
  for (const auto& entry : fs::directory_iterator(repository, ec)) {
    if (entry.is_directory()) models.push_back(entry.path());
  }
  if (ec) {
    std::cerr << "lineserve-train: " << repository << ": " << ec.message()
              << "\n";
    return 1;
  }
  std::sort(models.begin(), models.end());
  int shown = 0, failed = 0;
  for (const fs::path& model : models) {
    const int64_t version = NextModelVersion(model.string()) - 1;
    if (version < 1) continue;
    const fs::path report = model / std::to_string(version) / "metrics.json";
    const absl::StatusOr<nlohmann::json> metrics =
        ReadVersionMetrics((model / std::to_string(version)).string());
    if (!metrics.ok()) {
      if (absl::IsNotFound(metrics.status())) {
        std::cout << model.filename().string() << " v" << version
                  << ": no metrics.json\n";
      } else {
        std::cout << metrics.status().message() << "\n";
      }
      continue;
    }
    ++shown;
    if (!html) {
      std::cout << model.filename().string() << " v" << version << "  ("
                << report.string() << ")\n";
      std::cout << FiguresInWords(*metrics, "    ");
      continue;
    }
    absl::StatusOr<std::string> page = WriteHtmlReport(model.string(), version);
    if (!page.ok()) {
      std::cerr << "lineserve-train: " << page.status().message() << "\n";
      ++failed;
      continue;
    }
    const std::string url =
        absl::StrCat("file://", fs::absolute(*page, ec).string());
    std::cout << model.filename().string() << " v" << version << ": " << url
              << (OpenInBrowser(*page) ? "  (opened)" : "") << "\n";
  }
  if (shown == 0) {
    std::cerr << "lineserve-train: no trained model under " << repository
              << "\n";
    return 1;
  }
  return failed == 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" ||
      args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::cout << VersionLine("lineserve-train",
                             absl::StrCat("LibTorch ", TORCH_VERSION))
              << "\n";
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  if (command == "quality") return RunQuality(args);
  if (command == "efficiency") return RunEfficiency(args);
  if (command == "datagen") return RunDatagenCommand(args);
  if (command == "report") return RunReport(args);
  std::cerr << "lineserve-train: unknown command '" << command << "'\n\n"
            << kUsage;
  return 2;
}

}  // namespace
}  // namespace lineserve::train

int main(int argc, char** argv) {
  lineserve::ConfigureAllocator();  // before LibTorch allocates
  return lineserve::train::Main(argc, argv);
}
