// Deterministic train/validation splits.
#ifndef LINESERVE_MODELS_DATA_SPLIT_H_
#define LINESERVE_MODELS_DATA_SPLIT_H_

#include <cstdint>
#include <string>
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

// `folds` splits of `count` items whose validation sides partition them:
// the items are shuffled once and dealt round-robin, so fold sizes differ
// by at most one. Every item is validated exactly once. 2 <= folds <= count.
std::vector<Split> KFold(int count, int folds, uint64_t seed);

// Photos of one physical part belong together: a split that puts one
// photo of a part in training and another in validation measures "a new
// photo of a part already seen", not "a new part".
//
// Group ids per item for file names of the form `exp<E>_num_<N>.<ext>` (the
// magnetic-tile convention: up to six exposures of one tile with
// consecutive N). Within each class, items sorted by N, a new tile starts
// where N jumps by more than `max_num_gap` or an exposure E repeats within
// the current tile. An item whose name does not follow the pattern is a
// group of its own. Ids are 0..G-1, numbered in order of first appearance
// in `paths`.
std::vector<int> TileGroups(const std::vector<std::string>& paths,
                            const std::vector<int>& labels,
                            int64_t max_num_gap = 300);

// StratifiedSplit over groups: within each class, round(fraction * groups)
// whole groups go to validation (at least one when the class has two or
// more groups, never all). No group is on both sides. `groups[i]` must hold
// items of one class only (TileGroups guarantees it).
Split GroupedStratifiedSplit(const std::vector<int>& labels,
                             const std::vector<int>& groups, double fraction,
                             uint64_t seed);

// `folds` splits whose validation sides partition the data by group: each
// class's groups are shuffled and dealt round-robin over the folds (the
// dealing continues from class to class, so small classes do not all land
// in fold 0). Every item is validated exactly once. folds >= 2.
std::vector<Split> GroupedStratifiedKFold(const std::vector<int>& labels,
                                          const std::vector<int>& groups,
                                          int folds, uint64_t seed);

}  // namespace lineserve::data

#endif  // LINESERVE_MODELS_DATA_SPLIT_H_
