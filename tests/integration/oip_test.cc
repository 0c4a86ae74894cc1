// The Open Inference Protocol's GRPCInferenceService on loopback, called
// through a stub generated from proto/inference/grpc_service.proto (the
// specification's names and field numbers), over fake models: image,
// tabular and tensor models through the same pipeline as the domain API.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/grpc_service.grpc.pb.h"
#include "models/config/model_config.h"
#include "models/preprocess/image_encode.h"
#include "nlohmann/json.hpp"
#include "tests/support/fake_backend.h"
#include "tests/support/http_get.h"
#include "tests/support/serving_stack.h"
#include "tests/support/test_configs.h"

namespace lineserve {
namespace {

namespace fs = std::filesystem;
using ::lineserve::testing::kFakeArtifact;
using ::lineserve::testing::kFakePlatform;
using ::lineserve::testing::LinearModel;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Png(float shade) {
  preprocess::Image image;
  image.width = image.height = 2;
  image.channels = 1;
  image.data.assign(4, shade);
  return *preprocess::EncodePng(image);
}

class OipTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(::lineserve::testing::RegisterFakeBackend(backends_).ok());
    // logits (sum of normalised pixels, 0): white is "ok", black "scratch".
    AddModel(::lineserve::testing::ImageConfig("quality"),
             {4, {1, 0, 1, 0, 1, 0, 1, 0}, {0, 0}, std::nullopt});
    // f0 + 2 f1 + 3 f2 + 0.5.
    AddModel(::lineserve::testing::TabularConfig("efficiency", 3),
             {3, {1, 2, 3}, {0.5f}, std::nullopt});
    lineserve::v1::ModelConfig tensor;
    tensor.set_name("sum");
    tensor.set_task(lineserve::v1::TASK_KIND_TENSOR);
    auto* in = tensor.add_input();
    in->set_name("x");
    in->set_data_type(lineserve::v1::TYPE_FP32);
    in->add_dims(3);
    auto* out = tensor.add_output();
    out->set_name("total");
    out->set_data_type(lineserve::v1::TYPE_FP32);
    out->add_dims(1);
    tensor.set_max_batch_size(4);
    tensor.set_device("cpu");
    tensor.mutable_dynamic_batching()->set_max_queue_delay_microseconds(0);
    ApplyModelConfigDefaults(tensor);
    AddModel(tensor, {3, {1, 1, 1}, {0}, std::nullopt});

    ::lineserve::testing::ServingStackOptions options;
    options.root = root_;
    options.backends = &backends_;
    options.http = true;
    auto stack = ::lineserve::testing::ServingStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    stub_ =
        inference::GRPCInferenceService::NewStub(stack_->client().channel());
  }

  void TearDown() override {
    stub_.reset();
    stack_.reset();
    fs::remove_all(root_);
  }

  void AddModel(lineserve::v1::ModelConfig config, const LinearModel& model) {
    config.set_platform(kFakePlatform);
    const fs::path dir = fs::path(root_) / config.name();
    fs::create_directories(dir / "1");
    ASSERT_TRUE(WriteModelConfig((dir / "config.pbtxt").string(), config).ok());
    ASSERT_TRUE(::lineserve::testing::WriteFakeModel(
                    (dir / "1" / kFakeArtifact).string(), model)
                    .ok());
  }

