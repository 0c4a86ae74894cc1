#include "server/backends/torchscript_backend.h"

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"
#include "models/config/model_config.h"
#include "tests/server/backends/test_models.h"
#include "tests/support/fake_backend.h"

namespace lineserve {
namespace {

using ::lineserve::testing::ImageConfig;
using ::lineserve::testing::LinearModel;
using ::lineserve::testing::MakeTempDir;
using ::lineserve::testing::TabularConfig;
using ::lineserve::testing::WriteLinearModel;
using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::Pointwise;

absl::StatusOr<std::unique_ptr<TorchScriptBackend>> Load(
    const std::string& path, const lineserve::v1::ModelConfig& config,
    const std::string& device) {
  BackendLoadRequest request;
  request.artifact_path = path;
  request.config = &config;
  request.device = device;
  return TorchScriptBackend::Create(request);
}

// Runs `batch` samples of the backend's one FP32 input, `values` sample
// after sample; the FP32 output's values.
absl::StatusOr<std::vector<float>> RunFloats(Backend& backend,
                                             const std::vector<float>& values,
                                             int batch) {
  std::vector<int64_t> shape = {batch};
  for (int64_t dim : backend.inputs()[0].dims) shape.push_back(dim);
  const size_t count = values.size() / 1;
  Tensor input = Tensor::Zeros(backend.inputs()[0].name, DataType::kFp32,
                               std::move(shape));
  const size_t needed = static_cast<size_t>(input.ElementCount());
  std::copy(values.begin(), values.begin() + std::min(needed, count),
            input.mutable_values<float>());
  absl::StatusOr<std::vector<Tensor>> outputs = backend.Run({input}, batch);
  if (!outputs.ok()) return outputs.status();
  return ::lineserve::testing::Floats((*outputs)[0]);
}

// y = 1*x0 + 2*x1 + 3*x2 + 0.5
LinearModel ThreeFeatureModel() {
  LinearModel model;
  model.inputs = 3;
  model.weights = {1.0f, 2.0f, 3.0f};
  model.bias = {0.5f};
  return model;
}

class TorchScriptBackendTest : public ::testing::Test {
 protected:
  std::string WriteModel(const LinearModel& model) {
    const std::string path = dir_ + "/model.pt";
    absl::Status status = WriteLinearModel(path, model);
    EXPECT_TRUE(status.ok()) << status;
    return path;
  }

  ~TorchScriptBackendTest() override { std::filesystem::remove_all(dir_); }

  std::string dir_ = MakeTempDir("torchscript-backend");
};

TEST_F(TorchScriptBackendTest, AnswersHandComputedValuesForBatchSizes1To4) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->inputs()[0].dims, (std::vector<int64_t>{3}));
  EXPECT_EQ((*backend)->outputs()[0].name, "prediction");
  EXPECT_EQ((*backend)->device(), "cpu");
  EXPECT_EQ((*backend)->max_batch_size(), 4);

  const std::vector<float> rows = {1, 0, 0, 0, 1, 0, 0, 0, 1, 2, -1, 0.5};
  const std::vector<float> expected = {1.5f, 2.5f, 3.5f, 2.0f};
  for (int batch = 1; batch <= 4; ++batch) {
    auto output = RunFloats(**backend, rows, batch);
    ASSERT_TRUE(output.ok()) << output.status();
    EXPECT_THAT(*output, Pointwise(FloatEq(), std::vector<float>(
                                                  expected.begin(),
                                                  expected.begin() + batch)))
        << "batch " << batch;
  }
}

TEST_F(TorchScriptBackendTest, ImageModelSeesChannelsHeightWidthInOrder) {
  LinearModel model;
  model.inputs = 4;
  // Output 0 sums the pixels, output 1 weights them by their flat index.
  model.weights = {1, 0, 1, 1, 1, 2, 1, 3};
  model.bias = {0.0f, 10.0f};
  const std::string path = WriteModel(model);
  auto backend = Load(path, ImageConfig("img"), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->inputs()[0].dims, (std::vector<int64_t>{1, 2, 2}));

  const std::vector<float> images = {1, 2, 3, 4, 0, 0, 0, -1};
  auto output = RunFloats(**backend, images, 2);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_THAT(*output, ElementsAre(FloatEq(10), FloatEq(10 + 2 + 6 + 12),
                                   FloatEq(-1), FloatEq(10 - 3)));
}

