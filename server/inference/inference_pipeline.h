// The one path every front end takes to a model: resolve the model and
// version, let the front end turn its request into input tensors (validate
// and preprocess), set the deadline, watch for cancellation, submit each
// sample to the model's batcher, gather the answers, report the outcome to
// the observer, and hand the results back for postprocessing.
//
// Front ends (the domain gRPC services, the Open Inference Protocol) are
// thin adapters: wire format -> InferenceRequest + Prepare, and results ->
// wire format in Complete. No gRPC here.
//
// Threads: Run() may be called from any thread; it never blocks on compute.
// `complete` runs exactly once, either on the calling thread before Run()
// returns (a refusal) or on a batcher worker (keep it short, never block).
#ifndef LINESERVE_SERVER_INFERENCE_INFERENCE_PIPELINE_H_
#define LINESERVE_SERVER_INFERENCE_INFERENCE_PIPELINE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lineserve/v1/model_config.pb.h"
#include "server/batching/inference_task.h"
#include "server/common/clock.h"
#include "server/common/tensor.h"
#include "server/inference/cancellation.h"
#include "server/inference/inference_observer.h"
#include "server/inference/request_log.h"
#include "server/repository/model_repository.h"
#include "server/repository/servable_model.h"

namespace lineserve {

struct InferenceRequest {
  // Reported to the observer ("Inspect", "Predict", ...).
  std::string method;
  // The model and version to run; version 0 is the newest ready one. A name
  // longer than kMaxClientIdBytes is INVALID_ARGUMENT.
  std::string model;
  int64_t version = 0;
  // When set, a model doing another task is refused (FAILED_PRECONDITION):
  // an inspection never reaches a regression model.
  lineserve::v1::TaskKind task = lineserve::v1::TASK_KIND_UNSPECIFIED;
  // What the client still allows, measured where the request came in;
  // InfiniteDuration() when it set no deadline. The model's default timeout
  // bounds it too.
  absl::Duration timeout = absl::InfiniteDuration();
  // Optional: set by the front end when the client goes away.
  std::shared_ptr<Cancellation> cancellation;
  // When not empty, an error of one sample is reported as "<label>[i]: ...".
  std::string sample_label;
  // A front end's verdict on the request before any model is involved (a
  // required field missing): when not OK the request is refused with it,
  // reported without a model version.
  absl::Status malformed;
  // Logged with the outcome (see InferencePipelineOptions::request_log).
  RequestSource source;
};

// One sample's input tensors, in the model's inputs() order.
using Sample = std::vector<Tensor>;

// Called once the model is known: the request's samples, or the reason it
// is refused (INVALID_ARGUMENT naming the field). Runs on Run()'s thread.
using Prepare =
    std::function<absl::StatusOr<std::vector<Sample>>(const ServableModel&)>;

struct InferenceOutcome {
  // OK, or the first failure (a refusal, or a sample's error).
  absl::Status status;
  // The version that answered; null when none was resolved.
  std::shared_ptr<const ServableModel> model;
  // One per sample, in order; empty unless status is OK.
  std::vector<InferenceResult> results;
  // When the request came in, by the pipeline's clock.
  absl::Time start;
};

using Complete = std::function<void(InferenceOutcome outcome)>;

struct InferencePipelineOptions {
  // Required; not owned, must outlive the pipeline.
  const ModelRepository* repository = nullptr;
  // Not owned; null means Clock::Real().
  Clock* clock = nullptr;
  // Not owned; null reports nothing.
  InferenceObserver* observer = nullptr;
  // Told of every outcome with the request's source (failures logged,
  // rate-limited); not owned, null logs nothing.
  RequestLog* request_log = nullptr;
};

class InferencePipeline {
 public:
  explicit InferencePipeline(const InferencePipelineOptions& options);

  InferencePipeline(const InferencePipeline&) = delete;
  InferencePipeline& operator=(const InferencePipeline&) = delete;

  // Resolves, prepares and submits; `complete` is called exactly once (see
  // the file comment), after the observer and the request log heard of the
  // outcome. Errors:
  // NOT_FOUND / UNAVAILABLE from the repository, FAILED_PRECONDITION for a
  // model of another task, what `prepare` returns, INVALID_ARGUMENT for no
  // samples, and per sample what the batcher answers (DEADLINE_EXCEEDED,
  // CANCELLED, RESOURCE_EXHAUSTED, the backend's error). A refused request
  // submits nothing.
  void Run(InferenceRequest request, const Prepare& prepare,
           Complete complete) const;

  Clock* clock() const { return clock_; }

 private:
  // Resolves request.model and checks its task.
  absl::StatusOr<std::shared_ptr<const ServableModel>> Resolve(
      const InferenceRequest& request) const;
  void Report(const InferenceRequest& request, const ServableModel* model,
              const absl::Status& status, absl::Time start) const;

  const ModelRepository* const repository_;
  Clock* const clock_;
  InferenceObserver* const observer_;
  RequestLog* const request_log_;
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_INFERENCE_INFERENCE_PIPELINE_H_
