#include "server/metrics/metrics_http_server.h"

#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/support/http_get.h"

namespace lineserve {
namespace {

std::unique_ptr<MetricsHttpServer> StartOnPickedPort(
    MetricsHttpServer::Render render) {
  auto server = MetricsHttpServer::Start("127.0.0.1:0", std::move(render));
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

TEST(MetricsHttpServerTest, ServesTheRenderedTextAtMetrics) {
  std::atomic<int> renders{0};
  auto server = StartOnPickedPort(
      [&renders] { return absl::StrCat("up ", ++renders, "\n"); });
  ASSERT_GT(server->port(), 0);
  for (int i = 1; i <= 2; ++i) {  // one connection after another
    auto response = testing::HttpGet(server->port(), "/metrics?x=1");
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, absl::StrCat("up ", i, "\n"));
    EXPECT_NE(response->headers.find("text/plain; version=0.0.4"),
              std::string::npos);
  }
}

TEST(MetricsHttpServerTest, OtherPathsAndMethodsAreRefused) {
  auto server = StartOnPickedPort([] { return std::string("up 1\n"); });
  auto missing = testing::HttpGet(server->port(), "/");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(missing->status, 404);
}

TEST(MetricsHttpServerTest, BadOrBusyAddressesAreErrors) {
  EXPECT_EQ(
      MetricsHttpServer::Start("no-port", [] { return ""; }).status().code(),
      absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MetricsHttpServer::Start("127.0.0.1:99999", [] { return ""; })
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  auto first = StartOnPickedPort([] { return std::string(); });
  auto second = MetricsHttpServer::Start(
      absl::StrCat("127.0.0.1:", first->port()), [] { return ""; });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

TEST(MetricsHttpServerTest, ListensOnEveryInterfaceWithoutAHost) {
  auto server = MetricsHttpServer::Start(":0", [] { return "up 1\n"; });
  ASSERT_TRUE(server.ok()) << server.status();
  auto response = testing::HttpGet((*server)->port(), "/metrics");
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "up 1\n");
}

}  // namespace
}  // namespace lineserve
