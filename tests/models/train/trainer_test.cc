// End to end: tiny training runs on data the test generates, checked
// through the artifacts the server will read (config.pbtxt, model.pt,
// metrics.json), loaded the way the server loads them.
#include <torch/script.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "models/config/model_config.h"
#include "models/preprocess/image.h"
#include "models/preprocess/image_encode.h"
#include "models/preprocess/image_preprocessor.h"
#include "models/preprocess/tabular_encoder.h"
#include "models/train/efficiency_trainer.h"
#include "models/train/networks.h"
#include "models/train/quality_trainer.h"

namespace lineserve::train {
namespace {
namespace fs = std::filesystem;

// The config version `version` of the model in `model_dir` runs with: its
// model.json over config.pbtxt, as the server reads them.
absl::StatusOr<lineserve::v1::ModelConfig> PublishedConfig(
    const fs::path& model_dir, int64_t version) {
  auto serving = LoadModelConfig((model_dir / "config.pbtxt").string());
  if (!serving.ok()) return serving.status();
  return LoadVersionConfig(*serving,
                           (model_dir / std::to_string(version)).string());
}

fs::path FreshDir(const std::string& name) {
  fs::path dir =
      fs::path(::testing::TempDir()) / absl::StrCat("trainer_", name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Grey noise; "spot" adds a dark disc, "scratch" a bright line, both
// marked in `mask` (white = defect). Sizes vary so letterboxing is
// exercised.
preprocess::Image MakeSurface(const std::string& label, std::mt19937& rng,
                              preprocess::Image* mask) {
  preprocess::Image image;
  image.width = 40 + rng() % 24;
  image.height = 32 + rng() % 16;
  image.channels = 1;
  image.data.resize(image.width * image.height);
  std::uniform_real_distribution<float> noise(0.45f, 0.55f);
  for (float& v : image.data) v = noise(rng);
  *mask = image;
  std::fill(mask->data.begin(), mask->data.end(), 0.0f);
  const int cx = 10 + rng() % (image.width - 20);
  const int cy = 10 + rng() % (image.height - 20);
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      if (label == "spot" && (x - cx) * (x - cx) + (y - cy) * (y - cy) < 25) {
        image.at(y, x, 0) = 0.05f;
        mask->at(y, x, 0) = 1.0f;
      }
      if (label == "scratch" && std::abs(x - cx) <= 1) {
        image.at(y, x, 0) = 0.95f;
        mask->at(y, x, 0) = 1.0f;
      }
    }
  }
  return image;
}

// DIR/images/<class>/exp<E>_num_<N>.png and DIR/masks/<class>/...: four
// "tiles" of three exposures per class, named the magnetic-tile way.
fs::path MakeImageFolder(const std::string& name) {
  const fs::path root = FreshDir(name);
  std::mt19937 rng(3);
  int num = 100;
  for (const std::string label : {"ok", "scratch", "spot"}) {
    fs::create_directories(root / "images" / label);
    fs::create_directories(root / "masks" / label);
    for (int i = 0; i < 12; ++i) {
      if (i % 3 == 0) num += 1000;
      const std::string file =
          absl::StrCat("exp", i % 3 + 1, "_num_", num + 10 * (i % 3), ".png");
      preprocess::Image mask;
      auto png = preprocess::EncodePng(MakeSurface(label, rng, &mask));
      auto mask_png = preprocess::EncodePng(mask);
      EXPECT_TRUE(png.ok() && mask_png.ok());
      std::ofstream(root / "images" / label / file, std::ios::binary) << *png;
      std::ofstream(root / "masks" / label / file, std::ios::binary)
          << *mask_png;
    }
  }
  return root / "images";
}

QualityTrainOptions TinyQualityOptions(const fs::path& data,
                                       const fs::path& repo) {
  QualityTrainOptions o;
  o.data_dir = data.string();
  o.repository = repo.string();
  o.image_size = 32;
  o.epochs = 2;
  o.batch_size = 8;
  o.block_channels = {4, 8};
  o.max_batch_size = 4;
  o.force = true;  // tiny models: seconds, not accuracy (the gate's own test)
  // One hold-out, its model published: one training per run.
  o.folds = 1;
  o.publish = "fold";
  return o;
}

TEST(TrainerTest, QualityRunPublishesLoadableModelMatchingItsConfig) {
  const fs::path data = MakeImageFolder("quality");
  const fs::path repo = data.parent_path() / "repo";
  std::ostringstream log;
  auto result = TrainQualityModel(TinyQualityOptions(data, repo), log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  EXPECT_EQ(result->version, 1);
  EXPECT_THAT(log.str(), ::testing::HasSubstr("epoch   2/2"));

  const fs::path model_dir = repo / "quality_inspection";
  auto config = PublishedConfig(model_dir, 1);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(config->classification().labels(),
              ::testing::ElementsAre("ok", "scratch", "spot"));
  EXPECT_EQ(config->classification().ok_label(), "ok");

  // The server's path: preprocess the bytes, stack, forward.
  auto preprocessor = preprocess::ImagePreprocessor::Create(config->image());
  ASSERT_TRUE(preprocessor.ok());
  auto bytes = ReadFile((data / "spot" / "exp1_num_9100.png").string());
  ASSERT_TRUE(bytes.ok());
  torch::Tensor batch =
      torch::empty({2, preprocessor->channels(), preprocessor->height(),
                    preprocessor->width()});
  ASSERT_TRUE(preprocessor->Process(*bytes, batch[0].data_ptr<float>()).ok());
  ASSERT_TRUE(preprocessor->Process(*bytes, batch[1].data_ptr<float>()).ok());
  torch::jit::Module module =
      torch::jit::load((model_dir / "1" / "model.pt").string());
  module.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor logits = ImageScores(module.forward({batch}));
  ASSERT_EQ(logits.dim(), 2);
  EXPECT_EQ(logits.size(0), 2);
  EXPECT_EQ(logits.size(1), config->output(0).dims(0));
  EXPECT_TRUE(torch::allclose(logits[0], logits[1]));
  const c10::List<c10::IValue> labels = module.attr("labels").toList();
  ASSERT_EQ(labels.size(), 3u);
  for (size_t i = 0; i < labels.size(); ++i) {
    EXPECT_EQ(labels.get(i).toStringRef(), config->classification().labels(i));
  }

  auto metrics_text = ReadFile((model_dir / "1" / "metrics.json").string());
  ASSERT_TRUE(metrics_text.ok());
  const auto metrics = nlohmann::json::parse(*metrics_text);
  for (const char* key :
       {"accuracy", "macro_f1", "defect_vs_ok_accuracy", "defect_recall",
        "defect_precision", "per_class", "confusion_matrix"}) {
    EXPECT_TRUE(metrics.contains(key)) << key;
  }
  EXPECT_EQ(metrics["confusion_matrix"].size(), 3u);

  // A second run is the next version; no staging folder is left behind.
  auto second = TrainQualityModel(TinyQualityOptions(data, repo), log);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->version, 2);
  for (const auto& entry : fs::directory_iterator(model_dir)) {
    EXPECT_NE(entry.path().filename().string().rfind(".staging", 0), 0u)
        << entry.path();
  }
}

TEST(TrainerTest, ThresholdChosenForTargetRecallIsWrittenIntoConfig) {
  const fs::path data = MakeImageFolder("threshold");
  const fs::path repo = data.parent_path() / "repo";
  QualityTrainOptions o = TinyQualityOptions(data, repo);
  o.target_defect_recall = 0.9;
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();

  const auto& metrics = result->metrics;
  EXPECT_EQ(metrics["split"]["method"], "grouped_by_tile");
  EXPECT_EQ(metrics["split"]["tiles"], 12);
  EXPECT_EQ(metrics["training"]["architecture"], "segmentation");
  const auto& scores = metrics["defect_score"];
  EXPECT_EQ(scores["target_defect_recall"], 0.9);
  EXPECT_GE(scores["at_target"]["defect_recall"].get<double>(), 0.9);
  EXPECT_GE(scores["roc_auc"].get<double>(), 0.0);
  EXPECT_FALSE(scores["roc_curve"].empty());

  auto config = PublishedConfig(repo / "quality_inspection", 1);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->classification().has_defect_threshold());
  EXPECT_FLOAT_EQ(config->classification().defect_threshold(),
                  metrics["defect_threshold"].get<float>());
  EXPECT_GT(config->classification().defect_threshold(), 0.0f);
  EXPECT_LT(config->classification().defect_threshold(), 1.0f);