  grpc::Status Infer(const inference::ModelInferRequest& request,
                     inference::ModelInferResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(20));
    return stub_->ModelInfer(&context, request, response);
  }

  std::string root_ = ::lineserve::testing::MakeTempDir("oip");
  BackendRegistry backends_;
  std::unique_ptr<::lineserve::testing::ServingStack> stack_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(OipTest, HealthAndMetadataFollowTheSpecification) {
  grpc::ClientContext c1, c2, c3, c4;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&c1, {}, &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&c2, {}, &ready).ok());
  EXPECT_TRUE(ready.ready());
  inference::ModelReadyRequest model_ready;
  model_ready.set_name("quality");
  inference::ModelReadyResponse model_ready_response;
  ASSERT_TRUE(stub_->ModelReady(&c3, model_ready, &model_ready_response).ok());
  EXPECT_TRUE(model_ready_response.ready());

  inference::ModelMetadataRequest metadata_request;
  metadata_request.set_name("quality");
  inference::ModelMetadataResponse metadata;
  ASSERT_TRUE(stub_->ModelMetadata(&c4, metadata_request, &metadata).ok());
  EXPECT_EQ(metadata.platform(), "fake");
  EXPECT_THAT(metadata.versions(), ElementsAre("1"));
  ASSERT_EQ(metadata.inputs_size(), 1);
  EXPECT_EQ(metadata.inputs(0).name(), "image");
  EXPECT_EQ(metadata.inputs(0).datatype(), "BYTES");
  ASSERT_EQ(metadata.outputs_size(), 4);
  EXPECT_EQ(metadata.outputs(0).name(), "probabilities");
  EXPECT_THAT(metadata.outputs(0).shape(), ElementsAre(-1, 2));
  EXPECT_EQ(metadata.outputs(1).name(), "verdict");
}

TEST_F(OipTest, ImagesAsBytesGetAVerdictEach) {
  inference::ModelInferRequest request;
  request.set_model_name("quality");
  request.set_id("req-7");
  auto* input = request.add_inputs();
  input->set_name("image");
  input->set_datatype("BYTES");
  input->add_shape(2);
  input->mutable_contents()->add_bytes_contents(Png(1.0f));
  input->mutable_contents()->add_bytes_contents(Png(0.0f));
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.id(), "req-7");
  EXPECT_EQ(response.model_name(), "quality");
  EXPECT_EQ(response.model_version(), "1");
  ASSERT_EQ(response.outputs_size(), 4);
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2, 2));
  EXPECT_EQ(response.outputs(0).contents().fp32_contents_size(), 4);
  EXPECT_THAT(response.outputs(1).contents().bytes_contents(),
              ElementsAre("ok", "defect"));
  EXPECT_THAT(response.outputs(2).contents().bytes_contents(),
              ElementsAre("", "scratch"));
}

TEST_F(OipTest, FeaturesAsRawNamedTensorsAnswerRaw) {
  inference::ModelInferRequest request;
  request.set_model_name("efficiency");
  for (const char* name : {"f0", "f1", "f2"}) {
    auto* input = request.add_inputs();
    input->set_name(name);
    input->set_datatype("FP32");
    input->add_shape(2);
    const float values[2] = {1.0f, name[1] == '0' ? 2.0f : 0.0f};
    request.add_raw_input_contents(
        std::string(reinterpret_cast<const char*>(values), sizeof(values)));
  }
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "efficiency");
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2));
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  const std::string& raw = response.raw_output_contents(0);
  ASSERT_EQ(raw.size(), 8u);
  float out[2];
  std::memcpy(out, raw.data(), sizeof(out));
  EXPECT_FLOAT_EQ(out[0], 1 + 2 + 3 + 0.5f);  // row 0: f0=f1=f2=1
  EXPECT_FLOAT_EQ(out[1], 2 + 0.5f);          // row 1: f0=2, others 0
}

TEST_F(OipTest, TensorModelsTakeTheirDeclaredTensorsBatchFirst) {
  inference::ModelInferRequest request;
  request.set_model_name("sum");
  auto* input = request.add_inputs();
  input->set_name("x");
  input->set_datatype("FP32");
  input->add_shape(2);
  input->add_shape(3);
  for (float v : {1, 2, 3, 10, 20, 30}) {
    input->mutable_contents()->add_fp32_contents(v);
  }
  request.add_outputs()->set_name("total");
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_THAT(response.outputs(0).contents().fp32_contents(),
              ElementsAre(6, 60));
}

