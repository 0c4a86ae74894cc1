#include "models/train/efficiency_trainer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <random>
#include <set>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/config/model_config.h"
#include "models/data/csv_table.h"
#include "models/data/split.h"
#include "models/preprocess/tabular_encoder.h"
#include "models/train/evaluation.h"
#include "models/train/model_artifacts.h"
#include "models/train/networks.h"
#include "models/train/progress.h"
#include "models/train/publish.h"
#include "models/train/quality_gate.h"

namespace lineserve::train {
namespace {

using lineserve::v1::Feature;
using lineserve::v1::ModelConfig;
using preprocess::TabularEncoder;

// A column the model reads, with where it sits in the CSV.
struct FeatureColumn {
  size_t csv_index = 0;
  Feature feature;
};

// "1/31/2015", "2015-01-31": three integers joined by '/' or '-'.
bool LooksLikeDate(absl::string_view cell) {
  cell = absl::StripAsciiWhitespace(cell);
  for (char separator : {'/', '-'}) {
    std::vector<absl::string_view> parts = absl::StrSplit(cell, separator);
    int value = 0;
    if (parts.size() == 3 &&
        std::all_of(parts.begin(), parts.end(), [&](absl::string_view p) {
          return !p.empty() && absl::SimpleAtoi(p, &value);
        })) {
      return true;
    }
  }
  return false;
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 ? values[mid]
                           : 0.5 * (values[mid - 1] + values[mid]);
}

// Chooses the features from the table: numeric columns stay numbers (with
// the training median standing in for blanks), text columns with few
// distinct values become categories, the rest are left out with a notice.
std::vector<FeatureColumn> ChooseFeatures(const EfficiencyTrainOptions& options,
                                          const data::CsvTable& table,
                                          size_t target,
                                          const std::vector<int>& train_rows,
                                          std::ostream& log) {
  const absl::flat_hash_set<std::string> excluded(options.exclude.begin(),
                                                  options.exclude.end());
  const absl::flat_hash_set<std::string> forced(options.categorical.begin(),
                                                options.categorical.end());
  std::vector<FeatureColumn> features;
  for (size_t c = 0; c < table.columns.size(); ++c) {
    const std::string& name = table.columns[c];
    if (c == target || excluded.contains(name)) continue;
    bool has_blank = false;
    for (const auto& row : table.rows) {
      if (data::ParseNumber(row[c]) == std::nullopt &&
          TabularEncoder::NormalizeCategory(row[c]).empty()) {
        has_blank = true;
      }
    }
    FeatureColumn column;
    column.csv_index = c;
    column.feature.set_name(name);
    column.feature.set_optional(has_blank);
    if (table.ColumnIsNumeric(c) && !forced.contains(name)) {
      column.feature.set_kind(Feature::KIND_NUMERIC);
      std::vector<double> seen;
      for (int r : train_rows) {
        if (auto v = data::ParseNumber(table.rows[r][c])) seen.push_back(*v);
      }
      column.feature.set_default_value(static_cast<float>(Median(seen)));
    } else if (std::all_of(table.rows.begin(), table.rows.end(),
                           [&](const auto& row) {
                             return row[c].empty() || LooksLikeDate(row[c]);
                           }) &&
               !forced.contains(name)) {
      // A calendar date as a category cannot say anything about the dates
      // to come; what matters of it (quarter, weekday) has its own columns.
      log << "leaving out column '" << name
          << "': dates (name it in --categorical to keep it as categories)"
          << std::endl;
      continue;
    } else {
      // The vocabulary comes from every row: a category's name carries no
      // target information, and an unseen one would fail evaluation.
      std::set<std::string> categories;
      for (const auto& row : table.rows) {
        std::string value = TabularEncoder::NormalizeCategory(row[c]);
        if (!value.empty()) categories.insert(std::move(value));
      }
      if (static_cast<int>(categories.size()) > options.max_categories) {
        log << "leaving out column '" << name << "': " << categories.size()
            << " distinct values (more than --max-categories "
            << options.max_categories << ")" << std::endl;
        continue;
      }
      column.feature.set_kind(Feature::KIND_CATEGORICAL);
      for (const auto& category : categories) {
        column.feature.add_categories(category);
      }
    }
    features.push_back(std::move(column));
  }
  return features;
}

// The encoded table and the rows each step may use.
struct FitData {
  const torch::Tensor& x;  // [rows, width] raw encoded features
  const torch::Tensor& y;  // [rows, 1]
  const std::vector<double>& y_values;
  const std::vector<int>& fit_rows;
  const std::vector<int>& val_rows;  // early stopping only
};

std::vector<double> Predict(torch::jit::Module& module, const torch::Tensor& x,
                            const std::vector<int>& rows) {
  torch::NoGradGuard no_grad;
  torch::Tensor idx =
      torch::tensor(std::vector<int64_t>(rows.begin(), rows.end()));
  torch::Tensor out =
      module.forward({x.index_select(0, idx)}).toTensor().contiguous();
  const float* p = out.data_ptr<float>();
  return std::vector<double>(p, p + out.size(0));
}

std::vector<float> Gather(const torch::Tensor& x,
                          const std::vector<int>& rows) {
  torch::Tensor picked =
      x.index_select(
           0, torch::tensor(std::vector<int64_t>(rows.begin(), rows.end())))
          .contiguous();
  const float* p = picked.data_ptr<float>();
  return std::vector<float>(p, p + picked.numel());
}

// One boosted ensemble per bagging member, all of one depth, each stopped
// early on the early-stopping rows (when there are any).
struct BaggedFit {
  int depth = 0;
  std::vector<TreeEnsemble> members;
  std::vector<int> kept, fitted;
  double early_stopping_loss = 0;   // members' mean
  std::vector<double> first_curve;  // member 0's, for the log
};

absl::StatusOr<BaggedFit> FitBagged(const EfficiencyTrainOptions& options,
                                    int depth, const std::vector<float>& fit_x,
                                    const std::vector<float>& fit_y,
                                    const std::vector<float>& val_x,
                                    const std::vector<float>& val_y,
                                    int width) {
  BoostingOptions boosting = options.boosting;
  boosting.depth = depth;
  BaggedFit fit;
  fit.depth = depth;
  const int fit_rows = static_cast<int>(fit_y.size());
  const int val_rows = static_cast<int>(val_y.size());
  // Members differ in their seed, so in the rows each tree samples; each
  // stops early on its own.
  const int members = std::max(1, options.bagging);
  for (int m = 0; m < members; ++m) {
    boosting.seed = options.seed + 7919 * static_cast<uint64_t>(m);
    BoostingReport report;
    ASSIGN_OR_RETURN(
        TreeEnsemble ensemble,
        FitBoostedTrees(fit_x.data(), fit_rows, width, fit_y, val_x.data(),
                        val_rows, val_y, boosting, &report));
    fit.members.push_back(std::move(ensemble));
    fit.kept.push_back(report.trees_kept);
    fit.fitted.push_back(
        val_rows == 0 ? report.trees_kept
                      : static_cast<int>(report.validation_curve.size()));
    fit.early_stopping_loss += report.best_validation_loss / members;
    if (m == 0) fit.first_curve = report.validation_curve;
  }
  return fit;
}

// Gradient-boosted trees (depth-wise by default): strongest on small, noisy
// plant tables, indifferent to feature scale, fitted in seconds. With
// several candidate depths the early-stopping rows choose one.
absl::StatusOr<torch::jit::Module> FitBoosting(
    const EfficiencyTrainOptions& options, const FitData& d,
    nlohmann::json& training, std::ostream& log) {
  const int width = static_cast<int>(d.x.size(1));
  const std::vector<float> fit_x = Gather(d.x, d.fit_rows);
  const std::vector<float> val_x = Gather(d.x, d.val_rows);
  std::vector<float> fit_y, val_y;
  for (int r : d.fit_rows) fit_y.push_back(static_cast<float>(d.y_values[r]));
  for (int r : d.val_rows) val_y.push_back(static_cast<float>(d.y_values[r]));
  const bool early_stopped = !d.val_rows.empty();
  if (!early_stopped && options.tree_depths.size() != 1) {
    return absl::InvalidArgumentError(
        "--tree-depth: several depths need early-stopping rows to choose "
        "between them");
  }
  std::optional<BaggedFit> best;
  nlohmann::json tried = nlohmann::json::object();
  for (int depth : options.tree_depths) {
    ASSIGN_OR_RETURN(BaggedFit fit, FitBagged(options, depth, fit_x, fit_y,
                                              val_x, val_y, width));
    if (options.tree_depths.size() > 1) {
      log << absl::StrFormat("depth %d: early-stopping %s %.4f", depth,
                             BoostingLossName(options.boosting.loss),
                             fit.early_stopping_loss)
          << std::endl;
      tried[absl::StrCat(depth)] = fit.early_stopping_loss;
    }
    // Strictly lower: a tie keeps the shallower (earlier) depth.
    if (!best || fit.early_stopping_loss < best->early_stopping_loss) {
      best = std::move(fit);
    }
  }
  const int curve = static_cast<int>(best->first_curve.size());
  const int step = std::max(1, curve / 10);
  for (int t = step; t <= curve; t += step) {
    log << absl::StrFormat("trees %4d  early-stopping %s %.4f", t,
                           BoostingLossName(options.boosting.loss),
                           best->first_curve[t - 1])
        << std::endl;
  }
  const int members = static_cast<int>(best->members.size());
  const int mean_kept = static_cast<int>(std::lround(
      std::accumulate(best->kept.begin(), best->kept.end(), 0.0) / members));
  if (!early_stopped) {  // a fixed count, every tree kept
    log << "fitted " << mean_kept << " trees of depth " << best->depth
        << (members > 1 ? absl::StrCat(" in each of ", members, " members")
                        : "")
        << std::endl;
  } else {
    log << "depth " << best->depth << ": kept "
        << absl::StrJoin(best->kept, ", ") << " of "
        << absl::StrJoin(best->fitted, ", ")
        << " trees (best early-stopping loss "
        << absl::StrFormat("%.4f", best->early_stopping_loss) << ")"
        << std::endl;
    training["early_stopping_loss"] = best->early_stopping_loss;
    if (!tried.empty()) training["early_stopping_loss_by_depth"] = tried;
  }
  // Per member: the count the model trained on every row is given.
  training["trees"] = mean_kept;
  training["trees_fitted"] = static_cast<int>(std::lround(
      std::accumulate(best->fitted.begin(), best->fitted.end(), 0.0) /
      members));
  training["bagging"] = members;
  training["depth"] = best->depth;
  training["tree_shape"] = TreeShapeName(options.boosting.shape);
  training["shrinkage"] = options.boosting.learning_rate;
  training["loss"] = BoostingLossName(options.boosting.loss);
  return BuildTreeEnsembleModel(AverageEnsembles(best->members));
}

// The network's shape and its input scaling, fitted on the fit rows.
// Heavy-tailed non-negative counts (incentive, overtime minutes, WIP) are
// log-compressed first; one-hot slots are left as they are. `transformed`
// names the log-compressed features.
TabularMlpOptions MlpNetworkOptions(const EfficiencyTrainOptions& options,
                                    const std::vector<FeatureColumn>& columns,
                                    const FitData& d,
                                    std::vector<std::string>* transformed) {
  const int64_t width = d.x.size(1);
  TabularMlpOptions net;
  net.inputs = static_cast<int>(width);
  net.hidden = options.hidden;
  net.ensemble = options.ensemble;
  net.dropout = options.dropout;
  net.mean.assign(width, 0.0f);
  net.std.assign(width, 1.0f);
  net.log_transform.assign(width, false);
  const torch::Tensor fit_x =
      d.x.index_select(0, torch::tensor(std::vector<int64_t>(
                              d.fit_rows.begin(), d.fit_rows.end())));
  int64_t offset = 0;
  for (const auto& column : columns) {
    if (column.feature.kind() == Feature::KIND_CATEGORICAL) {
      offset += column.feature.categories_size();
      continue;
    }
    torch::Tensor v = fit_x.select(1, offset);
    if (v.min().item<float>() >= 0.0f && v.max().item<float>() > 100.0f) {
      net.log_transform[offset] = true;
      transformed->push_back(column.feature.name());
      v = torch::log1p(v);
    }
    net.mean[offset] = v.mean().item<float>();
    net.std[offset] = std::max(v.std().item<float>(), 1e-6f);
    ++offset;
  }
  return net;
}

// One pass over the fit rows in a new order (the previous one reshuffled);
// returns the mean loss per row.
double MlpEpoch(const EfficiencyTrainOptions& options, const FitData& d,
                torch::jit::Module& module, torch::optim::AdamW& optimizer,
                std::vector<int>& order, std::mt19937_64& rng) {
  module.train();
  for (size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[rng() % i]);
  }
  double loss_sum = 0;
  for (size_t start = 0; start < order.size(); start += options.batch_size) {
    const size_t end = std::min(order.size(), start + options.batch_size);
    torch::Tensor idx = torch::tensor(
        std::vector<int64_t>(order.begin() + start, order.begin() + end));
    torch::Tensor pred = module.forward({d.x.index_select(0, idx)}).toTensor();
    // L1 optimises the figure the plant reads (mean absolute error); each
    // ensemble member is fitted on its own.
    torch::Tensor loss =
        (pred - d.y.index_select(0, idx).expand_as(pred)).abs().mean();
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_sum += loss.item<double>() * (end - start);
  }
  return loss_sum / order.size();
}

// The epoch with the best early-stopping MAE so far and its weights.
struct BestEpoch {
  double mae = std::numeric_limits<double>::infinity();
  int epoch = 0;
  std::vector<torch::Tensor> state;
};

// An ensemble of small MLPs with the input scaling baked in.
torch::jit::Module FitMlp(const EfficiencyTrainOptions& options,
                          const std::vector<FeatureColumn>& columns,
                          const FitData& d, nlohmann::json& training,
                          std::ostream& log) {
  std::vector<std::string> transformed;
  const TabularMlpOptions net =
      MlpNetworkOptions(options, columns, d, &transformed);
  if (!transformed.empty()) {
    log << "log-scaled features: " << absl::StrJoin(transformed, ", ")
        << std::endl;
  }

  torch::manual_seed(options.seed);
  torch::jit::Module module = BuildTabularMlp(net);
  torch::optim::AdamW optimizer(
      TrainableParameters(module),
      torch::optim::AdamWOptions(options.learning_rate)
          .weight_decay(options.weight_decay));
  std::vector<double> val_truth;
  for (int r : d.val_rows) val_truth.push_back(d.y_values[r]);

  std::mt19937_64 rng(options.seed);
  std::vector<int> order = d.fit_rows;
  EpochProgress progress(log, options.max_epochs);
  BestEpoch best{std::numeric_limits<double>::infinity(), 0,
                 SnapshotState(module)};
  int epochs_run = 0;
  const int report_every = std::max(1, options.max_epochs / 20);
  for (int epoch = 1; epoch <= options.max_epochs; ++epoch) {
    const double loss = MlpEpoch(options, d, module, optimizer, order, rng);
    epochs_run = epoch;
    module.eval();
    if (d.val_rows.empty()) {  // a fixed epoch count: the last is the model
      if (epoch == options.max_epochs)
        best = {loss, epoch, SnapshotState(module)};
      continue;
    }
    const double val_mae =
        EvaluateRegression(val_truth, Predict(module, d.x, d.val_rows)).mae;
    if (val_mae < best.mae) best = {val_mae, epoch, SnapshotState(module)};
    if (epoch % report_every == 0 || epoch == 1) {
      progress.Report(epoch,
                      absl::StrFormat("train L1 %.4f  early-stopping MAE %.4f "
                                      "(best %.4f @%d)",
                                      loss, val_mae, best.mae, best.epoch));
    }
    if (epoch - best.epoch >= options.patience) {
      log << "early stop at epoch " << epoch << ": no better MAE for "
          << options.patience << " epochs" << std::endl;
      break;
    }
  }
  RestoreState(module, best.state);
  training["epochs_run"] = epochs_run;
  training["best_epoch"] = best.epoch;
  training["early_stopping_mae"] = best.mae;
  training["hidden"] = options.hidden;
  training["ensemble"] = options.ensemble;
  training["log_scaled_features"] = transformed;
  return module;
}

// The table and the rows whose target is a number: rows without one cannot
// teach or test anything.
struct TargetRows {
  data::CsvTable table;
  size_t target = 0;           // the target's column
  std::vector<size_t> usable;  // table rows with a numeric target
  std::vector<double> y;       // their targets, same order
  std::string fingerprint;     // of the file's content (FingerprintFiles)
};

// A column of numbers with a few cells that are not (a decimal comma, a
// unit, a typo) would otherwise turn into categories without a word: it is
// refused, naming its first such cell, unless --categorical or --exclude
// names it. Mostly numbers: at least nine in ten filled cells.
absl::Status CheckMostlyNumericColumns(const EfficiencyTrainOptions& options,
                                       const data::CsvTable& table) {
  const absl::flat_hash_set<std::string> skip = [&] {
    absl::flat_hash_set<std::string> names(options.categorical.begin(),
                                           options.categorical.end());
    names.insert(options.exclude.begin(), options.exclude.end());
    return names;
  }();
  for (size_t c = 0; c < table.columns.size(); ++c) {
    if (skip.contains(table.columns[c])) continue;
    size_t numbers = 0, others = 0, first_other = 0;
    for (size_t r = 0; r < table.rows.size(); ++r) {
      const std::string& cell = table.rows[r][c];
      if (absl::StripAsciiWhitespace(cell).empty()) continue;
      if (data::ParseNumber(cell).has_value()) {
        ++numbers;
      } else if (others++ == 0) {
        first_other = r;
      }
    }
    if (others > 0 && numbers >= 9 * others) {
      return absl::InvalidArgumentError(
          absl::StrCat(options.csv_path, ": line ", table.lines[first_other],
                       ", column \"", table.columns[c], "\": \"",
                       table.rows[first_other][c], "\" is not a number, while ",
                       numbers, " of the column's ", numbers + others,
                       " filled cells are (fix the cell, or name the column in "
                       "--categorical or --exclude)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TargetRows> ReadTargetRows(const EfficiencyTrainOptions& options,
                                          std::ostream& log) {
  TargetRows rows;
  ASSIGN_OR_RETURN(rows.table,
                   data::ReadCsv(options.csv_path, {options.delimiter}));
  ASSIGN_OR_RETURN(rows.fingerprint,
                   FingerprintFiles({{"", options.csv_path}}));
  const data::CsvTable& table = rows.table;
  RETURN_IF_ERROR(CheckMostlyNumericColumns(options, table));
  const auto target = table.ColumnIndex(options.target_column);
  if (!target) {
    return absl::InvalidArgumentError(absl::StrCat(
        options.csv_path, ": no column \"", options.target_column,
        "\" (--target); columns are: ", absl::StrJoin(table.columns, ", ")));
  }
  rows.target = *target;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    if (auto y = data::ParseNumber(table.rows[r][*target])) {
      rows.usable.push_back(r);
      rows.y.push_back(*y);
    }
  }
  if (rows.usable.size() < table.rows.size()) {
    log << "skipping " << table.rows.size() - rows.usable.size()
        << " rows without a numeric " << options.target_column << std::endl;
  }
  if (rows.usable.size() < 20) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.csv_path, ": ", rows.usable.size(),
                     " usable rows, at least 20 are needed"));
  }
  return rows;
}

// The config proposed for the new version, and the server's encoder for
// its features.
struct ProposedModel {
  ModelConfig config;
  TabularEncoder encoder;
};

absl::StatusOr<ProposedModel> ProposeModel(
    const EfficiencyTrainOptions& options,
    const std::vector<FeatureColumn>& columns) {
  ModelConfig config;
  config.set_name(options.model_name);
  config.set_task(lineserve::v1::TASK_KIND_TABULAR_REGRESSION);
  config.set_platform("torchscript");
  config.set_description(absl::StrCat("Predicts ", options.target_column,
                                      "; trained by lineserve-train on ",
                                      options.csv_path));
  for (const auto& column : columns) {
    *config.mutable_tabular()->add_features() = column.feature;
  }
  ASSIGN_OR_RETURN(TabularEncoder encoder,
                   TabularEncoder::Create(config.tabular()));
  auto* input = config.add_input();
  input->set_name("features");
  input->set_data_type(lineserve::v1::TYPE_FP32);
  input->add_dims(static_cast<int64_t>(encoder.width()));
  auto* output = config.add_output();
  output->set_name(options.target_column);
  output->set_data_type(lineserve::v1::TYPE_FP32);
  output->add_dims(1);
  config.set_max_batch_size(options.max_batch_size);
  config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
      options.max_queue_delay_microseconds);
  // A forward pass of this model takes microseconds: requests are bound by
  // the RPC, and a second execution only adds a thread to wake.
  config.set_instance_count(1);
  config.set_device("auto");
  ApplyModelConfigDefaults(config);
  return ProposedModel{std::move(config), std::move(encoder)};
}