  // The segmentation network's extra view: a defect map per cell.
  torch::jit::Module module =
      torch::jit::load(result->version_dir + "/model.pt");
  module.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor heat =
      module.get_method("heatmap")({torch::zeros({1, 1, 32, 32})}).toTensor();
  EXPECT_EQ(heat.sizes(), (std::vector<int64_t>{1, 16, 16}));
  // Served as the config's output[1]: every label's probability per cell.
  ASSERT_EQ(config->output_size(), 2);
  EXPECT_EQ(config->output(1).name(), "cell_probabilities");
  const std::vector<int64_t> map_dims(config->output(1).dims().begin(),
                                      config->output(1).dims().end());
  const int64_t labels = config->classification().labels_size();
  EXPECT_EQ(map_dims, (std::vector<int64_t>{labels, 16, 16}));
  const auto outputs =
      module.forward({torch::zeros({2, 1, 32, 32})}).toTupleRef().elements();
  ASSERT_EQ(outputs.size(), 2u);
  EXPECT_EQ(outputs[1].toTensor().sizes(),
            (std::vector<int64_t>{2, labels, 16, 16}));
}

TEST(TrainerTest, KFoldTrainsAndReportsEveryFold) {
  const fs::path data = MakeImageFolder("kfold");
  QualityTrainOptions o = TinyQualityOptions(data, data.parent_path() / "r");
  o.folds = 2;
  o.epochs = 1;
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  const auto& cv = result->metrics["cross_validation"];
  ASSERT_EQ(cv["folds"].size(), 2u);
  for (const char* key : {"roc_auc", "false_alarm_rate", "threshold"}) {
    EXPECT_TRUE(cv["mean"].contains(key)) << key;
    EXPECT_TRUE(cv["std"].contains(key)) << key;
  }
  // Half the tiles of each class are validated in each fold.
  EXPECT_EQ(result->metrics["split"]["validation_count"], 18);
  EXPECT_THAT(log.str(), ::testing::HasSubstr("fold 2/2"));
}

// Two folds of one epoch on a new image folder, with the anomaly study.
QualityTrainOptions AnomalyStudyOptions(const std::string& name) {
  const fs::path data = MakeImageFolder(name);
  QualityTrainOptions o = TinyQualityOptions(data, data.parent_path() / "r");
  o.folds = 2;
  o.epochs = 1;
  o.anomaly_study = true;
  return o;
}

TEST(TrainerTest, AnomalyStudyReportsEveryScoreOnEveryFold) {
  QualityTrainOptions o = AnomalyStudyOptions("anomaly");
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  const auto& study = result->metrics["anomaly_study"];
  ASSERT_EQ(study["folds"].size(), 2u);
  for (const char* score :
       {"supervised", "anomaly", "mean_percentile", "max_percentile"}) {
    for (const auto& figures : {study[score], study["folds"][0][score]}) {
      const double auc = figures["roc_auc"].get<double>();
      EXPECT_GE(auc, 0.0) << score;
      EXPECT_LE(auc, 1.0) << score;
      EXPECT_TRUE(figures.contains("false_alarm_rate")) << score;
    }
  }
  // The supervised score is the one each fold is reported with.
  for (size_t f = 0; f < 2; ++f) {
    EXPECT_DOUBLE_EQ(study["folds"][f]["supervised"]["roc_auc"].get<double>(),
                     result->metrics["cross_validation"]["folds"][f]["roc_auc"]
                         .get<double>());
  }
  EXPECT_THAT(log.str(), ::testing::HasSubstr("anomaly study, anomaly"));
}

// --defect-score calibrated serves the study's max_percentile score: each
// fold's reported figures are the study's for that score (up to float
// rounding at ties), and the published model carries its calibration.
TEST(TrainerTest, CalibratedDefectScoreServesTheStudysMaxPercentile) {
  QualityTrainOptions o = AnomalyStudyOptions("calibrated");
  o.defect_score = "calibrated";
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  const auto& study = result->metrics["anomaly_study"];
  for (size_t f = 0; f < 2; ++f) {
    EXPECT_NEAR(study["folds"][f]["max_percentile"]["roc_auc"].get<double>(),
                result->metrics["cross_validation"]["folds"][f]["roc_auc"]
                    .get<double>(),
                0.03);
  }
  EXPECT_EQ(result->metrics["training"]["defect_score"], "calibrated");
  torch::jit::Module module =
      torch::jit::load(result->version_dir + "/model.pt");
  EXPECT_TRUE(module.attr("calibrated").toBool());
  EXPECT_GT(module.attr("good_supervised").toTensor().numel(), 0);

  // The verdict threshold is on the calibrated scale; the defect map's
  // cells keep the classifier's, so the config records their own threshold:
  // the one the same networks, uncalibrated, are given as their verdict's.
  auto config = PublishedConfig(fs::path(o.repository) / o.model_name, 1);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->classification().has_cell_threshold());
  EXPECT_FLOAT_EQ(config->classification().cell_threshold(),
                  result->metrics["cell_threshold"].get<float>());
  QualityTrainOptions supervised = o;
  supervised.defect_score = "supervised";
  supervised.repository = o.repository + "-supervised";
  auto uncalibrated = TrainQualityModel(supervised, log);
  ASSERT_TRUE(uncalibrated.ok()) << uncalibrated.status();
  auto supervised_config =
      PublishedConfig(fs::path(supervised.repository) / o.model_name, 1);
  ASSERT_TRUE(supervised_config.ok()) << supervised_config.status();
  EXPECT_FLOAT_EQ(config->classification().cell_threshold(),
                  supervised_config->classification().defect_threshold());
  EXPECT_FALSE(supervised_config->classification().has_cell_threshold());
  EXPECT_FALSE(uncalibrated->metrics.contains("cell_threshold"));

