// Turns a row of named features into a model's ordered input vector, as
// configured in the model's TabularPreprocessing: numeric features are copied,
// categorical ones one-hot expanded, optional ones filled when absent.
//
// Immutable after Create(); Encode() may be called from many threads.
#ifndef LINESERVE_MODELS_PREPROCESS_TABULAR_ENCODER_H_
#define LINESERVE_MODELS_PREPROCESS_TABULAR_ENCODER_H_

#include <cstddef>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "lineserve/v1/model_config.pb.h"

namespace lineserve::preprocess {

// A feature as a client sends it: a number or a string (category).
using FeatureValue = std::variant<double, std::string>;
using FeatureRow = std::vector<std::pair<std::string, FeatureValue>>;

class TabularEncoder {
 public:
  // Validates the config: unique non-empty names, a kind per feature,
  // categorical features with unique (normalised) non-empty categories.
  static absl::StatusOr<TabularEncoder> Create(
      const lineserve::v1::TabularPreprocessing& config);

  // Floats written by Encode(): numeric features count 1, categorical ones
  // their number of categories.
  size_t width() const { return width_; }

  // Writes the encoded row to out[0 .. width()). INVALID_ARGUMENT naming the
  // feature for: an unknown or repeated name, a missing non-optional feature,
  // a NaN or infinite number, a string for a numeric feature, an unknown
  // category. A number given for a categorical feature is looked up by its
  // shortest decimal text ("3" for 3.0).
  absl::Status Encode(const FeatureRow& row, float* out) const;

  // How categories are compared: white space trimmed, ASCII lower-cased.
  static std::string NormalizeCategory(absl::string_view value);

 private:
  struct Slot {
    std::string name;
    bool categorical = false;
    bool optional = false;
    float default_value = 0.0f;
    size_t offset = 0;  // first float of this feature in the output
    absl::flat_hash_map<std::string, size_t> category_index;
    // Normalised categories in one-hot order, for error messages.
    std::vector<std::string> categories;
  };

  TabularEncoder() = default;

  std::vector<Slot> slots_;
  absl::flat_hash_map<std::string, size_t> slot_by_name_;
  size_t width_ = 0;
};

}  // namespace lineserve::preprocess

#endif  // LINESERVE_MODELS_PREPROCESS_TABULAR_ENCODER_H_
