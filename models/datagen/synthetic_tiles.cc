#include "models/datagen/synthetic_tiles.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/datagen/deterministic_random.h"
#include "models/preprocess/image_encode.h"

namespace lineserve::datagen {
namespace {

// Only sqrt (correctly rounded by IEEE 754) is used from <cmath> below: log,
// exp and trig differ in their last bits between libm versions, which would
// make the images platform-dependent.

constexpr int kMinSideLimitPx = 32;
constexpr int kMaxSideLimitPx = 4096;

// Independent random streams of one sample. Size and surface do not depend on
// the class, so the same seed gives the same blank tile for every class and
// the defect is the only difference.
enum Stream : uint64_t { kSizeStream = 1, kSurfaceStream, kDefectStream };

enum class TileClass { kOk, kScratch, kSpot, kCrack };

struct Point {
  double x = 0.0;
  double y = 0.0;
};

Point operator+(Point a, Point b) { return {a.x + b.x, a.y + b.y}; }
Point operator-(Point a, Point b) { return {a.x - b.x, a.y - b.y}; }
Point operator*(double s, Point p) { return {s * p.x, s * p.y}; }
double Dot(Point a, Point b) { return a.x * b.x + a.y * b.y; }
Point Perpendicular(Point p) { return {-p.y, p.x}; }

Point Normalized(Point p) {
  const double length = std::sqrt(Dot(p, p));
  if (length == 0.0) return {1.0, 0.0};
  return (1.0 / length) * p;
}

// A direction uniformly distributed on the circle, by rejection sampling in
// the unit disc (no trig, see above).
Point RandomDirection(DeterministicRandom& rng) {
  for (;;) {
    const Point p{rng.Uniform(-1.0, 1.0), rng.Uniform(-1.0, 1.0)};
    const double r2 = Dot(p, p);
    if (r2 > 1e-4 && r2 <= 1.0) return Normalized(p);
  }
}

double SmoothStep(double edge0, double edge1, double x) {
  const double t = std::clamp((x - edge0) / (edge1 - edge0), 0.0, 1.0);
  return t * t * (3.0 - 2.0 * t);
}

// Approximately normal, cheaper than DeterministicRandom::Normal: four
// uniforms scaled to unit variance. Per-pixel grain draws millions of these.
double Grain(DeterministicRandom& rng) {
  const double sum =
      rng.Uniform() + rng.Uniform() + rng.Uniform() + rng.Uniform();
  return (sum - 2.0) * 1.7320508075688772;  // sqrt(3): variance 4/12 -> 1
}

// Random values in [-1, 1] on a lattice of cell_x_px by cell_y_px cells,
// interpolated with smoothstep weights: cheap, smooth, low-frequency texture.
class ValueNoise {
 public:
  ValueNoise(DeterministicRandom& rng, int width, int height, double cell_x_px,
             double cell_y_px)
      : cell_x_px_(cell_x_px),
        cell_y_px_(cell_y_px),
        columns_(static_cast<int>(width / cell_x_px) + 2),
        rows_(static_cast<int>(height / cell_y_px) + 2),
        values_(static_cast<size_t>(columns_) * rows_) {
    for (double& v : values_) v = rng.Uniform(-1.0, 1.0);
  }

  double At(double x, double y) const {
    const double gx = std::clamp(x / cell_x_px_, 0.0, columns_ - 1.001);
    const double gy = std::clamp(y / cell_y_px_, 0.0, rows_ - 1.001);
    const int ix = static_cast<int>(gx);
    const int iy = static_cast<int>(gy);
    const double fx = SmoothStep(0.0, 1.0, gx - ix);
    const double fy = SmoothStep(0.0, 1.0, gy - iy);
    const double top = Lerp(Value(ix, iy), Value(ix + 1, iy), fx);
    const double bottom = Lerp(Value(ix, iy + 1), Value(ix + 1, iy + 1), fx);
    return Lerp(top, bottom, fy);
  }

