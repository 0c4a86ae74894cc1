#include "server/batching/dynamic_batcher.h"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "models/base/status_macros.h"

namespace lineserve {

class DynamicBatcher::Core {
 public:
  Core(const DynamicBatcherOptions& options, std::shared_ptr<Backend> backend)
      : model_name_(options.model_name),
        clock_(options.clock != nullptr ? options.clock : Clock::Real()),
        observer_(options.observer),
        wait_when_idle_(options.wait_when_idle),
        backend_(std::move(backend)),
        queue_(options.queue) {}

  void SubmitAll(std::vector<std::unique_ptr<InferenceTask>> tasks);
  void Wake();
  // Stops accepting and makes waiting workers flush; does not wait.
  void BeginShutdown();
  int queue_depth() const;

  void WorkerLoop(int index);
  // True on one of this Core's worker threads.
  bool OnWorkerThread() const { return current_core_ == this; }

 private:
  // What a worker took from the queue under the lock, processed outside it.
  struct Work {
    BatchQueue::PollResult polled;
    absl::Time now;  // when it was polled
  };

  // Blocks until there is something to answer or compute; nullopt once shut
  // down and drained.
  std::optional<Work> WaitForWork();
  void WaitLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ProcessWork(Work work);
  // Runs `batch` as one backend call per distinct input shape.
  void RunBatch(std::vector<std::unique_ptr<InferenceTask>> batch);
  // One backend call for tasks whose inputs share their shapes.
  void RunGroup(std::vector<std::unique_ptr<InferenceTask>> group);
  // backend_->Run, with an exception turned into INTERNAL: a backend that
  // throws fails its batch, never the worker (and the process).
  absl::StatusOr<std::vector<Tensor>> RunBackend(
      const std::vector<Tensor>& inputs, int batch_size);
  // The task's inputs against backend_->inputs().
  absl::Status CheckInputs(const InferenceTask& task) const;
  // Reports to the observer, then calls task->done.
  void Finish(std::unique_ptr<InferenceTask> task, absl::Status status,
              InferenceResult result);

  // The Core whose worker runs on this thread, if any.
  static thread_local const Core* current_core_;

  const std::string model_name_;
  Clock* const clock_;
  BatcherObserver* const observer_;  // may be null
  const bool wait_when_idle_;
  const std::shared_ptr<Backend> backend_;

  mutable absl::Mutex mu_;
  absl::CondVar work_cv_;  // signalled on Submit, Wake and shutdown
  BatchQueue queue_ ABSL_GUARDED_BY(mu_);
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

thread_local const DynamicBatcher::Core* DynamicBatcher::Core::current_core_ =
    nullptr;

namespace {

// Linux keeps 15 characters of a thread name; put the worker index first so
// it survives truncation of long model names.
void NameThisThread(int index, const std::string& model_name) {
  std::string name = absl::StrCat("batch", index, ":", model_name);
  name.resize(std::min<size_t>(name.size(), 15));
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace

absl::StatusOr<std::unique_ptr<DynamicBatcher>> DynamicBatcher::Create(
    const DynamicBatcherOptions& options, std::shared_ptr<Backend> backend) {
  const std::string context =
      absl::StrCat("dynamic batcher of model '", options.model_name, "'");
  absl::Status valid = BatchQueue::Validate(options.queue);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": ", valid.message()));
  }
  if (options.num_workers < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        context, ": num_workers must be >= 1, got ", options.num_workers));
  }
  if (backend == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(context, ": backend must not be null"));
  }
  auto core = std::make_shared<Core>(options, std::move(backend));
  std::unique_ptr<DynamicBatcher> batcher(new DynamicBatcher(core));
  absl::MutexLock lock(&batcher->join_mu_);
  for (int i = 0; i < options.num_workers; ++i) {
    // Each worker co-owns the Core; see ~DynamicBatcher.
    batcher->workers_.emplace_back([core, i] { core->WorkerLoop(i); });
  }
  return batcher;
}

DynamicBatcher::DynamicBatcher(std::shared_ptr<Core> core)
    : core_(std::move(core)) {}

DynamicBatcher::~DynamicBatcher() {
  if (!core_->OnWorkerThread()) {
    Shutdown();
    return;
  }
  // Destroyed from a `done` callback or an observer: this worker cannot join
  // itself, and it still has the rest of its batch to answer. Detach it; its
  // share of the Core keeps everything it touches alive until it exits.
  core_->BeginShutdown();
  absl::MutexLock lock(&join_mu_);
  for (std::thread& worker : workers_) {
    if (worker.get_id() == std::this_thread::get_id()) {
      worker.detach();
    } else {
      worker.join();
    }
  }
  workers_.clear();
}

void DynamicBatcher::Submit(std::unique_ptr<InferenceTask> task) {
  std::vector<std::unique_ptr<InferenceTask>> tasks;
  tasks.push_back(std::move(task));
  core_->SubmitAll(std::move(tasks));
}

