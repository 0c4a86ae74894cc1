// The trainer's last check before publishing: a new model must not be worse
// than the baselines, nor than the version it would replace, on the same
// validation data. A worse model is refused with the figures unless the
// operator forces it; metrics.json records the comparison either way.
#ifndef LINESERVE_MODELS_TRAIN_QUALITY_GATE_H_
#define LINESERVE_MODELS_TRAIN_QUALITY_GATE_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace lineserve::train {

// One figure the new model is held against.
struct GateReference {
  std::string name;  // "baseline targeted_productivity", "version 3"
  double value = 0.0;
};

struct GateOptions {
  std::string figure;  // "mae", "roc_auc"
  bool higher_is_better = false;
  // Publish even when worse (the refusal becomes a warning).
  bool force = false;
};

// Compares `value` with every reference; writes metrics["quality_gate"]
// ({figure, value, references: {name: value}, worse_than: [...], passed,
// forced}) and logs the outcome. FAILED_PRECONDITION naming every figure
// when the model is worse than a reference and `force` is off. Equal
// counts as not worse: retraining on the same data with the same seed
// gives the same model.
absl::Status ApplyQualityGate(const GateOptions& options, double value,
                              const std::vector<GateReference>& references,
                              nlohmann::json& metrics, std::ostream& log);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_QUALITY_GATE_H_