// The usable rows as model inputs, [rows, encoder width] row-major. The
// server's own encoder does it, so training sees what serving will feed
// the model.
absl::StatusOr<std::vector<float>> EncodeRows(
    const EfficiencyTrainOptions& options, const TargetRows& rows,
    const std::vector<FeatureColumn>& columns, const TabularEncoder& encoder) {
  const int n = static_cast<int>(rows.usable.size());
  const int64_t width = static_cast<int64_t>(encoder.width());
  std::vector<float> x_all(static_cast<size_t>(n) * width);
  for (int i = 0; i < n; ++i) {
    const auto& cells = rows.table.rows[rows.usable[i]];
    preprocess::FeatureRow row;
    for (const auto& column : columns) {
      data::AddFeatureCell(column.feature, cells[column.csv_index], row);
    }
    RETURN_IF_ERROR(AnnotateStatus(
        encoder.Encode(row, &x_all[i * width]),
        absl::StrCat(options.csv_path, " row ", rows.usable[i] + 2)));
  }
  return x_all;
}

// The trained module, in eval mode, and what its training reports.
struct FittedModel {
  torch::jit::Module module;
  nlohmann::json training;
};

absl::StatusOr<FittedModel> FitModel(const EfficiencyTrainOptions& options,
                                     const std::vector<FeatureColumn>& columns,
                                     const FitData& fit_data,
                                     std::ostream& log) {
  FittedModel fitted;
  EpochProgress clock(log, 1);
  if (options.learner == "boosting") {
    ASSIGN_OR_RETURN(fitted.module,
                     FitBoosting(options, fit_data, fitted.training, log));
  } else {  // "mlp" (CheckOptions refuses anything else)
    fitted.module = FitMlp(options, columns, fit_data, fitted.training, log);
  }
  fitted.training["learner"] = options.learner;
  fitted.training["csv"] = options.csv_path;
  fitted.training["seconds"] = clock.ElapsedSeconds();
  fitted.module.eval();
  return fitted;
}