 private:
  static double Lerp(double a, double b, double t) { return a + (b - a) * t; }
  double Value(int x, int y) const {
    return values_[static_cast<size_t>(y) * columns_ + x];
  }

  double cell_x_px_;
  double cell_y_px_;
  int columns_;
  int rows_;
  std::vector<double> values_;
};

// A single-channel float image of the given size, all zero.
preprocess::Image BlankImage(int width, int height) {
  preprocess::Image image;
  image.width = width;
  image.height = height;
  image.channels = 1;
  image.data.assign(static_cast<size_t>(width) * height, 0.0f);
  return image;
}

// Coverage at or above this is the body of a blob rather than its soft rim.
constexpr double kBodyCoverage = 0.5;
// Pixels whose centre is this close to a stroke's edge are in its mask. With
// it, a line of any direction has a masked pixel in every row or column it
// crosses (no pixel centre is more than sqrt(2)/2 from a line).
constexpr double kStrokeMaskSlackPx = 0.3;
// Stroke parts fainter than this (the faded ends of a scratch) are left out
// of the mask: too faint for an inspector to mark.
constexpr double kMaskedIntensity = 0.3;

// Where one defect element covers the image: how strongly, in [0, 1] per
// pixel, and whether the pixel belongs to its mask. The mask follows the
// geometry, not the drawn strength, so a scratch that runs shallow for a
// stretch stays one connected mask. Strokes are combined with max, so
// overlapping segments of one polyline do not darken their joints twice.
class Coverage {
 public:
  Coverage(int width, int height)
      : width_(width),
        height_(height),
        values_(static_cast<size_t>(width) * height, 0.0),
        mask_(static_cast<size_t>(width) * height, false) {}

  int width() const { return width_; }
  int height() const { return height_; }
  double at(size_t i) const { return values_[i]; }
  bool masked(size_t i) const { return mask_[i]; }

  // A segment from a to b whose half width and intensity go linearly from
  // the a-values to the b-values; the edge is anti-aliased over one pixel.
  void AddSegment(Point a, Point b, double half_width_a, double half_width_b,
                  double intensity_a, double intensity_b) {
    const double reach = std::max(half_width_a, half_width_b) + 1.5;
    const int x0 = std::max(0, static_cast<int>(std::min(a.x, b.x) - reach));
    const int x1 =
        std::min(width_ - 1, static_cast<int>(std::max(a.x, b.x) + reach));
    const int y0 = std::max(0, static_cast<int>(std::min(a.y, b.y) - reach));
    const int y1 =
        std::min(height_ - 1, static_cast<int>(std::max(a.y, b.y) + reach));
    const Point ab = b - a;
    const double length2 = Dot(ab, ab);
    for (int y = y0; y <= y1; ++y) {
      for (int x = x0; x <= x1; ++x) {
        const Point p{x + 0.5, y + 0.5};
        double t = length2 > 0.0 ? Dot(p - a, ab) / length2 : 0.0;
        t = std::clamp(t, 0.0, 1.0);
        const Point d = p - (a + t * ab);
        const double distance = std::sqrt(Dot(d, d));
        const double half_width =
            half_width_a + t * (half_width_b - half_width_a);
        const double edge = std::clamp(half_width + 0.5 - distance, 0.0, 1.0);
        const double intensity = intensity_a + t * (intensity_b - intensity_a);
        Max(y, x, edge * intensity,
            distance <= half_width + kStrokeMaskSlackPx &&
                intensity >= kMaskedIntensity);
      }
    }
  }

  void Max(int y, int x, double value, bool in_mask) {
    const size_t i = static_cast<size_t>(y) * width_ + x;
    values_[i] = std::max(values_[i], value);
    if (in_mask) mask_[i] = true;
  }

