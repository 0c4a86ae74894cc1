// A synthetic production-line table with the columns, value formats and
// quirks of the garment-factory productivity table lineserve's efficiency
// model is built for (`finishing ` with a trailing space, blank `wip` on
// finishing rows, quarters as week-of-month). The target,
// actual_productivity, follows the planned productivity, moved by
// incentives, idle time, style changes and team, with noise: learnable, not
// trivial. Deterministic: the same seed writes the same bytes.
#ifndef LINESERVE_MODELS_DATAGEN_SYNTHETIC_PRODUCTION_H_
#define LINESERVE_MODELS_DATAGEN_SYNTHETIC_PRODUCTION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace lineserve::datagen {

// The header row, identical to the real table's.
extern const char kProductionHeader[];

// The CSV text (header and `rows` rows).
std::string RenderProductionTable(int rows, uint64_t seed);

struct SyntheticProductionOptions {
  std::string output_path;
  int rows = 600;
  uint64_t seed = 1;
};

absl::Status GenerateSyntheticProduction(
    const SyntheticProductionOptions& options);

}  // namespace lineserve::datagen

#endif  // LINESERVE_MODELS_DATAGEN_SYNTHETIC_PRODUCTION_H_