  o.defect_score = "percentile";
  EXPECT_EQ(TrainQualityModel(o, log).status().code(),
            absl::StatusCode::kInvalidArgument);
  o.defect_score = "calibrated";
  o.architecture = "cnn";
  EXPECT_EQ(TrainQualityModel(o, log).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// --augment: "none" trains on the images as they are, so the same seed
// learns other weights than with the default flips, transposes and shifts;
// the choice is recorded, and an unknown name is refused naming it.
TEST(TrainerTest, AugmentationIsChosenAndRecorded) {
  const fs::path data = MakeImageFolder("augment");
  QualityTrainOptions o = TinyQualityOptions(data, data.parent_path() / "r");
  o.epochs = 1;
  std::ostringstream log;
  auto augmented = TrainQualityModel(o, log);
  ASSERT_TRUE(augmented.ok()) << augmented.status() << "\n" << log.str();
  EXPECT_EQ(augmented->metrics["training"]["augment"], "symmetries,shifts");

  QualityTrainOptions plain = o;
  plain.augment = "none";
  plain.repository = o.repository + "-plain";
  auto unaugmented = TrainQualityModel(plain, log);
  ASSERT_TRUE(unaugmented.ok()) << unaugmented.status();
  EXPECT_EQ(unaugmented->metrics["training"]["augment"], "none");
  auto first_weights = [](const std::string& dir) {
    torch::jit::Module m = torch::jit::load(dir + "/model.pt");
    return (*m.parameters().begin()).clone();
  };
  const torch::Tensor a = first_weights(augmented->version_dir);
  const torch::Tensor b = first_weights(unaugmented->version_dir);
  ASSERT_EQ(a.sizes(), b.sizes());
  EXPECT_FALSE(torch::equal(a, b));

  plain.augment = "symmetries,rotations";
  const absl::Status bad = TrainQualityModel(plain, log).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()),
              ::testing::HasSubstr("\"rotations\""));
}

