// The evaluation report a person decides a rollout on: one self-contained
// HTML page per published version, beside its metrics.json.
//
// Drawn from metrics.json alone (inline SVG and CSS; nothing is fetched, so
// it opens offline and from a mail attachment): for the quality model the
// confusion matrix, the ROC and precision-recall curves with the operating
// point, per-class precision and recall; for the efficiency model the
// residuals of its out-of-fold predictions and its error beside the
// baselines'; for both the cross-validation folds, the quality gate and the
// figures of the previous version beside this one's. Plain C++, no
// LibTorch.
#ifndef LINESERVE_MODELS_TRAIN_HTML_REPORT_H_
#define LINESERVE_MODELS_TRAIN_HTML_REPORT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace lineserve::train {

// The file name of the report inside a version's folder.
inline constexpr char kHtmlReportFile[] = "report.html";

// One published version and its metrics.json.
struct ReportedVersion {
  std::string model;
  int64_t version = 0;
  nlohmann::json metrics;
};

// The page for `current`; `previous` (may be null) is the version it is
// compared with. Missing or malformed figures leave their part out with a
// sentence saying so; nothing in metrics.json can make it fail. A small
// inline script checks the page's own layout once a browser has drawn it
// (every chart has a size, nothing is wider than the page) and records the
// outcome in <body data-layout="...">, which the rendering test reads.
std::string RenderHtmlReport(const ReportedVersion& current,
                             const ReportedVersion* previous);

// The same figures in a few lines of text for a terminal (`lineserve-train
// report`, the end of a training run, the demo): what the evaluation was
// on, the defect-vs-OK operating point and per-class recall, or the error
// beside the baselines'. Each line starts with `indent`.
std::string FiguresInWords(const nlohmann::json& metrics,
                           const std::string& indent);

// Writes MODEL_DIR/VERSION/report.html (atomically) from that version's
// metrics.json, compared with the newest earlier version that has one.
// Returns the report's path; NOT_FOUND when the version has no
// metrics.json, INVALID_ARGUMENT when it is not JSON.
absl::StatusOr<std::string> WriteHtmlReport(const std::string& model_dir,
                                            int64_t version);

}  // namespace lineserve::train

#endif  // LINESERVE_MODELS_TRAIN_HTML_REPORT_H_
