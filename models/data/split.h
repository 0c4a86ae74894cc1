// Deterministic train/validation splits.
#ifndef LINESERVE_MODELS_DATA_SPLIT_H_
#define LINESERVE_MODELS_DATA_SPLIT_H_

#include <cstdint>
#include <vector>

namespace lineserve::data {

struct Split {
  std::vector<int> train;       // indices into the data set, ascending
  std::vector<int> validation;  // indices into the data set, ascending
};

// Puts round(fraction * n_c) items of every class c into validation (at
// least one when the class has two or more items, so each class is
// evaluated, and never all of them, so each class is learnt) and the rest
// into training. Same seed, same split.
Split StratifiedSplit(const std::vector<int>& labels, double fraction,
                      uint64_t seed);

// A plain random split of `count` items.
Split RandomSplit(int count, double fraction, uint64_t seed);

}  // namespace lineserve::data

#endif  // LINESERVE_MODELS_DATA_SPLIT_H_
