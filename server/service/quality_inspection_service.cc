#include "server/service/quality_inspection_service.h"

#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "models/base/client_text.h"
#include "models/base/status_macros.h"
#include "models/postprocess/classification.h"
#include "server/inference/model_io.h"
#include "server/service/grpc_status.h"
#include "server/service/request_support.h"

namespace lineserve {
namespace {

using lineserve::v1::InspectRequest;
using lineserve::v1::InspectResponse;

constexpr char kInspectMethod[] = "Inspect";
constexpr char kInspectStreamMethod[] = "InspectStream";

// Fills the answer for one image from the model's logits.
InspectResponse Answer(const ServableModel& servable,
                       const std::string& request_id,
                       const std::string& part_id,
                       const InferenceResult& result) {
  const auto& labels = servable.config().classification().labels();
  const Classification classification = Classify(servable, result);
  const postprocess::Decision& decision = classification.decision;

  InspectResponse response;
  response.set_request_id(request_id);
  response.set_part_id(part_id);
  response.set_verdict(decision.defect ? lineserve::v1::VERDICT_DEFECT
                                       : lineserve::v1::VERDICT_OK);
  if (decision.defect) response.set_defect_class(labels.Get(decision.label));
  response.set_defect_probability(decision.defect_probability);
  for (int i = 0; i < labels.size(); ++i) {
    auto* score = response.add_scores();
    score->set_label(labels.Get(i));
    score->set_probability(classification.probabilities[i]);
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

void SetImageQuality(const preprocess::ImageQualityReport& report,
                     InspectResponse& response) {
  using preprocess::ImageQualityIssue;
  switch (report.issue) {
    case ImageQualityIssue::kOk:
      response.set_image_quality(lineserve::v1::IMAGE_QUALITY_OK);
      return;
    case ImageQualityIssue::kBlank:
      response.set_image_quality(lineserve::v1::IMAGE_QUALITY_BLANK);
      break;
    case ImageQualityIssue::kTooSmall:
      response.set_image_quality(lineserve::v1::IMAGE_QUALITY_TOO_SMALL);
      break;
    case ImageQualityIssue::kWrongAspect:
      response.set_image_quality(lineserve::v1::IMAGE_QUALITY_WRONG_ASPECT);
      break;
  }
  response.set_image_quality_detail(report.detail);
}

void SetRegion(const postprocess::ImageRegion& region,
               lineserve::v1::ImageRegion* out) {
  out->set_x(region.x);
  out->set_y(region.y);
  out->set_width(region.width);
  out->set_height(region.height);
}

void SetDefectMap(const ServableModel& servable,
                  const preprocess::InputPlacement& placement,
                  const InferenceResult& result, InspectResponse& response) {
  const postprocess::DefectMap map =
      DefectMapOf(servable, result, placement,
                  response.verdict() == lineserve::v1::VERDICT_DEFECT);
  const auto& labels = servable.config().classification().labels();
  lineserve::v1::DefectMap* out = response.mutable_defect_map();
  out->set_rows(map.rows);
  out->set_columns(map.columns);
  out->set_cell_threshold(map.cell_threshold);
  out->set_image_width(placement.image_width);
  out->set_image_height(placement.image_height);
  out->mutable_cells()->Reserve(static_cast<int>(map.cells.size()));
  for (const postprocess::DefectCell& cell : map.cells) {
    lineserve::v1::DefectCell* c = out->add_cells();
    SetRegion(cell.region, c->mutable_region());
    c->set_defect_probability(cell.defect_probability);
    if (cell.defect_label >= 0 && cell.defect_label < labels.size()) {
      c->set_defect_class(labels.Get(cell.defect_label));
    }
  }
  if (map.defect_region.has_value()) {
    SetRegion(*map.defect_region, out->mutable_defect_region());
  }
}

// One client stream: reads requests as they come, submits each, writes each
// answer when it is ready (one write in flight at a time, as gRPC requires),
// and finishes once the client is done sending and every answer is written.
// Flow control: with kMaxStreamOutstanding requests submitted and not yet
// written, it stops reading until an answer is written, so a client that
// sends without reading its answers is held back by gRPC's flow control
// instead of growing the server's memory.
class InspectStreamReactor
    : public grpc::ServerBidiReactor<InspectRequest, InspectResponse> {
 public:
  InspectStreamReactor(const QualityInspectionService* service,
                       grpc::CallbackServerContext* context)
      : service_(service),
        context_(context),
        cancellation_(std::make_shared<Cancellation>()) {
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
    // Only the ids outlive the submit (an image is not kept for an error
    // answer), cut to the bound the request is refused beyond.
    service_->Submit(
        *context_, request, QualityInspectionService::Call::kInspectStream,
        cancellation_,
        [this,
         request_id =
             std::string(TruncateUtf8(request.request_id(), kMaxClientIdBytes)),
         part_id =
             std::string(TruncateUtf8(request.part_id(), kMaxClientIdBytes))](
            absl::Status status, InspectResponse response) {
          Deliver(request_id, part_id, status, std::move(response));
        });
    mu_.Lock();
    reading_ = false;
    UnlockAndAct();
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

  // The client went away: its queued requests leave the batchers now.
  void OnCancel() override { cancellation_->Cancel(); }

  void OnDone() override { delete this; }

 private:
  // Queues one answer (or the request's error) for writing.
  void Deliver(const std::string& request_id, const std::string& part_id,
               const absl::Status& status, InspectResponse response) {
    if (!status.ok()) {
      response.Clear();
      response.set_request_id(request_id);
      response.set_part_id(part_id);
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

  // Decides under the lock what to start next (the next read, a write, or
  // the end of the call), releases the lock, then starts it: gRPC may run
  // the reaction (even OnDone, which deletes this) before Start*/Finish
  // return.
  void UnlockAndAct() ABSL_UNLOCK_FUNCTION(mu_) {
    const InspectResponse* to_write = nullptr;
    bool finish = false;
    bool read = false;
    if (!reading_ && !reads_done_ && pending_ < kMaxStreamOutstanding) {
      reading_ = true;
      read = true;
    }
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
    // A read in flight keeps the call alive, so Finish and a read are never
    // both started here (reads_done_ is set).
    if (read) StartRead(&request_);
    if (to_write != nullptr) {
      StartWrite(to_write);
    } else if (finish) {
      Finish(broken ? grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                   "the stream broke while writing")
                    : grpc::Status::OK);
    }
  }

  const QualityInspectionService* service_;
  grpc::CallbackServerContext* context_;
  const std::shared_ptr<Cancellation> cancellation_;
  InspectRequest request_;  // owned by the read in flight

  absl::Mutex mu_;
  // Requests submitted and not yet written (or dropped).
  int pending_ ABSL_GUARDED_BY(mu_) = 0;
  // A read is in flight (the constructor starts the first).
  bool reading_ ABSL_GUARDED_BY(mu_) = true;
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Answers waiting to be written; the front one is being written.
  std::deque<InspectResponse> outbox_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

QualityInspectionService::QualityInspectionService(
    const InferencePipeline* pipeline, InferenceObserver* observer)
    : pipeline_(pipeline),
      observer_(observer != nullptr ? observer : InferenceObserver::Null()) {}

void QualityInspectionService::Submit(
    const grpc::CallbackServerContext& context, const InspectRequest& request,
    Call call, std::shared_ptr<Cancellation> cancellation, Done done) const {
  InferenceRequest inference;
  inference.method =
      call == Call::kInspectStream ? kInspectStreamMethod : kInspectMethod;
  inference.model = request.model().name().empty() ? kDefaultInspectionModel
                                                   : request.model().name();
  inference.version = request.model().version();
  inference.task = lineserve::v1::TASK_KIND_IMAGE_CLASSIFICATION;
  inference.timeout = TimeLeft(context);
  inference.cancellation = std::move(cancellation);
  inference.source = GrpcRequestSource(context, request.request_id());
  // Ids are echoed in the answer and become metric labels: bounded.
  inference.malformed = CheckClientIds({{"request_id", request.request_id()},
                                        {"part_id", request.part_id()},
                                        {"line_id", request.line_id()},
                                        {"station_id", request.station_id()}});
  // A stream's answers are matched to requests by request_id only.
  if (call == Call::kInspectStream && request.request_id().empty()) {
    inference.malformed =
        absl::InvalidArgumentError("request_id: required on InspectStream");
  }
  // Written by prepare on this thread, read by the completion.
  auto quality = std::make_shared<preprocess::ImageQualityReport>();
  const bool want_map = request.return_defect_map();
  std::shared_ptr<preprocess::InputPlacement> placement;
  if (want_map) placement = std::make_shared<preprocess::InputPlacement>();
  auto prepare =
      [&](const ServableModel& model) -> absl::StatusOr<std::vector<Sample>> {
    if (want_map && !HasDefectMap(model)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "return_defect_map: model '", model.name(), "' version ",
          model.version(),
          " computes no defect map (no per-cell output[1]; lineserve-train's "
          "segmentation models compute one)"));
    }
    if (request.image().empty()) {
      return absl::InvalidArgumentError("image: empty; send PNG or JPEG bytes");
    }
    absl::StatusOr<Sample> sample =
        ImageSample(model, request.image(), quality.get(), placement.get());
    if (!sample.ok()) return AnnotateStatus(sample.status(), "image");
    std::vector<Sample> samples;
    samples.push_back(*std::move(sample));
    return samples;
  };
  pipeline_->Run(
      std::move(inference), prepare,
      [this, request_id = request.request_id(), part_id = request.part_id(),
       line = request.line_id(), station = request.station_id(), quality,
       placement, done = std::move(done)](InferenceOutcome outcome) {
        if (!outcome.status.ok()) {
          done(outcome.status, {});
          return;
        }
        InspectResponse response =
            Answer(*outcome.model, request_id, part_id, outcome.results[0]);
        SetImageQuality(*quality, response);
        if (placement != nullptr) {
          SetDefectMap(*outcome.model, *placement, outcome.results[0],
                       response);
        }
        if (quality->issue != preprocess::ImageQualityIssue::kOk) {
          observer_->OnImageQualityIssue(
              line, station, preprocess::ImageQualityIssueName(quality->issue));
        }
        observer_->OnInspection(
            line, station, response.verdict() == lineserve::v1::VERDICT_DEFECT,
            response.defect_class());
        done(absl::OkStatus(), std::move(response));
      });
}

grpc::ServerUnaryReactor* QualityInspectionService::Inspect(
    grpc::CallbackServerContext* context, const InspectRequest* request,
    InspectResponse* response) {
  auto* reactor = new CancellableUnaryReactor();
  Submit(*context, *request, Call::kInspect, reactor->cancellation(),
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
