#include "server/backends/torchscript_backend.h"

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/common/file_util.h"
#include "tests/server/backends/test_models.h"

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
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->input_size(), 3u);
  EXPECT_EQ((*backend)->output_size(), 1u);
  EXPECT_EQ((*backend)->device(), "cpu");
  EXPECT_EQ((*backend)->max_batch_size(), 4);

  const std::vector<float> rows = {1, 0, 0, 0, 1, 0, 0, 0, 1, 2, -1, 0.5};
  const std::vector<float> expected = {1.5f, 2.5f, 3.5f, 2.0f};
  for (int batch = 1; batch <= 4; ++batch) {
    std::vector<float> output(batch, -100.0f);
    ASSERT_TRUE((*backend)->Run(rows.data(), batch, output.data()).ok());
    EXPECT_THAT(output, Pointwise(FloatEq(),
                                  std::vector<float>(expected.begin(),
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
  auto backend = TorchScriptBackend::Create(path, ImageConfig("img"), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_EQ((*backend)->input_size(), 4u);
  EXPECT_EQ((*backend)->output_size(), 2u);

  const std::vector<float> images = {1, 2, 3, 4, 0, 0, 0, -1};
  std::vector<float> output(4);
  ASSERT_TRUE((*backend)->Run(images.data(), 2, output.data()).ok());
  EXPECT_THAT(output, ElementsAre(FloatEq(10), FloatEq(10 + 2 + 6 + 12),
                                  FloatEq(-1), FloatEq(10 - 3)));
}

TEST_F(TorchScriptBackendTest, AutoDeviceIsCpuWithoutCuda) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend =
      TorchScriptBackend::Create(path, TabularConfig("m", 3), "auto");
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
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(), HasSubstr(path));
  EXPECT_THAT(backend.status().message(),
              HasSubstr("input[0] \"features\" dims [3]"));
  EXPECT_THAT(backend.status().message(), HasSubstr("warm-up at batch size 1"));
  EXPECT_THAT(backend.status().message(), HasSubstr("input [1, 3]"));
}

TEST_F(TorchScriptBackendTest, OutputSizeMismatchIsCaughtAtWarmUp) {
  LinearModel model;
  model.inputs = 3;
  model.weights = {1, 1, 1, 1, 1, 1};
  model.bias = {0, 0};
  const std::string path = WriteModel(model);
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(backend.status().message(),
              HasSubstr("output has shape [1, 2] but config output[0] "
                        "\"prediction\" dims [1] expect [1, 1]"));
}

TEST_F(TorchScriptBackendTest, MissingFileIsNotFoundNamingThePath) {
  const std::string path = dir_ + "/absent/model.pt";
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(backend.status().message(), HasSubstr(path));
}

TEST_F(TorchScriptBackendTest, CorruptFileIsInvalidArgumentNamingThePath) {
  const std::string path = dir_ + "/model.pt";
  ASSERT_TRUE(WriteFileAtomically(path, "not a zip archive").ok());
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(),
              HasSubstr("cannot load TorchScript model " + path));
}

TEST_F(TorchScriptBackendTest, CudaWithoutCudaIsFailedPrecondition) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto probe = TorchScriptBackend::Create(path, TabularConfig("m", 3), "auto");
  ASSERT_TRUE(probe.ok()) << probe.status();
  if ((*probe)->device() != "cpu") GTEST_SKIP() << "CUDA is available here";

  for (const std::string device : {"cuda", "cuda:0"}) {
    auto backend =
        TorchScriptBackend::Create(path, TabularConfig("m", 3), device);
    ASSERT_EQ(backend.status().code(), absl::StatusCode::kFailedPrecondition)
        << device;
    EXPECT_THAT(backend.status().message(),
                HasSubstr("no CUDA device is available"));
  }
}

TEST_F(TorchScriptBackendTest, UnknownDeviceIsInvalidArgument) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "gpu");
  ASSERT_EQ(backend.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(backend.status().message(), HasSubstr("\"gpu\""));
}

TEST_F(TorchScriptBackendTest, RunRefusesBatchesOutsideTheConfiguredRange) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();
  std::vector<float> input(15), output(5);
  EXPECT_EQ((*backend)->Run(input.data(), 5, output.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*backend)->Run(input.data(), 0, output.data()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*backend)->Run(nullptr, 1, output.data()).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(TorchScriptBackendTest, ForwardFailureIsInternalNotAnException) {
  LinearModel model = ThreeFeatureModel();
  model.fail_when_sum_above = 100.0f;
  const std::string path = WriteModel(model);
  auto backend = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
  ASSERT_TRUE(backend.ok()) << backend.status();

  const std::vector<float> large = {1000, 0, 0};
  float output = 0;
  absl::Status status = (*backend)->Run(large.data(), 1, &output);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("input too large"));
  // And it keeps serving.
  const std::vector<float> small = {1, 1, 1};
  ASSERT_TRUE((*backend)->Run(small.data(), 1, &output).ok());
  EXPECT_FLOAT_EQ(output, 6.5f);
}

TEST_F(TorchScriptBackendTest, ConcurrentRunsGiveTheSameAnswers) {
  const std::string path = WriteModel(ThreeFeatureModel());
  auto created = TorchScriptBackend::Create(path, TabularConfig("m", 3), "cpu");
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
        const std::vector<float> rows = {v, 0, 0, 0, v, 0};
        float output[2];
        if (!backend->Run(rows.data(), 2, output).ok() ||
            output[0] != v + 0.5f || output[1] != 2 * v + 0.5f) {
          ++wrong[t];
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(wrong, ::testing::Each(0));
}

TEST(ConfigureLibTorchThreadsTest, RefusesNonPositiveIntraOpThreads) {
  EXPECT_EQ(ConfigureLibTorchThreads(0, 0).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ConfigureLibTorchThreads(1, 0).ok());
}

}  // namespace
}  // namespace lineserve
