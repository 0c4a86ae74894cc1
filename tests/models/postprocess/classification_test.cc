#include "models/postprocess/classification.h"

#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::postprocess {
namespace {

TEST(ClassificationTest, SoftmaxIsStableAndNormalised) {
  const float logits[] = {1000.0f, 1001.0f, 999.0f};
  const std::vector<float> p = Softmax(logits, 3);
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-6);
  EXPECT_GT(p[1], p[0]);
  EXPECT_NEAR(p[1] / p[0], std::exp(1.0f), 1e-4);
}

TEST(ClassificationTest, VerdictPoolsDefectClasses) {
  // ok is the top class, yet the defects together outweigh it.
  const float p[] = {0.30f, 0.40f, 0.30f};  // crack, ok, spot
  const Decision d = Decide(p, 3, /*ok_index=*/1, 0.5f);
  EXPECT_TRUE(d.defect);
  EXPECT_EQ(d.label, 0);  // first of the equally likely defects
  EXPECT_FLOAT_EQ(d.defect_probability, 0.6f);
}

TEST(ClassificationTest, ThresholdMovesTheVerdict) {
  const float p[] = {0.10f, 0.85f, 0.05f};
  EXPECT_FALSE(Decide(p, 3, 1, 0.5f).defect);
  EXPECT_EQ(Decide(p, 3, 1, 0.5f).label, 1);
  const Decision strict = Decide(p, 3, 1, 0.1f);
  EXPECT_TRUE(strict.defect);
  EXPECT_EQ(strict.label, 0);
}

TEST(ClassificationTest, OkIndexMayBeAnywhere) {
  const float p[] = {0.9f, 0.02f, 0.08f};
  const Decision d = Decide(p, 3, 0, 0.05f);
  EXPECT_TRUE(d.defect);
  EXPECT_EQ(d.label, 2);
}

}  // namespace
}  // namespace lineserve::postprocess