TEST(TrainerTest, PublishingAllTilesUsesTheOutOfFoldThreshold) {
  const fs::path data = MakeImageFolder("alltiles");
  const fs::path repo = data.parent_path() / "r";
  QualityTrainOptions o = TinyQualityOptions(data, repo);
  o.folds = 2;
  o.publish = "all";
  o.epochs = 1;
  o.force = false;  // the second run's gate reads the first's figure
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  EXPECT_THAT(log.str(), ::testing::HasSubstr("out-of-fold validation"));
  EXPECT_THAT(log.str(), ::testing::HasSubstr("all tiles loss"));
  const auto& metrics = result->metrics;
  EXPECT_EQ(metrics["training"]["published_on"], "all_tiles");
  EXPECT_EQ(metrics["split"]["figures"], "out_of_fold");
  // Every image is validated once, by the fold that did not train on it,
  // and the published model trained on all of them.
  EXPECT_EQ(metrics["split"]["validation_count"], 36);
  EXPECT_EQ(metrics["split"]["train_count"], 36);
  EXPECT_EQ(metrics["count"], 36);

  // The threshold is the out-of-fold one: the highest that flags the target
  // share of the pooled defects.
  const auto& scores = metrics["defect_score"];
  EXPECT_EQ(scores["defects"].get<int>() + scores["oks"].get<int>(), 36);
  EXPECT_GE(scores["at_target"]["defect_recall"].get<double>(),
            o.target_defect_recall);
  auto config = PublishedConfig(repo / "quality_inspection", 1);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FLOAT_EQ(config->classification().defect_threshold(),
                  metrics["defect_threshold"].get<float>());

  // Each fold also reports the threshold its neighbours chose, applied to it.
  for (const auto& fold : metrics["cross_validation"]["folds"]) {
    for (const char* key :
         {"held_out_threshold", "held_out_defect_recall",
          "held_out_false_alarm_rate", "flagged_scratch", "flagged_spot"}) {
      EXPECT_TRUE(fold.contains(key)) << key;
    }
  }
  EXPECT_TRUE(metrics["cross_validation"]["mean"].contains(
      "held_out_false_alarm_rate"));

  // Retraining the same way is held against version 1's out-of-fold figure
  // (version 1 has seen every tile): same seed, same figure, published.
  auto second = TrainQualityModel(o, log);
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << log.str();
  const auto& gate = second->metrics["quality_gate"];
  ASSERT_TRUE(gate["references"].contains("version 1 (out-of-fold)"))
      << gate.dump();
  EXPECT_DOUBLE_EQ(gate["references"]["version 1 (out-of-fold)"].get<double>(),
                   scores["roc_auc"].get<double>());
}

