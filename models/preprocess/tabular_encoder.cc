#include "models/preprocess/tabular_encoder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/base/client_text.h"

namespace lineserve::preprocess {
namespace {

namespace v1 = ::lineserve::v1;

// Client-supplied text quoted for an error message: escaped and shortened.
std::string Quote(absl::string_view text) { return QuoteClientText(text); }

// The shortest decimal that reads back as `value`, never in exponent form
// (categories are written as plain numbers: "3", "0.5", "100000").
std::string ShortestDecimal(double value) {
  if (value == 0.0) return "0";  // also -0
  // Fixed notation of any finite double fits: at most 309 integer digits or
  // 324 fractional ones.
  char buffer[400];
  std::to_chars_result result = std::to_chars(buffer, buffer + sizeof(buffer),
                                              value, std::chars_format::fixed);
  if (result.ec != std::errc()) {
    result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  }
  return std::string(buffer, result.ptr);
}

std::string FeatureField(int index, absl::string_view name) {
  if (name.empty()) return absl::StrCat("tabular.features[", index, "]");
  return absl::StrCat("tabular.features[", index, "] (", Quote(name), ")");
}

// Expected categories for an error message, the first few only.
std::string ListCategories(const std::vector<std::string>& categories) {
  constexpr size_t kMaxListed = 10;
  std::vector<std::string> quoted;
  for (size_t i = 0; i < categories.size() && i < kMaxListed; ++i) {
    quoted.push_back(Quote(categories[i]));
  }
  std::string list = absl::StrJoin(quoted, ", ");
  if (categories.size() > kMaxListed) {
    absl::StrAppend(&list, ", ... (", categories.size(), " in all)");
  }
  return list;
}

absl::Status CheckFinite(const std::string& name, double value) {
  if (std::isnan(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("feature ", Quote(name), " is NaN"));
  }
  if (std::isinf(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("feature ", Quote(name), " is infinite"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TabularEncoder::NormalizeCategory(absl::string_view value) {
  return absl::AsciiStrToLower(absl::StripAsciiWhitespace(value));
}

absl::StatusOr<TabularEncoder> TabularEncoder::Create(
    const v1::TabularPreprocessing& config) {
  if (config.features_size() == 0) {
    return absl::InvalidArgumentError("tabular.features must not be empty");
  }
  TabularEncoder encoder;
  for (int i = 0; i < config.features_size(); ++i) {
    const v1::Feature& feature = config.features(i);
    const std::string field = FeatureField(i, feature.name());
    if (feature.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name must not be empty"));
    }
    auto [existing, inserted] =
        encoder.slot_by_name_.emplace(feature.name(), encoder.slots_.size());
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".name repeats tabular.features[",
                       existing->second, "].name"));
    }

    Slot slot;
    slot.name = feature.name();
    slot.optional = feature.optional();
    slot.offset = encoder.width_;
    switch (feature.kind()) {
      case v1::Feature::KIND_NUMERIC:
        if (feature.categories_size() != 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              field, ".categories must be empty for a KIND_NUMERIC feature"));
        }
        if (!std::isfinite(feature.default_value())) {
          return absl::InvalidArgumentError(
              absl::StrCat(field, ".default_value must be finite, got ",
                           feature.default_value()));
        }
        slot.default_value = feature.default_value();
        encoder.width_ += 1;
        break;
      case v1::Feature::KIND_CATEGORICAL:
        if (feature.categories_size() == 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              field,
              ".categories must not be empty for a KIND_CATEGORICAL "
              "feature"));
        }
        slot.categorical = true;
        for (int c = 0; c < feature.categories_size(); ++c) {
          std::string category = NormalizeCategory(feature.categories(c));
          if (category.empty()) {
            return absl::InvalidArgumentError(absl::StrCat(
                field, ".categories[", c, "] is empty (after trimming)"));
          }
          auto [previous, fresh] =
              slot.category_index.emplace(category, slot.categories.size());
          if (!fresh) {
            return absl::InvalidArgumentError(absl::StrCat(
                field, ".categories[", c, "] ", Quote(feature.categories(c)),
                " repeats categories[", previous->second,
                "] (compared trimmed and lower-cased)"));
          }
          slot.categories.push_back(std::move(category));
        }
        encoder.width_ += slot.categories.size();
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            field, ".kind must be KIND_NUMERIC or KIND_CATEGORICAL"));
    }
    encoder.slots_.push_back(std::move(slot));
  }
  return encoder;
}

absl::Status TabularEncoder::Encode(const FeatureRow& row, float* out) const {
  if (out == nullptr) {
    return absl::InvalidArgumentError("output buffer is null");
  }
  std::vector<bool> seen(slots_.size(), false);
  for (const auto& [name, value] : row) {
    auto found = slot_by_name_.find(name);
    if (found == slot_by_name_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown feature ", Quote(name)));
    }
    const size_t index = found->second;
    if (seen[index]) {
      return absl::InvalidArgumentError(
          absl::StrCat("feature ", Quote(name), " is given more than once"));
    }
    seen[index] = true;
    const Slot& slot = slots_[index];

    if (!slot.categorical) {
      const double* number = std::get_if<double>(&value);
      if (number == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat(
            "feature ", Quote(name), " is numeric, got the string ",
            Quote(std::get<std::string>(value))));
      }
      absl::Status finite = CheckFinite(name, *number);
      if (!finite.ok()) return finite;
      // The model takes floats: a double beyond their range would become
      // infinite.
      if (std::fabs(*number) > std::numeric_limits<float>::max()) {
        return absl::InvalidArgumentError(
            absl::StrCat("feature ", Quote(name), " is ", *number,
                         ", outside the float range"));
      }
      out[slot.offset] = static_cast<float>(*number);
      continue;
    }

    std::string category;
    if (const double* number = std::get_if<double>(&value)) {
      absl::Status finite = CheckFinite(name, *number);
      if (!finite.ok()) return finite;
      category = ShortestDecimal(*number);
    } else {
      category = NormalizeCategory(std::get<std::string>(value));
    }
    auto position = slot.category_index.find(category);
    if (position == slot.category_index.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feature ", Quote(name), " has unknown category ", Quote(category),
          "; expected one of ", ListCategories(slot.categories)));
    }
    std::fill(out + slot.offset, out + slot.offset + slot.categories.size(),
              0.0f);
    out[slot.offset + position->second] = 1.0f;
  }

  std::vector<std::string> missing;
  for (size_t i = 0; i < slots_.size(); ++i) {
    if (seen[i]) continue;
    const Slot& slot = slots_[i];
    if (!slot.optional) {
      missing.push_back(Quote(slot.name));
      continue;
    }
    if (slot.categorical) {
      std::fill(out + slot.offset, out + slot.offset + slot.categories.size(),
                0.0f);
    } else {
      out[slot.offset] = slot.default_value;
    }
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        missing.size() == 1 ? "missing feature " : "missing features ",
        absl::StrJoin(missing, ", ")));
  }
  return absl::OkStatus();
}

}  // namespace lineserve::preprocess