// A model fitted on some of the usable rows, with what it was built from:
// its features (defaults from those rows), the server's encoder for them
// and every usable row encoded (`x` views `x_all`, so this is not moved).
struct RowModel {
  std::vector<FeatureColumn> columns;
  std::optional<ProposedModel> proposed;
  std::vector<float> x_all;
  torch::Tensor x;  // [usable rows, encoder width]
  FittedModel fitted;
};

// Fits a model on `train` (indices into the usable rows); `early_stopping`
// of them, drawn at random, only decide when to stop (none: the options'
// full count is fitted).
absl::StatusOr<std::unique_ptr<RowModel>> FitRows(
    const EfficiencyTrainOptions& options, const TargetRows& rows,
    const std::vector<int>& train, double early_stopping, std::ostream& log) {
  auto model = std::make_unique<RowModel>();
  std::vector<int> train_csv_rows;
  for (int i : train) train_csv_rows.push_back(rows.usable[i]);
  model->columns =
      ChooseFeatures(options, rows.table, rows.target, train_csv_rows, log);
  if (model->columns.empty()) {
    return absl::InvalidArgumentError("no usable features");
  }
  ASSIGN_OR_RETURN(model->proposed, ProposeModel(options, model->columns));
  ASSIGN_OR_RETURN(model->x_all, EncodeRows(options, rows, model->columns,
                                            model->proposed->encoder));
  const int64_t n = static_cast<int64_t>(rows.usable.size());
  const int64_t width = static_cast<int64_t>(model->proposed->encoder.width());
  model->x = torch::from_blob(model->x_all.data(), {n, width}, torch::kFloat32);
  const torch::Tensor y =
      torch::tensor(std::vector<float>(rows.y.begin(), rows.y.end()))
          .unsqueeze(1);
  std::vector<int> fit_rows = train, val_rows;
  if (early_stopping > 0) {
    const data::Split inner = data::RandomSplit(
        static_cast<int>(train.size()), early_stopping, options.seed + 1);
    fit_rows.clear();
    for (int i : inner.train) fit_rows.push_back(train[i]);
    for (int i : inner.validation) val_rows.push_back(train[i]);
  }
  log << "features: " << model->columns.size() << " columns -> " << width
      << " model inputs; rows: " << fit_rows.size() << " fit, "
      << val_rows.size() << " early-stopping" << std::endl;
  const FitData fit_data{model->x, y, rows.y, fit_rows, val_rows};
  ASSIGN_OR_RETURN(model->fitted,
                   FitModel(options, model->columns, fit_data, log));
  return model;
}