TEST(TrainerTest, UnknownPublishChoiceIsAnError) {
  const fs::path data = MakeImageFolder("publishchoice");
  QualityTrainOptions o = TinyQualityOptions(data, data.parent_path() / "r");
  o.publish = "best";
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr("--publish"));
}

TEST(TrainerTest, WholeImageCnnNeedsNoMasks) {
  const fs::path data = MakeImageFolder("cnn");
  fs::remove_all(data.parent_path() / "masks");
  QualityTrainOptions o = TinyQualityOptions(data, data.parent_path() / "r");
  o.architecture = "cnn";
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  EXPECT_EQ(result->metrics["training"]["architecture"], "cnn");

  o.architecture = "segmentation";
  auto missing = TrainQualityModel(o, log);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("--masks"));
}

TEST(TrainerTest, SameSeedSameModel) {
  const fs::path data = MakeImageFolder("seed");
  std::ostringstream log;
  auto a = TrainQualityModel(TinyQualityOptions(data, data.parent_path() / "a"),
                             log);
  auto b = TrainQualityModel(TinyQualityOptions(data, data.parent_path() / "b"),
                             log);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->metrics["confusion_matrix"], b->metrics["confusion_matrix"]);
  torch::jit::Module ma = torch::jit::load(a->version_dir + "/model.pt");
  torch::jit::Module mb = torch::jit::load(b->version_dir + "/model.pt");
  auto pa = ma.parameters().begin();
  for (const auto& p : mb.parameters()) {
    EXPECT_TRUE(torch::equal(*pa, p));
    ++pa;
  }
}

TEST(TrainerTest, MissingOkClassIsAnError) {
  const fs::path data = MakeImageFolder("nook");
  QualityTrainOptions o = TinyQualityOptions(data, data.parent_path() / "r");
  o.ok_label = "good";
  std::ostringstream log;
  auto result = TrainQualityModel(o, log);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(result.status().message(), ::testing::HasSubstr("--ok-label"));
}

