// The last steps every trainer shares: save the trained module as a new
// version of its model and make sure what was saved is what was trained.
#ifndef LINESERVE_MODELS_TRAIN_PUBLISH_H_
#define LINESERVE_MODELS_TRAIN_PUBLISH_H_

#include <torch/script.h>

#include <ostream>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "lineserve/v1/model_config.pb.h"
#include "models/train/model_artifacts.h"
#include "nlohmann/json.hpp"

namespace lineserve::train {

// Writes REPO/<config.name()>/<next version>/ atomically: model.pt (the
// module in eval mode, reloaded and checked to answer `sample` as the
// trained module does), metrics.json, model.json (the version's contract:
// tensors, preprocessing, labels, threshold), and makes sure the model has a
// config.pbtxt to be served with (ReconcileModelConfig). Once published, the
// version's report.html (html_report.h).
absl::StatusOr<TrainResult> PublishModel(
    torch::jit::Module& module, const torch::Tensor& sample,
    nlohmann::json metrics, const lineserve::v1::ModelConfig& config,
    const std::string& repository, bool overwrite_config);

// `--publish` of both trainers: "all" (after validation, a model trained on
// all the data) or "fold" (the first fold's model); INVALID_ARGUMENT naming
// the flag otherwise.
absl::Status CheckPublishChoice(const std::string& publish);

// Before training: tells `log` whether the model about to be trained keeps
// the contract of REPO/<proposed.name()>'s newest version (same inputs,
// labels, features) or, field by field, what changes for its clients.
absl::Status ReportContractChange(const std::string& repository,
                                  const lineserve::v1::ModelConfig& proposed,
                                  std::ostream& log);

// Runs a training function with autograd on, whatever the caller's mode (a
// caller may hold a NoGradGuard while it evaluates models), and turns
// LibTorch's exceptions into statuses: none escapes a trainer.
template <typename TrainFn>
absl::StatusOr<TrainResult> RunTraining(TrainFn&& train) {
  torch::AutoGradMode enable_grad(true);
  try {
    return std::forward<TrainFn>(train)();
  } catch (const c10::Error& e) {
    return absl::InternalError(
        absl::StrCat("LibTorch: ", e.what_without_backtrace()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("training failed: ", e.what()));
  }
}

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_PUBLISH_H_