TEST_F(TorchScriptBackendTest, AutoDeviceIsCpuWithoutCuda) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend = Load(path, TabularConfig("m", 3), "auto");
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_THAT((*backend)->device(),
              ::testing::AnyOf("cpu", ::testing::StartsWith("cuda:")));
}

TEST_F(TorchScriptBackendTest, InputSizeMismatchIsCaughtAtWarmUp) {
  LinearModel model;
  model.inputs = 2;
  model.weights = {1, 1};
  model.bias = {0};
  const std::string path = WriteModel(model);
  auto backend = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(), HasSubstr(path));
  EXPECT_THAT(backend.status().message(),
              HasSubstr("does not match its config"));
  EXPECT_THAT(backend.status().message(), HasSubstr("warm-up at batch size 1"));
  EXPECT_THAT(backend.status().message(), HasSubstr("features [1, 3]"));
}

TEST_F(TorchScriptBackendTest, OutputSizeMismatchIsCaughtAtWarmUp) {
  LinearModel model;
  model.inputs = 3;
  model.weights = {1, 1, 1, 1, 1, 1};
  model.bias = {0, 0};
  const std::string path = WriteModel(model);
  auto backend = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(),
              HasSubstr("output \"prediction\" has shape [1, 2] but the "
                        "config's dims [1] expect [1, 1]"));
}

TEST_F(TorchScriptBackendTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = dir_ + "/absent/model.pt";
  auto backend = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(backend.status().message(), HasSubstr(path));
}

TEST_F(TorchScriptBackendTest, CorruptFileIsInvalidArgumentNamingThePath) {
  const std::string path = dir_ + "/model.pt";
  ASSERT_TRUE(WriteFileAtomically(path, "not a zip archive").ok());
  auto backend = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(),
              HasSubstr("cannot load TorchScript model " + path));
}

TEST_F(TorchScriptBackendTest, CudaWithoutCudaIsFailedPrecondition) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto probe = Load(path, TabularConfig("m", 3), "auto");
  ASSERT_TRUE(probe.ok()) << probe.status();
  if ((*probe)->device() != "cpu") GTEST_SKIP() << "CUDA is available here";

  for (const std::string device : {"cuda", "cuda:0"}) {
    auto backend = Load(path, TabularConfig("m", 3), device);
    ASSERT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition)
        << device;
    EXPECT_THAT(backend.status().message(),
                HasSubstr("no CUDA device is available"));
  }
}

TEST_F(TorchScriptBackendTest, UnknownDeviceIsInvalidArgument) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend = Load(path, TabularConfig("m", 3), "gpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(), HasSubstr("\"gpu\""));
}

