#include "models/datagen/synthetic_tiles.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/datagen/random.h"
#include "server/common/file_util.h"
#include "server/common/status_macros.h"

namespace lineserve::datagen {
namespace {

preprocess::Image Blank(int width, int height) {
  preprocess::Image image;
  image.width = width;
  image.height = height;
  image.channels = 1;
  image.data.assign(static_cast<size_t>(width) * height, 0.0f);
  return image;
}

// The defect-free surface: a base grey, ground-in vertical striations,
// low-frequency blotches, uneven lighting across the tile and grain.
preprocess::Image RenderSurface(int w, int h, Random& rng) {
  preprocess::Image s = Blank(w, h);
  const double base = rng.Uniform(0.22, 0.42);
  // Striations: each column has its own offset, smoothed so neighbours
  // correlate, plus a few bright grinding streaks.
  std::vector<double> column(w);
  double walk = 0;
  for (int x = 0; x < w; ++x) {
    walk = 0.6 * walk + rng.Normal(0, 0.02);
    column[x] = walk;
    if (rng.Chance(0.03)) column[x] += rng.Uniform(0.03, 0.1);
  }
  struct Blob {
    double x, y, r, a;
  };
  std::vector<Blob> blobs;
  for (int i = 0, n = rng.Int(2, 5); i < n; ++i) {
    blobs.push_back({rng.Uniform(0, w), rng.Uniform(0, h),
                     rng.Uniform(0.15, 0.4) * std::max(w, h),
                     rng.Normal(0, 0.03)});
  }
  const double light_center = rng.Uniform(0.2, 0.8) * w;
  const double light_falloff = rng.Uniform(0.2, 0.5);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      double v = base + column[x];
      for (const Blob& b : blobs) {
        const double d2 =
            ((x - b.x) * (x - b.x) + (y - b.y) * (y - b.y)) / (b.r * b.r);
        v += b.a * std::exp(-d2);
      }
      const double dx = (x - light_center) / w;
      v *= 1.0 - light_falloff * dx * dx * 2;
      v += rng.Normal(0, 0.018);
      s.at(y, x, 0) = static_cast<float>(v);
    }
  }
  return s;
}

// Marks a soft disc of radius r at (cx, cy) in the defect layer.
void Stamp(preprocess::Image& layer, double cx, double cy, double r) {
  const int x0 = std::max(0, static_cast<int>(cx - r - 2));
  const int x1 = std::min(layer.width - 1, static_cast<int>(cx + r + 2));
  const int y0 = std::max(0, static_cast<int>(cy - r - 2));
  const int y1 = std::min(layer.height - 1, static_cast<int>(cy + r + 2));
  for (int y = y0; y <= y1; ++y) {
    for (int x = x0; x <= x1; ++x) {
      const double d = std::hypot(x - cx, y - cy);
      const double coverage = std::clamp(r + 0.5 - d, 0.0, 1.0);
      float& v = layer.at(y, x, 0);
      v = std::max(v, static_cast<float>(coverage));
    }
  }
}

void Scratch(preprocess::Image& layer, Random& rng) {
  const int w = layer.width, h = layer.height;
  const double len = rng.Uniform(0.4, 0.9) * std::hypot(w, h);
  const double angle = rng.Uniform(0, M_PI);
  const double cx = rng.Uniform(0.3, 0.7) * w, cy = rng.Uniform(0.3, 0.7) * h;
  const double bend = rng.Uniform(-0.15, 0.15) * len;
  const double r = rng.Uniform(0.5, 1.3);
  const double ux = std::cos(angle), uy = std::sin(angle);
  for (double t = -0.5; t <= 0.5; t += 0.5 / len) {
    const double off = bend * (1 - 4 * t * t);  // a shallow arc
    Stamp(layer, cx + ux * t * len - uy * off, cy + uy * t * len + ux * off, r);
  }
}

void Spots(preprocess::Image& layer, Random& rng) {
  const int n = rng.Int(1, 3);
  const double cx = rng.Uniform(0.2, 0.8) * layer.width;
  const double cy = rng.Uniform(0.2, 0.8) * layer.height;
  for (int i = 0; i < n; ++i) {
    Stamp(layer, cx + rng.Normal(0, 8), cy + rng.Normal(0, 8),
          rng.Uniform(2.0, 5.5));
  }
}

