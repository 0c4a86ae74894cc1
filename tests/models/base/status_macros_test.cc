#include "models/base/status_macros.h"

#include <memory>

#include "gtest/gtest.h"

namespace lineserve {
namespace {

absl::StatusOr<std::unique_ptr<int>> MakeInt(bool ok, int* evaluations) {
  ++*evaluations;
  if (!ok) return absl::NotFoundError("no int");
  return std::make_unique<int>(7);
}

absl::Status UseInt(bool ok, int* out, int* evaluations) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> value, MakeInt(ok, evaluations));
  *out = *value;
  return absl::OkStatus();
}

absl::Status Chain(absl::Status first, bool* reached_end) {
  RETURN_IF_ERROR(first);
  *reached_end = true;
  return absl::OkStatus();
}

TEST(StatusMacrosTest, AssignOrReturnMovesValueAndEvaluatesOnce) {
  int out = 0;
  int evaluations = 0;
  EXPECT_TRUE(UseInt(true, &out, &evaluations).ok());
  EXPECT_EQ(out, 7);
  EXPECT_EQ(evaluations, 1);
}

TEST(StatusMacrosTest, AssignOrReturnPropagatesError) {
  int out = 0;
  int evaluations = 0;
  absl::Status status = UseInt(false, &out, &evaluations);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(out, 0);
}

TEST(StatusMacrosTest, ReturnIfErrorStopsOnError) {
  bool reached_end = false;
  EXPECT_EQ(Chain(absl::InternalError("x"), &reached_end).code(),
            absl::StatusCode::kInternal);
  EXPECT_FALSE(reached_end);
  EXPECT_TRUE(Chain(absl::OkStatus(), &reached_end).ok());
  EXPECT_TRUE(reached_end);
}

TEST(StatusMacrosTest, AnnotateKeepsCodeAndPrependsContext) {
  absl::Status status =
      AnnotateStatus(absl::InvalidArgumentError("bad"), "config.pbtxt");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "config.pbtxt: bad");
  EXPECT_TRUE(AnnotateStatus(absl::OkStatus(), "x").ok());
}

}  // namespace
}  // namespace lineserve
