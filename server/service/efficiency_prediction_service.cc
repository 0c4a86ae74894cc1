#include "server/service/efficiency_prediction_service.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/batching/inference_task.h"
#include "server/common/status_macros.h"
#include "server/preprocess/tabular_encoder.h"
#include "server/service/grpc_status.h"
#include "server/service/request_support.h"

namespace lineserve {
namespace {

using lineserve::v1::PredictRequest;
using lineserve::v1::PredictResponse;

constexpr char kPredictMethod[] = "Predict";

absl::StatusOr<preprocess::FeatureRow> ToFeatureRow(
    const lineserve::v1::FeatureRow& row) {
  preprocess::FeatureRow out;
  out.reserve(row.features_size());
  for (const auto& [name, value] : row.features()) {
    switch (value.value_case()) {
      case lineserve::v1::FeatureValue::kNumber:
        out.emplace_back(name, value.number());
        break;
      case lineserve::v1::FeatureValue::kCategory:
        out.emplace_back(name, value.category());
        break;
      default:
        return absl::InvalidArgumentError(
            absl::StrCat("feature '", name, "' has no value"));
    }
  }
  return out;
}

// The rows of one call in flight: filled by batcher workers, finished by
// whichever answers the last row.
struct PendingCall {
  PendingCall(grpc::ServerUnaryReactor* reactor, PredictResponse* response,
              int rows)
      : reactor(reactor), response(response), remaining(rows) {}

  grpc::ServerUnaryReactor* reactor;
  PredictResponse* response;
  absl::Mutex mu;
  int remaining ABSL_GUARDED_BY(mu);
  absl::Status status ABSL_GUARDED_BY(mu);
};

}  // namespace

EfficiencyPredictionService::EfficiencyPredictionService(
    const ModelRepository* repository, Clock* clock, ServiceObserver* observer)
    : repository_(repository), clock_(clock), observer_(observer) {}

grpc::ServerUnaryReactor* EfficiencyPredictionService::Predict(
    grpc::CallbackServerContext* context, const PredictRequest* request,
    PredictResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const absl::Time start = clock_->Now();
  auto servable =
      ResolveModel(*repository_, request->model(), kDefaultEfficiencyModel,
                   lineserve::v1::TASK_KIND_TABULAR_REGRESSION);
  if (!servable.ok()) {
    observer_->OnRequest(kPredictMethod,
                         request->model().name().empty()
                             ? kDefaultEfficiencyModel
                             : request->model().name(),
                         0, servable.status(), clock_->Now() - start);
    reactor->Finish(ToGrpcStatus(servable.status()));
    return reactor;
  }
  std::shared_ptr<const ServableModel> model = *std::move(servable);
  auto refuse = [&](const absl::Status& status) {
    observer_->OnRequest(kPredictMethod, model->name(), model->version(),
                         status, clock_->Now() - start);
    reactor->Finish(ToGrpcStatus(status));
    return reactor;
  };
  const int rows = request->rows_size();
  if (rows == 0) return refuse(absl::InvalidArgumentError("rows: empty"));
  if (rows > kMaxRowsPerRequest) {
    return refuse(absl::InvalidArgumentError(
        absl::StrCat("rows: ", rows, " rows, at most ", kMaxRowsPerRequest,
                     " per request")));
  }

  // Encode every row before submitting any: a bad row refuses the call
  // without spending compute on the others.
  const preprocess::TabularEncoder* encoder = model->tabular_encoder();
  const absl::Time deadline =
      TaskDeadline(*context, model->default_timeout(), start);
  std::vector<std::unique_ptr<InferenceTask>> tasks;
  tasks.reserve(rows);
  for (int i = 0; i < rows; ++i) {
    auto row = ToFeatureRow(request->rows(i));
    absl::Status status = row.status();
    auto task = std::make_unique<InferenceTask>();
    if (status.ok()) {
      task->input.resize(encoder->width());
      status = encoder->Encode(*row, task->input.data());
    }
    if (!status.ok()) {
      return refuse(AnnotateStatus(status, absl::StrCat("rows[", i, "]")));
    }
    task->deadline = deadline;
    tasks.push_back(std::move(task));
  }

  response->mutable_predictions()->Reserve(rows);
  for (int i = 0; i < rows; ++i) {
    response->add_predictions()->set_row_id(request->rows(i).row_id());
  }
  response->mutable_answered_by()->set_model_name(model->name());
  response->mutable_answered_by()->set_model_version(model->version());

  auto call = std::make_shared<PendingCall>(reactor, response, rows);
  for (int i = 0; i < rows; ++i) {
    InferenceTask& task = *tasks[i];
    const grpc::CallbackServerContext* ctx = context;
    task.is_cancelled = [ctx] { return ctx->IsCancelled(); };
    task.done = [this, call, model, i, start,
                 line = request->rows(i).line_id()](absl::Status status,
                                                    InferenceResult result) {
      absl::Status final_status;
      {
        absl::MutexLock lock(&call->mu);
        if (status.ok()) {
          const float efficiency = result.output.empty() ? 0 : result.output[0];
          call->response->mutable_predictions(i)->set_efficiency(efficiency);
          auto* timing = call->response->mutable_timing();
          if (ToMicroseconds(result.queue_time + result.compute_time) >=
              timing->queue_microseconds() + timing->compute_microseconds()) {
            timing->set_queue_microseconds(ToMicroseconds(result.queue_time));
            timing->set_compute_microseconds(
                ToMicroseconds(result.compute_time));
            timing->set_batch_size(result.batch_size);
          }
          observer_->OnPrediction(line, efficiency);
        } else if (call->status.ok()) {
          call->status = AnnotateStatus(status, absl::StrCat("rows[", i, "]"));
        }
        if (--call->remaining > 0) return;
        final_status = call->status;
      }
      observer_->OnRequest(kPredictMethod, model->name(), model->version(),
                           final_status, clock_->Now() - start);
      call->reactor->Finish(ToGrpcStatus(final_status));
    };
  }
  for (auto& task : tasks) model->Submit(std::move(task));
  return reactor;
}

}  // namespace lineserve
