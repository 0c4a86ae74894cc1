// The golden repository's model configs (tests/integration/testdata/golden/
// repo): what the server really runs with, for the fuzz targets' models.
#ifndef LINESERVE_TESTS_FUZZ_GOLDEN_CONFIG_H_
#define LINESERVE_TESTS_FUZZ_GOLDEN_CONFIG_H_

#include <string>

#include "lineserve/v1/model_config.pb.h"

namespace lineserve::fuzzing {

// Model names in the golden repository.
inline constexpr char kQualityModel[] = "quality_inspection";
inline constexpr char kEfficiencyModel[] = "efficiency_prediction";

// The config.pbtxt of `model` (parsed, defaults applied); aborts when it
// cannot be read, so a broken setup never passes for a fuzzing result.
lineserve::v1::ModelConfig GoldenConfig(const std::string& model);

}  // namespace lineserve::fuzzing

#endif  // LINESERVE_TESTS_FUZZ_GOLDEN_CONFIG_H_