 private:
  int width_;
  int height_;
  std::vector<double> values_;
  std::vector<bool> mask_;
};

// Adds one defect element to the image (`contrast` > 0 brightens, < 0
// darkens) and marks it in the mask.
void Apply(const Coverage& coverage, double contrast, preprocess::Image& image,
           preprocess::Image* mask) {
  for (size_t i = 0; i < image.data.size(); ++i) {
    const double c = coverage.at(i);
    if (c <= 0.0) continue;
    image.data[i] += static_cast<float>(contrast * c);
    if (mask != nullptr && coverage.masked(i)) mask->data[i] = 1.0f;
  }
}

// A point uniformly inside the image, at least `margin` pixels from its edge.
Point RandomPointInside(DeterministicRandom& rng, int width, int height,
                        double margin) {
  return {rng.Uniform(margin, width - margin),
          rng.Uniform(margin, height - margin)};
}

Point ClampInside(Point p, int width, int height, double margin) {
  return {std::clamp(p.x, margin, width - margin),
          std::clamp(p.y, margin, height - margin)};
}

// How far one can go from `from` along unit `direction` and stay at least
// `margin` inside the image (`from` must be inside that margin).
double DistanceToEdge(Point from, Point direction, int width, int height,
                      double margin) {
  double limit = 1e9;
  if (direction.x > 1e-9)
    limit = std::min(limit, (width - margin - from.x) / direction.x);
  if (direction.x < -1e-9)
    limit = std::min(limit, (margin - from.x) / direction.x);
  if (direction.y > 1e-9)
    limit = std::min(limit, (height - margin - from.y) / direction.y);
  if (direction.y < -1e-9)
    limit = std::min(limit, (margin - from.y) / direction.y);
  return std::max(0.0, limit);
}

// The defect-free surface: shading across the (curved) tile, vertical
// grinding streaks whose strength wanders along the tile, low-frequency
// blotches, per-image exposure and fine sensor grain, like the real photos.
preprocess::Image RenderSurface(int width, int height, uint64_t seed) {
  DeterministicRandom rng(seed);
  const double base = rng.Uniform(0.18, 0.38);
  const double exposure = rng.Uniform(0.8, 1.2);

  // Shading: a smooth profile across x (the tile's curvature under a lamp)
  // plus a linear gradient in a random direction.
  const ValueNoise profile(rng, width, 1, width / rng.Uniform(1.5, 3.0), 1.0);
  const double profile_amplitude = rng.Uniform(0.03, 0.12);
  const Point gradient_direction = RandomDirection(rng);
  const double gradient_amplitude = rng.Uniform(0.0, 0.08);

  // Streaks: one value per column, lightly smoothed so neighbours correlate,
  // with a few bright grinding lines; their strength varies along y.
  std::vector<double> raw(width);
  for (double& v : raw) {
    v = Grain(rng);
    if (rng.Bernoulli(0.06)) v += rng.Uniform(1.5, 4.0);
  }
  std::vector<double> streak(width);
  for (int x = 0; x < width; ++x) {
    const double left = raw[std::max(0, x - 1)];
    const double right = raw[std::min(width - 1, x + 1)];
    streak[x] = 0.5 * raw[x] + 0.25 * (left + right);
  }
  const double streak_amplitude = rng.Uniform(0.025, 0.06);
  const ValueNoise streak_strength(rng, width, height, 24.0, 64.0);

  // Blotches: two octaves of value noise.
  const double blotch_cell_px = rng.Uniform(30.0, 60.0);
  const ValueNoise blotch(rng, width, height, blotch_cell_px, blotch_cell_px);
  const ValueNoise blotch_detail(rng, width, height, blotch_cell_px / 2.5,
                                 blotch_cell_px / 2.5);
  const double blotch_amplitude = rng.Uniform(0.015, 0.05);

  const double grain_amplitude = rng.Uniform(0.008, 0.025);

  preprocess::Image image = BlankImage(width, height);
  const Point center{width / 2.0, height / 2.0};
  const double half_diagonal = std::sqrt(Dot(center, center));
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const Point p{x + 0.5, y + 0.5};
      double v = base;
      v += profile_amplitude * profile.At(x, 0.0);
      v += gradient_amplitude * Dot(p - center, gradient_direction) /
           half_diagonal;
      v +=
          streak_amplitude * streak[x] * (0.6 + 0.4 * streak_strength.At(x, y));
      v += blotch_amplitude * (blotch.At(x, y) + 0.5 * blotch_detail.At(x, y));
      v = exposure * v + grain_amplitude * Grain(rng);
      image.at(y, x, 0) = static_cast<float>(v);
    }
  }
  return image;
}

