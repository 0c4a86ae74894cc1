#include "models/data/split.h"

#include <algorithm>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::data {
namespace {

std::vector<int> Labels() {
  std::vector<int> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(0);
  for (int i = 0; i < 20; ++i) labels.push_back(1);
  for (int i = 0; i < 3; ++i) labels.push_back(2);
  return labels;
}

TEST(SplitTest, StratifiedKeepsClassSharesAndCoversEveryItemOnce) {
  const std::vector<int> labels = Labels();
  const Split split = StratifiedSplit(labels, 0.2, 7);
  std::map<int, int> val_count;
  for (int i : split.validation) ++val_count[labels[i]];
  EXPECT_EQ(val_count[0], 20);
  EXPECT_EQ(val_count[1], 4);
  EXPECT_EQ(val_count[2], 1);  // rounds to 1: every class is evaluated
  std::vector<int> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), labels.size());
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i], static_cast<int>(i));
}

TEST(SplitTest, SameSeedSameSplitOtherSeedOtherSplit) {
  const std::vector<int> labels = Labels();
  EXPECT_EQ(StratifiedSplit(labels, 0.2, 7).validation,
            StratifiedSplit(labels, 0.2, 7).validation);
  EXPECT_NE(StratifiedSplit(labels, 0.2, 7).validation,
            StratifiedSplit(labels, 0.2, 8).validation);
}

TEST(SplitTest, SingletonClassStaysInTraining) {
  const Split split = StratifiedSplit({0, 0, 0, 0, 1}, 0.5, 1);
  EXPECT_THAT(split.train, ::testing::Contains(4));
}

TEST(SplitTest, RandomSplitSizes) {
  const Split split = RandomSplit(10, 0.3, 3);
  EXPECT_EQ(split.validation.size(), 3u);
  EXPECT_EQ(split.train.size(), 7u);
  EXPECT_TRUE(std::is_sorted(split.train.begin(), split.train.end()));
  EXPECT_EQ(RandomSplit(10, 0.3, 3).validation, split.validation);
}

TEST(SplitTest, KFoldValidatesEveryItemOnceInNearlyEqualFolds) {
  const std::vector<Split> folds = KFold(23, 5, 4);
  ASSERT_EQ(folds.size(), 5u);
  std::vector<int> seen(23, 0);
  for (const Split& fold : folds) {
    EXPECT_GE(fold.validation.size(), 4u);
    EXPECT_LE(fold.validation.size(), 5u);
    EXPECT_EQ(fold.train.size() + fold.validation.size(), 23u);
    EXPECT_TRUE(std::is_sorted(fold.validation.begin(), fold.validation.end()));
    for (int i : fold.validation) {
      ++seen[i];
      EXPECT_THAT(fold.train, ::testing::Not(::testing::Contains(i)));
    }
  }
  EXPECT_THAT(seen, ::testing::Each(1));
  EXPECT_EQ(KFold(23, 5, 4)[2].validation, folds[2].validation);
  EXPECT_NE(KFold(23, 5, 5)[2].validation, folds[2].validation);
}

// Paths as the magnetic-tile set names them.
std::string Tile(const std::string& label, int exposure, int num) {
  return label + "/exp" + std::to_string(exposure) + "_num_" +
         std::to_string(num) + ".jpg";
}

TEST(TileGroupsTest, NumJumpsAndRepeatedExposuresStartNewTiles) {
  const std::vector<std::string> paths = {
      Tile("a", 1, 1000), Tile("a", 2, 1012), Tile("a", 3, 1030),
      // A jump of more than 300 in num: the next tile.
      Tile("a", 1, 1400), Tile("a", 2, 1415),
      // Close in num, but exposure 2 repeats: a new tile.
      Tile("a", 2, 1420),
      // The same nums in another class are another tile.
      Tile("b", 1, 1000), Tile("b", 2, 1012),
      // Not the naming pattern: a tile of its own each.
      "b/photo.png", "b/other.png"};
  const std::vector<int> labels = {0, 0, 0, 0, 0, 0, 1, 1, 1, 1};
  EXPECT_THAT(TileGroups(paths, labels),
              ::testing::ElementsAre(0, 0, 0, 1, 1, 2, 3, 3, 4, 5));
}

TEST(TileGroupsTest, OrderOfPathsDoesNotMatterAndGapIsAParameter) {
  const std::vector<std::string> paths = {Tile("a", 2, 1250),
                                          Tile("a", 1, 1000)};
  const std::vector<int> labels = {0, 0};
  EXPECT_THAT(TileGroups(paths, labels), ::testing::ElementsAre(0, 0));
  EXPECT_THAT(TileGroups(paths, labels, 200), ::testing::ElementsAre(0, 1));
}

// Every group on one side only, every item on exactly one side.
void ExpectGroupsIntact(const Split& split, const std::vector<int>& groups) {
  std::map<int, int> side;
  for (int i : split.train) side[groups[i]] |= 1;
  for (int i : split.validation) side[groups[i]] |= 2;
  for (const auto& [group, sides] : side) {
    EXPECT_NE(sides, 3) << "group " << group << " on both sides";
  }
  std::vector<int> all = split.train;
  all.insert(all.end(), split.validation.begin(), split.validation.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), groups.size());
  for (int i = 0; i < static_cast<int>(all.size()); ++i) EXPECT_EQ(all[i], i);
}

// Class 0: 20 groups of 5; class 1: 4 groups of 5; class 2: one group of 3.
void GroupedData(std::vector<int>* labels, std::vector<int>* groups) {
  int group = 0;
  auto add = [&](int label, int count, int size) {
    for (int g = 0; g < count; ++g, ++group) {
      for (int k = 0; k < size; ++k) {
        labels->push_back(label);
        groups->push_back(group);
      }
    }
  };
  add(0, 20, 5);
  add(1, 4, 5);
  add(2, 1, 3);
}

TEST(GroupedSplitTest, WholeGroupsPerClassNeverOnBothSides) {
  std::vector<int> labels, groups;
  GroupedData(&labels, &groups);
  const Split split = GroupedStratifiedSplit(labels, groups, 0.25, 3);
  ExpectGroupsIntact(split, groups);
  std::map<int, int> val_count;
  for (int i : split.validation) ++val_count[labels[i]];
  EXPECT_EQ(val_count[0], 25);  // 5 of 20 groups
  EXPECT_EQ(val_count[1], 5);   // 1 of 4 groups
  EXPECT_EQ(val_count[2], 0);   // a single group stays in training
  EXPECT_EQ(GroupedStratifiedSplit(labels, groups, 0.25, 3).validation,
            split.validation);
}

TEST(GroupedSplitTest, KFoldValidatesEveryItemOnceWithGroupsIntact) {
  std::vector<int> labels, groups;
  GroupedData(&labels, &groups);
  const std::vector<Split> folds = GroupedStratifiedKFold(labels, groups, 4, 9);
  ASSERT_EQ(folds.size(), 4u);
  std::vector<int> validated(labels.size(), 0);
  for (const Split& fold : folds) {
    ExpectGroupsIntact(fold, groups);
    for (int i : fold.validation) ++validated[i];
    std::map<int, int> val_groups;
    for (int i : fold.validation) {
      if (labels[i] == 0) ++val_groups[groups[i]];
    }
    EXPECT_EQ(val_groups.size(), 5u);  // class 0's 20 groups dealt evenly
  }
  EXPECT_THAT(validated, ::testing::Each(1));
}

}  // namespace
}  // namespace lineserve::data
