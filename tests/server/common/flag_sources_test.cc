#include "server/common/flag_sources.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

const std::vector<std::string> kFlags = {"config", "grpc_address",
                                         "model_repository", "grpc_reflection"};

// An environment of `values` only.
GetEnv Environment(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const char* name) -> const char* {
    auto found = values.find(name);
    return found == values.end() ? nullptr : found->second.c_str();
  };
}

std::string WriteConfig(const std::string& name, const std::string& text) {
  const fs::path path = fs::path(::testing::TempDir()) / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(FlagSourcesTest, EnvironmentNamesFollowTheFlags) {
  EXPECT_EQ(EnvironmentName("grpc_address"), "LINESERVE_GRPC_ADDRESS");
  EXPECT_EQ(EnvironmentName("model-repository"), "LINESERVE_MODEL_REPOSITORY");
}

TEST(FlagSourcesTest, FileThenEnvironmentThenCommandLine) {
  const std::string config = WriteConfig("all.conf",
                                         "# lineserve settings\n"
                                         "model-repository = /srv/models\n"
                                         "\n"
                                         "  grpc_address=\"0.0.0.0:9000\"  \n"
                                         "--grpc-reflection = true\n");
  auto sources = CollectFlagSources(
      {"lineserve-server", "--config", config, "--grpc-address=127.0.0.1:0"},
      kFlags,
      Environment({{"LINESERVE_GRPC_ADDRESS", "0.0.0.0:9100"},
                   {"LINESERVE_UNRELATED", "x"}}));
  ASSERT_TRUE(sources.ok()) << sources.status();
  EXPECT_EQ(sources->config_path, config);
  // Abseil keeps the last value of a repeated flag: the order is the
  // precedence.
  EXPECT_THAT(
      sources->arguments,
      ElementsAre("lineserve-server", "--model_repository=/srv/models",
                  "--grpc_address=0.0.0.0:9000", "--grpc_reflection=true",
                  "--grpc_address=0.0.0.0:9100", "--config", config,
                  "--grpc_address=127.0.0.1:0"));
}

TEST(FlagSourcesTest, ConfigFileFromTheEnvironment) {
  const std::string config =
      WriteConfig("env.conf", "model_repository = /from/file\n");
  auto sources = CollectFlagSources(
      {"lineserve-server"}, kFlags,
      Environment({{"LINESERVE_CONFIG", config},
                   {"LINESERVE_MODEL_REPOSITORY", "/from/env"}}));
  ASSERT_TRUE(sources.ok()) << sources.status();
  EXPECT_EQ(sources->config_path, config);
  EXPECT_THAT(sources->arguments,
              ElementsAre("lineserve-server", "--model_repository=/from/file",
                          "--model_repository=/from/env"));
  // The command line's --config=FILE wins over LINESERVE_CONFIG.
  const std::string other =
      WriteConfig("other.conf", "model_repository = /other\n");
  sources =
      CollectFlagSources({"lineserve-server", "--config=" + other}, kFlags,
                         Environment({{"LINESERVE_CONFIG", config}}));
  ASSERT_TRUE(sources.ok());
  EXPECT_EQ(sources->config_path, other);
  EXPECT_EQ(sources->arguments[1], "--model_repository=/other");
}

TEST(FlagSourcesTest, BadConfigLinesNameFileAndLine) {
  const std::string unknown =
      WriteConfig("unknown.conf", "model-repository = /m\nport = 1\n");
  auto sources =
      CollectFlagSources({"s", "--config", unknown}, kFlags, Environment({}));
  EXPECT_EQ(sources.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(sources.status().message(),
            unknown +
                ":2: unknown setting \"port\" (lineserve-server --help lists "
                "them)");
  const std::string no_value = WriteConfig("novalue.conf", "grpc-address\n");
  sources =
      CollectFlagSources({"s", "--config", no_value}, kFlags, Environment({}));
  EXPECT_EQ(sources.status().message(),
            no_value + ":1: expected NAME = VALUE, got \"grpc-address\"");
  // A config file cannot name another.
  const std::string nested = WriteConfig("nested.conf", "config = x\n");
  sources =
      CollectFlagSources({"s", "--config", nested}, kFlags, Environment({}));
  EXPECT_EQ(sources.status().code(), absl::StatusCode::kInvalidArgument);
  // A missing file says so.
  sources = CollectFlagSources({"s", "--config=/nonexistent/lineserve.conf"},
                               kFlags, Environment({}));
  EXPECT_FALSE(sources.ok());
  EXPECT_THAT(std::string(sources.status().message()),
              ::testing::StartsWith("config file: "));
}

TEST(FlagSourcesTest, CommandLineDashesBecomeUnderscores) {
  auto sources = CollectFlagSources(
      {"s", "--model-repository", "/m", "--grpc-reflection", "--", "--x-y"},
      kFlags, Environment({}));
  ASSERT_TRUE(sources.ok());
  EXPECT_THAT(sources->arguments,
              ElementsAre("s", "--model_repository", "/m", "--grpc_reflection",
                          "--", "--x-y"));
}

}  // namespace
}  // namespace lineserve
