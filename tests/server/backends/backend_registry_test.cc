#include "server/backends/backend_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/fake_backend.h"

namespace lineserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

BackendFactory NoBackend() {
  return [](const BackendLoadRequest&)
             -> absl::StatusOr<std::unique_ptr<Backend>> {
    return absl::UnimplementedError("not in this test");
  };
}

TEST(BackendRegistryTest, FindsRegisteredPlatformsWithTheirArtifact) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.Register("onnx", "model.onnx", NoBackend()).ok());
  ASSERT_TRUE(::lineserve::testing::RegisterFakeBackend(registry).ok());
  EXPECT_THAT(registry.platforms(), ElementsAre("fake", "onnx"));
  auto onnx = registry.Find("onnx");
  ASSERT_TRUE(onnx.ok()) << onnx.status();
  EXPECT_EQ((*onnx)->artifact_file, "model.onnx");
  EXPECT_EQ((*registry.Find("fake"))->artifact_file, "model.fake");
}

TEST(BackendRegistryTest, UnknownPlatformIsNotFoundNamingTheKnownOnes) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.Register("onnx", "model.onnx", NoBackend()).ok());
  auto missing = registry.Find("tensorrt");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("\"tensorrt\""));
  EXPECT_THAT(missing.status().message(), HasSubstr("it has: onnx"));
}

TEST(BackendRegistryTest, RefusesDuplicatesAndIncompleteEntries) {
  BackendRegistry registry;
  ASSERT_TRUE(registry.Register("onnx", "model.onnx", NoBackend()).ok());
  EXPECT_EQ(registry.Register("onnx", "other", NoBackend()).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(registry.Register("", "model.x", NoBackend()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register("x", "", NoBackend()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register("x", "model.x", nullptr).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace lineserve