void DynamicBatcher::SubmitAll(
    std::vector<std::unique_ptr<InferenceTask>> tasks) {
  core_->SubmitAll(std::move(tasks));
}

void DynamicBatcher::Wake() { core_->Wake(); }

void DynamicBatcher::Shutdown() {
  core_->BeginShutdown();
  // A worker waiting for the drain it takes part in would never return.
  if (core_->OnWorkerThread()) return;
  absl::MutexLock lock(&join_mu_);
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

int DynamicBatcher::queue_depth() const { return core_->queue_depth(); }

void DynamicBatcher::Core::SubmitAll(
    std::vector<std::unique_ptr<InferenceTask>> tasks) {
  tasks.erase(std::remove(tasks.begin(), tasks.end(), nullptr), tasks.end());
  if (tasks.empty()) return;
  absl::Status status;
  for (auto& task : tasks) {
    status = CheckInputs(*task);
    if (!status.ok()) {
      // Answered first, so a request's error names this sample.
      std::swap(task, tasks.front());
      break;
    }
  }
  if (status.ok()) {
    absl::MutexLock lock(&mu_);
    if (shutting_down_) {
      status =
          absl::UnavailableError("shutting down, no longer accepting requests");
    } else {
      status = queue_.EnqueueAll(tasks, clock_->Now());
      if (status.ok()) {
        if (observer_ != nullptr) {
          observer_->OnQueueDepth(static_cast<int>(queue_.size()));
        }
        // One worker is enough to re-evaluate; it passes the word on if it
        // leaves work behind.
        work_cv_.Signal();
      }
    }
  }
  // Refused: the queue left every task with us; answer them outside the
  // lock.
  if (!status.ok()) {
    status = AnnotateStatus(status, absl::StrCat("model '", model_name_, "'"));
    for (auto& task : tasks) {
      Finish(std::move(task), status, InferenceResult());
    }
  }
}

absl::StatusOr<std::vector<Tensor>> DynamicBatcher::Core::RunBackend(
    const std::vector<Tensor>& inputs, int batch_size) {
  try {
    return backend_->Run(inputs, batch_size);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("model '", model_name_, "' threw: ", e.what()));
  } catch (...) {
    return absl::InternalError(absl::StrCat(
        "model '", model_name_, "' threw a non-standard exception"));
  }
}

void DynamicBatcher::Core::Wake() {
  // The expired and cancelled leave now, answered on this thread: with every
  // worker inside a long (or hung) forward pass nobody else would.
  Work work;
  {
    absl::MutexLock lock(&mu_);
    work.now = clock_->Now();
    work.polled = queue_.RemoveDead(work.now);
    if (observer_ != nullptr && !work.polled.empty()) {
      observer_->OnQueueDepth(static_cast<int>(queue_.size()));
    }
    work_cv_.SignalAll();
  }
  ProcessWork(std::move(work));
}

void DynamicBatcher::Core::BeginShutdown() {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  shutting_down_ = true;
  // Waiting workers must flush now instead of sleeping out the delay.
  work_cv_.SignalAll();
}

int DynamicBatcher::Core::queue_depth() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(queue_.size());
}

void DynamicBatcher::Core::WorkerLoop(int index) {
  current_core_ = this;
  NameThisThread(index, model_name_);
  while (std::optional<Work> work = WaitForWork()) {
    ProcessWork(std::move(*work));
  }
}

std::optional<DynamicBatcher::Core::Work> DynamicBatcher::Core::WaitForWork() {
  absl::MutexLock lock(&mu_);
  while (true) {
    const absl::Time now = clock_->Now();
    // A worker here is free, so by default a partial batch goes now: the
    // requests that arrive while batches compute queue up and leave
    // together with the next free worker, and waiting with a free worker
    // would only leave a core idle (BENCHMARKS.md). wait_when_idle waits
    // out the delay; draining never waits.
    const bool release_partial = shutting_down_ || !wait_when_idle_;
    BatchQueue::PollResult polled = queue_.Poll(now, release_partial);
    if (!polled.empty()) {
      if (observer_ != nullptr) {
        observer_->OnQueueDepth(static_cast<int>(queue_.size()));
      }
      // Another batch may already be due (or tasks keep arriving while we
      // compute); let an idle worker look.
      if (!queue_.empty()) work_cv_.Signal();
      return Work{std::move(polled), now};
    }
    // Flush releases whatever is queued, so an empty poll while shutting down
    // means there is nothing left.
    if (shutting_down_) return std::nullopt;
    WaitLocked(now);
  }
}

void DynamicBatcher::Core::WaitLocked(absl::Time now) {
  // After an empty Poll the wake-up is strictly after `now` (a due batch or
  // passed deadline would have been returned), so this never spins.
  static_cast<void>(now);
  const std::optional<absl::Time> wake = queue_.NextWakeUp();
  clock_->WaitUntil(&work_cv_, &mu_, wake.value_or(absl::InfiniteFuture()));
}

