#include "models/train/html_report.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"

namespace lineserve::train {
namespace {
namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos;
       at = text.find(what, at + what.size())) {
    ++n;
  }
  return n;
}

// A quality model's metrics.json as the trainer writes it, small enough to
// check by hand: 10 OK parts (2 called "crack"), 10 cracks (1 called OK).
nlohmann::json QualityMetrics(double auc, double false_alarms) {
  return nlohmann::json::parse(absl::StrCat(R"({
    "task": "image_classification",
    "labels": ["ok", "crack<b>"],
    "ok_label": "ok",
    "accuracy": 0.85, "macro_f1": 0.849, "defect_recall": 0.9,
    "defect_precision": 0.818, "defect_vs_ok_accuracy": 0.85,
    "confusion_matrix": [[8, 2], [1, 9]],
    "per_class": {"ok": {"precision": 0.889, "recall": 0.8, "f1": 0.842,
                         "support": 10},
                  "crack<b>": {"precision": 0.818, "recall": 0.9,
                               "f1": 0.857, "support": 10}},
    "defect_threshold": 0.42,
    "defect_score": {"defects": 10, "oks": 10, "roc_auc": )",
                                            auc, R"(,
      "average_precision": 0.9, "target_defect_recall": 0.95,
      "at_target": {"threshold": 0.42, "defect_recall": 0.95,
                    "false_alarm_rate": )",
                                            false_alarms, R"(,
                    "precision": 0.7},
      "roc_curve": [
        {"threshold": 0.9, "defect_recall": 0.5, "false_alarm_rate": 0.0,
         "precision": 1.0},
        {"threshold": 0.42, "defect_recall": 0.95, "false_alarm_rate": 0.4,
         "precision": 0.7},
        {"threshold": 0.1, "defect_recall": 1.0, "false_alarm_rate": 1.0,
         "precision": 0.5}]},
    "split": {"method": "grouped_by_tile", "tiles": 12, "folds": 5,
              "figures": "out_of_fold", "validation_count": 20, "seed": 1},
    "cross_validation": {
      "mean": {"roc_auc": 0.88}, "std": {"roc_auc": 0.04},
      "folds": [{"roc_auc": 0.84}, {"roc_auc": 0.92}]},
    "training": {"data_dir": "tiles", "epochs": 3, "seconds": 61.5}
  })"));
}

nlohmann::json EfficiencyMetrics(double mae) {
  nlohmann::json m = {
      {"task", "tabular_regression"},
      {"target", "actual_productivity"},
      {"count", 5},
      {"mae", mae},
      {"rmse", 0.1},
      {"r2", 0.5},
      {"baselines",
       {{"training_mean", {{"mae", 0.12}}},
        {"targeted_productivity", {{"mae", 0.09}}}}},
      {"predictions",
       {{"truth", {0.5, 0.6, 0.7, 0.8, 0.9}},
        {"predicted", {0.55, 0.6, 0.65, 0.85, 0.7}}}},
      {"split",
       {{"method", "kfold"},
        {"folds", 5},
        {"figures", "out_of_fold"},
        {"test_count", 5},
        {"seed", 1}}},
      {"training", {{"csv", "garments.csv"}, {"seconds", 4.0}}}};
  return m;
}

