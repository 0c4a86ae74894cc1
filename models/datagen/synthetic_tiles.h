// Synthetic surface-inspection images in the layout of the magnetic-tile set.
//
// The demo and the tests train the image model on these so that nothing has
// to be downloaded. Each image is a greyscale tile surface (shading across
// the tile, vertical grinding streaks, low-frequency blotches, fine grain and
// a random exposure) with zero or more defects of one class:
//   ok       no defect (faint marks below defect contrast may be present)
//   scratch  thin, long, slightly curved bright or dark line(s)
//   spot     small soft-edged dark or bright blob(s), like blowholes
//   crack    a jagged dark polyline with side branches
// and a pixel mask of the defect (255 on the defect, 0 elsewhere).
//
// Image size is drawn independently of the class, from the same distribution
// for every class, so that a model cannot use size or aspect ratio as a
// shortcut (the real set has that flaw).
//
// Everything is deterministic given the seed, on every platform: random
// numbers come from DeterministicRandom and pixels from plain arithmetic.
// Functions are pure apart from GenerateSyntheticTiles's file output and are
// safe to call from any thread.
#ifndef LINESERVE_MODELS_DATAGEN_SYNTHETIC_TILES_H_
#define LINESERVE_MODELS_DATAGEN_SYNTHETIC_TILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "models/preprocess/image.h"

namespace lineserve::datagen {

// The class names, also the folder names: "ok", "scratch", "spot", "crack".
const std::vector<std::string>& SyntheticTileClasses();

struct SyntheticTilesOptions {
  // Folder that receives images/<class>/syn_NNNNN.png and
  // masks/<class>/syn_NNNNN.png. Created if missing; existing files with the
  // same names are overwritten, other files are left alone.
  std::string output_dir;
  // Number of defect-free images (class "ok"). >= 0.
  int ok_count = 120;
  // Number of images of each defect class. >= 0. The default ratio mirrors
  // the imbalance of real inspection data.
  int defect_count_per_class = 40;
  // Range of both image sides, in pixels; width and height are drawn
  // independently and uniformly from [min_side_px, max_side_px], so aspect
  // ratios vary. 32 <= min_side_px <= max_side_px <= 4096.
  int min_side_px = 160;
  int max_side_px = 320;
  // Seed of the whole set. The k-th image of a class depends only on (seed,
  // class, k), so changing one class's count leaves the other classes'
  // pixels alone (file numbers, which run across classes, may shift).
  uint64_t seed = 1;
};

// One rendered sample. `image` and `mask` are 1-channel with the same size;
// image samples are in [0, 1]; mask samples are exactly 0 or 1 (1 on the
// defect), all 0 for "ok" and at least one 1 for every defect class.
struct TileSample {
  preprocess::Image image;
  preprocess::Image mask;
  std::string label;
};

// Renders one sample of class `label` (one of SyntheticTileClasses()). The
// seed alone fixes the size and the defect-free surface, so samples of
// different classes with the same seed differ only by the defect.
// INVALID_ARGUMENT for an unknown label or a side range outside the limits
// documented in SyntheticTilesOptions.
absl::StatusOr<TileSample> RenderTile(absl::string_view label, uint64_t seed,
                                      int min_side_px = 160,
                                      int max_side_px = 320);

// Renders the whole set and writes it as 8-bit greyscale PNGs (mask samples
// become 0 or 255) named syn_NNNNN.png, numbered across all classes (ok
// first, then scratch, spot, crack) so that every name is unique in the set.
// An image and its mask share the name.
// INVALID_ARGUMENT for bad options; the IO error's code with the failing path
// when a folder or file cannot be written.
absl::Status GenerateSyntheticTiles(const SyntheticTilesOptions& options);

}  // namespace lineserve::datagen

#endif  // LINESERVE_MODELS_DATAGEN_SYNTHETIC_TILES_H_
