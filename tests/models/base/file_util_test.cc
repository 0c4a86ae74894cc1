#include "models/base/file_util.h"

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

std::string TempPath(absl::string_view name) {
  return absl::StrCat(::testing::TempDir(), "/file_util_test_", name);
}

TEST(FileUtilTest, WritesAtomicallyAndReadsBack) {
  const std::string path = TempPath("roundtrip");
  ASSERT_TRUE(WriteFileAtomically(path, std::string("a\0b", 3)).ok());
  auto contents = ReadFile(path);
  ASSERT_TRUE(contents.ok()) << contents.status();
  EXPECT_EQ(*contents, std::string("a\0b", 3));
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  ASSERT_TRUE(WriteFileAtomically(path, "replaced").ok());
  EXPECT_EQ(*ReadFile(path), "replaced");
  std::filesystem::remove(path);
}

TEST(FileUtilTest, MissingFileIsNotFound) {
  EXPECT_EQ(ReadFile(TempPath("absent")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(FileUtilTest, SizeLimitIsResourceExhausted) {
  const std::string path = TempPath("limit");
  ASSERT_TRUE(WriteFileAtomically(path, "0123456789").ok());
  EXPECT_EQ(ReadFile(path, 9).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(ReadFile(path, 10).ok());
  std::filesystem::remove(path);
}

TEST(FileUtilTest, WriteIntoMissingDirectoryFails) {
  EXPECT_FALSE(
      WriteFileAtomically("/nonexistent/lineserve/dir/file", "x").ok());
}

}  // namespace
}  // namespace lineserve
