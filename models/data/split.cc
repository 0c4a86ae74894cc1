#include "models/data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

namespace lineserve::data {
namespace {

// Fisher-Yates with our own index draw: std::shuffle's use of the engine is
// unspecified, and a split must be the same on every standard library.
void Shuffle(std::vector<int>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    const size_t j = rng() % i;
    std::swap(items[i - 1], items[j]);
  }
}

void Finish(Split& split) {
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.validation.begin(), split.validation.end());
}

}  // namespace

Split StratifiedSplit(const std::vector<int>& labels, double fraction,
                      uint64_t seed) {
  std::map<int, std::vector<int>> by_class;
  for (int i = 0; i < static_cast<int>(labels.size()); ++i) {
    by_class[labels[i]].push_back(i);
  }
  std::mt19937_64 rng(seed);
  Split split;
  for (auto& [label, items] : by_class) {
    Shuffle(items, rng);
    size_t n_val = static_cast<size_t>(std::lround(fraction * items.size()));
    if (fraction > 0 && n_val == 0 && items.size() >= 2) n_val = 1;
    // A class must keep at least one item to learn from.
    n_val = std::min(n_val, items.size() - 1);
    split.validation.insert(split.validation.end(), items.begin(),
                            items.begin() + n_val);
    split.train.insert(split.train.end(), items.begin() + n_val, items.end());
  }
  Finish(split);
  return split;
}

Split RandomSplit(int count, double fraction, uint64_t seed) {
  std::vector<int> items(count);
  for (int i = 0; i < count; ++i) items[i] = i;
  std::mt19937_64 rng(seed);
  Shuffle(items, rng);
  const size_t n_val = std::min<size_t>(
      items.size(), static_cast<size_t>(std::lround(fraction * count)));
  Split split;
  split.validation.assign(items.begin(), items.begin() + n_val);
  split.train.assign(items.begin() + n_val, items.end());
  Finish(split);
  return split;
}

}  // namespace lineserve::data
