#include "server/repository/servable_model.h"

#include <algorithm>
#include <functional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/common/status_macros.h"
#include "server/repository/model_config.h"

namespace lineserve {
namespace {

using lineserve::v1::ModelConfig;

// How many wrapped `done` callbacks this thread is inside. A servable
// destroyed while it is > 0 may be destroyed on a batcher worker.
thread_local int callback_depth = 0;

class CallbackScope {
 public:
  CallbackScope() { ++callback_depth; }
  ~CallbackScope() { --callback_depth; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
};

// Drains running on detached threads, for WaitForDetachedDrains().
struct DetachedDrains {
  absl::Mutex mu;
  int running ABSL_GUARDED_BY(mu) = 0;
};

DetachedDrains& Drains() {
  static DetachedDrains* const drains = new DetachedDrains;  // never freed
  return *drains;
}

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

size_t OutputSizeFromConfig(const ModelConfig& config) {
  if (config.output().empty()) return 0;
  size_t size = 1;
  for (int64_t dim : config.output(0).dims()) {
    size *= static_cast<size_t>(std::max<int64_t>(dim, 0));
  }
  return size;
}

}  // namespace

ServableModel::ServableModel(ServableModelOptions options)
    : config_(std::move(options.config)),
      version_(options.version),
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
  std::unique_ptr<ServableModel> servable(
      new ServableModel(std::move(options)));
  const ModelConfig& config = servable->config_;

  size_t expected_input = 0;
  switch (config.task()) {
    case lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION: {
      auto preprocessor = preprocess::ImagePreprocessor::Create(config.image());
      if (!preprocessor.ok()) {
        return AnnotateStatus(preprocessor.status(), context);
      }
      expected_input = preprocessor->output_size();
      servable->image_preprocessor_ = std::move(*preprocessor);
      break;
    }
    case lineserve::v1::TASK_KIND_TABULAR_REGRESSION: {
      auto encoder = preprocess::TabularEncoder::Create(config.tabular());
      if (!encoder.ok()) return AnnotateStatus(encoder.status(), context);
      expected_input = encoder->width();
      servable->tabular_encoder_ = std::move(*encoder);
      break;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat(context, ": the config names no task"));
  }
  const size_t expected_output = OutputSizeFromConfig(config);
  if (backend->input_size() != expected_input ||
      backend->output_size() != expected_output) {
    return absl::FailedPreconditionError(
        absl::StrCat(context, ": the backend takes ", backend->input_size(),
                     " floats and gives ", backend->output_size(),
                     " per sample, the config describes ", expected_input,
                     " and ", expected_output));
  }
  servable->device_ = backend->device();
  servable->input_size_ = backend->input_size();
  servable->output_size_ = backend->output_size();
  const int64_t timeout_us =
      config.dynamic_batching().default_timeout_microseconds();
  if (timeout_us > 0)
    servable->default_timeout_ = absl::Microseconds(timeout_us);

  DynamicBatcherOptions batcher_options;
  batcher_options.queue = QueueOptionsFromConfig(config);
  batcher_options.num_workers = std::max(1, config.instance_count());
  batcher_options.clock = clock;
  batcher_options.model_name = config.name();
  batcher_options.observer = servable->observer_.get();
  auto batcher = DynamicBatcher::Create(batcher_options, std::move(backend));
  if (!batcher.ok()) return AnnotateStatus(batcher.status(), context);
  servable->batcher_ = std::move(*batcher);
  return servable;
}

ServableModel::~ServableModel() {
  if (batcher_ != nullptr && callback_depth > 0) {
    // This thread may be a worker of this very batcher, which Shutdown
    // would try to join. Another thread drains it; the batcher and the
    // observer it uses go together. Should no thread be available, leaking
    // them beats deadlocking or terminating.
    DynamicBatcher* batcher = batcher_.release();
    BatcherObserver* observer = observer_.release();
    DetachedDrains& drains = Drains();
    {
      absl::MutexLock lock(&drains.mu);
      ++drains.running;
    }
    try {
      std::thread([batcher, observer, &drains] {
        delete batcher;
        delete observer;
        absl::MutexLock lock(&drains.mu);
        --drains.running;
      }).detach();
    } catch (...) {
      absl::MutexLock lock(&drains.mu);
      --drains.running;
    }
    return;
  }
  batcher_.reset();
  observer_.reset();
}

void ServableModel::Submit(std::unique_ptr<InferenceTask> task) const {
  if (task == nullptr) return;
  if (task->done) {
    // Marks the thread while the caller's callback runs and while its
    // captures are destroyed: either may drop the last handle of a servable.
    task->done = [inner = std::move(task->done)](
                     absl::Status status, InferenceResult result) mutable {
      CallbackScope scope;
      std::function<void(absl::Status, InferenceResult)> done;
      done.swap(inner);
      done(std::move(status), std::move(result));
      done = nullptr;
    };
  }
  batcher_->Submit(std::move(task));
}

void ServableModel::Wake() const { batcher_->Wake(); }

int ServableModel::queue_depth() const { return batcher_->queue_depth(); }

void ServableModel::Drain() const {
  if (batcher_ != nullptr) batcher_->Shutdown();
}

void ServableModel::WaitForDetachedDrains() {
  DetachedDrains& drains = Drains();
  absl::MutexLock lock(&drains.mu);
  drains.mu.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &drains.running));
}

}  // namespace lineserve
