#include "server/repository/servable_model.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/base/status_macros.h"
#include "models/config/model_config.h"

namespace lineserve {
namespace {

using lineserve::v1::ModelConfig;

BatchQueueOptions QueueOptionsFromConfig(const ModelConfig& config) {
  const auto& batching = config.dynamic_batching();
  BatchQueueOptions queue;
  // max_batch_size 0 disables batching: every request runs alone.
  queue.max_batch_size = std::max(1, config.max_batch_size());
  queue.max_queue_delay =
      absl::Microseconds(batching.max_queue_delay_microseconds());
  if (config.max_batch_size() > 0) {
    queue.preferred_batch_sizes.assign(batching.preferred_batch_size().begin(),
                                       batching.preferred_batch_size().end());
  }
  queue.max_queue_size = MaxQueueSize(config);
  return queue;
}

std::string SpecsText(const std::vector<TensorSpec>& specs) {
  std::vector<std::string> parts;
  for (const TensorSpec& spec : specs) {
    parts.push_back(absl::StrCat(spec.name, " ", DataTypeName(spec.dtype), " ",
                                 ShapeText(spec.dims)));
  }
  return absl::StrCat("(", absl::StrJoin(parts, ", "), ")");
}

bool SameSpecs(const std::vector<TensorSpec>& a,
               const std::vector<TensorSpec>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].dtype != b[i].dtype ||
        a[i].dims != b[i].dims) {
      return false;
    }
  }
  return true;
}

// Image and tabular models take the preprocessing's floats as one tensor.
absl::Status CheckPreprocessedInput(const std::vector<TensorSpec>& inputs,
                                    int64_t size) {
  int64_t product = 1;
  if (inputs.size() == 1) {
    for (int64_t dim : inputs[0].dims) product *= dim;
  }
  if (inputs.size() != 1 || inputs[0].dtype != DataType::kFp32 ||
      product != size) {
    return absl::FailedPreconditionError(
        absl::StrCat("the preprocessing gives one FP32 tensor of ", size,
                     " values but the model takes ", SpecsText(inputs)));
  }
  return absl::OkStatus();
}

}  // namespace

int InstanceCount(const ModelConfig& config, int default_instance_count) {
  return std::max(1, config.instance_count() > 0 ? config.instance_count()
                                                 : default_instance_count);
}

ServableModel::ServableModel(ServableModelOptions options)
    : config_(std::move(options.config)),
      version_(options.version),
      decode_memory_(options.decode_memory),
      observer_(std::move(options.observer)) {}

absl::StatusOr<std::unique_ptr<ServableModel>> ServableModel::Create(
    ServableModelOptions options) {
  const std::string context = absl::StrCat("model '", options.config.name(),
                                           "' version ", options.version);
  if (options.backend == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(context, ": no backend"));
  }
  std::shared_ptr<Backend> backend = std::move(options.backend);
  Clock* clock = options.clock != nullptr ? options.clock : Clock::Real();
  const int default_instances = options.default_instance_count;
  const bool tune = options.tune_max_batch_size;
  std::unique_ptr<ServableModel> servable(
      new ServableModel(std::move(options)));
  const ModelConfig& config = servable->config_;

  servable->inputs_ = SpecsFromConfig(config.input());
  servable->outputs_ = SpecsFromConfig(config.output());
  if (!SameSpecs(backend->inputs(), servable->inputs_) ||
      !SameSpecs(backend->outputs(), servable->outputs_)) {
    return absl::FailedPreconditionError(absl::StrCat(
        context, ": the backend takes ", SpecsText(backend->inputs()),
        " and gives ", SpecsText(backend->outputs()), ", the config declares ",
        SpecsText(servable->inputs_), " and ", SpecsText(servable->outputs_)));
  }
  switch (config.task()) {
    case lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION: {
      auto preprocessor = preprocess::ImagePreprocessor::Create(config.image());
      if (!preprocessor.ok()) {
        return AnnotateStatus(preprocessor.status(), context);
      }
      RETURN_IF_ERROR(
          AnnotateStatus(CheckPreprocessedInput(servable->inputs_,
                                                preprocessor->output_size()),
                         context));
      servable->image_preprocessor_ = std::move(*preprocessor);
      break;
    }
    case lineserve::v1::TASK_KIND_TABULAR_REGRESSION: {
      auto encoder = preprocess::TabularEncoder::Create(config.tabular());
      if (!encoder.ok()) return AnnotateStatus(encoder.status(), context);
      RETURN_IF_ERROR(AnnotateStatus(
          CheckPreprocessedInput(servable->inputs_, encoder->width()),
          context));
      servable->tabular_encoder_ = std::move(*encoder);
      break;
    }
    case lineserve::v1::TASK_KIND_TENSOR:
      break;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(context, ": the config names no task"));
  }
  servable->device_ = backend->device();
  const int64_t timeout_us =
      config.dynamic_batching().default_timeout_microseconds();
  if (timeout_us > 0)
    servable->default_timeout_ = absl::Microseconds(timeout_us);

  DynamicBatcherOptions batcher_options;
  batcher_options.queue = QueueOptionsFromConfig(config);
  if (tune && batcher_options.queue.max_batch_size > 1) {
    auto choice = TuneMaxBatchSize(
        *backend, batcher_options.queue.max_batch_size, *clock);
    if (!choice.ok()) return AnnotateStatus(choice.status(), context);
    BatchQueueOptions& queue = batcher_options.queue;
    queue.max_batch_size = choice->max_batch_size;
    // Preferred sizes above the cap can no longer form.
    queue.preferred_batch_sizes.erase(
        std::remove_if(queue.preferred_batch_sizes.begin(),
                       queue.preferred_batch_sizes.end(),
                       [&](int size) { return size > queue.max_batch_size; }),
        queue.preferred_batch_sizes.end());
    servable->batch_timings_ = std::move(choice->timings);
  }
  servable->max_batch_size_ = batcher_options.queue.max_batch_size;
  batcher_options.num_workers = InstanceCount(config, default_instances);
  batcher_options.clock = clock;
  batcher_options.model_name = config.name();
  batcher_options.wait_when_idle = config.dynamic_batching().wait_when_idle();
  batcher_options.observer = servable->observer_.get();
  auto batcher = DynamicBatcher::Create(batcher_options, std::move(backend));
  if (!batcher.ok()) return AnnotateStatus(batcher.status(), context);
  servable->batcher_ = std::move(*batcher);
  return servable;
}

ServableModel::~ServableModel() {
  // The batcher first: it uses the observer until its workers are joined.
  batcher_.reset();
  observer_.reset();
}

void ServableModel::Submit(std::unique_ptr<InferenceTask> task) const {
  batcher_->Submit(std::move(task));
}

void ServableModel::SubmitAll(
    std::vector<std::unique_ptr<InferenceTask>> tasks) const {
  batcher_->SubmitAll(std::move(tasks));
}

void ServableModel::Wake() const { batcher_->Wake(); }

int ServableModel::queue_depth() const { return batcher_->queue_depth(); }

void ServableModel::Drain() const {
  if (batcher_ != nullptr) batcher_->Shutdown();
}

}  // namespace lineserve
