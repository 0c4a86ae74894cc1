// The trainer's last check before publishing: a new model must not be worse
// than the baselines, nor than the version it would replace, on the same
// validation data. A worse model is refused with the figures unless the
// operator forces it; metrics.json records the comparison either way.
#ifndef LINESERVE_MODELS_TRAIN_QUALITY_GATE_H_
#define LINESERVE_MODELS_TRAIN_QUALITY_GATE_H_

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
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

// What a model was trained and judged on: the path the command named
// (training[key] in metrics.json: "csv", "data_dir") and a fingerprint of
// the content (training.data_fingerprint, see FingerprintFiles).
struct DataIdentity {
  std::string key;
  std::string path;
  std::string fingerprint;
};

// One file of a data set, and the name it is fingerprinted under.
struct NamedFile {
  std::string name;
  std::string path;
};

// A fingerprint of data files' content: FNV-1a (64 bit) over each entry's
// name (as given: a path relative to the data folder, so a file's class
// folder counts; empty for a lone table, whose name does not matter) and
// its bytes, in the order given; "fnv1a64:" and 16 hex digits. Not a
// defence against tampering: it tells a copy of the same data from
// changed data. NOT_FOUND naming the file that cannot be read.
absl::StatusOr<std::string> FingerprintFiles(
    const std::vector<NamedFile>& files);

// The figure a version's metrics.json records for its own cross-validation
// (the out-of-fold `figure` at the top level, or under `defect_score` for
// the quality model), when that version was trained on every item of the
// same data: its training.published_on is `published_on` and its
// training.data_fingerprint is `data.fingerprint` (a version from before
// fingerprints: its training[data.key] is `data.path`). Such a version has
// seen every item a new model could be compared on, so its own out-of-fold
// figure is the like for like reference. nullopt otherwise, or when the
// file is unreadable.
std::optional<double> RecordedOutOfFoldFigure(const std::string& version_dir,
                                              const std::string& published_on,
                                              const DataIdentity& data,
                                              const std::string& figure);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_QUALITY_GATE_H_