// What each baseline predicts for the `test` rows: the training mean of
// `train`, and the planned targeted_productivity when the table has it.
std::map<std::string, std::vector<double>> BaselinePredictions(
    const TargetRows& rows, const std::vector<int>& train,
    const std::vector<int>& test) {
  double train_mean = 0;
  for (int r : train) train_mean += rows.y[r];
  train_mean /= std::max<size_t>(1, train.size());
  std::map<std::string, std::vector<double>> predicted;
  predicted["training_mean"].assign(test.size(), train_mean);
  if (auto planned = rows.table.ColumnIndex("targeted_productivity")) {
    std::vector<double>& plan = predicted["targeted_productivity"];
    for (int r : test) {
      plan.push_back(
          data::ParseNumber(rows.table.rows[rows.usable[r]][*planned])
              .value_or(train_mean));
    }
  }
  return predicted;
}

// The figures a regressor is judged by, its own and the baselines' on the
// same rows.
struct TestFigures {
  RegressionReport model;
  std::map<std::string, RegressionReport> baselines;
};

// Out-of-fold predictions of the model and of each baseline, and the truth
// of the rows they are for, in the same order.
struct Predictions {
  std::vector<double> truth;
  std::vector<double> model;
  std::map<std::string, std::vector<double>> baselines;

