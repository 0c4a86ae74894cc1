// One loaded, ready model version: its config, preprocessing, backend and
// dynamic batcher, bundled so a request needs a single handle.
//
// Lifetime: the repository hands out std::shared_ptr<const ServableModel>.
// A request keeps its handle until it has its answer, so a version that is
// reloaded or unloaded meanwhile stays alive and finishes its work; when the
// last handle goes, the destructor shuts the batcher down, which answers
// every task already submitted before returning.
//
// Where the last handle may be dropped: anywhere a request ends, including
// inside a task's `done` callback (a batcher worker thread, which the
// batcher could not join from there). The servable notices that case —
// Submit() marks the `done` callbacks it wraps, while they run and while
// their captures are destroyed — and then drains the batcher on a detached
// thread instead, so the in-flight work still completes. A task's
// `is_cancelled` and a BatcherObserver run unmarked on workers too: they
// must not own a handle.
//
// Thread-safety: immutable after Create(); every const method may be called
// from any thread.
#ifndef LINESERVE_SERVER_REPOSITORY_SERVABLE_MODEL_H_
#define LINESERVE_SERVER_REPOSITORY_SERVABLE_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lineserve/v1/model_config.pb.h"
#include "server/backends/backend.h"
#include "server/batching/dynamic_batcher.h"
#include "server/batching/inference_task.h"
#include "server/common/clock.h"
#include "server/preprocess/image_preprocessor.h"
#include "server/preprocess/tabular_encoder.h"

namespace lineserve {

struct ServableModelOptions {
  // A validated config with defaults applied (LoadModelConfig gives one).
  lineserve::v1::ModelConfig config;
  // The version number (>= 1), reported with every answer.
  int64_t version = 0;
  // Required: a loaded, warmed-up backend whose input_size() equals what
  // the config's preprocessing produces. Shared with the batcher.
  std::shared_ptr<Backend> backend;
  // The batcher's clock. Not owned; null means Clock::Real(). Must outlive
  // the servable (and its drain, see above).
  Clock* clock = nullptr;
  // Optional metrics hooks for this version's batcher; owned by the
  // servable and destroyed after the batcher.
  std::unique_ptr<BatcherObserver> observer;
};

class ServableModel {
 public:
  // Builds the preprocessing from the config and starts the batcher:
  // max_batch_size (0 means batches of 1), max_queue_delay_microseconds,
  // preferred_batch_size, max_queue_size and instance_count workers.
  // INVALID_ARGUMENT for a null backend or a config the batcher refuses;
  // FAILED_PRECONDITION when the backend's input or output size does not
  // match the config.
  static absl::StatusOr<std::unique_ptr<ServableModel>> Create(
      ServableModelOptions options);

  // Drains the batcher (see the file comment).
  ~ServableModel();

  ServableModel(const ServableModel&) = delete;
  ServableModel& operator=(const ServableModel&) = delete;

  const std::string& name() const { return config_.name(); }
  int64_t version() const { return version_; }
  const lineserve::v1::ModelConfig& config() const { return config_; }
  lineserve::v1::TaskKind task() const { return config_.task(); }
  // Where the backend runs: "cpu", "cuda:0".
  const std::string& device() const { return device_; }
  // Floats per sample in and out (Backend sizes).
  size_t input_size() const { return input_size_; }
  size_t output_size() const { return output_size_; }

  // The preprocessing that turns a request into input_size() floats: the
  // image preprocessor for image classification, the tabular encoder for
  // tabular regression; the other one is null.
  const preprocess::ImagePreprocessor* image_preprocessor() const {
    return image_preprocessor_ ? &*image_preprocessor_ : nullptr;
  }
  const preprocess::TabularEncoder* tabular_encoder() const {
    return tabular_encoder_ ? &*tabular_encoder_ : nullptr;
  }

  // dynamic_batching.default_timeout_microseconds, for requests without a
  // deadline; InfiniteDuration() when the config sets none.
  absl::Duration default_timeout() const { return default_timeout_; }

  // Hands `task` to the batcher; its `done` is called exactly once, as
  // DynamicBatcher::Submit describes (after Shutdown: UNAVAILABLE). Never
  // blocks on compute.
  void Submit(std::unique_ptr<InferenceTask> task) const;

  // DynamicBatcher::Wake: call after a queued task's client cancelled.
  void Wake() const;

  // Tasks waiting in the batcher's queue.
  int queue_depth() const;

  // Stops taking tasks (later Submits get UNAVAILABLE) and answers every
  // queued one now, without waiting out the batch delay; returns when all
  // are answered. For shutdown: accepted calls finish promptly. Must not be
  // called from a `done` callback (it joins the batcher's workers).
  void Drain() const;

  // Blocks until every drain handed to a detached thread (see the file
  // comment) has finished. For main() after the server has stopped, so the
  // process does not exit while a worker is still finishing. Any thread
  // except a batcher worker.
  static void WaitForDetachedDrains();

 private:
  explicit ServableModel(ServableModelOptions options);

  const lineserve::v1::ModelConfig config_;
  const int64_t version_;
  std::string device_;
  size_t input_size_ = 0;
  size_t output_size_ = 0;
  absl::Duration default_timeout_ = absl::InfiniteDuration();
  std::optional<preprocess::ImagePreprocessor> image_preprocessor_;
  std::optional<preprocess::TabularEncoder> tabular_encoder_;
  // Destroyed explicitly by the destructor: the batcher first (it uses the
  // observer until its workers are joined).
  std::unique_ptr<BatcherObserver> observer_;
  std::unique_ptr<DynamicBatcher> batcher_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_REPOSITORY_SERVABLE_MODEL_H_