TEST_F(OipTest, MismatchesAreInvalidArgumentNamingTheTensor) {
  inference::ModelInferRequest request;
  request.set_model_name("sum");
  auto* input = request.add_inputs();
  input->set_name("x");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(4);
  for (float v : {1, 2, 3, 4}) input->mutable_contents()->add_fp32_contents(v);
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("tensor 'x'"));

  input->set_datatype("INT8");
  status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("input 'x'"));

  input->set_datatype("FP32");
  input->mutable_contents()->add_fp32_contents(5);  // 5 values for [1, 4]
  status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("input 'x'"));

  input->mutable_contents()->mutable_fp32_contents()->RemoveLast();
  request.set_model_name("nope");
  status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);

  inference::ModelInferRequest wrong_output;
  wrong_output.set_model_name("sum");
  *wrong_output.add_inputs() = request.inputs(0);
  wrong_output.mutable_inputs(0)->mutable_contents()->clear_fp32_contents();
  wrong_output.mutable_inputs(0)->clear_shape();
  wrong_output.mutable_inputs(0)->add_shape(1);
  wrong_output.mutable_inputs(0)->add_shape(3);
  for (float v : {1, 2, 3}) {
    wrong_output.mutable_inputs(0)->mutable_contents()->add_fp32_contents(v);
  }
  wrong_output.add_outputs()->set_name("nothing");
  status = Infer(wrong_output, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'nothing'"));
}

// HTTP status and JSON body of one REST call.
std::pair<int, nlohmann::json> Rest(int port, const std::string& method,
                                    const std::string& target,
                                    const std::string& body = "") {
  auto reply = ::lineserve::testing::HttpCall(port, method, target, body);
  EXPECT_TRUE(reply.ok()) << reply.status();
  if (!reply.ok()) return {0, nullptr};
  return {reply->status, nlohmann::json::parse(reply->body, nullptr, false)};
}

TEST_F(OipTest, RestEndpointsServeTheSameModelsAsJson) {
  const int port = stack_->http_port();
  auto [live_status, live] = Rest(port, "GET", "/v2/health/live");
  EXPECT_EQ(live_status, 200);
  EXPECT_EQ(live["live"], true);
  EXPECT_EQ(Rest(port, "GET", "/v2/health/ready").first, 200);
  EXPECT_EQ(Rest(port, "GET", "/v2").second["name"], "lineserve");
  EXPECT_EQ(Rest(port, "GET", "/v2/models/sum/ready").first, 200);
  EXPECT_EQ(Rest(port, "GET", "/v2/models/sum/versions/1/ready").first, 200);

  auto [meta_status, meta] = Rest(port, "GET", "/v2/models/efficiency");
  EXPECT_EQ(meta_status, 200);
  EXPECT_EQ(meta["inputs"].size(), 3u);
  ASSERT_EQ(meta["outputs"].size(), 1u);
  EXPECT_EQ(meta["outputs"][0]["name"], "efficiency");
  EXPECT_EQ(meta["outputs"][0]["shape"], nlohmann::json({-1}));

  auto [status, answer] = Rest(port, "POST", "/v2/models/sum/infer", R"({
      "id": "r-1",
      "inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
                  "data": [[1, 2, 3], [10, 20, 30]]}]})");
  ASSERT_EQ(status, 200) << answer.dump();
  EXPECT_EQ(answer["id"], "r-1");
  EXPECT_EQ(answer["model_version"], "1");
  EXPECT_EQ(answer["outputs"][0]["name"], "total");
  EXPECT_EQ(answer["outputs"][0]["shape"], nlohmann::json({2, 1}));
  EXPECT_EQ(answer["outputs"][0]["data"], nlohmann::json({6.0, 60.0}));

  auto [features_status, features] =
      Rest(port, "POST", "/v2/models/efficiency/versions/1/infer", R"({
      "inputs": [{"name": "f0", "shape": [1], "datatype": "FP64", "data": [1]},
                 {"name": "f1", "shape": [1], "datatype": "FP64", "data": [1]},
                 {"name": "f2", "shape": [1], "datatype": "FP64", "data": [1]}]})");
  ASSERT_EQ(features_status, 200) << features.dump();
  EXPECT_FLOAT_EQ(features["outputs"][0]["data"][0].get<float>(), 6.5f);
}