  void Append(const Predictions& more) {
    truth.insert(truth.end(), more.truth.begin(), more.truth.end());
    model.insert(model.end(), more.model.begin(), more.model.end());
    for (const auto& [name, values] : more.baselines) {
      baselines[name].insert(baselines[name].end(), values.begin(),
                             values.end());
    }
  }

  TestFigures Evaluate() const {
    TestFigures figures;
    figures.model = EvaluateRegression(truth, model);
    for (const auto& [name, values] : baselines) {
      figures.baselines[name] = EvaluateRegression(truth, values);
    }
    return figures;
  }
};

// Every fold's model, summary and the pooled out-of-fold figures.
struct CrossValidation {
  std::vector<data::Split> splits;
  std::vector<std::unique_ptr<RowModel>> models;
  std::vector<nlohmann::json> summaries;  // per fold, flat numbers
  // Every test row once, predicted by its fold's model and the baselines
  // fitted on that fold's training rows.
  TestFigures pooled;
  Predictions predictions;  // what `pooled` was computed from
};

absl::StatusOr<CrossValidation> CrossValidate(
    const EfficiencyTrainOptions& options, const TargetRows& rows,
    std::ostream& log) {
  CrossValidation cv;
  const int n = static_cast<int>(rows.usable.size());
  if (options.folds >= 2) {
    cv.splits = data::KFold(n, options.folds, options.seed);
  } else {
    cv.splits.push_back(
        data::RandomSplit(n, options.test_fraction, options.seed));
  }
  Predictions out_of_fold;
  for (size_t f = 0; f < cv.splits.size(); ++f) {
    const data::Split& split = cv.splits[f];
    if (cv.splits.size() > 1) {
      log << "fold " << f + 1 << "/" << cv.splits.size() << ": "
          << split.train.size() << " training rows, " << split.validation.size()
          << " test rows" << std::endl;
    }
    ASSIGN_OR_RETURN(
        std::unique_ptr<RowModel> model,
        FitRows(options, rows, split.train, options.validation_fraction, log));
    Predictions fold;
    for (int r : split.validation) fold.truth.push_back(rows.y[r]);
    fold.model = Predict(model->fitted.module, model->x, split.validation);
    fold.baselines = BaselinePredictions(rows, split.train, split.validation);
    const TestFigures figures = fold.Evaluate();
    out_of_fold.Append(fold);

    nlohmann::json summary = ToJson(figures.model);
    summary.erase("count");
    for (const auto& [name, report] : figures.baselines) {
      summary[absl::StrCat("baseline_", name, "_mae")] = report.mae;
    }
    if (model->fitted.training.contains("trees")) {
      summary["trees"] = model->fitted.training["trees"];
      summary["depth"] = model->fitted.training["depth"];
    }
    if (model->fitted.training.contains("best_epoch")) {
      summary["best_epoch"] = model->fitted.training["best_epoch"];
    }
    if (cv.splits.size() > 1) {
      log << absl::StrFormat(
                 "fold %d: MAE %.4f (training mean %.4f, targeted "
                 "productivity %s)",
                 f + 1, figures.model.mae,
                 figures.baselines.at("training_mean").mae,
                 figures.baselines.count("targeted_productivity")
                     ? absl::StrFormat(
                           "%.4f",
                           figures.baselines.at("targeted_productivity").mae)
                     : "n/a")
          << std::endl;
    }
    cv.summaries.push_back(std::move(summary));
    cv.models.push_back(std::move(model));
  }
  cv.pooled = out_of_fold.Evaluate();
  cv.predictions = std::move(out_of_fold);
  return cv;
}

