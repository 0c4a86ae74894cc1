// Faults on loopback (issue 13), with fake backends so each fault is exact:
// a forward pass that throws or hangs, overload, cancellation while every
// worker is stuck, and the repository's disk going away under a polling
// server. In each case the calls concerned get a precise status, the rest
// of the server keeps answering, and it recovers when the fault ends.
#include <atomic>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/lineserve_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/config/model_config.h"
#include "tests/support/fake_backend.h"
#include "tests/support/serving_stack.h"
#include "tests/support/test_configs.h"

namespace lineserve {
namespace {
namespace fs = std::filesystem;
using ::lineserve::testing::FakeBackend;
using ::lineserve::testing::kFakeArtifact;
using ::lineserve::testing::kFakePlatform;
using ::lineserve::testing::kTestTimeout;
using ::lineserve::testing::LinearModel;
using ::lineserve::testing::ServingStack;
using ::lineserve::testing::ServingStackOptions;
using ::testing::HasSubstr;

constexpr char kFaultyPlatform[] = "faulty";
constexpr char kFaulty[] = "faulty_model";
constexpr char kHealthy[] = "healthy_model";

enum class Fault { kNone, kThrow, kHang };

// What the faulty model's forward pass does now; set by the test.
struct FaultSwitch {
  std::atomic<Fault> fault{Fault::kNone};
  // kHang blocks until this is notified (bounded by kTestTimeout).
  absl::Notification release;
  std::atomic<int> hung{0};
};

// y = x0 (a linear fake) unless the switch says otherwise.
class FaultyBackend : public Backend {
 public:
  FaultyBackend(std::unique_ptr<FakeBackend> inner, FaultSwitch* faults)
      : inner_(std::move(inner)), faults_(faults) {}
  const std::vector<TensorSpec>& inputs() const override {
    return inner_->inputs();
  }
  const std::vector<TensorSpec>& outputs() const override {
    return inner_->outputs();
  }
  std::string device() const override { return inner_->device(); }
  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<Tensor>& inputs,
                                          int batch_size) override {
    switch (faults_->fault.load()) {
      case Fault::kThrow:
        throw std::runtime_error("injected fault in forward()");
      case Fault::kHang:
        faults_->hung.fetch_add(1);
        faults_->release.WaitForNotificationWithTimeout(kTestTimeout);
        break;
      case Fault::kNone:
        break;
    }
    return inner_->Run(inputs, batch_size);
  }

