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

// `lineserve-cli inspect <folder>` and `lineserve-train --csv <folder>`
// once died in std::string's constructor on the folder's "size".
TEST(FileUtilTest, FolderIsInvalidArgumentNamingIt) {
  const std::string path = TempPath("folder");
  std::filesystem::create_directories(path);
  absl::StatusOr<std::string> contents = ReadFile(path);
  EXPECT_EQ(contents.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(contents.status().message().find(path + ": is a folder"),
            absl::string_view::npos)
      << contents.status();
  std::filesystem::remove_all(path);
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
