#include "tests/fuzz/fuzz_serving.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "models/config/model_config.h"
#include "tests/support/fake_backend.h"
#include "tests/support/test_configs.h"

namespace lineserve::fuzzing {
namespace {

namespace fs = std::filesystem;

using ::lineserve::testing::LinearModel;

[[noreturn]] void Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "fuzz setup: %s: %s\n", what.c_str(),
               status.ToString().c_str());
  std::abort();
}

// A model with the shape of `config` that answers zeros: the fuzz targets
// look at how requests are refused or turned into inputs, not at answers.
LinearModel ZeroModel(const lineserve::v1::ModelConfig& config) {
  LinearModel model;
  model.inputs = 1;
  for (int64_t dim : config.input(0).dims()) model.inputs *= dim;
  int64_t outputs = 1;
  for (int64_t dim : config.output(0).dims()) outputs *= dim;
  model.weights.assign(model.inputs * outputs, 0.0f);
  model.bias.assign(outputs, 0.0f);
  return model;
}

lineserve::v1::ModelConfig TensorConfig() {
  lineserve::v1::ModelConfig config;
  config.set_name(kTensorModel);
  config.set_task(lineserve::v1::TASK_KIND_TENSOR);
  auto* in = config.add_input();
  in->set_name("x");
  in->set_data_type(lineserve::v1::TYPE_FP32);
  in->add_dims(3);
  auto* out = config.add_output();
  out->set_name("total");
  out->set_data_type(lineserve::v1::TYPE_FP32);
  out->add_dims(1);
  config.set_max_batch_size(4);
  ApplyModelConfigDefaults(config);
  return config;
}

void AddModel(const fs::path& root, lineserve::v1::ModelConfig config) {
  config.set_platform(::lineserve::testing::kFakePlatform);
  // Batches close at once: a fuzz input never waits for company.
  config.mutable_dynamic_batching()->set_max_queue_delay_microseconds(0);
  const fs::path dir = root / config.name();
  fs::create_directories(dir / "1");
  if (absl::Status status =
          WriteModelConfig((dir / "config.pbtxt").string(), config);
      !status.ok()) {
    Fail("writing " + config.name(), status);
  }
  if (absl::Status status = ::lineserve::testing::WriteFakeModel(
          (dir / "1" / ::lineserve::testing::kFakeArtifact).string(),
          ZeroModel(config));
      !status.ok()) {
    Fail("writing " + config.name(), status);
  }
}

}  // namespace

const FuzzServing& FuzzServing::Get() {
  static const FuzzServing* const serving = [] {
    auto* s = new FuzzServing();
    if (absl::Status status =
            ::lineserve::testing::RegisterFakeBackend(s->backends_);
        !status.ok()) {
      Fail("registering the fake backend", status);
    }
    const fs::path root = ::lineserve::testing::MakeTempDir("lineserve-fuzz");
    AddModel(root, GoldenConfig(kQualityModel));
    AddModel(root, GoldenConfig(kEfficiencyModel));
    AddModel(root, TensorConfig());

    ModelRepositoryOptions options;
    options.root = root.string();
    options.backends = &s->backends_;
    absl::StatusOr<std::unique_ptr<ModelRepository>> repository =
        ModelRepository::Create(std::move(options));
    if (!repository.ok()) Fail("creating the repository", repository.status());
    s->repository_ = *std::move(repository);
    if (absl::Status status = s->repository_->LoadAll(); !status.ok()) {
      Fail("loading the repository", status);
    }
    // Loaded models keep nothing open: the folder can go now.
    fs::remove_all(root);

    InferencePipelineOptions pipeline;
    pipeline.repository = s->repository_.get();
    s->pipeline_ = std::make_unique<InferencePipeline>(pipeline);
    s->oip_ =
        std::make_unique<OipService>(s->pipeline_.get(), s->repository_.get());
    s->oip_http_ = std::make_unique<OipHttp>(s->oip_.get(), nullptr);
    for (const char* name : {kQualityModel, kEfficiencyModel, kTensorModel}) {
      s->Model(name);  // every model must be ready
    }
    return s;
  }();
  return *serving;
}

std::shared_ptr<const ServableModel> FuzzServing::Model(
    const std::string& name) const {
  absl::StatusOr<std::shared_ptr<const ServableModel>> model =
      repository_->Get(name);
  if (!model.ok()) Fail("model " + name, model.status());
  return *std::move(model);
}

}  // namespace lineserve::fuzzing
