// Synthetic surface-inspection images, bundled with lineserve so the demo and
// the tests need no outside data.
//
// The surfaces imitate the magnetic-tile photographs lineserve is built for:
// a grey, vertically ground texture with uneven lighting. Defect classes:
// `scratch` (a long thin bright or dark line), `spot` (small dark pits, like
// blowholes) and `crack` (a jagged dark line with branches); `ok` has none.
// Every image comes with its defect mask (255 on the defect). Image sizes
// are drawn the same way for every class, so size says nothing about the
// label. Deterministic: the same seed writes the same bytes.
#ifndef LINESERVE_MODELS_DATAGEN_SYNTHETIC_TILES_H_
#define LINESERVE_MODELS_DATAGEN_SYNTHETIC_TILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/preprocess/image.h"

namespace lineserve::datagen {

// The labels RenderTile understands, the good one first.
const std::vector<std::string>& TileLabels();

struct TileSample {
  preprocess::Image image;  // one channel, [0, 1]
  preprocess::Image mask;   // one channel, 1 on the defect, else 0
};

// Renders one surface of `label` (one of TileLabels()) with sides drawn
// from [min_side, max_side] pixels.
TileSample RenderTile(const std::string& label, uint64_t seed, int min_side,
                      int max_side);

struct SyntheticTilesOptions {
  // Images go to <output_dir>/images/<label>/, masks to
  // <output_dir>/masks/<label>/, both as 8-bit grey PNG.
  std::string output_dir;
  int ok_count = 120;
  int defect_count_per_class = 40;
  int min_side_px = 160;
  int max_side_px = 320;
  uint64_t seed = 1;
};

absl::Status GenerateSyntheticTiles(const SyntheticTilesOptions& options);

}  // namespace lineserve::datagen

#endif  // LINESERVE_MODELS_DATAGEN_SYNTHETIC_TILES_H_