// The median of the folds' early-stopped tree counts (boosting; only the
// folds that chose `depth`) or best epochs (mlp): the count the model
// trained on every row is given.
int MedianCount(const CrossValidation& cv, const char* key,
                std::optional<int> depth = std::nullopt) {
  std::vector<double> counts;
  for (const auto& summary : cv.summaries) {
    if (depth && summary.value("depth", 0) != *depth) continue;
    if (summary.contains(key)) counts.push_back(summary[key].get<double>());
  }
  return std::max(1, static_cast<int>(std::lround(Median(counts))));
}

// The tree depth most folds chose; the shallowest of those tied.
int MostChosenDepth(const CrossValidation& cv) {
  std::map<int, int> votes;
  for (const auto& summary : cv.summaries) {
    if (summary.contains("depth")) ++votes[summary["depth"].get<int>()];
  }
  int depth = 0, most = 0;
  for (const auto& [d, n] : votes) {  // ascending depth
    if (n > most) {
      depth = d;
      most = n;
    }
  }
  return depth;
}

// metrics.json: the out-of-fold figures (or the hold-out's) against the
// baselines on the same rows, every fold with mean and spread, and how the
// published model was trained.
nlohmann::json Metrics(const EfficiencyTrainOptions& options,
                       const TargetRows& rows, const CrossValidation& cv,
                       const RowModel& published) {
  const bool several = cv.splits.size() > 1;
  nlohmann::json metrics = ToJson(cv.pooled.model);
  metrics["task"] = "tabular_regression";
  metrics["target"] = options.target_column;
  for (const auto& [name, report] : cv.pooled.baselines) {
    metrics["baselines"][name] = ToJson(report);
  }
  const bool all = options.publish == "all";
  metrics["split"] = {{"method", several ? "kfold" : "random"},
                      {"folds", static_cast<int>(cv.splits.size())},
                      {"figures", several ? "out_of_fold" : "hold_out"},
                      {"test_fraction", several ? 1.0 / cv.splits.size()
                                                : options.test_fraction},
                      {"train_count", all ? rows.usable.size()
                                          : cv.splits.front().train.size()},
                      {"test_count", cv.pooled.model.count},
                      {"seed", options.seed}};
  // Which fold tested each row of the table (-1: no numeric target), so
  // other learners can be compared on the same folds
  // (deploy/scripts/efficiency_baselines.py).
  std::vector<int> fold_of_row(rows.table.rows.size(), -1);
  for (size_t f = 0; f < cv.splits.size(); ++f) {
    for (int r : cv.splits[f].validation) {
      fold_of_row[rows.usable[r]] = static_cast<int>(f);
    }
  }
  metrics["split"]["fold_of_row"] = fold_of_row;
  // The evaluated rows' truths and predictions (6 significant digits), in
  // the same order: the HTML report draws the residuals from them.
  const auto rounded = [](const std::vector<double>& values) {
    std::vector<double> out;
    out.reserve(values.size());
    for (double v : values)
      out.push_back(std::stod(absl::StrFormat("%.6g", v)));
    return out;
  };
  metrics["predictions"] = {{"truth", rounded(cv.predictions.truth)},
                            {"predicted", rounded(cv.predictions.model)}};
  if (several) {
    std::vector<nlohmann::json> folds = cv.summaries;
    metrics["cross_validation"] = MeanAndSpread(folds);
    metrics["cross_validation"]["folds"] = folds;
  }
  std::vector<std::string> feature_names;
  for (const auto& column : published.columns) {
    feature_names.push_back(column.feature.name());
  }
  metrics["features"] = feature_names;
  metrics["training"] = published.fitted.training;
  metrics["training"]["published_on"] = all ? "all_rows" : "first_fold";
  return metrics;
}