TEST(HtmlReportTest, QualityReportDrawsCurvesMatrixAndPerClassFigures) {
  const std::string html = RenderHtmlReport(
      {"quality_inspection", 3, QualityMetrics(0.9, 0.4)}, nullptr);
  EXPECT_THAT(html,
              HasSubstr("<title>quality_inspection \xe2\x80\x94 version 3"));
  // ROC and precision-recall, each a line with its operating point.
  EXPECT_THAT(html, HasSubstr("id=\"roc-curve\""));
  EXPECT_THAT(html, HasSubstr("id=\"pr-curve\""));
  EXPECT_EQ(Count(html, "<polyline class=\"line"), 2);
  EXPECT_EQ(Count(html, "class=\"marker\""), 2);
  EXPECT_THAT(html, HasSubstr("threshold 0.420"));
  EXPECT_THAT(html, HasSubstr("catches 95.0% of the defects and flags 40.0% "
                              "of the OK parts"));
  // The matrix: counts and each row's shares.
  EXPECT_THAT(html, HasSubstr("<b>8</b><br><small>80.0%"));
  EXPECT_THAT(html, HasSubstr("<b>1</b><br><small>10.0%"));
  EXPECT_THAT(html, HasSubstr("id=\"per-class\""));
  EXPECT_THAT(html, HasSubstr("<td>90.0%</td>"));  // crack's recall
  // Labels are text, never markup.
  EXPECT_THAT(html, HasSubstr("crack&lt;b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("crack<b>")));
  // Cross-validation with its spread; no previous version.
  EXPECT_THAT(html, HasSubstr("0.88<br>&plusmn;&nbsp;0.04"));
  EXPECT_THAT(html, HasSubstr("The first version of this model"));
  EXPECT_THAT(html, Not(HasSubstr("residual-plot")));
}

TEST(HtmlReportTest, PageFetchesNothing) {
  for (const nlohmann::json& m :
       {QualityMetrics(0.9, 0.4), EfficiencyMetrics(0.08)}) {
    const std::string html = RenderHtmlReport({"m", 1, m}, nullptr);
    EXPECT_THAT(html, Not(HasSubstr("://")));
    EXPECT_THAT(html, Not(HasSubstr("src=")));
    EXPECT_THAT(html, Not(HasSubstr("@import")));
    EXPECT_THAT(html, Not(HasSubstr("url(")));
  }
}

TEST(HtmlReportTest, EfficiencyReportDrawsEveryResidualAndTheBaselines) {
  const std::string html = RenderHtmlReport(
      {"efficiency_prediction", 2, EfficiencyMetrics(0.08)}, nullptr);
  EXPECT_THAT(html, HasSubstr("id=\"residual-plot\""));
  EXPECT_EQ(Count(html, "<circle class=\"dot"), 5);
  EXPECT_THAT(html, HasSubstr("5 rows."));
  EXPECT_THAT(html, HasSubstr("id=\"baselines\""));
  EXPECT_THAT(html, HasSubstr("baseline: targeted_productivity"));
  EXPECT_THAT(html, HasSubstr("<td>0.0800</td>"));
  EXPECT_THAT(html, Not(HasSubstr("roc-curve")));
  EXPECT_THAT(html, Not(HasSubstr("confusion-matrix")));
}

TEST(HtmlReportTest, ComparisonMarksEachFigureBetterOrWorse) {
  const ReportedVersion before{"q", 2, QualityMetrics(0.80, 0.30)};
  const ReportedVersion now{"q", 3, QualityMetrics(0.90, 0.40)};
  const std::string html = RenderHtmlReport(now, &before);
  EXPECT_THAT(html, HasSubstr("version 3 (this)</th><th>version 2"));
  // Higher AUC is better; more OK parts flagged is worse.
  EXPECT_THAT(html, HasSubstr("<td class=\"better\">+0.1000</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"worse\">+10.0 points</td>"));
  EXPECT_THAT(html, Not(HasSubstr("not like for like")));

  // Lower MAE is better; a different table is not like for like.
  nlohmann::json older = EfficiencyMetrics(0.10);
  older["training"]["csv"] = "other.csv";
  const ReportedVersion e_before{"e", 1, older};
  const std::string e_html =
      RenderHtmlReport({"e", 2, EfficiencyMetrics(0.08)}, &e_before);
  EXPECT_THAT(e_html, HasSubstr("<td class=\"better\">-0.0200</td>"));
  EXPECT_THAT(e_html, HasSubstr("not like for like"));

  // With fingerprints on both sides the content decides, not the name.
  older["training"]["data_fingerprint"] = "fnv1a64:0123456789abcdef";
  nlohmann::json newer = EfficiencyMetrics(0.08);
  newer["training"]["data_fingerprint"] = "fnv1a64:0123456789abcdef";
  const ReportedVersion copy_before{"e", 1, older};
  EXPECT_THAT(RenderHtmlReport({"e", 2, newer}, &copy_before),
              Not(HasSubstr("not like for like")));
  newer["training"]["csv"] = "other.csv";
  newer["training"]["data_fingerprint"] = "fnv1a64:fedcba9876543210";
  EXPECT_THAT(RenderHtmlReport({"e", 2, newer}, &copy_before),
              HasSubstr("not like for like"));
}

TEST(HtmlReportTest, QualityGateOutcomeIsShown) {
  nlohmann::json m = QualityMetrics(0.9, 0.4);
  m["quality_gate"] = {{"figure", "roc_auc"},
                       {"value", 0.9},
                       {"references", {{"version 2", 0.95}}},
                       {"passed", false},
                       {"forced", true}};
  const std::string html = RenderHtmlReport({"q", 3, m}, nullptr);
  EXPECT_THAT(html, HasSubstr("Quality gate on roc_auc 0.9000: worse than a "
                              "reference, published with --force"));
  EXPECT_THAT(html, HasSubstr("<td>version 2</td><td>0.9500</td>"));
}

TEST(HtmlReportTest, MissingOrMalformedFiguresAreNamedNotFatal) {
  nlohmann::json quality = {{"task", "image_classification"},
                            {"labels", {"ok", 7}},
                            {"confusion_matrix", {{1, 2}, {"x", 4}}},
                            {"defect_score", {{"roc_curve", "none"}}},
                            {"cross_validation", {{"folds", {}}}}};
  std::string html = RenderHtmlReport({"q", 1, quality}, nullptr);
  EXPECT_THAT(html, HasSubstr("No ROC curve"));
  EXPECT_THAT(html, HasSubstr("No confusion matrix"));
  EXPECT_THAT(html, HasSubstr("no cross-validation"));

  nlohmann::json efficiency = EfficiencyMetrics(0.08);
  efficiency["predictions"]["truth"] = {0.5};  // not as long as predicted
  html = RenderHtmlReport({"e", 1, efficiency}, nullptr);
  EXPECT_THAT(html, HasSubstr("no residual plot"));

  html = RenderHtmlReport({"e", 1, nlohmann::json::array()}, nullptr);
  EXPECT_THAT(html, HasSubstr("</html>"));
}

TEST(HtmlReportTest, FiguresInWordsSayWhatTheFiguresWereMeasuredOn) {
  EXPECT_EQ(FiguresInWords(QualityMetrics(0.9, 0.4), "  "),
            "  validated out of fold (each item by a model that never saw "
            "it): 20 images, split by tile (12 tiles in all)\n"
            "  defect vs OK: ROC AUC 0.900; at threshold 0.4200 it flags "
            "90.0% of the defects, 81.8% of its flags are defects, 85.0% of "
            "the verdicts are right\n"
            "  class named right: 85.0% (macro F1 0.849); recall by class: "
            "ok 80.0% crack<b> 90.0%\n");
  EXPECT_EQ(FiguresInWords(EfficiencyMetrics(0.08), ""),
            "validated out of fold (each item by a model that never saw "
            "it): 5 rows\n"
            "actual_productivity: MAE 0.0800, RMSE 0.1000, R\xc2\xb2 0.500\n"
            "baselines on the same rows: targeted_productivity MAE 0.0900 "
            "training_mean MAE 0.1200\n");
  EXPECT_EQ(FiguresInWords(nlohmann::json::object(), ""), "");
}

class WriteHtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ =
        fs::path(::testing::TempDir()) /
        absl::StrCat(
            "html_report_",
            ::testing::UnitTest::GetInstance()->current_test_info()->name()) /
        "quality_inspection";
    fs::remove_all(model_.parent_path());
    fs::create_directories(model_);
  }
  void TearDown() override { fs::remove_all(model_.parent_path()); }

  void Version(int v, const std::string& metrics) {
    fs::create_directories(model_ / std::to_string(v));
    if (!metrics.empty()) {
      std::ofstream(model_ / std::to_string(v) / "metrics.json") << metrics;
    }
  }

  fs::path model_;
};

