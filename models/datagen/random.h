// Draws for the synthetic data generators, built on std::mt19937_64 alone:
// the standard distributions' algorithms are implementation-defined, and
// the bundled data must be the same everywhere for a seed.
#ifndef LINESERVE_MODELS_DATAGEN_RANDOM_H_
#define LINESERVE_MODELS_DATAGEN_RANDOM_H_

#include <cmath>
#include <cstdint>
#include <random>

namespace lineserve::datagen {

class Random {
 public:
  explicit Random(uint64_t seed) : engine_(seed) {}

  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Uniform integer in [lo, hi].
  int Int(int lo, int hi) {
    return lo +
           static_cast<int>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Chance(double p) { return Uniform() < p; }
  // Standard normal (Box-Muller).
  double Normal() {
    const double u = 1.0 - Uniform();  // (0, 1], keeps log finite
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2 * M_PI * Uniform());
  }
  double Normal(double mean, double stddev) { return mean + stddev * Normal(); }
  uint64_t Next() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace lineserve::datagen

#endif  // LINESERVE_MODELS_DATAGEN_RANDOM_H_