void DynamicBatcher::Core::ProcessWork(Work work) {
  BatchQueue::PollResult& polled = work.polled;
  for (std::unique_ptr<InferenceTask>& task : polled.expired) {
    InferenceResult result;
    result.queue_time = work.now - task->enqueue_time;
    absl::Status status = absl::DeadlineExceededError(absl::StrCat(
        "deadline passed after ", absl::FormatDuration(result.queue_time),
        " in the queue of model '", model_name_, "'"));
    Finish(std::move(task), std::move(status), std::move(result));
  }
  for (std::unique_ptr<InferenceTask>& task : polled.cancelled) {
    InferenceResult result;
    result.queue_time = work.now - task->enqueue_time;
    absl::Status status = absl::CancelledError(absl::StrCat(
        "cancelled by the client while queued for model '", model_name_, "'"));
    Finish(std::move(task), std::move(status), std::move(result));
  }
  if (!polled.batch.empty()) RunBatch(std::move(polled.batch));
}

absl::Status DynamicBatcher::Core::CheckInputs(
    const InferenceTask& task) const {
  const std::vector<TensorSpec>& specs = backend_->inputs();
  if (task.inputs.size() != specs.size()) {
    return absl::InvalidArgumentError(absl::StrCat("expects ", specs.size(),
                                                   " input tensor(s), got ",
                                                   task.inputs.size()));
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (absl::Status valid = CheckAgainstSpec(task.inputs[i], specs[i]);
        !valid.ok()) {
      return valid;
    }
  }
  return absl::OkStatus();
}

void DynamicBatcher::Core::RunBatch(
    std::vector<std::unique_ptr<InferenceTask>> batch) {
  // Fixed dims (the usual case) make one group; variable dims may make more.
  std::vector<std::vector<std::unique_ptr<InferenceTask>>> groups;
  for (std::unique_ptr<InferenceTask>& task : batch) {
    auto same_shapes =
        [&](const std::vector<std::unique_ptr<InferenceTask>>& group) {
          const std::vector<Tensor>& a = group.front()->inputs;
          for (size_t i = 0; i < a.size(); ++i) {
            if (a[i].shape != task->inputs[i].shape) return false;
          }
          return true;
        };
    auto group = std::find_if(groups.begin(), groups.end(), same_shapes);
    if (group == groups.end()) {
      groups.emplace_back();
      group = groups.end() - 1;
    }
    group->push_back(std::move(task));
  }
  for (auto& group : groups) RunGroup(std::move(group));
}

void DynamicBatcher::Core::RunGroup(
    std::vector<std::unique_ptr<InferenceTask>> batch) {
  const int batch_size = static_cast<int>(batch.size());
  const size_t num_inputs = backend_->inputs().size();

  // The backend wants one tensor per input, sample after sample.
  std::vector<Tensor> inputs;
  inputs.reserve(num_inputs);
  absl::Status status;
  for (size_t i = 0; i < num_inputs && status.ok(); ++i) {
    std::vector<const Tensor*> samples;
    samples.reserve(batch.size());
    for (const auto& task : batch) samples.push_back(&task->inputs[i]);
    absl::StatusOr<Tensor> stacked = Stack(samples);
    if (stacked.ok()) {
      inputs.push_back(*std::move(stacked));
    } else {
      status = stacked.status();
    }
  }
  // Not needed any more; free them before the (possibly long) compute.
  for (auto& task : batch) std::vector<Tensor>().swap(task->inputs);

  const absl::Time start = clock_->Now();
  absl::StatusOr<std::vector<Tensor>> outputs =
      status.ok() ? RunBackend(inputs, batch_size)
                  : absl::StatusOr<std::vector<Tensor>>(status);
  const absl::Duration compute_time = clock_->Now() - start;
  if (observer_ != nullptr) observer_->OnBatch(batch_size, compute_time);

  // Per output, the samples in batch order.
  std::vector<std::vector<Tensor>> split;
  if (outputs.ok()) {
    for (const Tensor& output : *outputs) {
      absl::StatusOr<std::vector<Tensor>> samples = Unstack(output, batch_size);
      if (!samples.ok()) {
        outputs = samples.status();
        break;
      }
      split.push_back(*std::move(samples));
    }
  }
  if (!outputs.ok()) {
    status = AnnotateStatus(
        outputs.status(),
        absl::StrCat("model '", model_name_, "' batch of ", batch_size));
  }

  for (size_t i = 0; i < batch.size(); ++i) {
    InferenceResult result;
    result.queue_time = start - batch[i]->enqueue_time;
    result.compute_time = compute_time;
    result.batch_size = batch_size;
    if (status.ok()) {
      result.outputs.reserve(split.size());
      for (auto& samples : split)
        result.outputs.push_back(std::move(samples[i]));
    }
    Finish(std::move(batch[i]), status, std::move(result));
  }
}

void DynamicBatcher::Core::Finish(std::unique_ptr<InferenceTask> task,
                                  absl::Status status, InferenceResult result) {
  if (observer_ != nullptr) observer_->OnTaskDone(status, result.queue_time);
  if (task->done) task->done(std::move(status), std::move(result));
}

}  // namespace lineserve
