#include "models/base/client_text.h"

#include <string>

#include "gtest/gtest.h"

namespace lineserve {
namespace {

TEST(ClientTextTest, CheckClientIdNamesFieldAndSizeNotValue) {
  EXPECT_TRUE(CheckClientId("request_id", std::string(256, 'a')).ok());
  const absl::Status status =
      CheckClientId("request_id", std::string(4096, 'a'));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "request_id: 4096 bytes, at most 256");
}

TEST(ClientTextTest, TruncateUtf8NeverSplitsASequence) {
  // "é" is 2 bytes, "€" 3: cuts inside them step back to the character.
  EXPECT_EQ(TruncateUtf8("abc", 5), "abc");
  EXPECT_EQ(TruncateUtf8("ab\xC3\xA9", 3), "ab");
  EXPECT_EQ(TruncateUtf8("ab\xC3\xA9", 4), "ab\xC3\xA9");
  EXPECT_EQ(TruncateUtf8("a\xE2\x82\xAC"
                         "b",
                         2),
            "a");
  EXPECT_EQ(TruncateUtf8("a\xE2\x82\xAC"
                         "b",
                         3),
            "a");
  EXPECT_EQ(TruncateUtf8("a\xE2\x82\xAC"
                         "b",
                         4),
            "a\xE2\x82\xAC");
  EXPECT_EQ(TruncateUtf8("abc", 0), "");
}

TEST(ClientTextTest, QuoteClientTextCutsLongText) {
  EXPECT_EQ(QuoteClientText("short"), "\"short\"");
  EXPECT_EQ(QuoteClientText(std::string(100000, 'x')),
            "\"" + std::string(64, 'x') + "...\" (100000 bytes)");
  EXPECT_EQ(QuoteClientText(std::string(65, 'y')),
            "\"" + std::string(64, 'y') + "...\" (65 bytes)");
}

TEST(ClientTextTest, QuoteClientTextEscapesControlCharacters) {
  EXPECT_EQ(QuoteClientText("a\nb\"c\x01"), "\"a\\nb\\\"c\\x01\"");
}

}  // namespace
}  // namespace lineserve