TEST(TrainerTest, RetrainingPublishesSelfContainedVersionsWithoutOverwrite) {
  const fs::path dir = FreshDir("retrain");
  {
    std::ofstream csv(dir / "table.csv");
    csv << "team,incentive,wip,target\n";
    std::mt19937 rng(7);
    for (int i = 0; i < 120; ++i) {
      const int incentive = rng() % 120;
      csv << (i % 5) + 1 << "," << incentive << ","
          << (i % 3 == 0 ? "" : std::to_string(900 + rng() % 400)) << ","
          << 0.4 + 0.004 * incentive << "\n";
    }
  }
  EfficiencyTrainOptions o;
  o.force = true;  // tiny models; the quality gate has its own test
  o.csv_path = (dir / "table.csv").string();
  o.target_column = "target";
  o.repository = (dir / "repo").string();
  o.boosting.max_trees = 20;
  std::ostringstream log;
  ASSERT_TRUE(TrainEfficiencyModel(o, log).ok()) << log.str();
  const fs::path model_dir = dir / "repo" / "efficiency_prediction";
  const std::string v1_contract =
      *ReadFile((model_dir / "1/model.json").string());
  auto serving = LoadModelConfig((model_dir / "config.pbtxt").string());
  ASSERT_TRUE(serving.ok()) << serving.status();
  EXPECT_FALSE(HasContract(*serving));

  // Another seed gives other medians and another model: it publishes
  // without --overwrite-config, and version 1 answers as before (forced:
  // the quality gate is another test's subject).
  o.seed = 2;
  o.force = true;
  std::ostringstream again;
  auto second = TrainEfficiencyModel(o, again);
  ASSERT_TRUE(second.ok()) << second.status() << "\n" << again.str();
  EXPECT_EQ(second->version, 2);
  EXPECT_THAT(again.str(),
              ::testing::HasSubstr("contract: same inputs, labels and features "
                                   "as version 1"));
  EXPECT_EQ(*ReadFile((model_dir / "1/model.json").string()), v1_contract);
  EXPECT_TRUE(PublishedConfig(model_dir, 2).ok());
}

TEST(TrainerTest, QualityGateRefusesAWorseModelUnlessForced) {
  const fs::path dir = FreshDir("gate");
  {
    std::ofstream csv(dir / "table.csv");
    csv << "team,incentive,target\n";
    std::mt19937 rng(3);
    for (int i = 0; i < 150; ++i) {
      const int incentive = rng() % 120;
      csv << (i % 5) + 1 << "," << incentive << "," << 0.3 + 0.005 * incentive
          << "\n";
    }
  }
  EfficiencyTrainOptions o;
  o.csv_path = (dir / "table.csv").string();
  o.target_column = "target";
  o.repository = (dir / "repo").string();
  o.boosting.max_trees = 60;
  std::ostringstream log;
  ASSERT_TRUE(TrainEfficiencyModel(o, log).ok()) << log.str();
  // A starved model (one tree) on the same data is worse than version 1.
  o.boosting.max_trees = 1;
  std::ostringstream refused_log;
  auto refused = TrainEfficiencyModel(o, refused_log);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition)
      << refused_log.str();
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("worse than version 1"));
  const fs::path model_dir = dir / "repo" / "efficiency_prediction";
  EXPECT_FALSE(fs::exists(model_dir / "2"));
  o.force = true;
  std::ostringstream forced_log;
  auto forced = TrainEfficiencyModel(o, forced_log);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_TRUE(forced->metrics["quality_gate"]["forced"].get<bool>());
  // Version 1 was trained on every row: it is held at its own out-of-fold
  // figure, not scored on rows it has seen.
  EXPECT_EQ(forced->metrics["quality_gate"]["references"].count(
                "version 1 (out-of-fold)"),
            1u);
  const std::string fingerprint =
      forced->metrics["training"]["data_fingerprint"].get<std::string>();
  EXPECT_THAT(fingerprint, ::testing::StartsWith("fnv1a64:"));

  // The same table under another name is the same data: version 2 is held
  // at its recorded figure. One row more is other data: version 3 is
  // scored on the new run's validation rows instead.
  fs::copy_file(dir / "table.csv", dir / "copy.csv");
  o.csv_path = (dir / "copy.csv").string();
  auto copied = TrainEfficiencyModel(o, forced_log);
  ASSERT_TRUE(copied.ok()) << copied.status();
  EXPECT_EQ(copied->metrics["training"]["data_fingerprint"], fingerprint);
  EXPECT_EQ(copied->metrics["quality_gate"]["references"].count(
                "version 2 (out-of-fold)"),
            1u);
  std::ofstream(dir / "copy.csv", std::ios::app) << "3,60,0.6\n";
  auto changed = TrainEfficiencyModel(o, forced_log);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_NE(changed->metrics["training"]["data_fingerprint"], fingerprint);
  const auto& references = changed->metrics["quality_gate"]["references"];
  EXPECT_EQ(references.count("version 3 (out-of-fold)"), 0u);
  EXPECT_EQ(references.count("version 3"), 1u);
}

