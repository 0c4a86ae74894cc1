#include "server/service/quality_inspection_service.h"

#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/batching/inference_task.h"
#include "server/common/status_macros.h"
#include "server/postprocess/classification.h"
#include "server/service/grpc_status.h"
#include "server/service/request_support.h"

namespace lineserve {
namespace {

using lineserve::v1::InspectRequest;
using lineserve::v1::InspectResponse;

constexpr char kInspectMethod[] = "Inspect";
constexpr char kInspectStreamMethod[] = "InspectStream";

// Fills the answer from the model's logits for one image.
InspectResponse Answer(const ServableModel& servable,
                       const std::string& request_id,
                       const std::string& part_id,
                       const InferenceResult& result) {
  const auto& classification = servable.config().classification();
  const int k = classification.labels_size();
  int ok_index = 0;
  for (int i = 0; i < k; ++i) {
    if (classification.labels(i) == classification.ok_label()) ok_index = i;
  }
  const std::vector<float> p = postprocess::Softmax(result.output.data(), k);
  const float threshold = classification.has_defect_threshold()
                              ? classification.defect_threshold()
                              : postprocess::kDefaultDefectThreshold;
  const postprocess::Decision decision =
      postprocess::Decide(p.data(), k, ok_index, threshold);

  InspectResponse response;
  response.set_request_id(request_id);
  response.set_part_id(part_id);
  response.set_verdict(decision.defect ? lineserve::v1::VERDICT_DEFECT
                                       : lineserve::v1::VERDICT_OK);
  if (decision.defect) {
    response.set_defect_class(classification.labels(decision.label));
  }
  response.set_defect_probability(decision.defect_probability);
  for (int i = 0; i < k; ++i) {
    auto* score = response.add_scores();
    score->set_label(classification.labels(i));
    score->set_probability(p[i]);
  }
  response.mutable_answered_by()->set_model_name(servable.name());
  response.mutable_answered_by()->set_model_version(servable.version());
  response.mutable_timing()->set_queue_microseconds(
      ToMicroseconds(result.queue_time));
  response.mutable_timing()->set_compute_microseconds(
      ToMicroseconds(result.compute_time));
  response.mutable_timing()->set_batch_size(result.batch_size);
  return response;
}

// One client stream: reads requests as they come, submits each, writes each
// answer when it is ready (one write in flight at a time, as gRPC requires),
// and finishes once the client is done sending and every answer is written.
class InspectStreamReactor
    : public grpc::ServerBidiReactor<InspectRequest, InspectResponse> {
 public:
  InspectStreamReactor(QualityInspectionService* service,
                       grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      mu_.Lock();
      reads_done_ = true;
      UnlockAndAct();
      return;
    }
    InspectRequest request = std::move(request_);
    request_.Clear();
    {
      absl::MutexLock lock(&mu_);
      ++pending_;
    }
    service_->Submit(
        *context_, request, QualityInspectionService::Call::kInspectStream,
        [this, request](absl::Status status, InspectResponse response) {
          Deliver(request, status, std::move(response));
        });
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    mu_.Lock();
    outbox_.pop_front();
    --pending_;
    writing_ = false;
    if (!ok) {
      broken_ = true;
      pending_ -= static_cast<int>(outbox_.size());
      outbox_.clear();
    }
    UnlockAndAct();
  }

  void OnDone() override { delete this; }

 private:
  // Queues one answer (or the request's error) for writing.
  void Deliver(const InspectRequest& request, const absl::Status& status,
               InspectResponse response) {
    if (!status.ok()) {
      response.Clear();
      response.set_request_id(request.request_id());
      response.set_part_id(request.part_id());
      response.set_error_code(static_cast<int>(status.code()));
      response.set_error_message(std::string(status.message()));
    }
    mu_.Lock();
    if (broken_) {
      --pending_;
    } else {
      outbox_.push_back(std::move(response));
    }
    UnlockAndAct();
  }