 private:
  std::unique_ptr<FakeBackend> inner_;
  FaultSwitch* faults_;
};

lineserve::v1::PredictRequest Row(const std::string& model, float x0) {
  lineserve::v1::PredictRequest request;
  request.mutable_model()->set_name(model);
  auto& features = *request.add_rows()->mutable_features();
  features["f0"].set_number(x0);
  features["f1"].set_number(0);
  features["f2"].set_number(0);
  return request;
}

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(::lineserve::testing::RegisterFakeBackend(backends_).ok());
    FaultSwitch* faults = &faults_;
    ASSERT_TRUE(
        backends_
            .Register(kFaultyPlatform, kFakeArtifact,
                      [faults](const BackendLoadRequest& request)
                          -> absl::StatusOr<std::unique_ptr<Backend>> {
                        LinearModel linear;
                        linear.inputs = 3;
                        linear.weights = {1, 0, 0};
                        linear.bias = {0};
                        auto inner = FakeBackend::Linear(
                            SpecsFromConfig(request.config->input())[0],
                            SpecsFromConfig(request.config->output())[0],
                            linear);
                        return std::unique_ptr<Backend>(
                            new FaultyBackend(std::move(inner), faults));
                      })
            .ok());
    root_ = ::lineserve::testing::MakeTempDir("fault_test");
    AddModel(kFaulty, kFaultyPlatform);
    AddModel(kHealthy, kFakePlatform);
  }

  void TearDown() override {
    if (!faults_.release.HasBeenNotified()) faults_.release.Notify();
    stack_.reset();
    fs::remove_all(root_);
  }

  // A 3-feature tabular model answering x0, one worker, a queue of 4.
  void AddModel(const std::string& name, const std::string& platform) {
    lineserve::v1::ModelConfig config =
        ::lineserve::testing::TabularConfig(name, 3, /*max_batch_size=*/1);
    config.set_platform(platform);
    config.set_instance_count(1);
    config.mutable_dynamic_batching()->set_max_queue_size(4);
    const fs::path dir = fs::path(root_) / name;
    fs::create_directories(dir / "1");
    ASSERT_TRUE(WriteModelConfig((dir / "config.pbtxt").string(), config).ok());
    LinearModel linear;
    linear.inputs = 3;
    linear.weights = {1, 0, 0};
    linear.bias = {0};
    ASSERT_TRUE(::lineserve::testing::WriteFakeModel(
                    (dir / "1" / kFakeArtifact).string(), linear)
                    .ok());
  }

  void Start(ModelControlMode mode = ModelControlMode::kNone) {
    ServingStackOptions options;
    options.root = root_;
    options.backends = &backends_;
    options.mode = mode;
    options.poll_interval = absl::Milliseconds(20);
    auto stack = ServingStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
  }

  absl::StatusOr<lineserve::v1::PredictResponse> Predict(
      const std::string& model, float x0,
      absl::Duration timeout = absl::Seconds(10)) {
    ClientOptions options;
    options.server = stack_->address();
    options.timeout = timeout;
    return LineserveClient(options).Predict(Row(model, x0));
  }

  // The overall health status is SERVING.
  bool Serving() {
    absl::StatusOr<bool> serving = stack_->client().Health("");
    return serving.ok() && *serving;
  }

  int QueueDepth(const std::string& model) {
    auto servable = stack_->repository().Get(model, 0);
    return servable.ok() ? (*servable)->queue_depth() : -1;
  }

  // Waits (bounded) until `condition` holds.
  template <typename Condition>
  bool Eventually(Condition condition) {
    const absl::Time give_up = absl::Now() + kTestTimeout;
    while (!condition()) {
      if (absl::Now() > give_up) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  BackendRegistry backends_;
  FaultSwitch faults_;
  std::string root_;
  std::unique_ptr<ServingStack> stack_;
};

TEST_F(FaultTest, ForwardThatThrowsFailsItsCallAndNothingElse) {
  Start();
  faults_.fault = Fault::kThrow;
  auto failed = Predict(kFaulty, 1);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(failed.status().message(),
              HasSubstr("injected fault in forward()"));
  EXPECT_TRUE(Predict(kHealthy, 2).ok());
  faults_.fault = Fault::kNone;
  auto recovered = Predict(kFaulty, 3);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_FLOAT_EQ(recovered->predictions(0).efficiency(), 3);
}

TEST_F(FaultTest, ForwardThatHangsPastTheDeadlineAnswersDeadlineExceeded) {
  Start();
  faults_.fault = Fault::kHang;
  // The one worker hangs in this call's forward pass.
  auto stuck = Predict(kFaulty, 1, absl::Milliseconds(300));
  EXPECT_EQ(stuck.status().code(), absl::StatusCode::kDeadlineExceeded);
  ASSERT_EQ(faults_.hung.load(), 1);
  // Queued behind it: answered at its deadline although no worker is free
  // to look at the queue, and gone from the queue.
  auto queued = Predict(kFaulty, 2, absl::Milliseconds(300));
  EXPECT_EQ(queued.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(Eventually([&] { return QueueDepth(kFaulty) == 0; }));
  // Every other model, and health, are unaffected.
  EXPECT_TRUE(Predict(kHealthy, 3).ok());
  EXPECT_TRUE(Serving());
  // When the forward pass returns, the model serves again.
  faults_.fault = Fault::kNone;
  faults_.release.Notify();
  auto recovered = Predict(kFaulty, 4);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_FLOAT_EQ(recovered->predictions(0).efficiency(), 4);
}

TEST_F(FaultTest, OverloadRefusesAtOnceAndAcceptedCallsAreAnswered) {
  Start();
  faults_.fault = Fault::kHang;
  std::vector<std::thread> callers;
  std::atomic<int> answered{0};
  // One call computing (hung), four filling the queue of 4.
  for (int i = 0; i < 5; ++i) {
    callers.emplace_back([&, i] {
      if (Predict(kFaulty, static_cast<float>(i)).ok()) answered.fetch_add(1);
    });
    if (i == 0) {
      ASSERT_TRUE(Eventually([&] { return faults_.hung.load() == 1; }));
    }
  }
  ASSERT_TRUE(Eventually([&] { return QueueDepth(kFaulty) == 4; }));
  // Refused while the forward pass is still stuck: the refusal never waits
  // for compute.
  for (int i = 0; i < 10; ++i) {
    auto refused = Predict(kFaulty, 9);
    EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(refused.status().message(), HasSubstr("batch queue is full"));
  }
  EXPECT_EQ(faults_.hung.load(), 1);
  faults_.fault = Fault::kNone;
  faults_.release.Notify();
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(answered.load(), 5);
}

TEST_F(FaultTest, CancellationLeavesTheQueueWhileEveryWorkerIsStuck) {
  Start();
  faults_.fault = Fault::kHang;
  std::thread first([&] { (void)Predict(kFaulty, 1); });
  ASSERT_TRUE(Eventually([&] { return faults_.hung.load() == 1; }));

  auto stub =
      lineserve::v1::EfficiencyPrediction::NewStub(stack_->client().channel());
  grpc::ClientContext context;
  lineserve::v1::PredictResponse response;
  absl::Notification finished;
  grpc::Status status;
  const lineserve::v1::PredictRequest request = Row(kFaulty, 2);
  stub->async()->Predict(&context, &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    finished.Notify();
  });
  ASSERT_TRUE(Eventually([&] { return QueueDepth(kFaulty) == 1; }));
  context.TryCancel();
  ASSERT_TRUE(finished.WaitForNotificationWithTimeout(kTestTimeout));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_TRUE(Eventually([&] { return QueueDepth(kFaulty) == 0; }));
  EXPECT_EQ(faults_.hung.load(), 1);  // still stuck: no worker answered it
  faults_.fault = Fault::kNone;
  faults_.release.Notify();
  first.join();
}

TEST_F(FaultTest, RepositoryDiskGoneKeepsServingWhatIsLoaded) {
  Start(ModelControlMode::kPoll);
  ASSERT_TRUE(Predict(kHealthy, 1).ok());
  // The volume under the repository disappears (unmounted, or the folder
  // moved away): several rescans see nothing.
  const std::string away = root_ + ".away";
  fs::rename(root_, away);
  absl::SleepFor(absl::Milliseconds(200));  // ~10 polls
  auto during = Predict(kHealthy, 2);
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_FLOAT_EQ(during->predictions(0).efficiency(), 2);
  EXPECT_TRUE(Serving());
  fs::rename(away, root_);
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(Predict(kHealthy, 3).ok());
}

}  // namespace
}  // namespace lineserve