// A quadratic Bezier curve through the image, sampled about every 2 px.
std::vector<Point> Bezier(Point p0, Point control, Point p2) {
  const Point chord = p2 - p0;
  const int segments =
      std::max(4, static_cast<int>(std::sqrt(Dot(chord, chord)) / 2.0));
  std::vector<Point> points;
  points.reserve(segments + 1);
  for (int i = 0; i <= segments; ++i) {
    const double t = static_cast<double>(i) / segments;
    const double u = 1.0 - t;
    points.push_back(u * u * p0 + 2.0 * u * t * control + t * t * p2);
  }
  return points;
}

// A thin, slightly curved line with faded ends and uneven depth along its
// length. Half its length is between min_half_length and max_half_length
// (fractions of the longer side), cut short by the image edge.
void DrawScratch(DeterministicRandom& rng, double half_width,
                 double min_half_length, double max_half_length,
                 Coverage& coverage) {
  const int width = coverage.width();
  const int height = coverage.height();
  constexpr double kMargin = 4.0;
  // The middle is well inside the image, so the line is never a stub.
  const Point middle{rng.Uniform(0.25, 0.75) * width,
                     rng.Uniform(0.25, 0.75) * height};
  const Point direction = RandomDirection(rng);
  double half_length =
      rng.Uniform(min_half_length, max_half_length) * std::max(width, height);
  half_length = std::min(
      {half_length, DistanceToEdge(middle, direction, width, height, kMargin),
       DistanceToEdge(middle, -1.0 * direction, width, height, kMargin)});
  const Point p0 = middle - half_length * direction;
  const Point p2 = middle + half_length * direction;
  // The control point stays inside, and so does the whole curve (it lies in
  // the triangle p0, control, p2).
  const Point control =
      ClampInside(middle + rng.Uniform(-0.25, 0.25) * half_length *
                               Perpendicular(direction),
                  width, height, kMargin);
  const std::vector<Point> points = Bezier(p0, control, p2);

  // Depth along the line: faded ends and a slow random variation.
  std::vector<double> knots(9);
  for (double& k : knots) k = rng.Uniform(0.55, 1.0);
  const auto intensity = [&](size_t i) {
    const double t = static_cast<double>(i) / (points.size() - 1);
    const double knot = t * (knots.size() - 1);
    const size_t k = std::min(knots.size() - 2, static_cast<size_t>(knot));
    const double f = SmoothStep(0.0, 1.0, knot - k);
    const double depth = knots[k] + (knots[k + 1] - knots[k]) * f;
    const double fade = std::min({1.0, t / 0.12, (1.0 - t) / 0.12});
    return depth * fade;
  };
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    coverage.AddSegment(points[i], points[i + 1], half_width, half_width,
                        intensity(i), intensity(i + 1));
  }
}

void DrawScratches(DeterministicRandom& rng, preprocess::Image& image,
                   preprocess::Image& mask) {
  // Mostly one line; sometimes a group, as a tool dragged across leaves.
  const int count =
      rng.Bernoulli(0.7) ? 1 : static_cast<int>(rng.UniformInt(2, 3));
  for (int i = 0; i < count; ++i) {
    Coverage coverage(image.width, image.height);
    DrawScratch(rng, rng.Uniform(0.45, 1.2), 0.2, 0.45, coverage);
    const double contrast = rng.Sign() * rng.Uniform(0.07, 0.22);
    Apply(coverage, contrast, image, &mask);
  }
}

