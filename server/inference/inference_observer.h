// What the inference pipeline and the front ends report as they answer: the
// seam where metrics plug in. The defaults do nothing; every method may be
// called from any thread at the same time, must be cheap and must not call
// back into the server.
#ifndef LINESERVE_SERVER_INFERENCE_INFERENCE_OBSERVER_H_
#define LINESERVE_SERVER_INFERENCE_INFERENCE_OBSERVER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace lineserve {

class InferenceObserver {
 public:
  virtual ~InferenceObserver() = default;

  // A request finished: which model/version answered (version 0 when none
  // was resolved), its outcome and how long it took end to end.
  virtual void OnRequest(absl::string_view /*method*/,
                         absl::string_view /*model*/, int64_t /*version*/,
                         const absl::Status& /*status*/,
                         absl::Duration /*duration*/) {}
  // An inspection verdict, labelled by where the part was seen.
  virtual void OnInspection(absl::string_view /*line*/,
                            absl::string_view /*station*/, bool /*defect*/,
                            absl::string_view /*defect_class*/) {}
  // A frame whose camera check failed (see preprocess::AssessImageQuality):
  // `issue` is ImageQualityIssueName's ("blank", "too_small", ...).
  virtual void OnImageQualityIssue(absl::string_view /*line*/,
                                   absl::string_view /*station*/,
                                   absl::string_view /*issue*/) {}
  // A predicted efficiency for a line.
  virtual void OnPrediction(absl::string_view /*line*/, double /*efficiency*/) {
  }

  // A model-control call was refused before it ran: `reason` is one of
  // "disabled" (no admin token configured), "missing_token", "wrong_token",
  // "mode" (not allowed in the model control mode).
  virtual void OnAdminRefused(absl::string_view /*method*/,
                              absl::string_view /*reason*/) {}

  // An observer that ignores everything; never destroyed.
  static InferenceObserver* Null();
};

}  // namespace lineserve

#endif  // LINESERVE_SERVER_INFERENCE_INFERENCE_OBSERVER_H_