TEST_F(OipTest, IdleAndSlowClientsDoNotStallTheListener) {
  const int port = stack_->http_port();
  // Eight clients that connect and send half a request line, then nothing.
  std::vector<int> idle;
  for (int i = 0; i < 8; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(
        connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    ASSERT_GT(send(fd, "GET /v2/hea", 11, MSG_NOSIGNAL), 0);
    idle.push_back(fd);
  }
  // Others are answered meanwhile (the call's own timeout is 10 s; the
  // idle ones hold their connections, not the listener's threads).
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Rest(port, "GET", "/v2/health/live").first, 200);
  }
  for (int fd : idle) close(fd);
}

TEST_F(OipTest, RestErrorsAreJsonWithTheMatchingStatus) {
  const int port = stack_->http_port();
  auto [unknown_status, unknown] = Rest(port, "GET", "/v2/models/nope");
  EXPECT_EQ(unknown_status, 404);
  EXPECT_THAT(unknown["error"].get<std::string>(), HasSubstr("nope"));
  auto [bad_status, bad] = Rest(port, "POST", "/v2/models/sum/infer",
                                R"({"inputs": [{"name": "x", "shape": [1, 4],
                                    "datatype": "FP32", "data": [1, 2, 3, 4]}]})");
  EXPECT_EQ(bad_status, 400);
  EXPECT_THAT(bad["error"].get<std::string>(), HasSubstr("tensor 'x'"));
  EXPECT_EQ(Rest(port, "POST", "/v2/models/sum/infer", "not json").first, 400);
  // A body over the listener's limit (1 MiB here) is refused before any
  // parsing.
  auto [big_status, big] = Rest(port, "POST", "/v2/models/sum/infer",
                                std::string((1 << 20) + 1, ' '));
  EXPECT_EQ(big_status, 413);
  EXPECT_THAT(big["error"].get<std::string>(), HasSubstr("request body above"));
  EXPECT_EQ(Rest(port, "GET", "/v3").first, 404);
}

// Found by tests/fuzz (regression inputs kept in its corpora): each of
// these once took the whole server down.
TEST_F(OipTest, HostileRequestsAreRefusedAndTheServerLives) {
  const int port = stack_->http_port();
  // An invalid UTF-8 model name echoed into the JSON error: the JSON writer
  // threw and ended the process.
  auto [name_status, name] = Rest(port, "GET", "/v2/models/%FF");
  EXPECT_EQ(name_status, 404);
  // A zero-sized tensor claiming 2^32 samples: ~352 GB of empty samples.
  auto [batch_status, batch] =
      Rest(port, "POST", "/v2/models/sum/infer",
           R"({"inputs": [{"name": "x", "shape": [4294967296, 0],
               "datatype": "FP32", "data": []}]})");
  EXPECT_EQ(batch_status, 400);
  EXPECT_THAT(batch["error"].get<std::string>(),
              HasSubstr("batch of 4294967296, at most 4096"));
  // A shape whose element count wraps around 64 bits to 0.
  inference::ModelInferRequest request;
  request.set_model_name("sum");
  auto* input = request.add_inputs();
  input->set_name("x");
  input->set_datatype("FP32");
  input->add_shape(int64_t{1} << 32);
  input->add_shape(int64_t{1} << 32);
  inference::ModelInferResponse response;
  const grpc::Status status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Rest(port, "GET", "/v2/health/live").first, 200);
}

}  // namespace
}  // namespace lineserve
