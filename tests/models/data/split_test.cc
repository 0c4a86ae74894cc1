#include "models/data/split.h"

#include <algorithm>
#include <map>

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

}  // namespace
}  // namespace lineserve::data