// Blowhole-like blobs: small soft-edged ellipses with a ragged outline.
void DrawSpots(DeterministicRandom& rng, preprocess::Image& image,
               preprocess::Image& mask) {
  const int width = image.width;
  const int height = image.height;
  const double u = rng.Uniform();
  const int count = u < 0.6 ? 1 : (u < 0.9 ? 2 : 3);
  const ValueNoise ragged(rng, width, height, 3.0, 3.0);
  const Point first = RandomPointInside(rng, width, height, 14.0);
  for (int i = 0; i < count; ++i) {
    const Point center =
        i == 0 ? first
               : ClampInside(first + Point{rng.Uniform(-22.0, 22.0),
                                           rng.Uniform(-22.0, 22.0)},
                             width, height, 14.0);
    const double major_px = rng.Uniform(3.0, 10.0);
    // At least 2 px across, so the pixel holding the centre is always in the
    // mask (its centre is within 0.71 px of the blob's).
    const double minor_px = std::max(2.0, major_px * rng.Uniform(0.4, 1.0));
    const Point axis = RandomDirection(rng);
    const Point cross = Perpendicular(axis);
    Coverage coverage(width, height);
    const int reach = static_cast<int>(major_px * 1.4) + 2;
    const int cx = static_cast<int>(center.x);
    const int cy = static_cast<int>(center.y);
    for (int y = std::max(0, cy - reach); y <= std::min(height - 1, cy + reach);
         ++y) {
      for (int x = std::max(0, cx - reach);
           x <= std::min(width - 1, cx + reach); ++x) {
        const Point d = Point{x + 0.5, y + 0.5} - center;
        const double a = Dot(d, axis) / major_px;
        const double b = Dot(d, cross) / minor_px;
        const double r = std::sqrt(a * a + b * b) + 0.15 * ragged.At(x, y);
        // Soft edge: full inside ~0.55, gone beyond ~1.05 of the radius.
        const double value = 1.0 - SmoothStep(0.55, 1.05, r);
        coverage.Max(y, x, value, value >= kBodyCoverage);
      }
    }
    const bool dark = rng.Bernoulli(0.75);
    const double contrast =
        dark ? -rng.Uniform(0.12, 0.30) : rng.Uniform(0.10, 0.22);
    Apply(coverage, contrast, image, &mask);
  }
}

// A jagged random walk from `start`, `length_px` long (stopped by the image
// edge); returns its vertices.
std::vector<Point> JaggedWalk(DeterministicRandom& rng, Point start,
                              Point direction, double length_px, int width,
                              int height) {
  constexpr double kMargin = 2.0;
  std::vector<Point> points{start};
  double travelled = 0.0;
  while (travelled < length_px) {
    // Turn a little each step and kink sideways: cracks follow grain
    // boundaries, not straight lines.
    direction =
        Normalized(direction + 0.35 * rng.Normal() * Perpendicular(direction));
    const double step = rng.Uniform(3.0, 7.0);
    const Point next = points.back() + step * direction +
                       rng.Normal(0.0, 0.8) * Perpendicular(direction);
    if (next.x < kMargin || next.y < kMargin || next.x > width - kMargin ||
        next.y > height - kMargin) {
      break;
    }
    points.push_back(next);
    travelled += step;
  }
  return points;
}

// Draws a polyline that narrows towards its tip.
void DrawPolyline(const std::vector<Point>& points, double half_width,
                  double intensity, DeterministicRandom& rng,
                  Coverage& coverage) {
  if (points.size() == 1) {
    coverage.AddSegment(points[0], points[0], half_width, half_width, intensity,
                        intensity);
    return;
  }
  const double last = static_cast<double>(points.size() - 1);
  double depth = rng.Uniform(0.75, 1.0);
  for (size_t i = 0; i + 1 < points.size(); ++i) {
    const double next_depth = rng.Uniform(0.75, 1.0);
    const double w0 = half_width * (1.0 - 0.5 * i / last);
    const double w1 = half_width * (1.0 - 0.5 * (i + 1) / last);
    coverage.AddSegment(points[i], points[i + 1], w0, w1, intensity * depth,
                        intensity * next_depth);
    depth = next_depth;
  }
}