// A table as a spreadsheet in a decimal-comma locale exports it: byte order
// mark, semicolons, quoted text. One cell of a number column is not a
// number: the run names it instead of turning the column into categories.
TEST(TrainerTest, EfficiencyReadsSpreadsheetExportsAndNamesABadCell) {
  const fs::path dir = FreshDir("efficiency_csv");
  auto write = [&](const std::string& bad_cell) {
    std::ofstream csv(dir / "table.csv", std::ios::binary);
    csv << "\xEF\xBB\xBFquarter;\"team; name\";incentive;target\n";
    for (int i = 0; i < 40; ++i) {
      const std::string incentive =
          i == 17 ? bad_cell : std::to_string((i * 37) % 100);
      csv << "Quarter" << 1 + i % 4 << ";\"t" << i % 3 << "\";" << incentive
          << ";" << 0.5 + 0.004 * ((i * 37) % 100) << "\n";
    }
  };
  EfficiencyTrainOptions o;
  o.csv_path = (dir / "table.csv").string();
  o.target_column = "target";
  o.repository = (dir / "repo").string();
  o.folds = 2;
  o.publish = "fold";
  o.bagging = 1;
  o.boosting.max_trees = 20;
  o.force = true;
  write("45");
  std::ostringstream log;
  auto result = TrainEfficiencyModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  auto config = PublishedConfig(dir / "repo" / "efficiency_prediction", 1);
  ASSERT_TRUE(config.ok()) << config.status();
  std::vector<std::string> features;
  for (const auto& f : config->tabular().features()) {
    features.push_back(f.name());
    if (f.name() == "incentive") {
      EXPECT_EQ(f.kind(), lineserve::v1::Feature::KIND_NUMERIC);
    }
  }
  EXPECT_THAT(features, ::testing::UnorderedElementsAre("quarter", "team; name",
                                                        "incentive"));

  // Line 19 of the file (header, then rows from line 2) holds row 17.
  write("4,5");
  auto refused = TrainEfficiencyModel(o, log);
  ASSERT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(refused.status().message(),
            o.csv_path +
                ": line 19, column \"incentive\": \"4,5\" is not a number, "
                "while 39 of the column's 40 filled cells are (fix the cell, "
                "or name the column in --categorical or --exclude)");
  // Named as categories, the column is read as the user asks.
  o.categorical = {"incentive"};
  EXPECT_TRUE(TrainEfficiencyModel(o, log).ok());
}

TEST(TrainerTest, EfficiencyCrossValidatesAndPublishesAModelOfEveryRow) {
  const fs::path dir = FreshDir("efficiency_cv");
  {
    std::ofstream csv(dir / "table.csv");
    csv << "team,incentive,targeted_productivity,target\n";
    std::mt19937 rng(11);
    for (int i = 0; i < 103; ++i) {
      const int incentive = rng() % 120;
      csv << (i % 5) + 1 << "," << incentive << ",0.7,"
          << 0.3 + 0.005 * incentive + 0.01 * (rng() % 5) << "\n";
    }
  }
  EfficiencyTrainOptions o;
  o.csv_path = (dir / "table.csv").string();
  o.target_column = "target";
  o.repository = (dir / "repo").string();
  o.boosting.max_trees = 80;
  std::ostringstream log;
  auto result = TrainEfficiencyModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  const auto& metrics = result->metrics;
  // Every row is predicted once, by the fold model that did not train on
  // it; the published model trained on all of them.
  EXPECT_EQ(metrics["split"]["method"], "kfold");
  EXPECT_EQ(metrics["split"]["figures"], "out_of_fold");
  EXPECT_EQ(metrics["split"]["test_count"], 103);
  EXPECT_EQ(metrics["split"]["train_count"], 103);
  EXPECT_EQ(metrics["count"], 103);
  EXPECT_EQ(metrics["training"]["published_on"], "all_rows");
  const auto& folds = metrics["cross_validation"]["folds"];
  ASSERT_EQ(folds.size(), 5u);
  // Each fold's early-stopping rows chose its depth among 4, 5 and 6; the
  // published model has the depth most folds chose (the shallower on a
  // tie) and the median tree count of those folds.
  std::map<int, std::vector<int>> trees_by_depth;
  for (const auto& fold : folds) {
    for (const char* key :
         {"mae", "rmse", "r2", "baseline_training_mean_mae",
          "baseline_targeted_productivity_mae", "trees", "depth"}) {
      EXPECT_TRUE(fold.contains(key)) << key;
    }
    const int depth = fold["depth"].get<int>();
    EXPECT_TRUE(depth == 4 || depth == 5 || depth == 6) << depth;
    trees_by_depth[depth].push_back(fold["trees"].get<int>());
  }
  int chosen = 0;
  for (const auto& [depth, trees] : trees_by_depth) {
    if (chosen == 0 || trees.size() > trees_by_depth[chosen].size()) {
      chosen = depth;
    }
  }
  std::vector<int> trees = trees_by_depth[chosen];
  std::sort(trees.begin(), trees.end());
  const size_t n = trees.size();
  const double median =
      n % 2 ? trees[n / 2] : 0.5 * (trees[n / 2 - 1] + trees[n / 2]);
  EXPECT_EQ(metrics["training"]["depth"], chosen);
  EXPECT_EQ(metrics["training"]["tree_shape"], "depthwise");
  EXPECT_EQ(metrics["training"]["trees"],
            std::max(1, static_cast<int>(std::lround(median))));
  EXPECT_EQ(metrics["training"]["trees_fitted"], metrics["training"]["trees"]);
  EXPECT_TRUE(metrics["cross_validation"]["mean"].contains("mae"));
  EXPECT_LT(metrics["mae"].get<double>(),
            metrics["baselines"]["training_mean"]["mae"].get<double>());
  EXPECT_THAT(log.str(), ::testing::HasSubstr("fold 5/5"));
  EXPECT_THAT(log.str(), ::testing::HasSubstr("out-of-fold: MAE"));
}

