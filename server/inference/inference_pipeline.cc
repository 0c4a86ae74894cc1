#include "server/inference/inference_pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "models/base/client_text.h"
#include "models/base/status_macros.h"

namespace lineserve {
namespace {

// The samples of one request in flight: filled by batcher workers, completed
// by whichever answers the last sample.
class Gather {
 public:
  Gather(InferenceOutcome outcome, size_t samples, Complete complete,
         std::function<void(const InferenceOutcome&)> report)
      : outcome_(std::move(outcome)),
        remaining_(samples),
        complete_(std::move(complete)),
        report_(std::move(report)) {
    outcome_.results.resize(samples);
  }

  void Done(size_t index, const std::string& label, absl::Status status,
            InferenceResult result) {
    {
      absl::MutexLock lock(&mu_);
      if (status.ok()) {
        outcome_.results[index] = std::move(result);
      } else if (outcome_.status.ok()) {
        // A refusal of the whole request (queue full, shutting down) names
        // no sample.
        const bool whole_request =
            status.code() == absl::StatusCode::kResourceExhausted ||
            status.code() == absl::StatusCode::kUnavailable;
        outcome_.status =
            label.empty() || whole_request
                ? status
                : AnnotateStatus(status, absl::StrCat(label, "[", index, "]"));
      }
      if (--remaining_ > 0) return;
    }
    // The last sample: nobody else touches the outcome any more.
    if (!outcome_.status.ok()) outcome_.results.clear();
    report_(outcome_);
    complete_(std::move(outcome_));
  }

 private:
  absl::Mutex mu_;
  InferenceOutcome outcome_ ABSL_GUARDED_BY(mu_);
  size_t remaining_ ABSL_GUARDED_BY(mu_);
  Complete complete_;
  std::function<void(const InferenceOutcome&)> report_;
};

}  // namespace

InferenceObserver* InferenceObserver::Null() {
  static InferenceObserver* observer = new InferenceObserver();
  return observer;
}

InferencePipeline::InferencePipeline(const InferencePipelineOptions& options)
    : repository_(options.repository),
      clock_(options.clock != nullptr ? options.clock : Clock::Real()),
      observer_(options.observer != nullptr ? options.observer
                                            : InferenceObserver::Null()),
      request_log_(options.request_log) {}

absl::StatusOr<std::shared_ptr<const ServableModel>> InferencePipeline::Resolve(
    const InferenceRequest& request) const {
  if (request.version < 0) {
    return absl::InvalidArgumentError("model.version must be >= 0");
  }
  // Names are quoted in NOT_FOUND answers and reported to the observer.
  RETURN_IF_ERROR(CheckClientId("model name", request.model));
  ASSIGN_OR_RETURN(std::shared_ptr<const ServableModel> model,
                   repository_->Get(request.model, request.version));
  if (request.task != lineserve::v1::TASK_KIND_UNSPECIFIED &&
      model->task() != request.task) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", request.model, "' does ",
                     lineserve::v1::TaskKind_Name(model->task()),
                     ", not what this service serves"));
  }
  return model;
}

void InferencePipeline::Report(const InferenceRequest& request,
                               const ServableModel* model,
                               const absl::Status& status,
                               absl::Time start) const {
  const absl::string_view name = model != nullptr
                                     ? absl::string_view(model->name())
                                     : absl::string_view(request.model);
  const int64_t version = model != nullptr ? model->version() : 0;
  const absl::Duration duration = clock_->Now() - start;
  observer_->OnRequest(request.method, name, version, status, duration);
  if (request_log_ != nullptr) {
    FinishedRequest finished;
    finished.front_end = request.source.front_end;
    finished.method = request.method;
    finished.model = name;
    finished.version = version;
    finished.peer = request.source.peer;
    finished.request_id = request.source.request_id;
    finished.status = status;
    finished.duration = duration;
    request_log_->Finished(finished);
  }
}

void InferencePipeline::Run(InferenceRequest request, const Prepare& prepare,
                            Complete complete) const {
  InferenceOutcome outcome;
  outcome.start = clock_->Now();
  const auto refuse = [&](absl::Status status) {
    Report(request, outcome.model.get(), status, outcome.start);
    outcome.status = std::move(status);
    outcome.results.clear();
    complete(std::move(outcome));
  };
  if (!request.malformed.ok()) return refuse(request.malformed);
  absl::StatusOr<std::shared_ptr<const ServableModel>> model = Resolve(request);
  if (!model.ok()) return refuse(model.status());
  outcome.model = *std::move(model);
  const ServableModel& servable = *outcome.model;

  // Every sample is prepared before any is submitted: a bad one refuses the
  // request without spending compute on the others.
  absl::StatusOr<std::vector<Sample>> samples = prepare(servable);
  if (!samples.ok()) return refuse(samples.status());
  if (samples->empty()) {
    return refuse(absl::InvalidArgumentError("the request holds no samples"));
  }

  const absl::Time deadline =
      outcome.start + std::min(request.timeout, servable.default_timeout());
  std::shared_ptr<Cancellation> cancellation = request.cancellation;
  if (cancellation != nullptr) cancellation->Watch(outcome.model);

  const size_t count = samples->size();
  std::vector<std::unique_ptr<InferenceTask>> tasks;
  tasks.reserve(count);
  std::shared_ptr<const ServableModel> handle = outcome.model;
  auto gather = std::make_shared<Gather>(
      std::move(outcome), count, std::move(complete),
      [this, request](const InferenceOutcome& done) {
        Report(request, done.model.get(), done.status, done.start);
      });
  for (size_t i = 0; i < count; ++i) {
    auto task = std::make_unique<InferenceTask>();
    task->inputs = std::move((*samples)[i]);
    task->deadline = deadline;
    if (cancellation != nullptr) {
      task->is_cancelled = [cancellation] {
        return cancellation->IsCancelled();
      };
    }
    // The gather holds the model version: it stays loaded until answered.
    task->done = [gather, i, label = request.sample_label](
                     absl::Status status, InferenceResult result) {
      gather->Done(i, label, std::move(status), std::move(result));
    };
    tasks.push_back(std::move(task));
  }
  handle->SubmitAll(std::move(tasks));
}

}  // namespace lineserve