// A dark jagged crack with one to three side branches.
void DrawCrack(DeterministicRandom& rng, preprocess::Image& image,
               preprocess::Image& mask) {
  const int width = image.width;
  const int height = image.height;
  const Point start = RandomPointInside(rng, width, height, 10.0);
  const double length_px = rng.Uniform(0.3, 0.8) * std::max(width, height);
  // Head into the image rather than out of it, or a start near the edge
  // would leave a stub.
  Point direction = RandomDirection(rng);
  if (DistanceToEdge(start, direction, width, height, 2.0) <
      DistanceToEdge(start, -1.0 * direction, width, height, 2.0)) {
    direction = -1.0 * direction;
  }
  const std::vector<Point> trunk =
      JaggedWalk(rng, start, direction, length_px, width, height);
  const double half_width = rng.Uniform(0.6, 1.6);
  Coverage coverage(width, height);
  DrawPolyline(trunk, half_width, 1.0, rng, coverage);
  const int branches = static_cast<int>(rng.UniformInt(1, 3));
  for (int i = 0; i < branches && trunk.size() > 3; ++i) {
    const size_t at = static_cast<size_t>(
        rng.UniformInt(1, static_cast<int64_t>(trunk.size()) - 2));
    const Point along = Normalized(trunk[at + 1] - trunk[at]);
    // Branch off at roughly 30 to 55 degrees to either side.
    const Point branch_direction = Normalized(
        along + rng.Sign() * rng.Uniform(0.6, 1.4) * Perpendicular(along));
    const std::vector<Point> branch =
        JaggedWalk(rng, trunk[at], branch_direction,
                   rng.Uniform(0.15, 0.4) * length_px, width, height);
    DrawPolyline(branch, half_width * 0.65, 0.85, rng, coverage);
  }
  Apply(coverage, -rng.Uniform(0.12, 0.32), image, &mask);
}

// Faint short marks on every class, below the contrast of any defect and not
// in the mask: real good tiles are not spotless, and a model should not learn
// "any line at all means scratch".
void DrawBlemishes(int width, int height, uint64_t seed,
                   preprocess::Image& image) {
  DeterministicRandom rng(seed);
  const int count = static_cast<int>(rng.UniformInt(0, 2));
  for (int i = 0; i < count; ++i) {
    Coverage coverage(width, height);
    DrawScratch(rng, rng.Uniform(0.4, 0.8), 0.04, 0.12, coverage);
    Apply(coverage, rng.Sign() * rng.Uniform(0.01, 0.035), image, nullptr);
  }
}

absl::StatusOr<TileClass> ParseTileClass(absl::string_view label) {
  if (label == "ok") return TileClass::kOk;
  if (label == "scratch") return TileClass::kScratch;
  if (label == "spot") return TileClass::kSpot;
  if (label == "crack") return TileClass::kCrack;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown synthetic tile class '", label,
                   "'; expected ok, scratch, spot or crack"));
}

absl::Status ValidateSides(int min_side_px, int max_side_px) {
  if (min_side_px < kMinSideLimitPx || max_side_px > kMaxSideLimitPx ||
      min_side_px > max_side_px) {
    return absl::InvalidArgumentError(
        absl::StrCat("image sides must satisfy ", kMinSideLimitPx,
                     " <= min_side_px <= max_side_px <= ", kMaxSideLimitPx,
                     ", got ", min_side_px, " and ", max_side_px));
  }
  return absl::OkStatus();
}

absl::Status CreateDirectory(const std::filesystem::path& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return absl::ErrnoToStatus(
        error.value(), absl::StrCat("cannot create folder ", dir.string()));
  }
  return absl::OkStatus();
}

