// One loaded, ready model version: its config, preprocessing, backend and
// dynamic batcher, bundled so a request needs a single handle.
//
// Lifetime: the repository hands out std::shared_ptr<const ServableModel>.
// A request keeps its handle until it has its answer, so a version that is
// reloaded or unloaded meanwhile stays alive and finishes its work. The
// destructor shuts the batcher down, which answers every task already
// submitted and joins the workers, so it must not run on one of this
// servable's batcher workers: the repository's handles hand the last
// reference to its Unloader thread (see unloader.h), which makes dropping a
// handle inside a `done` callback safe.
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
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lineserve/v1/model_config.pb.h"
#include "models/preprocess/image_preprocessor.h"
#include "models/preprocess/tabular_encoder.h"
#include "server/backends/backend.h"
#include "server/batching/batch_size_tuner.h"
#include "server/batching/dynamic_batcher.h"
#include "server/batching/inference_task.h"
#include "server/common/clock.h"
#include "server/common/tensor.h"

namespace lineserve {

struct ServableModelOptions {
  // A validated config with defaults applied (LoadModelConfig gives one).
  lineserve::v1::ModelConfig config;
  // The version number (>= 1), reported with every answer.
  int64_t version = 0;
  // Required: a loaded, warmed-up backend whose inputs() and outputs() are
  // the config's. Shared with the batcher.
  std::shared_ptr<Backend> backend;
  // Workers when the config's instance_count is 0.
  int default_instance_count = 1;
  // The batcher's clock. Not owned; null means Clock::Real(). Must outlive
  // the servable (and its drain, see above).
  Clock* clock = nullptr;
  // Optional metrics hooks for this version's batcher; owned by the
  // servable and destroyed after the batcher.
  std::unique_ptr<BatcherObserver> observer;
  // Optional, not owned: the server-wide budget image decoding draws from
  // (see decode_memory()); must outlive the servable.
  preprocess::DecodeMemory* decode_memory = nullptr;
  // Time the backend at 1, 2, 4, ... up to the config's max_batch_size
  // before serving and batch no larger than the smallest size that is
  // about as fast per sample as the fastest (batch_size_tuner.h), on
  // `clock`. Off: the config's max_batch_size.
  bool tune_max_batch_size = false;
};

// Executions of `config`'s model side by side: its instance_count, or
// `default_instance_count` when that is 0; at least 1.
int InstanceCount(const lineserve::v1::ModelConfig& config,
                  int default_instance_count);

class ServableModel {
 public:
  // Builds the preprocessing from the config and starts the batcher:
  // max_batch_size (0 means batches of 1), max_queue_delay_microseconds,
  // preferred_batch_size, max_queue_size and instance_count workers; with
  // tune_max_batch_size it first times the backend (a failed pass is
  // FAILED_PRECONDITION). INVALID_ARGUMENT for a null backend or a config the
  // batcher refuses; FAILED_PRECONDITION when the backend's tensors are not the
  // config's (name, type or dims), or an image or tabular model does not take
  // one FP32 tensor of the preprocessing's size.
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
  // The tensors one sample takes and gives (batch dimension excluded).
  const std::vector<TensorSpec>& inputs() const { return inputs_; }
  const std::vector<TensorSpec>& outputs() const { return outputs_; }

  // The preprocessing that turns a request into the FP32 inputs()[0]: the
  // image preprocessor for image classification, the tabular encoder for
  // tabular regression; null for the other tasks.
  const preprocess::ImagePreprocessor* image_preprocessor() const {
    return image_preprocessor_ ? &*image_preprocessor_ : nullptr;
  }
  const preprocess::TabularEncoder* tabular_encoder() const {
    return tabular_encoder_ ? &*tabular_encoder_ : nullptr;
  }
  // The budget images for this model decode under (pass it to
  // ImagePreprocessor::Process); null: unbounded beyond each image's limits.
  preprocess::DecodeMemory* decode_memory() const { return decode_memory_; }

  // The largest batch the batcher forms: the config's max_batch_size (at
  // least 1), or what tuning chose. batch_timings(): what tuning measured
  // (empty without it).
  int max_batch_size() const { return max_batch_size_; }
  const std::vector<BatchSizeTiming>& batch_timings() const {
    return batch_timings_;
  }

  // dynamic_batching.default_timeout_microseconds, for requests without a
  // deadline; InfiniteDuration() when the config sets none.
  absl::Duration default_timeout() const { return default_timeout_; }

  // Hands `task` to the batcher; its `done` is called exactly once, as
  // DynamicBatcher::Submit describes (after Shutdown: UNAVAILABLE). Never
  // blocks on compute.
  void Submit(std::unique_ptr<InferenceTask> task) const;
  // The samples of one request, admitted or refused together: see
  // DynamicBatcher::SubmitAll.
  void SubmitAll(std::vector<std::unique_ptr<InferenceTask>> tasks) const;

  // DynamicBatcher::Wake: call after a queued task's client cancelled.
  void Wake() const;

  // Tasks waiting in the batcher's queue.
  int queue_depth() const;

  // Stops taking tasks (later Submits get UNAVAILABLE) and answers every
  // queued one now, without waiting out the batch delay; returns when all
  // are answered. For shutdown: accepted calls finish promptly. Must not be
  // called from a `done` callback (it joins the batcher's workers).
  void Drain() const;

 private:
  explicit ServableModel(ServableModelOptions options);

  const lineserve::v1::ModelConfig config_;
  const int64_t version_;
  std::string device_;
  std::vector<TensorSpec> inputs_;
  std::vector<TensorSpec> outputs_;
  absl::Duration default_timeout_ = absl::InfiniteDuration();
  int max_batch_size_ = 1;
  std::vector<BatchSizeTiming> batch_timings_;
  std::optional<preprocess::ImagePreprocessor> image_preprocessor_;
  std::optional<preprocess::TabularEncoder> tabular_encoder_;
  preprocess::DecodeMemory* const decode_memory_;
  // Destroyed explicitly by the destructor: the batcher first (it uses the
  // observer until its workers are joined).
  std::unique_ptr<BatcherObserver> observer_;
  std::unique_ptr<DynamicBatcher> batcher_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_REPOSITORY_SERVABLE_MODEL_H_
