#include "server/service/efficiency_prediction_service.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "models/base/client_text.h"
#include "models/base/status_macros.h"
#include "models/preprocess/tabular_encoder.h"
#include "server/inference/model_io.h"
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
            absl::StrCat("feature ", QuoteClientText(name), " has no value"));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<Sample>> PredictSamples(
    const ServableModel& model, const PredictRequest& request) {
  const int rows = request.rows_size();
  if (rows == 0) return absl::InvalidArgumentError("rows: empty");
  if (rows > kMaxRowsPerRequest) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rows: ", rows, " rows, at most ", kMaxRowsPerRequest, " per request"));
  }
  std::vector<Sample> samples;
  samples.reserve(rows);
  for (int i = 0; i < rows; ++i) {
    absl::StatusOr<Sample> sample = [&]() -> absl::StatusOr<Sample> {
      RETURN_IF_ERROR(CheckClientIds({{"row_id", request.rows(i).row_id()},
                                      {"line_id", request.rows(i).line_id()}}));
      ASSIGN_OR_RETURN(preprocess::FeatureRow row,
                       ToFeatureRow(request.rows(i)));
      return FeatureSample(model, row);
    }();
    if (!sample.ok()) {
      return AnnotateStatus(sample.status(), absl::StrCat("rows[", i, "]"));
    }
    samples.push_back(*std::move(sample));
  }
  return samples;
}

EfficiencyPredictionService::EfficiencyPredictionService(
    const InferencePipeline* pipeline, InferenceObserver* observer)
    : pipeline_(pipeline),
      observer_(observer != nullptr ? observer : InferenceObserver::Null()) {}

grpc::ServerUnaryReactor* EfficiencyPredictionService::Predict(
    grpc::CallbackServerContext* context, const PredictRequest* request,
    PredictResponse* response) {
  auto* reactor = new CancellableUnaryReactor();
  InferenceRequest inference;
  inference.method = kPredictMethod;
  inference.model = request->model().name().empty() ? kDefaultEfficiencyModel
                                                    : request->model().name();
  inference.version = request->model().version();
  inference.task = lineserve::v1::TASK_KIND_TABULAR_REGRESSION;
  inference.timeout = TimeLeft(*context);
  inference.cancellation = reactor->cancellation();
  inference.source = GrpcRequestSource(*context, "");
  inference.sample_label = "rows";
  pipeline_->Run(
      std::move(inference),
      [request](const ServableModel& model) {
        return PredictSamples(model, *request);
      },
      [this, reactor, request, response](InferenceOutcome outcome) {
        if (!outcome.status.ok()) {
          reactor->Finish(ToGrpcStatus(outcome.status));
          return;
        }
        response->mutable_answered_by()->set_model_name(outcome.model->name());
        response->mutable_answered_by()->set_model_version(
            outcome.model->version());
        // The call's timing is its slowest row's.
        const InferenceResult* slowest = nullptr;
        for (size_t i = 0; i < outcome.results.size(); ++i) {
          const InferenceResult& result = outcome.results[i];
          const float efficiency = RegressionValue(result);
          auto* prediction = response->add_predictions();
          prediction->set_row_id(request->rows(i).row_id());
          prediction->set_efficiency(efficiency);
          observer_->OnPrediction(request->rows(i).line_id(), efficiency);
          if (slowest == nullptr ||
              result.queue_time + result.compute_time >=
                  slowest->queue_time + slowest->compute_time) {
            slowest = &result;
          }
        }
        auto* timing = response->mutable_timing();
        timing->set_queue_microseconds(ToMicroseconds(slowest->queue_time));
        timing->set_compute_microseconds(ToMicroseconds(slowest->compute_time));
        timing->set_batch_size(slowest->batch_size);
        reactor->Finish(grpc::Status::OK);
      });
  return reactor;
}

}  // namespace lineserve
