// A synthetic production-line table in the format of the garment-factory
// productivity table (UCI 597) that lineserve's efficiency model is built
// for, so that the demo and the tests need no download.
//
// Same header, column order and value formats as the real file: dates like
// 1/3/2015 on working days (no Fridays), `Quarter1`..`Quarter5` as the week
// of the month, departments `sweing` and `finishing` (spelled `finishing `
// with a trailing space in the earlier part of the table, as in the source),
// teams 1..12, `wip` empty exactly on finishing rows, numbers without
// trailing zeros, LF line ends.
//
// The target, actual_productivity, is learnable but noisy. Per row it is
//   targeted_productivity
//   + a lasting skill offset of the team (per department)
//   + incentive: sewing rows gain with the incentive (capped), finishing rows
//     with a bonus gain a fixed amount
//   - style changes (each costs about 0.06)
//   - idle men as a share of the team, and idle minutes
//   - harder garments (sewing smv above ~22 minutes)
//   - a line starved of work (wip under ~6 pieces per worker)
//   - fatigue from more than 3 hours of overtime per worker
//   + a small department and weekday effect
//   + noise (wider for finishing), and now and then a bad day
// clipped to [0.23, 1.12], the real table's range.
//
// Deterministic on every platform: the same seed gives the same bytes.
// Pure apart from GenerateSyntheticProduction's file output; thread-safe.
#ifndef LINESERVE_MODELS_DATAGEN_SYNTHETIC_PRODUCTION_H_
#define LINESERVE_MODELS_DATAGEN_SYNTHETIC_PRODUCTION_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace lineserve::datagen {

// The header row (without line end), identical to the real table's.
extern const char kSyntheticProductionHeader[];

struct SyntheticProductionOptions {
  // CSV file to write; its folder is created if missing. Written to a
  // temporary file and renamed, so readers never see half a table.
  std::string output_path;
  // Data rows, not counting the header. >= 1.
  int rows = 600;
  // Seed of the table; the same seed gives the same bytes.
  uint64_t seed = 1;
};

// The whole CSV text: header, then `rows` data rows in date order, each line
// ending in LF. INVALID_ARGUMENT when rows < 1.
absl::StatusOr<std::string> RenderSyntheticProduction(int rows, uint64_t seed);

// Renders and writes the table. INVALID_ARGUMENT for bad options; the IO
// error with the failing path when the folder or file cannot be written.
absl::Status GenerateSyntheticProduction(
    const SyntheticProductionOptions& options);

}  // namespace lineserve::datagen

#endif  // LINESERVE_MODELS_DATAGEN_SYNTHETIC_PRODUCTION_H_
