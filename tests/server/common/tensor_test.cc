#include "server/common/tensor.h"

#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<float> Floats(const Tensor& t) {
  return std::vector<float>(t.values<float>(),
                            t.values<float>() + t.ElementCount());
}

TEST(TensorTest, ElementSizesAndNamesFollowTheProtocol) {
  EXPECT_EQ(ElementSize(DataType::kFp32), 4u);
  EXPECT_EQ(ElementSize(DataType::kFp64), 8u);
  EXPECT_EQ(ElementSize(DataType::kInt64), 8u);
  EXPECT_EQ(ElementSize(DataType::kInt32), 4u);
  EXPECT_EQ(ElementSize(DataType::kFp16), 2u);
  EXPECT_EQ(ElementSize(DataType::kUint8), 1u);
  EXPECT_EQ(ElementSize(DataType::kBool), 1u);
  EXPECT_EQ(ElementSize(DataType::kBytes), 0u);
  EXPECT_EQ(DataTypeName(DataType::kFp32), "FP32");
  EXPECT_EQ(DataTypeName(DataType::kBytes), "BYTES");
  EXPECT_EQ(DataTypeFromConfig(lineserve::v1::TYPE_INT32), DataType::kInt32);
  EXPECT_EQ(DataTypeFromConfig(lineserve::v1::TYPE_BYTES), DataType::kBytes);
  EXPECT_EQ(DataTypeFromConfig(lineserve::v1::TYPE_INVALID),
            DataType::kInvalid);
}

TEST(TensorTest, StackAndUnstackRoundTripNumericSamples) {
  const Tensor a = Tensor::FromFloats("x", {2}, {1, 2});
  const Tensor b = Tensor::FromFloats("x", {2}, {3, 4});
  auto batch = Stack({&a, &b});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_THAT(Floats(*batch), ElementsAre(1, 2, 3, 4));
  auto samples = Unstack(*batch, 2);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ((*samples)[1].shape, (std::vector<int64_t>{2}));
  EXPECT_THAT(Floats((*samples)[1]), ElementsAre(3, 4));
}

TEST(TensorTest, StackRefusesSamplesOfAnotherShapeOrType) {
  const Tensor a = Tensor::FromFloats("x", {2}, {1, 2});
  const Tensor b = Tensor::FromFloats("x", {3}, {1, 2, 3});
  auto batch = Stack({&a, &b});
  EXPECT_EQ(batch.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(batch.status().message(),
              HasSubstr("tensor 'x': cannot batch FP32 [2] with 'x' FP32 [3]"));
  const Tensor c = Tensor::Zeros("x", DataType::kInt32, {2});
  EXPECT_FALSE(Stack({&a, &c}).ok());
  EXPECT_FALSE(Stack({}).ok());
}

TEST(TensorTest, BytesElementsAreLengthPrefixedAndStackByConcatenation) {
  const Tensor a = Tensor::FromStrings("img", {"png-bytes"});
  const Tensor b = Tensor::FromStrings("img", {""});
  EXPECT_TRUE(CheckTensor(a).ok());
  EXPECT_EQ(a.data.size(), 4u + 9u);
  EXPECT_EQ(a.data[0], 9);  // little-endian length
  auto batch = Stack({&a, &b});
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->shape, (std::vector<int64_t>{2, 1}));
  auto elements = BytesElements(*batch);
  ASSERT_TRUE(elements.ok()) << elements.status();
  EXPECT_THAT(*elements, ElementsAre("png-bytes", ""));
  auto samples = Unstack(*batch, 2);
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_THAT(*BytesElements((*samples)[0]), ElementsAre("png-bytes"));
  EXPECT_THAT(*BytesElements((*samples)[1]), ElementsAre(""));
}

TEST(TensorTest, CheckTensorFindsMalformedBuffers) {
  Tensor t = Tensor::FromFloats("x", {3}, {1, 2, 3});
  EXPECT_TRUE(CheckTensor(t).ok());
  t.data.pop_back();
  EXPECT_THAT(
      CheckTensor(t).message(),
      HasSubstr("tensor 'x': shape [3] of FP32 needs 12 bytes, got 11"));
  Tensor bytes = Tensor::FromStrings("s", {"abc"});
  bytes.data.pop_back();
  EXPECT_THAT(CheckTensor(bytes).message(),
              HasSubstr("declares 3 bytes but 2 remain"));
  bytes = Tensor::FromStrings("s", {"abc"});
  bytes.data.push_back(0);
  EXPECT_THAT(CheckTensor(bytes).message(), HasSubstr("1 bytes follow"));
  Tensor negative = Tensor::FromFloats("x", {1}, {1});
  negative.shape = {-1};
  EXPECT_FALSE(CheckTensor(negative).ok());
  // Found by the oip_grpc fuzzer: a BYTES shape of 2^40 elements over a few
  // bytes reserved offsets for all of them first (out of memory).
  Tensor many = Tensor::FromStrings("s", {"abc"});
  many.shape = {int64_t{1} << 40};
  EXPECT_THAT(CheckTensor(many).message(),
              HasSubstr("7 bytes cannot hold 1099511627776 BYTES elements"));
}

TEST(TensorTest, ElementCountSaturatesInsteadOfWrapping) {
  Tensor huge;
  huge.name = "x";
  huge.dtype = DataType::kFp32;
  huge.shape = {int64_t{1} << 32, int64_t{1} << 32};
  EXPECT_EQ(huge.ElementCount(), std::numeric_limits<int64_t>::max());
  const absl::Status status = CheckTensor(huge);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("too many elements"));
}

TEST(TensorTest, SpecMatchingAllowsVariableDims) {
  const TensorSpec spec{"seq", DataType::kFp32, {-1, 2}};
  EXPECT_TRUE(
      CheckAgainstSpec(Tensor::Zeros("seq", DataType::kFp32, {5, 2}), spec)
          .ok());
  EXPECT_THAT(
      CheckAgainstSpec(Tensor::Zeros("seq", DataType::kFp32, {5, 3}), spec)
          .message(),
      HasSubstr("tensor 'seq': shape [5, 3], the model takes [-1, 2]"));
  EXPECT_THAT(
      CheckAgainstSpec(Tensor::Zeros("seq", DataType::kInt64, {5, 2}), spec)
          .message(),
      HasSubstr("data type INT64, the model takes FP32"));
}

TEST(TensorTest, UnstackRefusesAWrongBatchDimension) {
  const Tensor batch = Tensor::FromFloats("x", {2, 2}, {1, 2, 3, 4});
  EXPECT_THAT(Unstack(batch, 3).status().message(),
              HasSubstr("does not hold 3 samples"));
}

}  // namespace
}  // namespace lineserve
