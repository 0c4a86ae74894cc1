// Rollouts under load: eight clients keep sending Inspect and Predict to a
// real server on loopback while new versions of both trained models are
// published twenty times and picked up by polling, then twenty times
// through ModelService.ReloadModel. No request may fail, answers must move
// to each new version, and the replaced versions must be released.
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/lineserve_client.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "server/backends/torchscript_backend.h"
#include "tests/support/serving_stack.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::lineserve::testing::ServingStack;
using ::lineserve::testing::ServingStackOptions;

constexpr char kQuality[] = "quality_inspection";
constexpr char kEfficiency[] = "efficiency_prediction";
constexpr char kToken[] = "rollout-admin-token-0123456789";
constexpr int kClients = 8;
constexpr int kRollouts = 20;

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Keeps kClients threads sending requests (Inspect and Predict in turn)
// until stopped; counts what failed and remembers the newest version that
// answered each model.
class Load {
 public:
  Load(const std::string& address, std::string image)
      : image_(std::move(image)) {
    for (int i = 0; i < kClients; ++i) {
      threads_.emplace_back([this, address, i] { Run(address, i); });
    }
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  int64_t sent() const { return sent_; }
  int64_t failed() const { return failed_; }
  std::string first_failure() const {
    absl::MutexLock lock(&mu_);
    return first_failure_;
  }
  int64_t newest(const std::string& model) const {
    return model == kQuality ? quality_version_.load()
                             : efficiency_version_.load();
  }

 private:
  void Run(const std::string& address, int index) {
    ClientOptions options;
    options.server = address;
    options.timeout = absl::Seconds(10);
    LineserveClient client(options);
    for (int64_t n = index; !stop_; ++n) {
      absl::Status status;
      int64_t version = 0;
      std::atomic<int64_t>* newest = nullptr;
      if (n % 2 == 0) {
        lineserve::v1::InspectRequest request;
        request.set_image(image_);
        auto response = client.Inspect(request);
        status = response.status();
        if (response.ok()) version = response->answered_by().model_version();
        newest = &quality_version_;
      } else {
        auto response = client.Predict(PredictRequest());
        status = response.status();
        if (response.ok()) version = response->answered_by().model_version();
        newest = &efficiency_version_;
      }
      ++sent_;
      if (!status.ok()) {
        ++failed_;
        absl::MutexLock lock(&mu_);
        if (first_failure_.empty()) first_failure_ = status.ToString();
        continue;
      }
      int64_t seen = newest->load();
      while (version > seen && !newest->compare_exchange_weak(seen, version)) {
      }
    }
  }

  static lineserve::v1::PredictRequest PredictRequest() {
    lineserve::v1::PredictRequest request;
    auto& f = *request.add_rows()->mutable_features();
    f["quarter"].set_category("Quarter2");
    f["department"].set_category("sweing");
    f["day"].set_category("Monday");
    f["team"].set_number(3);
    f["targeted_productivity"].set_number(0.75);
    f["smv"].set_number(22.5);
    f["over_time"].set_number(960);
    f["incentive"].set_number(40);
    f["idle_time"].set_number(0);
    f["idle_men"].set_number(0);
    f["no_of_style_change"].set_number(0);
    f["no_of_workers"].set_number(50);
    return request;
  }

  const std::string image_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> quality_version_{0};
  std::atomic<int64_t> efficiency_version_{0};
  mutable absl::Mutex mu_;
  std::string first_failure_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

class RolloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* env = std::getenv("LINESERVE_TEST_MODELS");
    const fs::path trained = env != nullptr ? env : LINESERVE_TEST_MODELS_DIR;
    ASSERT_TRUE(fs::exists(trained / "repo"))
        << trained
        << " has no trained models: run `ctest -R IntegrationModels`";
    root_ = fs::path(::testing::TempDir()) /
            absl::StrCat("lineserve_rollout_", getpid());
    fs::remove_all(root_);
    fs::create_directories(root_);
    // The trained versions are the source every published version copies.
    fs::copy(trained / "repo", root_ / "source", fs::copy_options::recursive);
    fs::copy(trained / "repo", root_ / "repo", fs::copy_options::recursive);
    const fs::path images = trained / "data" / "tiles" / "images" / "ok";
    image_ = *ReadFile(fs::directory_iterator(images)->path().string());
    ASSERT_TRUE(RegisterTorchScriptBackend(backends_).ok());
  }

