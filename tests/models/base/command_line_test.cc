#include "models/base/command_line.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct Fixture {
  std::string data = "default-dir";
  int epochs = 10;
  double lr = 0.5;
  bool verbose = false;
  uint64_t seed = 1;
  std::vector<std::string> drop = {"date"};
  CommandLine cli{"tool sub --data DIR", "Does things."};

  Fixture() {
    cli.AddString("data", &data, "input folder", /*required=*/true);
    cli.AddInt("epochs", &epochs, "epochs");
    cli.AddDouble("lr", &lr, "learning rate");
    cli.AddBool("verbose", &verbose, "talk");
    cli.AddUint64("seed", &seed, "seed");
    cli.AddList("drop", &drop, "columns to drop");
  }
};

TEST(CommandLineTest, ParsesBothSpellingsAndPositionals) {
  Fixture f;
  ASSERT_TRUE(f.cli
                  .Parse({"--data", "d", "--epochs=3", "--lr", "0.1",
                          "--verbose", "--seed=42", "file1", "--drop", "a,b",
                          "--drop=c", "--", "--not-an-option"})
                  .ok());
  EXPECT_EQ(f.data, "d");
  EXPECT_EQ(f.epochs, 3);
  EXPECT_DOUBLE_EQ(f.lr, 0.1);
  EXPECT_TRUE(f.verbose);
  EXPECT_EQ(f.seed, 42u);
  EXPECT_THAT(f.drop, ElementsAre("a", "b", "c"));
  EXPECT_THAT(f.cli.positional(), ElementsAre("file1", "--not-an-option"));
}

TEST(CommandLineTest, KeepsDefaults) {
  Fixture f;
  ASSERT_TRUE(f.cli.Parse({"--data=x"}).ok());
  EXPECT_EQ(f.epochs, 10);
  EXPECT_THAT(f.drop, ElementsAre("date"));
}

TEST(CommandLineTest, ErrorsNameTheOption) {
  {
    Fixture f;
    auto s = f.cli.Parse({"--data=x", "--epoch", "3"});
    EXPECT_THAT(s.message(), HasSubstr("--epoch"));
  }
  {
    Fixture f;
    auto s = f.cli.Parse({"--data=x", "--epochs", "three"});
    EXPECT_THAT(s.message(), HasSubstr("--epochs"));
  }
  {
    Fixture f;
    auto s = f.cli.Parse({"--epochs=3"});
    EXPECT_THAT(s.message(), HasSubstr("--data is required"));
  }
  {
    Fixture f;
    auto s = f.cli.Parse({"--data"});
    EXPECT_THAT(s.message(), HasSubstr("--data needs a value"));
  }
}

TEST(CommandLineTest, HelpSkipsRequiredAndListsOptions) {
  Fixture f;
  ASSERT_TRUE(f.cli.Parse({"--help"}).ok());
  EXPECT_TRUE(f.cli.help_requested());
  const std::string help = f.cli.Help();
  EXPECT_THAT(help, HasSubstr("usage: tool sub --data DIR"));
  EXPECT_THAT(help, HasSubstr("--epochs VALUE"));
  EXPECT_THAT(help, HasSubstr("(default: 10)"));
  EXPECT_THAT(help, HasSubstr("(required)"));
}

}  // namespace
}  // namespace lineserve
