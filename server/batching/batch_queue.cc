#include "server/batching/batch_queue.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "absl/strings/str_cat.h"

namespace lineserve {

absl::Status BatchQueue::Validate(const BatchQueueOptions& options) {
  if (options.max_batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_batch_size must be >= 1, got ", options.max_batch_size));
  }
  if (options.max_queue_delay < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_queue_delay must be >= 0, got ",
                     absl::FormatDuration(options.max_queue_delay)));
  }
  for (int size : options.preferred_batch_sizes) {
    if (size < 1 || size > options.max_batch_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "preferred_batch_sizes must each be in 1..max_batch_size (",
          options.max_batch_size, "), got ", size));
    }
  }
  if (options.max_queue_size < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_queue_size must be >= 1, got ", options.max_queue_size));
  }
  return absl::OkStatus();
}

BatchQueue::BatchQueue(const BatchQueueOptions& options) : options_(options) {
  assert(Validate(options).ok());
  // Sorted and unique, so the largest size that fits is found by one scan.
  std::vector<int>& preferred = options_.preferred_batch_sizes;
  std::sort(preferred.begin(), preferred.end());
  preferred.erase(std::unique(preferred.begin(), preferred.end()),
                  preferred.end());
}

absl::Status BatchQueue::Enqueue(std::unique_ptr<InferenceTask>& task,
                                 absl::Time now) {
  if (task == nullptr) {
    return absl::InvalidArgumentError("cannot enqueue a null task");
  }
  if (tasks_.size() >= static_cast<size_t>(options_.max_queue_size)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("batch queue is full (max_queue_size ",
                     options_.max_queue_size, " tasks)"));
  }
  task->enqueue_time = now;
  tasks_.push_back(std::move(task));
  return absl::OkStatus();
}

absl::Status BatchQueue::EnqueueAll(
    std::vector<std::unique_ptr<InferenceTask>>& tasks, absl::Time now) {
  for (const auto& task : tasks) {
    if (task == nullptr) {
      return absl::InvalidArgumentError("cannot enqueue a null task");
    }
  }
  const size_t limit = static_cast<size_t>(options_.max_queue_size);
  if (!tasks_.empty() && tasks_.size() + tasks.size() > limit) {
    return absl::ResourceExhaustedError(
        absl::StrCat("batch queue is full (", tasks_.size(),
                     " of max_queue_size ", options_.max_queue_size,
                     " samples queued, the request has ", tasks.size(), ")"));
  }
  for (auto& task : tasks) {
    task->enqueue_time = now;
    tasks_.push_back(std::move(task));
  }
  tasks.clear();
  return absl::OkStatus();
}

BatchQueue::PollResult BatchQueue::RemoveDead(absl::Time now) {
  PollResult result;
  for (std::unique_ptr<InferenceTask>& task : tasks_) {
    // A passed deadline wins over cancellation: gRPC cancels a call whose
    // deadline expired, and DEADLINE_EXCEEDED says more.
    if (task->deadline <= now) {
      result.expired.push_back(std::move(task));
    } else if (task->IsCancelled()) {
      result.cancelled.push_back(std::move(task));
    }
  }
  // Compact in place (keeps FIFO order, no reallocation on the hot path).
  tasks_.erase(std::remove(tasks_.begin(), tasks_.end(), nullptr),
               tasks_.end());
  return result;
}

BatchQueue::PollResult BatchQueue::Poll(absl::Time now, bool flush) {
  // Drop the dead first, so they neither occupy batch slots nor make a batch
  // look full when it is not.
  PollResult result = RemoveDead(now);

  const size_t take = BatchSizeToRelease(now, flush);
  result.batch.reserve(take);
  for (size_t i = 0; i < take; ++i) {
    result.batch.push_back(std::move(tasks_.front()));
    tasks_.pop_front();
  }
  return result;
}

size_t BatchQueue::BatchSizeToRelease(absl::Time now, bool flush) const {
  const size_t queued = tasks_.size();
  if (queued == 0) return 0;
  const size_t max_batch_size = static_cast<size_t>(options_.max_batch_size);
  if (queued >= max_batch_size) return max_batch_size;
  // Sorted ascending: the last one that fits is the largest.
  size_t preferred = 0;
  for (int size : options_.preferred_batch_sizes) {
    if (static_cast<size_t>(size) <= queued) preferred = size;
  }
  if (preferred > 0) return preferred;
  if (flush) return queued;
  if (now - tasks_.front()->enqueue_time >= options_.max_queue_delay) {
    return queued;
  }
  return 0;
}

std::optional<absl::Time> BatchQueue::NextWakeUp() const {
  if (tasks_.empty()) return std::nullopt;
  absl::Time wake = tasks_.front()->enqueue_time + options_.max_queue_delay;
  for (const std::unique_ptr<InferenceTask>& task : tasks_) {
    wake = std::min(wake, task->deadline);
  }
  return wake;
}

}  // namespace lineserve