TEST(TrainerTest, EfficiencyRunBakesScalingAndEncodesLikeTheServer) {
  const fs::path dir = FreshDir("efficiency");
  {
    std::ofstream csv(dir / "table.csv");
    csv << "date,department,team,incentive,wip,target\n";
    std::mt19937 rng(5);
    for (int i = 0; i < 120; ++i) {
      const bool sewing = i % 2 == 0;
      const int incentive = rng() % 120;
      const double target = 0.4 + 0.004 * incentive + (sewing ? 0.1 : 0.0);
      csv << "1/" << (i % 31) + 1 << "/2015,"
          << (sewing ? "sweing" : "finishing ") << "," << (i % 5) + 1 << ","
          << incentive << ","
          << (sewing ? std::to_string(900 + rng() % 400) : "") << "," << target
          << "\n";
    }
  }
  EfficiencyTrainOptions o;
  o.force = true;  // tiny models; the quality gate has its own test
  o.csv_path = (dir / "table.csv").string();
  o.target_column = "target";
  o.repository = (dir / "repo").string();
  o.max_epochs = 40;
  o.ensemble = 2;
  std::ostringstream log;
  auto result = TrainEfficiencyModel(o, log);
  ASSERT_TRUE(result.ok()) << result.status() << "\n" << log.str();
  EXPECT_THAT(log.str(),
              ::testing::HasSubstr("leaving out column 'date': dates"));
  EXPECT_TRUE(result->metrics["baselines"].contains("training_mean"));
  for (const char* key : {"mae", "rmse", "r2"}) {
    EXPECT_TRUE(result->metrics.contains(key)) << key;
  }

  auto config =
      PublishedConfig(fs::path(o.repository) / "efficiency_prediction", 1);
  ASSERT_TRUE(config.ok()) << config.status();
  auto encoder = preprocess::TabularEncoder::Create(config->tabular());
  ASSERT_TRUE(encoder.ok());
  // wip is blank on finishing rows, so it is optional; a client may omit it.
  std::vector<float> row(encoder->width());
  ASSERT_TRUE(encoder
                  ->Encode({{"department", std::string("finishing")},
                            {"team", 2.0},
                            {"incentive", 60.0}},
                           row.data())
                  .ok());
  torch::jit::Module module =
      torch::jit::load(result->version_dir + "/model.pt");
  module.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor y =
      module.forward({torch::tensor(row).unsqueeze(0)}).toTensor();
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 1}));
  EXPECT_TRUE(std::isfinite(y.item<float>()));
}

}  // namespace
}  // namespace lineserve::train