  // Decides under the lock what to start next (a write, or the end of the
  // call), releases the lock, then starts it: gRPC may run the reaction
  // (even OnDone, which deletes this) before Start*/Finish return.
  void UnlockAndAct() ABSL_UNLOCK_FUNCTION(mu_) {
    const InspectResponse* to_write = nullptr;
    bool finish = false;
    if (!writing_ && !outbox_.empty()) {
      writing_ = true;
      // A deque keeps references to its elements valid as it grows.
      to_write = &outbox_.front();
    } else if (!finished_ && reads_done_ && pending_ == 0 && !writing_) {
      finished_ = true;
      finish = true;
    }
    const bool broken = broken_;
    mu_.Unlock();
    if (to_write != nullptr) {
      StartWrite(to_write);
    } else if (finish) {
      Finish(broken ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                   "the stream broke while writing")
                    : grpc::Status::OK);
    }
  }

  QualityInspectionService* service_;
  grpc::CallbackServerContext* context_;
  InspectRequest request_;  // owned by the read in flight

  absl::Mutex mu_;
  // Requests submitted and not yet written (or dropped).
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Answers waiting to be written; the front one is being written.
  std::deque<InspectResponse> outbox_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

QualityInspectionService::QualityInspectionService(
    const ModelRepository* repository, Clock* clock, ServiceObserver* observer)
    : repository_(repository), clock_(clock), observer_(observer) {}

void QualityInspectionService::Submit(
    const grpc::CallbackServerContext& context, const InspectRequest& request,
    Call call, Done done) {
  const absl::Time start = clock_->Now();
  const char* const method =
      call == Call::kInspectStream ? kInspectStreamMethod : kInspectMethod;
  // A stream's answers are matched to requests by request_id only.
  auto servable =
      call == Call::kInspectStream && request.request_id().empty()
          ? absl::InvalidArgumentError("request_id: required on InspectStream")
          : ResolveModel(*repository_, request.model(), kDefaultInspectionModel,
                         lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION);
  if (!servable.ok()) {
    observer_->OnRequest(method,
                         request.model().name().empty()
                             ? kDefaultInspectionModel
                             : request.model().name(),
                         0, servable.status(), clock_->Now() - start);
    done(servable.status(), {});
    return;
  }
  std::shared_ptr<const ServableModel> model = *std::move(servable);
  auto fail = [&](const absl::Status& status) {
    observer_->OnRequest(method, model->name(), model->version(), status,
                         clock_->Now() - start);
    done(status, {});
  };
  if (request.image().empty()) {
    fail(absl::InvalidArgumentError("image: empty; send PNG or JPEG bytes"));
    return;
  }
  const preprocess::ImagePreprocessor* preprocessor =
      model->image_preprocessor();
  auto task = std::make_unique<InferenceTask>();
  task->input.resize(preprocessor->output_size());
  if (absl::Status status =
          preprocessor->Process(request.image(), task->input.data());
      !status.ok()) {
    fail(AnnotateStatus(status, "image"));
    return;
  }
  task->deadline = TaskDeadline(context, model->default_timeout(), start);
  const grpc::CallbackServerContext* ctx = &context;
  task->is_cancelled = [ctx] { return ctx->IsCancelled(); };
  // The task holds the model version: it stays loaded until answered.
  task->done = [this, model, method, request_id = request.request_id(),
                part_id = request.part_id(), line = request.line_id(),
                station = request.station_id(), start, done = std::move(done)](
                   absl::Status status, InferenceResult result) {
    observer_->OnRequest(method, model->name(), model->version(), status,
                         clock_->Now() - start);
    if (!status.ok()) {
      done(status, {});
      return;
    }
    InspectResponse response = Answer(*model, request_id, part_id, result);
    observer_->OnInspection(line, station,
                            response.verdict() == lineserve::v1::VERDICT_DEFECT,
                            response.defect_class());
    done(absl::OkStatus(), std::move(response));
  };
  model->Submit(std::move(task));
}

grpc::ServerUnaryReactor* QualityInspectionService::Inspect(
    grpc::CallbackServerContext* context, const InspectRequest* request,
    InspectResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Submit(*context, *request, Call::kInspect,
         [reactor, response](absl::Status status, InspectResponse answer) {
           if (status.ok()) *response = std::move(answer);
           reactor->Finish(ToGrpcStatus(status));
         });
  return reactor;
}

grpc::ServerBidiReactor<InspectRequest, InspectResponse>*
QualityInspectionService::InspectStream(grpc::CallbackServerContext* context) {
  return new InspectStreamReactor(this, context);
}

}  // namespace lineserve