void CrackFrom(preprocess::Image& layer, Random& rng, double x, double y,
               double heading, int steps, int branches_left) {
  const double r = rng.Uniform(0.6, 1.2);
  for (int i = 0; i < steps; ++i) {
    heading += rng.Normal(0, 0.45);
    const double step = rng.Uniform(2.0, 4.0);
    const double nx = x + step * std::cos(heading);
    const double ny = y + step * std::sin(heading);
    for (double t = 0; t <= 1.0; t += 0.25) {
      Stamp(layer, x + t * (nx - x), y + t * (ny - y), r);
    }
    x = nx;
    y = ny;
    if (branches_left > 0 && rng.Chance(0.06)) {
      --branches_left;
      CrackFrom(layer, rng, x, y,
                heading + rng.Uniform(0.5, 1.2) * (rng.Chance(0.5) ? 1 : -1),
                steps / 3, 0);
    }
  }
}

void Crack(preprocess::Image& layer, Random& rng) {
  CrackFrom(layer, rng, rng.Uniform(0.2, 0.8) * layer.width,
            rng.Uniform(0.2, 0.8) * layer.height, rng.Uniform(0, 2 * M_PI),
            rng.Int(15, 45), 2);
}

uint64_t Mix(uint64_t a, uint64_t b) {
  // splitmix64 finaliser over the pair: independent streams per image.
  uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E5Bull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

const std::vector<std::string>& TileLabels() {
  static const auto* labels =
      new std::vector<std::string>{"ok", "crack", "scratch", "spot"};
  return *labels;
}

TileSample RenderTile(const std::string& label, uint64_t seed, int min_side,
                      int max_side) {
  Random rng(seed);
  const int w = rng.Int(min_side, max_side);
  const int h = rng.Int(min_side, max_side);
  TileSample sample;
  sample.image = RenderSurface(w, h, rng);
  preprocess::Image layer = Blank(w, h);
  // Dark or bright, with a contrast that ranges from plain to faint.
  double contrast = -rng.Uniform(0.08, 0.25);
  if (label == "scratch") {
    Scratch(layer, rng);
    if (rng.Chance(0.5)) contrast = -contrast;
  } else if (label == "spot") {
    Spots(layer, rng);
  } else if (label == "crack") {
    Crack(layer, rng);
  }
  sample.mask = Blank(w, h);
  for (size_t i = 0; i < layer.data.size(); ++i) {
    const float v =
        sample.image.data[i] + static_cast<float>(contrast) * layer.data[i];
    sample.image.data[i] = std::clamp(v, 0.0f, 1.0f);
    sample.mask.data[i] = layer.data[i] >= 0.5f ? 1.0f : 0.0f;
  }
  return sample;
}

absl::Status GenerateSyntheticTiles(const SyntheticTilesOptions& options) {
  namespace fs = std::filesystem;
  if (options.min_side_px < 32 || options.max_side_px < options.min_side_px) {
    return absl::InvalidArgumentError(
        "sides must satisfy 32 <= min_side_px <= max_side_px");
  }
  if (options.ok_count < 0 || options.defect_count_per_class < 0) {
    return absl::InvalidArgumentError("image counts must be >= 0");
  }
  const auto& labels = TileLabels();
  for (size_t l = 0; l < labels.size(); ++l) {
    const std::string& label = labels[l];
    const fs::path image_dir = fs::path(options.output_dir) / "images" / label;
    const fs::path mask_dir = fs::path(options.output_dir) / "masks" / label;
    std::error_code ec;
    fs::create_directories(image_dir, ec);
    fs::create_directories(mask_dir, ec);
    if (ec) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create ", image_dir.string(), ": ", ec.message()));
    }
    const int count =
        l == 0 ? options.ok_count : options.defect_count_per_class;
    for (int i = 0; i < count; ++i) {
      const TileSample sample =
          RenderTile(label, Mix(options.seed, Mix(l, i)), options.min_side_px,
                     options.max_side_px);
      const std::string name = absl::StrFormat("syn_%s_%04d.png", label, i);
      ASSIGN_OR_RETURN(std::string png, preprocess::EncodePng(sample.image));
      ASSIGN_OR_RETURN(std::string mask, preprocess::EncodePng(sample.mask));
      RETURN_IF_ERROR(WriteFileAtomically((image_dir / name).string(), png));
      RETURN_IF_ERROR(WriteFileAtomically((mask_dir / name).string(), mask));
    }
  }
  return absl::OkStatus();
}

}  // namespace lineserve::datagen
