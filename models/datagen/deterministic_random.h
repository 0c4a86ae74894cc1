// Random numbers that are the same on every platform and standard library.
//
// std::mt19937_64's output sequence is fixed by the C++ standard, but the
// std::*_distribution adaptors are not: libstdc++ and libc++ turn the same
// engine output into different doubles. The synthetic data sets must be
// byte-identical wherever they are generated (tests compare files, CI caches
// them), so the generators draw through this class, which derives every value
// from the raw engine output with plain IEEE arithmetic only (no log, exp or
// trig, whose last bits vary between libm versions).
//
// Not thread-safe; one instance per generating thread.
#ifndef LINESERVE_MODELS_DATAGEN_DETERMINISTIC_RANDOM_H_
#define LINESERVE_MODELS_DATAGEN_DETERMINISTIC_RANDOM_H_

#include <cstdint>
#include <random>

namespace lineserve::datagen {

// SplitMix64's finaliser: a bijective, well-mixed hash. Used to derive
// independent seeds for sub-streams (one per image, one per purpose) so that
// changing how many items are generated does not change the others.
inline uint64_t MixSeed(uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

// Combines a base seed with a stream identifier into a new seed.
inline uint64_t DeriveSeed(uint64_t seed, uint64_t stream) {
  return MixSeed(MixSeed(seed) ^ (stream * 0xD1B54A32D192ED03ULL));
}

class DeterministicRandom {
 public:
  explicit DeterministicRandom(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }

  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

  // Uniform in [low, high).
  double Uniform(double low, double high) {
    return low + (high - low) * Uniform();
  }

  // Uniform integer in [low, high] (inclusive). The modulo bias is below
  // 2^-40 for the small ranges used here, which is irrelevant for synthetic
  // data and keeps the draw to exactly one engine call.
  int64_t UniformInt(int64_t low, int64_t high) {
    if (high <= low) return low;
    const uint64_t span = static_cast<uint64_t>(high - low) + 1;
    return low + static_cast<int64_t>(engine_() % span);
  }

  // True with probability `p`.
  bool Bernoulli(double p) { return Uniform() < p; }

  // -1 or +1 with equal probability.
  double Sign() { return Bernoulli(0.5) ? 1.0 : -1.0; }

  // Approximately standard normal (Irwin-Hall: the sum of twelve uniforms
  // minus six). Mean 0, variance 1, bounded to [-6, 6], which is what
  // synthetic noise wants anyway: no rare extreme outliers.
  double Normal() {
    double sum = 0.0;
    for (int i = 0; i < 12; ++i) sum += Uniform();
    return sum - 6.0;
  }

  double Normal(double mean, double stddev) { return mean + stddev * Normal(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace lineserve::datagen

#endif  // LINESERVE_MODELS_DATAGEN_DETERMINISTIC_RANDOM_H_