TEST_F(TorchScriptBackendTest, RunRefusesBatchesOutsideTheConfiguredRange) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();
  const std::vector<float> rows(15);
  EXPECT_EQ(RunFloats(**backend, rows, 5).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunFloats(**backend, rows, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  // No inputs, or a tensor of the wrong type.
  EXPECT_EQ((*backend)->Run({}, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status wrong_type =
      (*backend)
          ->Run({Tensor::Zeros("features", DataType::kFp64, {1, 3})}, 1)
          .status();
  EXPECT_EQ(wrong_type.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong_type.message(), HasSubstr("FP64"));
}

TEST_F(TorchScriptBackendTest, ForwardFailureIsInternalNotAnException) {
  LinearModel model = ThreeFeatureModel();
  model.fail_when_sum_above = 100.0f;
  const std::string path = WriteModel(model);
  auto backend = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();

  absl::Status status = RunFloats(**backend, {1000, 0, 0}, 1).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("input too large"));
  // And it keeps serving.
  auto output = RunFloats(**backend, {1, 1, 1}, 1);
  ASSERT_TRUE(output.ok()) << output.status();
  EXPECT_THAT(*output, ElementsAre(FloatEq(6.5f)));
}

TEST_F(TorchScriptBackendTest, ConcurrentRunsGiveTheSameAnswers) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto created = Load(path, TabularConfig("m", 3), "cpu");
  ASSERT_TRUE(created.ok()) << created.status();
  std::shared_ptr<Backend> backend = std::move(*created);

  constexpr int kThreads = 4;
  constexpr int kRuns = 50;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRuns; ++i) {
        const float v = static_cast<float>(t * kRuns + i);
        auto output = RunFloats(*backend, {v, 0, 0, 0, v, 0}, 2);
        if (!output.ok() || (*output)[0] != v + 0.5f ||
            (*output)[1] != 2 * v + 0.5f) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(wrong, ::testing::Each(0));
}

lineserve::v1::ModelConfig TwoInputConfig() {
  return ::lineserve::testing::TwoInputConfig("two");
}

TEST_F(TorchScriptBackendTest, TwoTypedInputsByNameAndATupleOfOutputs) {
  const std::string path = dir_ + "/model.pt";
  absl::Status written = ::lineserve::testing::WriteScriptModel(
      path, ::lineserve::testing::kTwoInputModelSource);
  ASSERT_TRUE(written.ok()) << written;
  const lineserve::v1::ModelConfig config = TwoInputConfig();
  ASSERT_TRUE(ValidateModelConfig(config).ok()) << ValidateModelConfig(config);
  auto backend = Load(path, config, "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();

  Tensor x = Tensor::FromFloats("x", {2, 3}, {1, -2, 3, 0.5f, 0.5f, 0.5f});
  Tensor count = Tensor::Zeros("count", DataType::kInt64, {2, 1});
  count.mutable_values<int64_t>()[0] = 2;
  count.mutable_values<int64_t>()[1] = 10;
  auto outputs = (*backend)->Run({x, count}, 2);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[0].name, "scaled");
  EXPECT_THAT(::lineserve::testing::Floats((*outputs)[0]),
              ElementsAre(2, -4, 6, 5, 5, 5));
  EXPECT_EQ((*outputs)[1].dtype, DataType::kInt64);
  EXPECT_EQ((*outputs)[1].shape, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ((*outputs)[1].values<int64_t>()[0], 4);   // 2 + two positive
  EXPECT_EQ((*outputs)[1].values<int64_t>()[1], 13);  // 10 + three positive
}

TEST_F(TorchScriptBackendTest, DictOfOutputsIsReadByName) {
  const std::string path = dir_ + "/model.pt";
  ASSERT_TRUE(::lineserve::testing::WriteScriptModel(path, R"(
def forward(self, x: Tensor, count: Tensor) -> Dict[str, Tensor]:
    return {"total": count * 2, "scaled": x + 1.0}
)")
                  .ok());
  auto backend = Load(path, TwoInputConfig(), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();
  Tensor count = Tensor::Zeros("count", DataType::kInt64, {1, 1});
  count.mutable_values<int64_t>()[0] = 21;
  auto outputs =
      (*backend)->Run({Tensor::FromFloats("x", {1, 3}, {1, 2, 3}), count}, 1);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT(::lineserve::testing::Floats((*outputs)[0]),
              ElementsAre(2, 3, 4));
  EXPECT_EQ((*outputs)[1].values<int64_t>()[0], 42);
}

TEST_F(TorchScriptBackendTest, ForwardArgumentsNotMatchingTheInputsAreRefused) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend = Load(path, TwoInputConfig(), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(),
              HasSubstr("forward() takes 1 argument(s) (x) but the config "
                        "declares 2 input(s)"));
}

TEST_F(TorchScriptBackendTest, BytesTensorsAreRefusedAtLoad) {
  const std::string path = WriteModel(ThreeFeatureModel());
  lineserve::v1::ModelConfig config = TwoInputConfig();
  config.mutable_input(1)->set_data_type(lineserve::v1::TYPE_BYTES);
  auto backend = Load(path, config, "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(),
              HasSubstr("input[1] \"count\" is BYTES"));
}

TEST(ConfigureLibTorchThreadsTest, RefusesNonPositiveIntraOpThreads) {
  EXPECT_EQ(ConfigureLibTorchThreads(0, 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ConfigureLibTorchThreads(1, 0).ok());
}

}  // namespace
}  // namespace lineserve