TEST_F(WriteHtmlReportTest, ComparesWithTheNewestEarlierVersionThatHasFigures) {
  Version(1, QualityMetrics(0.7, 0.5).dump());
  Version(3, QualityMetrics(0.8, 0.4).dump());
  Version(5, "");  // no metrics.json: skipped
  Version(6, QualityMetrics(0.9, 0.3).dump());
  Version(7, QualityMetrics(0.95, 0.2).dump());  // newer: not "previous"
  absl::StatusOr<std::string> path = WriteHtmlReport(model_.string(), 6);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, (model_ / "6" / kHtmlReportFile).string());
  absl::StatusOr<std::string> html = ReadFile(*path);
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_THAT(*html, HasSubstr("version 6 (this)</th><th>version 3</th>"));
}

TEST_F(WriteHtmlReportTest, VersionWithoutFiguresIsRefused) {
  Version(1, "");
  EXPECT_EQ(WriteHtmlReport(model_.string(), 1).status().code(),
            absl::StatusCode::kNotFound);
  Version(2, "{not json");
  absl::Status bad = WriteHtmlReport(model_.string(), 2).status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("2/metrics.json"));
  EXPECT_FALSE(fs::exists(model_ / "2" / kHtmlReportFile));
}

}  // namespace
}  // namespace lineserve::train
