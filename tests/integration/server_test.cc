// The real server on 127.0.0.1:0, loaded with models the real trainer
// trained once for this CTest run (the IntegrationModels fixture,
// train_test_models.sh), called through the real client.
#include <torch/script.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "client/lineserve_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "models/config/model_config.h"
#include "models/postprocess/classification.h"
#include "models/preprocess/image_preprocessor.h"
#include "models/preprocess/tabular_encoder.h"
#include "server/backends/torchscript_backend.h"
#include "server/repository/model_repository.h"
#include "tests/support/serving_stack.h"

namespace lineserve {
namespace {
namespace fs = std::filesystem;
using lineserve::v1::ModelConfig;
using ::testing::HasSubstr;

// Copies `from` to a new model `to` whose config `edit` changes.
void CopyModel(const fs::path& repo, const std::string& from,
               const std::string& to,
               const std::function<void(ModelConfig&)>& edit) {
  fs::copy(repo / from, repo / to, fs::copy_options::recursive);
  auto config = LoadModelConfig((repo / to / "config.pbtxt").string());
  ASSERT_TRUE(config.ok()) << config.status();
  config->set_name(to);
  edit(*config);
  ASSERT_TRUE(
      WriteModelConfig((repo / to / "config.pbtxt").string(), *config).ok());
}

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // The trained models and their data are shared by every test process of
    // the run; each process works on a copy it may edit.
    const char* env = std::getenv("LINESERVE_TEST_MODELS");
    const fs::path trained = env != nullptr ? env : LINESERVE_TEST_MODELS_DIR;
    ASSERT_TRUE(fs::exists(trained / "repo"))
        << trained << " has no trained models: run `ctest -R IntegrationModels`"
        << " (the fixture train_test_models.sh) first";
    root_ = new fs::path(fs::path(::testing::TempDir()) /
                         absl::StrCat("lineserve_server_", getpid()));
    fs::remove_all(*root_);
    fs::create_directories(*root_);
    fs::copy(trained, *root_, fs::copy_options::recursive);
    const fs::path repo = *root_ / "repo";

    // Batches close only when full (8) or after a long delay, even on an
    // idle model: a burst of eight concurrent calls must share one execution.
    CopyModel(repo, "quality_inspection", "inspection_burst", [](auto& c) {
      c.mutable_dynamic_batching()->set_wait_when_idle(true);
      c.mutable_dynamic_batching()->set_max_queue_delay_microseconds(5'000'000);
    });
    // Two requests wait for a batch of four that cannot form: the third
    // finds the queue full.
    CopyModel(repo, "quality_inspection", "inspection_tiny_queue", [](auto& c) {
      c.set_max_batch_size(4);
      c.mutable_dynamic_batching()->set_max_queue_size(2);
      c.mutable_dynamic_batching()->set_wait_when_idle(true);
      c.mutable_dynamic_batching()->clear_preferred_batch_size();
      c.mutable_dynamic_batching()->add_preferred_batch_size(4);
      c.mutable_dynamic_batching()->set_max_queue_delay_microseconds(
          60'000'000);
      c.mutable_warmup()->clear_batch_sizes();
      c.mutable_warmup()->add_batch_sizes(1);
    });
  }

  static void TearDownTestSuite() {
    fs::remove_all(*root_);
    delete root_;
  }

  void SetUp() override {
    ASSERT_TRUE(RegisterTorchScriptBackend(backends_).ok());
    lineserve::testing::ServingStackOptions options;
    options.root = (*root_ / "repo").string();
    options.backends = &backends_;
    auto stack = lineserve::testing::ServingStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    repository_ = &stack_->repository();
    server_ = &stack_->server();
    client_ = &stack_->client();
  }

  void TearDown() override { stack_.reset(); }

