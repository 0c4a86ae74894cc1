// Fuzz target: a model's config.pbtxt and a version's model.json, as an
// operator or the trainer writes them and the repository reads them
// (models/config/model_config.h): parse, apply defaults, validate; then
// what loading a version does next, build the image preprocessing or the
// feature encoder the config describes.
//
// Checked beyond "no crash, no sanitizer report": a config that parses and
// validates prints to text that parses back to the same config (what
// WriteModelConfig writes, LoadModelConfig reads), and its preprocessing
// can be built (validation is the only gate before a model is loaded).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/util/field_comparator.h"
#include "google/protobuf/util/message_differencer.h"
#include "models/config/model_config.h"
#include "models/preprocess/image_preprocessor.h"
#include "models/preprocess/tabular_encoder.h"
#include "tests/fuzz/golden_config.h"

namespace lineserve::fuzzing {
namespace {

void Check(bool condition, const char* what, const std::string& detail = "") {
  if (!condition) {
    std::fprintf(stderr, "model_config_fuzzer: %s %s\n", what, detail.c_str());
    std::abort();
  }
}

bool SameConfig(const lineserve::v1::ModelConfig& a,
                const lineserve::v1::ModelConfig& b) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  return differencer.Compare(a, b);
}

// What loading a version builds from its config.
void BuildPreprocessing(const lineserve::v1::ModelConfig& config) {
  if (config.has_image()) {
    auto preprocessor = preprocess::ImagePreprocessor::Create(config.image());
    Check(preprocessor.ok(), "a validated image config is refused:",
          preprocessor.status().ToString());
  }
  if (config.has_tabular()) {
    auto encoder = preprocess::TabularEncoder::Create(config.tabular());
    Check(encoder.ok(), "a validated tabular config is refused:",
          encoder.status().ToString());
  }
}

void FuzzConfigText(absl::string_view text) {
  absl::StatusOr<lineserve::v1::ModelConfig> config =
      ParseModelConfig(text, "config.pbtxt");
  if (!config.ok()) {
    Check(config.status().code() == absl::StatusCode::kInvalidArgument,
          "a bad config is not INVALID_ARGUMENT:", config.status().ToString());
    return;
  }
  const std::string written = ModelConfigToText(*config);
  absl::StatusOr<lineserve::v1::ModelConfig> reread =
      ParseModelConfig(written, "written config.pbtxt");
  Check(reread.ok(), "a written config does not parse back:",
        reread.status().ToString() + "\n" + written);
  Check(SameConfig(*config, *reread),
        "a written config reads back changed:", written);
  BuildPreprocessing(*config);
}

void FuzzVersionContract(absl::string_view json) {
  absl::StatusOr<lineserve::v1::ModelConfig> contract =
      ParseVersionContract(json, "model.json");
  if (!contract.ok()) return;
  // Over either golden serving config (the contract decides the task).
  for (const char* model : {kQualityModel, kEfficiencyModel}) {
    static const lineserve::v1::ModelConfig quality =
        ServingOf(GoldenConfig(kQualityModel));
    static const lineserve::v1::ModelConfig efficiency =
        ServingOf(GoldenConfig(kEfficiencyModel));
    const lineserve::v1::ModelConfig& serving =
        std::string(model) == kQualityModel ? quality : efficiency;
    absl::StatusOr<lineserve::v1::ModelConfig> config =
        ApplyVersionContract(serving, *contract, "model.json");
    if (config.ok()) BuildPreprocessing(*config);
  }
}

}  // namespace
}  // namespace lineserve::fuzzing

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  lineserve::fuzzing::FuzzConfigText(text);
  lineserve::fuzzing::FuzzVersionContract(text);
  return 0;
}