// What the new model is held against before it is published: the
// baselines on the same rows, and the newest published version: its
// recorded out-of-fold MAE when it was trained on every row of this table,
// else its MAE on `rows_to_score` (the first fold's test rows), encoded with
// that version's own features, as the server would.
std::vector<GateReference> GateReferences(const EfficiencyTrainOptions& options,
                                          const TargetRows& rows,
                                          const std::vector<int>& rows_to_score,
                                          const nlohmann::json& metrics,
                                          std::ostream& log) {
  std::vector<GateReference> references;
  for (const auto& [name, figures] : metrics["baselines"].items()) {
    references.push_back({absl::StrCat("baseline ", name), figures["mae"]});
  }
  const std::string model_dir =
      absl::StrCat(options.repository, "/", options.model_name);
  absl::StatusOr<std::optional<PublishedVersion>> latest =
      LatestPublishedVersion(model_dir);
  if (!latest.ok() || !latest->has_value()) return references;
  const PublishedVersion& previous = **latest;
  if (std::optional<double> mae = RecordedOutOfFoldFigure(
          previous.dir, "all_rows", {"csv", options.csv_path, rows.fingerprint},
          "mae")) {
    references.push_back(
        {absl::StrCat("version ", previous.version, " (out-of-fold)"), *mae});
    return references;
  }
  absl::StatusOr<TabularEncoder> encoder =
      TabularEncoder::Create(previous.config.tabular());
  const int64_t width = encoder.ok() ? encoder->width() : 0;
  std::vector<float> x(rows_to_score.size() * width);
  std::vector<double> truth;
  absl::Status status = encoder.status();
  for (size_t i = 0; status.ok() && i < rows_to_score.size(); ++i) {
    const int r = rows_to_score[i];
    const auto& cells = rows.table.rows[rows.usable[r]];
    status = encoder->Encode(
        data::FeatureRowFromCsv(rows.table, cells, previous.config.tabular()),
        &x[i * width]);
    truth.push_back(rows.y[r]);
  }
  if (!status.ok()) {
    log << "quality gate: version " << previous.version
        << " cannot read these rows (" << status.message()
        << "); compared with the baselines only" << std::endl;
    return references;
  }
  torch::jit::Module module =
      torch::jit::load(absl::StrCat(previous.dir, "/model.pt"));
  module.eval();
  const torch::Tensor tensor = torch::from_blob(
      x.data(), {static_cast<int64_t>(truth.size()), width}, torch::kFloat32);
  std::vector<int> all(truth.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int>(i);
  references.push_back(
      {absl::StrCat("version ", previous.version),
       EvaluateRegression(truth, Predict(module, tensor, all)).mae});
  return references;
}

absl::Status CheckOptions(const EfficiencyTrainOptions& options) {
  if (options.folds < 1) {
    return absl::InvalidArgumentError("--folds must be >= 1");
  }
  RETURN_IF_ERROR(CheckPublishChoice(options.publish));
  if (options.learner != "boosting" && options.learner != "mlp") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--learner: \"", options.learner, "\" is not boosting or mlp"));
  }
  if (options.tree_depths.empty()) {
    return absl::InvalidArgumentError("--tree-depth: at least one depth");
  }
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> Train(const EfficiencyTrainOptions& options,
                                  std::ostream& log) {
  RETURN_IF_ERROR(CheckOptions(options));
  ASSIGN_OR_RETURN(const TargetRows rows, ReadTargetRows(options, log));
  if (options.folds > static_cast<int>(rows.usable.size()) / 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("--folds ", options.folds, ": too many for ",
                     rows.usable.size(), " rows"));
  }
  ASSIGN_OR_RETURN(CrossValidation cv, CrossValidate(options, rows, log));
  if (cv.splits.size() > 1) {
    log << absl::StrFormat(
               "out-of-fold: MAE %.4f over %d rows (training mean %.4f)",
               cv.pooled.model.mae, cv.pooled.model.count,
               cv.pooled.baselines.at("training_mean").mae)
        << std::endl;
  }

  std::unique_ptr<RowModel> published;
  if (options.publish == "all") {
    // Every row, at the count the folds' early stopping chose.
    EfficiencyTrainOptions final_options = options;
    if (options.learner == "boosting") {
      final_options.tree_depths = {MostChosenDepth(cv)};
      final_options.boosting.max_trees =
          MedianCount(cv, "trees", final_options.tree_depths.front());
      final_options.boosting.early_stopping_rounds = 0;
      log << "all rows: depth " << final_options.tree_depths.front()
          << " (most folds' choice), " << final_options.boosting.max_trees
          << " trees (the median of those folds)" << std::endl;
    } else {
      final_options.max_epochs = MedianCount(cv, "best_epoch");
      log << "all rows: " << final_options.max_epochs
          << " epochs (the folds' median)" << std::endl;
    }
    std::vector<int> every_row(rows.usable.size());
    std::iota(every_row.begin(), every_row.end(), 0);
    ASSIGN_OR_RETURN(published, FitRows(final_options, rows, every_row,
                                        /*early_stopping=*/0.0, log));
    published->fitted.training["chosen_on"] =
        options.learner == "boosting"
            ? "depth most folds chose, median of their early-stopped counts"
            : "median of the folds' early-stopped counts";
  } else {
    published = std::move(cv.models.front());
  }
  RETURN_IF_ERROR(ReportContractChange(options.repository,
                                       published->proposed->config, log));
  nlohmann::json metrics = Metrics(options, rows, cv, *published);
  metrics["training"]["data_fingerprint"] = rows.fingerprint;
  RETURN_IF_ERROR(ApplyQualityGate(
      {"mae", /*higher_is_better=*/false, options.force},
      metrics["mae"].get<double>(),
      GateReferences(options, rows, cv.splits.front().validation, metrics, log),
      metrics, log));
  const int64_t n = static_cast<int64_t>(rows.usable.size());
  return PublishModel(published->fitted.module,
                      published->x.slice(0, 0, std::min<int64_t>(8, n)),
                      std::move(metrics), published->proposed->config,
                      options.repository, options.overwrite_config);
}

}  // namespace

absl::StatusOr<TrainResult> TrainEfficiencyModel(
    const EfficiencyTrainOptions& options, std::ostream& log) {
  return RunTraining([&] { return Train(options, log); });
}

}  // namespace lineserve::train
