#include "models/data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

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

// Parses "exp<E>_num_<N>.<ext>" (any folder prefix); false otherwise.
bool ParseTileName(absl::string_view path, int64_t* exposure, int64_t* num) {
  const size_t slash = path.find_last_of('/');
  if (slash != absl::string_view::npos) path.remove_prefix(slash + 1);
  const size_t dot = path.find_last_of('.');
  if (dot != absl::string_view::npos) path = path.substr(0, dot);
  if (!absl::ConsumePrefix(&path, "exp")) return false;
  const size_t sep = path.find("_num_");
  if (sep == absl::string_view::npos) return false;
  return absl::SimpleAtoi(path.substr(0, sep), exposure) &&
         absl::SimpleAtoi(path.substr(sep + 5), num);
}

// Item indices per group, groups in order of first appearance, together
// with each group's class.
struct GroupTable {
  std::vector<std::vector<int>> members;
  std::vector<int> label;
};

GroupTable TabulateGroups(const std::vector<int>& labels,
                          const std::vector<int>& groups) {
  GroupTable table;
  std::map<int, int> index;
  for (int i = 0; i < static_cast<int>(groups.size()); ++i) {
    auto [it, added] =
        index.emplace(groups[i], static_cast<int>(table.members.size()));
    if (added) {
      table.members.emplace_back();
      table.label.push_back(labels[i]);
    }
    table.members[it->second].push_back(i);
  }
  return table;
}

// Each class's group positions in `table`, classes in ascending order.
std::map<int, std::vector<int>> GroupsByClass(const GroupTable& table) {
  std::map<int, std::vector<int>> by_class;
  for (int g = 0; g < static_cast<int>(table.label.size()); ++g) {
    by_class[table.label[g]].push_back(g);
  }
  return by_class;
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

std::vector<Split> KFold(int count, int folds, uint64_t seed) {
  std::vector<int> items(count);
  for (int i = 0; i < count; ++i) items[i] = i;
  std::mt19937_64 rng(seed);
  Shuffle(items, rng);
  std::vector<Split> splits(folds);
  for (int i = 0; i < count; ++i) {
    for (int f = 0; f < folds; ++f) {
      (f == i % folds ? splits[f].validation : splits[f].train)
          .push_back(items[i]);
    }
  }
  for (Split& split : splits) Finish(split);
  return splits;
}

std::vector<int> TileGroups(const std::vector<std::string>& paths,
                            const std::vector<int>& labels,
                            int64_t max_num_gap) {
  struct Photo {
    int label;
    int64_t num;
    int64_t exposure;
    int index;
  };
  std::vector<Photo> photos;
  std::vector<int> tile(paths.size(), -1);
  for (int i = 0; i < static_cast<int>(paths.size()); ++i) {
    int64_t exposure = 0, num = 0;
    if (ParseTileName(paths[i], &exposure, &num)) {
      photos.push_back({labels[i], num, exposure, i});
    }
  }
  std::sort(photos.begin(), photos.end(), [](const Photo& a, const Photo& b) {
    return std::tie(a.label, a.num, a.index) <
           std::tie(b.label, b.num, b.index);
  });
  // Provisional tile ids are the position of the tile's first photo; the
  // final ids are renumbered in path order below.
  std::vector<int64_t> exposures;  // of the current tile
  for (size_t p = 0; p < photos.size(); ++p) {
    const Photo& photo = photos[p];
    const bool new_tile = p == 0 || photo.label != photos[p - 1].label ||
                          photo.num - photos[p - 1].num > max_num_gap ||
                          std::find(exposures.begin(), exposures.end(),
                                    photo.exposure) != exposures.end();
    if (new_tile) exposures.clear();
    exposures.push_back(photo.exposure);
    tile[photo.index] = new_tile ? photo.index : tile[photos[p - 1].index];
  }
  std::map<int, int> renumber;
  std::vector<int> groups(paths.size());
  for (int i = 0; i < static_cast<int>(paths.size()); ++i) {
    const int key = tile[i] < 0 ? i : tile[i];
    groups[i] =
        renumber.emplace(key, static_cast<int>(renumber.size())).first->second;
  }
  return groups;
}

Split GroupedStratifiedSplit(const std::vector<int>& labels,
                             const std::vector<int>& groups, double fraction,
                             uint64_t seed) {
  const GroupTable table = TabulateGroups(labels, groups);
  std::mt19937_64 rng(seed);
  Split split;
  for (auto& [label, members] : GroupsByClass(table)) {
    Shuffle(members, rng);
    size_t n_val = static_cast<size_t>(std::lround(fraction * members.size()));
    if (fraction > 0 && n_val == 0 && members.size() >= 2) n_val = 1;
    n_val = std::min(n_val, members.size() - 1);
    for (size_t k = 0; k < members.size(); ++k) {
      auto& side = k < n_val ? split.validation : split.train;
      const auto& items = table.members[members[k]];
      side.insert(side.end(), items.begin(), items.end());
    }
  }
  Finish(split);
  return split;
}

std::vector<Split> GroupedStratifiedKFold(const std::vector<int>& labels,
                                          const std::vector<int>& groups,
                                          int folds, uint64_t seed) {
  folds = std::max(2, folds);
  const GroupTable table = TabulateGroups(labels, groups);
  std::mt19937_64 rng(seed);
  std::vector<int> fold_of(table.members.size());
  int next = 0;
  for (auto& [label, members] : GroupsByClass(table)) {
    Shuffle(members, rng);
    for (int g : members) fold_of[g] = next++ % folds;
  }
  std::vector<Split> splits(folds);
  for (size_t g = 0; g < table.members.size(); ++g) {
    for (int f = 0; f < folds; ++f) {
      auto& side = f == fold_of[g] ? splits[f].validation : splits[f].train;
      side.insert(side.end(), table.members[g].begin(), table.members[g].end());
    }
  }
  for (Split& split : splits) Finish(split);
  return splits;
}

}  // namespace lineserve::data