  // The index-th image (in name order) of a class of the generated set.
  static std::string Image(const std::string& label, int index) {
    std::vector<fs::path> files;
    for (const auto& entry :
         fs::directory_iterator(*root_ / "data" / "tiles" / "images" / label)) {
      files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    return *ReadFile(files.at(index).string());
  }

  static lineserve::v1::InspectRequest InspectRequestFor(
      const std::string& image, const std::string& model = "") {
    lineserve::v1::InspectRequest request;
    request.set_image(image);
    request.set_line_id("line-1");
    request.set_station_id("cam-2");
    request.set_part_id("part-9");
    request.mutable_model()->set_name(model);
    return request;
  }

  // The config version 1 of `model` runs with (model.json over
  // config.pbtxt).
  static ModelConfig Config(const std::string& model) {
    const fs::path dir = *root_ / "repo" / model;
    return *LoadVersionConfig(*LoadModelConfig((dir / "config.pbtxt").string()),
                              (dir / "1").string());
  }

  static fs::path* root_;
  BackendRegistry backends_;
  std::unique_ptr<lineserve::testing::ServingStack> stack_;
  // The stack's.
  ModelRepository* repository_ = nullptr;
  LineServer* server_ = nullptr;
  LineserveClient* client_ = nullptr;
};

fs::path* ServerTest::root_ = nullptr;

TEST_F(ServerTest, InspectAnswersAsTheModelDoesInProcess) {
  const std::string image = Image("spot", 1);
  auto response = client_->Inspect(InspectRequestFor(image));
  ASSERT_TRUE(response.ok()) << response.status();
  const ModelConfig config = Config("quality_inspection");
  EXPECT_EQ(response->answered_by().model_name(), "quality_inspection");
  EXPECT_EQ(response->answered_by().model_version(), 1);
  EXPECT_EQ(response->part_id(), "part-9");
  ASSERT_EQ(response->scores_size(), config.classification().labels_size());
  EXPECT_GE(response->timing().batch_size(), 1);
  EXPECT_GT(response->timing().compute_microseconds(), 0);

  // The same bytes through the same preprocessing and model, in process.
  auto preprocessor = preprocess::ImagePreprocessor::Create(config.image());
  ASSERT_TRUE(preprocessor.ok());
  torch::Tensor x =
      torch::empty({1, preprocessor->channels(), preprocessor->height(),
                    preprocessor->width()});
  ASSERT_TRUE(preprocessor->Process(image, x.data_ptr<float>()).ok());
  torch::jit::Module module = torch::jit::load(
      (*root_ / "repo" / "quality_inspection" / "1" / "model.pt").string());
  module.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor logits = module.forward({x}).toTensor().contiguous();
  const std::vector<float> expected =
      postprocess::Softmax(logits.data_ptr<float>(), logits.size(1));
  for (int i = 0; i < response->scores_size(); ++i) {
    EXPECT_EQ(response->scores(i).label(), config.classification().labels(i));
    EXPECT_NEAR(response->scores(i).probability(), expected[i], 1e-5);
  }
}

TEST_F(ServerTest, PredictAnswersAsTheModelDoesInProcess) {
  lineserve::v1::PredictRequest request;
  auto* row = request.add_rows();
  row->set_row_id("r1");
  auto& f = *row->mutable_features();
  f["quarter"].set_category("Quarter2");
  f["department"].set_category("finishing ");
  f["day"].set_category("Monday");
  f["team"].set_number(3);
  f["targeted_productivity"].set_number(0.75);
  f["smv"].set_number(3.94);
  f["over_time"].set_number(960);
  f["incentive"].set_number(0);
  f["idle_time"].set_number(0);
  f["idle_men"].set_number(0);
  f["no_of_style_change"].set_number(0);
  f["no_of_workers"].set_number(8);
  *request.add_rows() = request.rows(0);
  request.mutable_rows(1)->set_row_id("r2");
  (*request.mutable_rows(1)->mutable_features())["incentive"].set_number(90);

  auto response = client_->Predict(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->predictions_size(), 2);
  EXPECT_EQ(response->predictions(1).row_id(), "r2");

  const ModelConfig config = Config("efficiency_prediction");
  auto encoder = preprocess::TabularEncoder::Create(config.tabular());
  ASSERT_TRUE(encoder.ok());
  torch::jit::Module module = torch::jit::load(
      (*root_ / "repo" / "efficiency_prediction" / "1" / "model.pt").string());
  module.eval();
  torch::NoGradGuard no_grad;
  for (int r = 0; r < 2; ++r) {
    preprocess::FeatureRow features;
    for (const auto& [name, value] : request.rows(r).features()) {
      if (value.has_number()) {
        features.emplace_back(name, value.number());
      } else {
        features.emplace_back(name, value.category());
      }
    }
    std::vector<float> x(encoder->width());
    ASSERT_TRUE(encoder->Encode(features, x.data()).ok());
    const float expected = module.forward({torch::tensor(x).unsqueeze(0)})
                               .toTensor()
                               .item<float>();
    EXPECT_NEAR(response->predictions(r).efficiency(), expected, 1e-5);
  }
}

TEST_F(ServerTest, ConcurrentBurstSharesOneExecution) {
  constexpr int kCalls = 8;  // the model's max_batch_size
  const std::string image = Image("ok", 2);
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<lineserve::v1::InspectResponse>> answers(
      kCalls, absl::UnknownError("not run"));
  for (int i = 0; i < kCalls; ++i) {
    threads.emplace_back([&, i] {
      answers[i] =
          client_->Inspect(InspectRequestFor(image, "inspection_burst"));
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& answer : answers) {
    ASSERT_TRUE(answer.ok()) << answer.status();
    // The batch closed when full, long before its 5 s delay.
    EXPECT_EQ(answer->timing().batch_size(), kCalls);
    EXPECT_LT(answer->timing().queue_microseconds(), 4'000'000);
  }
}

TEST_F(ServerTest, FullQueueIsResourceExhausted) {
  const std::string image = Image("ok", 3);
  std::vector<std::thread> waiting;
  std::atomic<int> ok_count{0};
  absl::Notification first_two_queued;
  for (int i = 0; i < 2; ++i) {
    waiting.emplace_back([&] {
      if (client_->Inspect(InspectRequestFor(image, "inspection_tiny_queue"))
              .ok()) {
        ++ok_count;
      }
    });
  }
  // Both sit in the queue until its delay: poll the repository's view of
  // the queue instead of sleeping.
  auto servable = repository_->Get("inspection_tiny_queue", 0);
  ASSERT_TRUE(servable.ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while ((*servable)->queue_depth() < 2 && absl::Now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ((*servable)->queue_depth(), 2);
  auto refused =
      client_->Inspect(InspectRequestFor(image, "inspection_tiny_queue"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  // The queued ones are still answered: draining the model flushes them
  // now instead of after the minute-long delay.
  (*servable)->Drain();
  for (auto& t : waiting) t.join();
  EXPECT_EQ(ok_count, 2);
}

TEST_F(ServerTest, ExpiredDeadlineIsDeadlineExceeded) {
  ClientOptions options;
  options.server = absl::StrCat("127.0.0.1:", server_->port());
  options.timeout = absl::Milliseconds(200);
  LineserveClient impatient(options);
  // The burst model waits 5 s for a full batch: the deadline passes first.
  auto response =
      impatient.Inspect(InspectRequestFor(Image("ok", 4), "inspection_burst"));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(ServerTest, BadRequestsGetPreciseStatuses) {
  auto corrupt = client_->Inspect(InspectRequestFor("\x89PNG\r\n\x1a\nnope"));
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(corrupt.status().message(), HasSubstr("image"));

  auto empty = client_->Inspect(InspectRequestFor(""));
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);

  auto unknown = client_->Inspect(InspectRequestFor(Image("ok", 0), "nope"));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);

  lineserve::v1::InspectRequest bad_version = InspectRequestFor(Image("ok", 0));
  bad_version.mutable_model()->set_version(42);
  EXPECT_EQ(client_->Inspect(bad_version).status().code(),
            absl::StatusCode::kNotFound);

  lineserve::v1::PredictRequest missing;
  (*missing.add_rows()->mutable_features())["smv"].set_number(3.0);
  auto predict = client_->Predict(missing);
  EXPECT_EQ(predict.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(predict.status().message(), HasSubstr("rows[0]"));
  EXPECT_THAT(predict.status().message(), HasSubstr("team"));

  // The server is unharmed.
  EXPECT_TRUE(client_->Inspect(InspectRequestFor(Image("ok", 0))).ok());
}

TEST_F(ServerTest, ModelsAndHealth) {
  auto models = client_->ListModels();
  ASSERT_TRUE(models.ok()) << models.status();
  std::vector<std::string> names;
  for (const auto& m : models->models()) {
    names.push_back(m.name());
    EXPECT_EQ(m.default_version(), 1);
    ASSERT_EQ(m.versions_size(), 1);
    EXPECT_EQ(m.versions(0).state(), lineserve::v1::VERSION_STATE_READY);
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre(
                         "quality_inspection", "efficiency_prediction",
                         "inspection_burst", "inspection_tiny_queue"));
  auto model = client_->GetModel("quality_inspection");
  ASSERT_TRUE(model.ok());
  // The labels are the version's (its model.json), not config.pbtxt's.
  EXPECT_EQ(model->config().classification().labels_size(), 0);
  ASSERT_EQ(model->versions_size(), 1);
  EXPECT_EQ(model->versions(0).config().classification().labels_size(), 4);
  EXPECT_EQ(client_->GetModel("nope").status().code(),
            absl::StatusCode::kNotFound);

  auto overall = client_->Health();
  ASSERT_TRUE(overall.ok()) << overall.status();
  EXPECT_TRUE(*overall);
  auto inspection = client_->Health("lineserve.v1.QualityInspection");
  ASSERT_TRUE(inspection.ok()) << inspection.status();
  EXPECT_TRUE(*inspection);
  EXPECT_EQ(client_->Health("no.such.Service").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ServerTest, StreamAnswersEveryRequestAndSurvivesBadOnes) {
  auto stub = lineserve::v1::QualityInspection::NewStub(client_->channel());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(20));
  auto stream = stub->InspectStream(&context);
  for (int i = 0; i < 5; ++i) {
    auto request = InspectRequestFor(i == 2 ? "garbage" : Image("crack", i));
    request.set_request_id(absl::StrCat("req-", i));
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  std::map<std::string, lineserve::v1::InspectResponse> answers;
  lineserve::v1::InspectResponse response;
  while (stream->Read(&response)) answers[response.request_id()] = response;
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(answers.size(), 5u);
  EXPECT_EQ(answers["req-2"].error_code(),
            static_cast<int>(absl::StatusCode::kInvalidArgument));
  for (const std::string id : {"req-0", "req-1", "req-3", "req-4"}) {
    EXPECT_EQ(answers[id].error_code(), 0) << answers[id].error_message();
    EXPECT_EQ(answers[id].scores_size(), 4);
  }
}

TEST_F(ServerTest, ShutdownFinishesCallsInFlight) {
  const std::string image = Image("ok", 5);
  // Four calls wait in the burst model's queue (it closes at eight or after
  // 5 s; shutdown flushes it sooner).
  std::vector<std::thread> calls;
  std::atomic<int> ok_count{0};
  for (int i = 0; i < 4; ++i) {
    calls.emplace_back([&] {
      if (client_->Inspect(InspectRequestFor(image, "inspection_burst")).ok()) {
        ++ok_count;
      }
    });
  }
  auto servable = repository_->Get("inspection_burst", 0);
  ASSERT_TRUE(servable.ok());
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while ((*servable)->queue_depth() < 4 && absl::Now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ((*servable)->queue_depth(), 4);
  servable->reset();
  std::thread stopper([&] { server_->Shutdown(absl::Seconds(20)); });
  // Draining the repository answers the queued calls now.
  repository_->Shutdown();
  for (auto& t : calls) t.join();
  stopper.join();
  EXPECT_EQ(ok_count, 4);
  auto after = client_->Inspect(InspectRequestFor(image));
  EXPECT_FALSE(after.ok());
}

TEST_F(ServerTest, ClientCancellationTakesTheRequestOutOfTheQueueAtOnce) {
  // The burst model waits 5 s for a batch of eight: only the cancellation
  // (gRPC's OnCancel, waking the batcher) can answer this call sooner.
  auto servable = repository_->Get("inspection_burst", 0);
  ASSERT_TRUE(servable.ok());
  auto stub = lineserve::v1::QualityInspection::NewStub(client_->channel());
  grpc::ClientContext context;
  lineserve::v1::InspectResponse response;
  absl::Notification finished;
  grpc::Status status;
  const lineserve::v1::InspectRequest request =
      InspectRequestFor(Image("ok", 1), "inspection_burst");
  stub->async()->Inspect(&context, &request, &response, [&](grpc::Status s) {
    status = std::move(s);
    finished.Notify();
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(4);
  while ((*servable)->queue_depth() < 1 && absl::Now() < give_up) {
    std::this_thread::yield();
  }
  ASSERT_EQ((*servable)->queue_depth(), 1);
  const absl::Time cancelled_at = absl::Now();
  context.TryCancel();
  ASSERT_TRUE(finished.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  // Left the queue well before the 5 s batch delay could have released it.
  while ((*servable)->queue_depth() > 0 &&
         absl::Now() < cancelled_at + absl::Seconds(4)) {
    std::this_thread::yield();
  }
  EXPECT_EQ((*servable)->queue_depth(), 0);
}

}  // namespace
}  // namespace lineserve