  void TearDown() override {
    stack_.reset();
    fs::remove_all(root_);
  }

  void Start(ModelControlMode mode) {
    ServingStackOptions options;
    options.root = (root_ / "repo").string();
    options.backends = &backends_;
    options.mode = mode;
    options.admin_token = kToken;
    options.poll_interval = absl::Milliseconds(100);
    auto stack = ServingStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  // Publishes `version` of both models as the trainer does: a complete
  // hidden folder renamed into place.
  void Publish(int64_t version) {
    for (const char* model : {kQuality, kEfficiency}) {
      const fs::path dir = root_ / "repo" / model;
      const fs::path staging = dir / absl::StrCat(".staging-", version);
      fs::copy(root_ / "source" / model / "1", staging,
               fs::copy_options::recursive);
      fs::rename(staging, dir / std::to_string(version));
    }
  }

  // Publishes versions 2..kRollouts+1, each picked up by `trigger`, under
  // load; checks every request succeeded and old versions were released.
  void RollOut(const std::function<void()>& trigger, const char* how) {
    Load load(stack_->address(), image_);
    int64_t rss_after_first = 0;
    absl::Duration slowest = absl::ZeroDuration(), total = absl::ZeroDuration();
    for (int64_t version = 2; version <= kRollouts + 1; ++version) {
      Publish(version);
      const absl::Time published = absl::Now();
      trigger();
      const absl::Time give_up = published + absl::Seconds(30);
      while ((load.newest(kQuality) < version ||
              load.newest(kEfficiency) < version) &&
             absl::Now() < give_up) {
        absl::SleepFor(absl::Milliseconds(2));
      }
      ASSERT_GE(load.newest(kQuality), version)
          << how << " rollout " << version;
      ASSERT_GE(load.newest(kEfficiency), version) << how;
      const absl::Duration took = absl::Now() - published;
      slowest = std::max(slowest, took);
      total += took;
      if (version == 2) rss_after_first = ResidentBytes();
    }
    load.Stop();
    // The replaced versions drain and the unloader releases them.
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (stack_->repository().live_versions() > 2 && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    const int64_t rss_after_last = ResidentBytes();
    std::printf(
        "%s: %d rollouts, %lld requests, %lld failed; publish to first answer "
        "of the new version: mean %s, slowest %s; resident memory after the "
        "first rollout %.1f MiB, after the last %.1f MiB\n",
        how, kRollouts, static_cast<long long>(load.sent()),
        static_cast<long long>(load.failed()),
        absl::FormatDuration(total / kRollouts).c_str(),
        absl::FormatDuration(slowest).c_str(), rss_after_first / 1048576.0,
        rss_after_last / 1048576.0);
    EXPECT_EQ(load.failed(), 0) << load.first_failure();
    EXPECT_GT(load.sent(), 4 * kRollouts);
    EXPECT_EQ(stack_->repository().live_versions(), 2);
    EXPECT_LE(rss_after_last, rss_after_first * 11 / 10);
  }

  fs::path root_;
  std::string image_;
  BackendRegistry backends_;
  std::unique_ptr<ServingStack> stack_;
};

TEST_F(RolloutTest, TwentyRolloutsByPollingUnderLoadLoseNoRequest) {
  Start(ModelControlMode::kPoll);
  RollOut([] {}, "poll");
}

TEST_F(RolloutTest, TwentyRolloutsByReloadModelUnderLoadLoseNoRequest) {
  Start(ModelControlMode::kExplicit);
  ClientOptions options;
  options.server = stack_->address();
  options.admin_token = kToken;
  options.timeout = absl::Seconds(60);
  LineserveClient admin(options);
  RollOut(
      [&] {
        for (const char* model : {kQuality, kEfficiency}) {
          auto reloaded = admin.ReloadModel(model);
          ASSERT_TRUE(reloaded.ok()) << reloaded.status();
        }
      },
      "ReloadModel");
}

}  // namespace
}  // namespace lineserve
