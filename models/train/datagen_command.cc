#include "models/train/datagen_command.h"

#include <iostream>

#include "models/base/command_line.h"
#include "models/datagen/synthetic_production.h"
#include "models/datagen/synthetic_tiles.h"

namespace lineserve::train {

int RunDatagenCommand(const std::vector<std::string>& args) {
  std::string out;
  datagen::SyntheticTilesOptions tiles;
  datagen::SyntheticProductionOptions table;
  uint64_t seed = 1;
  CommandLine cli(
      "lineserve-train datagen --out DIR [options]",
      "Writes the synthetic data sets bundled with lineserve:\n"
      "  DIR/tiles/images/<class>/*.png   surfaces: ok, crack, scratch, spot\n"
      "  DIR/tiles/masks/<class>/*.png    the defect masks\n"
      "  DIR/production.csv               a production-line table with the\n"
      "                                   garment table's columns\n"
      "The same seed writes the same files.");
  cli.AddString("out", &out, "output folder", true);
  cli.AddInt("ok-count", &tiles.ok_count, "good surfaces");
  cli.AddInt("defect-count", &tiles.defect_count_per_class,
             "surfaces per defect class");
  cli.AddInt("min-side", &tiles.min_side_px, "smallest image side, pixels");
  cli.AddInt("max-side", &tiles.max_side_px, "largest image side, pixels");
  cli.AddInt("rows", &table.rows, "rows of the production table");
  cli.AddUint64("seed", &seed, "seed of both generators");
  if (auto code = cli.ParseForMain(args, "lineserve-train datagen")) {
    return *code;
  }
  tiles.output_dir = out + "/tiles";
  tiles.seed = seed;
  table.output_path = out + "/production.csv";
  table.seed = seed;
  absl::Status status = datagen::GenerateSyntheticTiles(tiles);
  if (status.ok()) status = datagen::GenerateSyntheticProduction(table);
  if (!status.ok()) {
    std::cerr << "lineserve-train datagen: " << status.message() << "\n";
    return 1;
  }
  std::cout << "wrote " << tiles.ok_count + 3 * tiles.defect_count_per_class
            << " images (with masks) under " << tiles.output_dir << " and "
            << table.rows << " rows to " << table.output_path << "\n";
  return 0;
}

}  // namespace lineserve::train