// Encodes an image (samples in [0, 1]) as an 8-bit grey PNG at `path`.
absl::Status WritePng(const preprocess::Image& image,
                      const std::filesystem::path& path) {
  absl::StatusOr<std::string> png = preprocess::EncodePng(image, 8);
  if (!png.ok()) {
    return AnnotateStatus(png.status(),
                          absl::StrCat("cannot encode ", path.string()));
  }
  return AnnotateStatus(WriteFileAtomically(path.string(), *png),
                        absl::StrCat("cannot write ", path.string()));
}

}  // namespace

const std::vector<std::string>& SyntheticTileClasses() {
  static const auto* const kClasses =
      new std::vector<std::string>{"ok", "scratch", "spot", "crack"};
  return *kClasses;
}

absl::StatusOr<TileSample> RenderTile(absl::string_view label, uint64_t seed,
                                      int min_side_px, int max_side_px) {
  ASSIGN_OR_RETURN(const TileClass tile_class, ParseTileClass(label));
  RETURN_IF_ERROR(ValidateSides(min_side_px, max_side_px));

  DeterministicRandom size_rng(DeriveSeed(seed, kSizeStream));
  const int width =
      static_cast<int>(size_rng.UniformInt(min_side_px, max_side_px));
  const int height =
      static_cast<int>(size_rng.UniformInt(min_side_px, max_side_px));

  TileSample sample;
  sample.label = std::string(label);
  sample.image = RenderSurface(width, height, DeriveSeed(seed, kSurfaceStream));
  DrawBlemishes(width, height, DeriveSeed(seed, kSurfaceStream + 100),
                sample.image);
  sample.mask = BlankImage(width, height);
  DeterministicRandom defect_rng(DeriveSeed(seed, kDefectStream));
  switch (tile_class) {
    case TileClass::kOk:
      break;
    case TileClass::kScratch:
      DrawScratches(defect_rng, sample.image, sample.mask);
      break;
    case TileClass::kSpot:
      DrawSpots(defect_rng, sample.image, sample.mask);
      break;
    case TileClass::kCrack:
      DrawCrack(defect_rng, sample.image, sample.mask);
      break;
  }
  for (float& v : sample.image.data) v = std::clamp(v, 0.0f, 1.0f);
  return sample;
}

absl::Status GenerateSyntheticTiles(const SyntheticTilesOptions& options) {
  if (options.output_dir.empty()) {
    return absl::InvalidArgumentError("output_dir is empty");
  }
  if (options.ok_count < 0 || options.defect_count_per_class < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "image counts must be >= 0, got ok_count ", options.ok_count,
        " and defect_count_per_class ", options.defect_count_per_class));
  }
  RETURN_IF_ERROR(ValidateSides(options.min_side_px, options.max_side_px));

  const std::filesystem::path root(options.output_dir);
  const std::vector<std::string>& classes = SyntheticTileClasses();
  int number = 0;  // running over all classes: names are unique in the set
  for (size_t c = 0; c < classes.size(); ++c) {
    const std::string& label = classes[c];
    const std::filesystem::path image_dir = root / "images" / label;
    const std::filesystem::path mask_dir = root / "masks" / label;
    RETURN_IF_ERROR(CreateDirectory(image_dir));
    RETURN_IF_ERROR(CreateDirectory(mask_dir));
    const int count =
        label == "ok" ? options.ok_count : options.defect_count_per_class;
    for (int i = 0; i < count; ++i, ++number) {
      // Seeded by class and index within the class, not by `number`, so that
      // changing one class's count leaves the other classes' pixels alone.
      const uint64_t sample_seed =
          DeriveSeed(DeriveSeed(options.seed, c), static_cast<uint64_t>(i));
      ASSIGN_OR_RETURN(const TileSample sample,
                       RenderTile(label, sample_seed, options.min_side_px,
                                  options.max_side_px));
      const std::string name = absl::StrFormat("syn_%05d.png", number);
      RETURN_IF_ERROR(WritePng(sample.image, image_dir / name));
      RETURN_IF_ERROR(WritePng(sample.mask, mask_dir / name));
    }
  }
  return absl::OkStatus();
}

}  // namespace lineserve::datagen
