#include "models/train/html_report.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "models/base/file_util.h"
#include "models/train/model_artifacts.h"

namespace lineserve::train {
namespace {

using Json = nlohmann::json;

std::string Escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The node at `path` under `j`, or null when any step is missing.
const Json* Find(const Json& j, const std::vector<const char*>& path) {
  const Json* node = &j;
  for (const char* key : path) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(key);
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

std::optional<double> Number(const Json& j,
                             const std::vector<const char*>& path) {
  const Json* node = Find(j, path);
  if (node == nullptr || !node->is_number()) return std::nullopt;
  const double value = node->get<double>();
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

// True only for a boolean true at `path`.
bool Flag(const Json& j, const std::vector<const char*>& path) {
  const Json* node = Find(j, path);
  return node != nullptr && node->is_boolean() && node->get<bool>();
}

std::string Text(const Json& j, const std::vector<const char*>& path) {
  const Json* node = Find(j, path);
  if (node == nullptr) return "";
  return node->is_string() ? node->get<std::string>() : node->dump();
}

std::string Percent(double fraction) {
  return absl::StrFormat("%.1f%%", 100.0 * fraction);
}

std::string Figure(double value) { return absl::StrFormat("%.4f", value); }

bool IsClassification(const Json& metrics) {
  return Text(metrics, {"task"}) == "image_classification";
}

// ---------------------------------------------------------------- charts

struct Axis {
  std::string label;
  double min = 0.0;
  double max = 1.0;
};

struct Series {
  std::string css_class;  // colour, from the page's style sheet
  std::vector<std::pair<double, double>> points;
  bool dots = false;  // a scatter instead of a line
};

struct Marker {
  double x = 0.0;
  double y = 0.0;
  std::string label;
};

struct Chart {
  std::string id;
  std::string title;
  Axis x, y;
  std::vector<Series> series;
  // Dashed reference lines (chance diagonal, zero residual).
  std::vector<std::pair<std::pair<double, double>, std::pair<double, double>>>
      guides;
  std::vector<Marker> markers;
  std::string caption;
};

constexpr double kWidth = 440, kHeight = 330;
constexpr double kLeft = 58, kRight = 16, kTop = 14, kBottom = 46;

// Round tick values: steps of 1, 2 or 5 times a power of ten, about five
// of them over [min, max], with the axis widened to whole steps.
std::vector<double> NiceTicks(Axis& axis) {
  const double span = axis.max - axis.min;
  const double rough = span / 5;
  const double power = std::pow(10.0, std::floor(std::log10(rough)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * power;
    if (step >= rough) break;
  }
  axis.min = std::floor(axis.min / step + 1e-9) * step;
  axis.max = std::ceil(axis.max / step - 1e-9) * step;
  std::vector<double> ticks;
  for (double t = axis.min; t <= axis.max + step / 2; t += step) {
    ticks.push_back(std::fabs(t) < step * 1e-6 ? 0.0 : t);
  }
  return ticks;
}

std::string TickLabel(double value) { return absl::StrFormat("%.4g", value); }

std::string DrawChart(Chart chart) {
  const std::vector<double> x_ticks = NiceTicks(chart.x);
  const std::vector<double> y_ticks = NiceTicks(chart.y);
  const double plot_w = kWidth - kLeft - kRight;
  const double plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) {
    return kLeft + (x - chart.x.min) / (chart.x.max - chart.x.min) * plot_w;
  };
  auto py = [&](double y) {
    return kTop + plot_h -
           (y - chart.y.min) / (chart.y.max - chart.y.min) * plot_h;
  };
  std::string svg = absl::StrFormat(
      "<figure id=\"%s\" class=\"chart\"><figcaption>%s</figcaption>\n"
      "<svg viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
      "role=\"img\" aria-label=\"%s\">\n",
      Escape(chart.id), Escape(chart.title), kWidth, kHeight, kWidth, kHeight,
      Escape(chart.title));
  absl::StrAppendFormat(&svg,
                        "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" "
                        "width=\"%.1f\" height=\"%.1f\"/>\n",
                        kLeft, kTop, plot_w, plot_h);
  for (double fx : x_ticks) {
    absl::StrAppendFormat(
        &svg,
        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
        "y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"middle\">%s</text>\n",
        px(fx), kTop, px(fx), kTop + plot_h, px(fx), kTop + plot_h + 14,
        TickLabel(fx));
  }
  for (double fy : y_ticks) {
    absl::StrAppendFormat(
        &svg,
        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
        "y2=\"%.1f\"/><text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"end\">%s</text>\n",
        kLeft, py(fy), kLeft + plot_w, py(fy), kLeft - 5, py(fy) + 4,
        TickLabel(fy));
  }
  absl::StrAppendFormat(&svg,
                        "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" "
                        "text-anchor=\"middle\">%s</text>\n",
                        kLeft + plot_w / 2, kHeight - 8, Escape(chart.x.label));
  absl::StrAppendFormat(&svg,
                        "<text class=\"axis\" transform=\"translate(14 %.1f) "
                        "rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                        kTop + plot_h / 2, Escape(chart.y.label));
  for (const auto& [from, to] : chart.guides) {
    absl::StrAppendFormat(&svg,
                          "<line class=\"guide\" x1=\"%.1f\" y1=\"%.1f\" "
                          "x2=\"%.1f\" y2=\"%.1f\"/>\n",
                          px(from.first), py(from.second), px(to.first),
                          py(to.second));
  }
  for (const Series& s : chart.series) {
    if (s.dots) {
      for (const auto& [x, y] : s.points) {
        absl::StrAppendFormat(
            &svg, "<circle class=\"dot %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"2\"/>",
            s.css_class, px(x), py(y));
      }
      svg += "\n";
      continue;
    }
    std::vector<std::string> points;
    for (const auto& [x, y] : s.points) {
      points.push_back(absl::StrFormat("%.1f,%.1f", px(x), py(y)));
    }
    absl::StrAppend(&svg, "<polyline class=\"line ", s.css_class,
                    "\" points=\"", absl::StrJoin(points, " "), "\"/>\n");
  }
  for (const Marker& m : chart.markers) {
    const bool right_half = px(m.x) > kLeft + plot_w * 0.6;
    absl::StrAppendFormat(
        &svg,
        "<circle class=\"marker\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"/>"
        "<text class=\"marker-label\" x=\"%.1f\" y=\"%.1f\" "
        "text-anchor=\"%s\">%s</text>\n",
        px(m.x), py(m.y), px(m.x) + (right_half ? -8 : 8), py(m.y) + 16,
        right_half ? "end" : "start", Escape(m.label));
  }
  svg += "</svg>\n";
  if (!chart.caption.empty()) {
    absl::StrAppend(&svg, "<p class=\"note\">", chart.caption, "</p>\n");
  }
  svg += "</figure>\n";
  return svg;
}

// A horizontal bar for a fraction in a table cell.
std::string Bar(double fraction, const char* css_class) {
  return absl::StrFormat(
      "<span class=\"bar %s\" style=\"width:%.0fpx\"></span>", css_class,
      120.0 * std::clamp(fraction, 0.0, 1.0));
}

// ------------------------------------------------------ quality sections

std::string Cards(
    const std::vector<std::pair<std::string, std::string>>& figures) {
  std::string html = "<div class=\"cards\">\n";
  for (const auto& [name, value] : figures) {
    absl::StrAppend(&html, "<div class=\"card\"><div class=\"value\">",
                    Escape(value), "</div><div class=\"name\">", Escape(name),
                    "</div></div>\n");
  }
  return html + "</div>\n";
}

std::vector<std::string> Labels(const Json& metrics) {
  std::vector<std::string> labels;
  const Json* node = Find(metrics, {"labels"});
  if (node == nullptr || !node->is_array()) return labels;
  for (const Json& label : *node) {
    labels.push_back(label.is_string() ? label.get<std::string>()
                                       : label.dump());
  }
  return labels;
}

std::string QualitySummary(const Json& m) {
  std::vector<std::pair<std::string, std::string>> cards;
  if (auto v = Number(m, {"defect_score", "roc_auc"})) {
    cards.push_back({"ROC AUC (defect vs OK)", Figure(*v)});
  }
  if (auto v = Number(m, {"defect_score", "average_precision"})) {
    cards.push_back({"average precision", Figure(*v)});
  }
  if (auto v = Number(m, {"defect_recall"})) {
    cards.push_back({"defects caught at the threshold", Percent(*v)});
  }
  const Json* gate_point = Find(m, {"defect_score", "at_target"});
  if (gate_point != nullptr) {
    if (auto v = Number(*gate_point, {"false_alarm_rate"})) {
      const auto target = Number(m, {"defect_score", "target_defect_recall"});
      cards.push_back(
          {absl::StrCat("OK parts flagged at ",
                        target ? Percent(*target) : std::string("target"),
                        " defect recall"),
           Percent(*v)});
    }
  }
  if (auto v = Number(m, {"accuracy"}))
    cards.push_back({"accuracy", Percent(*v)});
  if (auto v = Number(m, {"macro_f1"}))
    cards.push_back({"macro F1", Figure(*v)});
  return Cards(cards);
}

// The ROC curve's points (false alarm rate, recall) and the precision-recall
// curve's (recall, precision), from defect_score.roc_curve.
struct Curves {
  std::vector<std::pair<double, double>> roc;
  std::vector<std::pair<double, double>> pr;
};

Curves CurvesOf(const Json& m) {
  Curves curves;
  const Json* curve = Find(m, {"defect_score", "roc_curve"});
  if (curve == nullptr || !curve->is_array()) return curves;
  curves.roc.push_back({0.0, 0.0});
  for (const Json& point : *curve) {
    auto fa = Number(point, {"false_alarm_rate"});
    auto recall = Number(point, {"defect_recall"});
    auto precision = Number(point, {"precision"});
    if (!fa || !recall || !precision) continue;
    curves.roc.push_back({*fa, *recall});
    curves.pr.push_back({*recall, *precision});
  }
  curves.roc.push_back({1.0, 1.0});
  // At recall 0 the curve starts level with its first threshold.
  if (!curves.pr.empty()) {
    curves.pr.insert(curves.pr.begin(), {0.0, curves.pr.front().second});
  }
  return curves;
}

std::string QualityCurves(const Json& m) {
  const Curves curves = CurvesOf(m);
  if (curves.pr.empty()) {
    return "<p class=\"note\">No ROC curve in this version's metrics.json "
           "(its validation split had no defect or no OK part).</p>\n";
  }
  const auto threshold = Number(m, {"defect_threshold"});
  const Json* at = Find(m, {"defect_score", "at_target"});
  std::vector<Marker> roc_marker, pr_marker;
  std::string caption;
  if (at != nullptr) {
    const auto fa = Number(*at, {"false_alarm_rate"});
    const auto recall = Number(*at, {"defect_recall"});
    const auto precision = Number(*at, {"precision"});
    const auto t = Number(*at, {"threshold"});
    if (fa && recall && precision) {
      const std::string label =
          t ? absl::StrFormat("threshold %.3f", *t) : "operating point";
      roc_marker.push_back({*fa, *recall, label});
      pr_marker.push_back({*recall, *precision, label});
      caption = absl::StrFormat(
          "Operating point (the dot): a part is flagged when its defect "
          "score (1 &minus; P(ok)) is at least %s; that catches %s of the "
          "defects and flags %s of the OK parts, and %s of the flagged "
          "parts are defects.",
          threshold ? absl::StrFormat("%.4f", *threshold) : "the threshold",
          Percent(*recall), Percent(*fa), Percent(*precision));
    }
  }
  Chart roc{"roc-curve",
            "ROC curve: defects caught against OK parts flagged",
            {"OK parts flagged (false alarm rate)", 0, 1},
            {"defects caught (recall)", 0, 1},
            {{"series-a", curves.roc, false}},
            {{{0, 0}, {1, 1}}},
            roc_marker,
            ""};
  Chart pr{"pr-curve",
           "Precision-recall curve",
           {"defects caught (recall)", 0, 1},
           {"flagged parts that are defects (precision)", 0, 1},
           {{"series-b", curves.pr, false}},
           {},
           pr_marker,
           ""};
  return absl::StrCat(
      "<div class=\"charts\">\n", DrawChart(roc), DrawChart(pr), "</div>\n",
      caption.empty() ? ""
                      : absl::StrCat("<p class=\"note\">", caption, "</p>\n"));
}

std::string ConfusionMatrix(const Json& m) {
  const std::vector<std::string> labels = Labels(m);
  const Json* matrix = Find(m, {"confusion_matrix"});
  const size_t k = labels.size();
  bool shaped =
      matrix != nullptr && matrix->is_array() && k > 0 && matrix->size() == k;
  for (size_t i = 0; shaped && i < k; ++i) {
    shaped = (*matrix)[i].is_array() && (*matrix)[i].size() == k;
    for (size_t j = 0; shaped && j < k; ++j) {
      shaped = (*matrix)[i][j].is_number_integer();
    }
  }
  if (!shaped) {
    return "<p class=\"note\">No confusion matrix in this version's "
           "metrics.json.</p>\n";
  }
  const std::string ok = Text(m, {"ok_label"});
  std::string html =
      "<table id=\"confusion-matrix\" class=\"matrix\">\n<tr><th "
      "class=\"corner\">true &darr; / predicted &rarr;</th>";
  for (const std::string& label : labels) {
    absl::StrAppend(&html, "<th>", Escape(label), label == ok ? " (OK)" : "",
                    "</th>");
  }
  html += "<th>parts</th></tr>\n";
  for (size_t i = 0; i < k; ++i) {
    int64_t row_total = 0;
    for (size_t j = 0; j < k; ++j) row_total += (*matrix)[i][j].get<int64_t>();
    absl::StrAppend(&html, "<tr><th>", Escape(labels[i]), "</th>");
    for (size_t j = 0; j < k; ++j) {
      const int64_t count = (*matrix)[i][j].get<int64_t>();
      const double share =
          row_total > 0 ? static_cast<double>(count) / row_total : 0.0;
      // Right answers shade blue, wrong ones red, by their share of the row.
      absl::StrAppendFormat(
          &html,
          "<td style=\"background:rgba(%s,%.2f)\"><b>%d</b><br><small>%s"
          "</small></td>",
          i == j ? "37,99,235" : "220,38,38", 0.08 + 0.6 * share, count,
          row_total > 0 ? Percent(share) : "&ndash;");
    }
    absl::StrAppend(&html, "<td class=\"total\">", row_total, "</td></tr>\n");
  }
  return html + "</table>\n";
}

std::string PerClass(const Json& m) {
  const Json* per_class = Find(m, {"per_class"});
  if (per_class == nullptr || !per_class->is_object()) return "";
  std::string html =
      "<table id=\"per-class\" class=\"figures\">\n<tr><th>class</th>"
      "<th>recall</th><th></th><th>precision</th><th>F1</th><th>parts</th>"
      "</tr>\n";
  for (const std::string& label : Labels(m)) {
    const Json* c = Find(*per_class, {label.c_str()});
    if (c == nullptr) continue;
    const double recall = Number(*c, {"recall"}).value_or(0.0);
    absl::StrAppend(
        &html, "<tr><td>", Escape(label), "</td><td>", Percent(recall),
        "</td><td>", Bar(recall, "series-a"), "</td><td>",
        Percent(Number(*c, {"precision"}).value_or(0.0)), "</td><td>",
        Figure(Number(*c, {"f1"}).value_or(0.0)), "</td><td>",
        static_cast<int64_t>(Number(*c, {"support"}).value_or(0.0)),
        "</td></tr>\n");
  }
  return html + "</table>\n";
}

// --------------------------------------------------- efficiency sections

std::string EfficiencySummary(const Json& m) {
  std::vector<std::pair<std::string, std::string>> cards;
  if (auto v = Number(m, {"mae"}))
    cards.push_back({"mean absolute error", Figure(*v)});
  if (auto v = Number(m, {"rmse"}))
    cards.push_back({"root mean square error", Figure(*v)});
  if (auto v = Number(m, {"r2"})) cards.push_back({"R\xc2\xb2", Figure(*v)});
  if (auto v = Number(m, {"count"})) {
    cards.push_back({"rows evaluated", absl::StrCat(std::lround(*v))});
  }
  return Cards(cards);
}

std::string Baselines(const Json& m) {
  const auto mae = Number(m, {"mae"});
  const Json* baselines = Find(m, {"baselines"});
  if (!mae || baselines == nullptr || !baselines->is_object()) return "";
  std::vector<std::pair<std::string, double>> rows = {{"this model", *mae}};
  for (const auto& [name, figures] : baselines->items()) {
    if (auto v = Number(figures, {"mae"})) {
      rows.push_back({absl::StrCat("baseline: ", name), *v});
    }
  }
  double worst = 0;
  for (const auto& row : rows) worst = std::max(worst, row.second);
  std::string html =
      "<table id=\"baselines\" class=\"figures\">\n<tr><th>predictor</th>"
      "<th>MAE (same rows)</th><th></th></tr>\n";
  for (const auto& [name, value] : rows) {
    absl::StrAppend(&html, "<tr><td>", Escape(name), "</td><td>", Figure(value),
                    "</td><td>",
                    Bar(worst > 0 ? value / worst : 0.0,
                        name == "this model" ? "series-a" : "series-c"),
                    "</td></tr>\n");
  }
  return html + "</table>\n";
}

std::string Residuals(const Json& m) {
  const Json* truth = Find(m, {"predictions", "truth"});
  const Json* predicted = Find(m, {"predictions", "predicted"});
  if (truth == nullptr || predicted == nullptr || !truth->is_array() ||
      !predicted->is_array() || truth->size() != predicted->size() ||
      truth->empty()) {
    return "<p class=\"note\">This version's metrics.json has no per-row "
           "predictions, so there is no residual plot (it was trained "
           "before the trainer recorded them).</p>\n";
  }
  Series dots{"series-a", {}, true};
  double x_min = INFINITY, x_max = -INFINITY, worst = 0;
  for (size_t i = 0; i < truth->size(); ++i) {
    if (!(*truth)[i].is_number() || !(*predicted)[i].is_number()) continue;
    const double p = (*predicted)[i].get<double>();
    const double r = (*truth)[i].get<double>() - p;
    if (!std::isfinite(p) || !std::isfinite(r)) continue;
    dots.points.push_back({p, r});
    x_min = std::min(x_min, p);
    x_max = std::max(x_max, p);
    worst = std::max(worst, std::fabs(r));
  }
  if (dots.points.empty()) return "";
  if (x_max - x_min < 1e-9) {
    x_min -= 0.5;
    x_max += 0.5;
  }
  if (worst < 1e-9) worst = 1.0;
  const double pad = 0.03 * (x_max - x_min);
  Chart chart{
      "residual-plot",
      "Residuals: actual minus predicted, each row by the fold that held it "
      "out",
      {"predicted", x_min - pad, x_max + pad},
      {"actual \xe2\x88\x92 predicted", -worst * 1.05, worst * 1.05},
      {dots},
      {{{x_min - pad, 0.0}, {x_max + pad, 0.0}}},
      {},
      absl::StrFormat(
          "%d rows. Points above the dashed line: the line did better than "
          "predicted; below: worse. A band that widens or bends with the "
          "prediction is error the model has not learned.",
          dots.points.size())};
  return absl::StrCat("<div class=\"charts\">\n", DrawChart(chart), "</div>\n");
}

// ------------------------------------------------------ shared sections

std::string Split(const Json& m) {
  const Json* split = Find(m, {"split"});
  if (split == nullptr || !split->is_object()) return "";
  const std::string method = Text(*split, {"method"});
  const std::string figures = Text(*split, {"figures"});
  const std::string evaluated = absl::StrCat(
      Text(*split, {IsClassification(m) ? "validation_count" : "test_count"}),
      IsClassification(m) ? " images" : " rows");
  std::string how;
  if (figures == "out_of_fold") {
    how = absl::StrCat("every figure is out of fold: each ",
                       IsClassification(m) ? "image" : "row",
                       " was scored by the model of the fold that held it "
                       "out (",
                       Text(*split, {"folds"}), " folds)");
  } else if (figures == "first_fold") {
    how =
        "the figures are the first fold's, scored by a model that never "
        "saw it";
  } else {
    how = "the figures are on the held-out part, which training never saw";
  }
  return absl::StrCat(
      "<p>Split: <b>", Escape(method), "</b>",
      method == "grouped_by_tile"
          ? absl::StrCat(" (", Escape(Text(*split, {"tiles"})),
                         " tiles; every image of a tile on one side)")
          : "",
      "; ", how, ". ", Escape(evaluated), " evaluated, seed ",
      Escape(Text(*split, {"seed"})), ".</p>\n");
}

std::string CrossValidationTable(const Json& m) {
  const Json* folds = Find(m, {"cross_validation", "folds"});
  const Json* mean = Find(m, {"cross_validation", "mean"});
  const Json* spread = Find(m, {"cross_validation", "std"});
  if (folds == nullptr || !folds->is_array() || folds->empty() ||
      mean == nullptr || spread == nullptr || !(*folds)[0].is_object()) {
    return "<p class=\"note\">One split only: no cross-validation.</p>\n";
  }
  std::vector<std::string> keys;
  for (const auto& [key, value] : (*folds)[0].items()) {
    if (value.is_number()) keys.push_back(key);
  }
  std::string html =
      "<table id=\"folds\" class=\"figures\">\n<tr><th>fold</th>";
  // Long names (baseline_targeted_productivity_mae) may break after an
  // underscore, so that a table of many figures still fits the page.
  for (const std::string& key : keys) {
    absl::StrAppend(&html, "<th>",
                    absl::StrReplaceAll(Escape(key), {{"_", "_<wbr>"}}),
                    "</th>");
  }
  html += "</tr>\n";
  auto cell = [](const Json& row, const std::string& key) {
    auto v = Number(row, {key.c_str()});
    return v ? absl::StrFormat("%.4g", *v) : std::string("&ndash;");
  };
  for (size_t f = 0; f < folds->size(); ++f) {
    absl::StrAppend(&html, "<tr><td>", f + 1, "</td>");
    for (const std::string& key : keys) {
      absl::StrAppend(&html, "<td>", cell((*folds)[f], key), "</td>");
    }
    html += "</tr>\n";
  }
  html += "<tr class=\"total\"><td>mean &plusmn; std</td>";
  for (const std::string& key : keys) {
    absl::StrAppend(&html, "<td>", cell(*mean, key), "<br>&plusmn;&nbsp;",
                    cell(*spread, key), "</td>");
  }
  return html + "</tr>\n</table>\n";
}

// A figure compared across versions.
struct Compared {
  std::string name;
  std::vector<const char*> path;
  bool higher_is_better;
  bool percent;
};

// Whether two versions' figures were measured on the same data and the
// same items of it. The data is the same when both record the same content
// fingerprint; a version from before fingerprints is matched by its data's
// file name.
bool EvaluatedAlike(const Json& a, const Json& b) {
  const auto split = [](const Json& m) {
    return absl::StrCat(
        Text(m, {"split", "figures"}), "|", Text(m, {"split", "folds"}), "|",
        Text(m, {"split", "seed"}), "|", Text(m, {"split", "validation_count"}),
        "|", Text(m, {"split", "test_count"}));
  };
  const auto names = [](const Json& m) {
    const auto name = [](const std::string& path) {
      return std::filesystem::path(path).filename().string();
    };
    return absl::StrCat(name(Text(m, {"training", "data_dir"})), "|",
                        name(Text(m, {"training", "csv"})));
  };
  const std::string fa = Text(a, {"training", "data_fingerprint"});
  const std::string fb = Text(b, {"training", "data_fingerprint"});
  const bool same_data =
      !fa.empty() && !fb.empty() ? fa == fb : names(a) == names(b);
  return same_data && split(a) == split(b);
}

std::string Comparison(const ReportedVersion& current,
                       const ReportedVersion* previous) {
  std::string html;
  if (previous == nullptr) {
    html +=
        "<p class=\"note\">The first version of this model: nothing to "
        "compare with.</p>\n";
  } else {
    std::vector<Compared> figures;
    if (IsClassification(current.metrics)) {
      figures.push_back({"ROC AUC", {"defect_score", "roc_auc"}, true, false});
      figures.push_back({"average precision",
                         {"defect_score", "average_precision"},
                         true,
                         false});
      figures.push_back({"OK parts flagged at the target recall",
                         {"defect_score", "at_target", "false_alarm_rate"},
                         false,
                         true});
      figures.push_back(
          {"defects caught at the threshold", {"defect_recall"}, true, true});
      figures.push_back({"accuracy", {"accuracy"}, true, true});
      figures.push_back({"macro F1", {"macro_f1"}, true, false});
    } else {
      figures.push_back({"MAE", {"mae"}, false, false});
      figures.push_back({"RMSE", {"rmse"}, false, false});
      figures.push_back({"R\xc2\xb2", {"r2"}, true, false});
    }
    absl::StrAppend(&html,
                    "<table id=\"comparison\" class=\"figures\">\n<tr><th>"
                    "figure</th><th>version ",
                    current.version, " (this)</th><th>version ",
                    previous->version, "</th><th>change</th></tr>\n");
    for (const Compared& c : figures) {
      const auto now = Number(current.metrics, c.path);
      const auto before = Number(previous->metrics, c.path);
      if (!now && !before) continue;
      auto show = [&c](std::optional<double> v) {
        if (!v) return std::string("&ndash;");
        return c.percent ? Percent(*v) : Figure(*v);
      };
      std::string change = "&ndash;", css;
      if (now && before) {
        const double delta = *now - *before;
        change = c.percent ? absl::StrFormat("%+.1f points", 100 * delta)
                           : absl::StrFormat("%+.4f", delta);
        if (std::fabs(delta) > 1e-9) {
          css = (delta > 0) == c.higher_is_better ? "better" : "worse";
        }
      }
      absl::StrAppend(&html, "<tr><td>", Escape(c.name), "</td><td>", show(now),
                      "</td><td>", show(before), "</td><td class=\"", css,
                      "\">", change, "</td></tr>\n");
    }
    html += "</table>\n";
    if (!EvaluatedAlike(current.metrics, previous->metrics)) {
      html +=
          "<p class=\"note warn\">The two versions were evaluated on "
          "different data or splits: their figures are not like for like. "
          "The quality gate below compares them on the same items.</p>\n";
    }
  }
  const Json* gate = Find(current.metrics, {"quality_gate"});
  if (gate != nullptr && gate->is_object()) {
    const bool passed = Flag(*gate, {"passed"});
    const bool forced = Flag(*gate, {"forced"});
    const auto value = Number(*gate, {"value"});
    absl::StrAppend(
        &html, "<p id=\"quality-gate\" class=\"", passed ? "better" : "worse",
        "\">Quality gate on ", Escape(Text(*gate, {"figure"})), " ",
        value ? Figure(*value) : std::string("&ndash;"), ": ",
        passed ? "passed"
               : (forced ? "worse than a reference, published with --force"
                         : "failed"),
        ".</p>\n");
    const Json* references = Find(*gate, {"references"});
    if (references != nullptr && references->is_object() &&
        !references->empty()) {
      html +=
          "<table class=\"figures\">\n<tr><th>reference</th><th>value"
          "</th></tr>\n";
      for (const auto& [name, ref] : references->items()) {
        absl::StrAppend(&html, "<tr><td>", Escape(name), "</td><td>",
                        ref.is_number() ? Figure(ref.get<double>()) : "&ndash;",
                        "</td></tr>\n");
      }
      html += "</table>\n";
    }
  }
  return html;
}

std::string Training(const Json& m) {
  const Json* training = Find(m, {"training"});
  if (training == nullptr || !training->is_object()) return "";
  std::string html = "<table id=\"training\" class=\"settings\">\n";
  for (const auto& [key, value] : training->items()) {
    std::string shown;
    if (value.is_string()) {
      shown = value.get<std::string>();
    } else if (value.is_number_float()) {
      shown = absl::StrFormat("%.4g", value.get<double>());
    } else if (value.is_array()) {
      shown = absl::StrJoin(value, ", ", [](std::string* out, const Json& v) {
        absl::StrAppend(out, v.is_number_float()
                                 ? absl::StrFormat("%.4g", v.get<double>())
                                 : v.dump());
      });
    } else {
      shown = value.dump();
    }
    if (shown.size() > 160) shown = shown.substr(0, 157) + "...";
    absl::StrAppend(&html, "<tr><th>", Escape(key), "</th><td>", Escape(shown),
                    "</td></tr>\n");
  }
  return html + "</table>\n";
}

constexpr char kStyle[] = R"css(
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2937;
  margin:0;background:#f8fafc}
main{max-width:960px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px;
  border-bottom:1px solid #e5e7eb;padding-bottom:4px}
.sub{color:#6b7280;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:10px 14px;
  min-width:150px}
.card .value{font-size:22px;font-weight:600}.card .name{color:#6b7280;
  font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0}figcaption{font-weight:600;font-size:14px;margin:4px 0}
svg .frame{fill:#fff;stroke:#9ca3af}svg .grid{stroke:#eef0f3}
svg .tick{font-size:11px;fill:#4b5563}svg .axis{font-size:12px;fill:#374151}
svg .guide{stroke:#9ca3af;stroke-dasharray:4 4}
svg .series-a{stroke:#2563eb;fill:#2563eb}
svg .series-b{stroke:#7c3aed;fill:#7c3aed}
svg .line{fill:none;stroke-width:2}
svg .dot{stroke:none;fill-opacity:.45}
svg .marker{fill:#dc2626;stroke:#fff;stroke-width:2}
svg .marker-label{font-size:12px;fill:#dc2626;font-weight:600}
table{border-collapse:collapse;margin:6px 0;font-size:14px}
th,td{border:1px solid #e5e7eb;padding:4px 8px;text-align:right}
th:first-child,td:first-child{text-align:left}
.matrix td{text-align:center;min-width:70px}.matrix .corner{font-weight:400;
  color:#6b7280;font-size:12px}
.total{font-weight:600}
.settings th{text-align:left;font-weight:400;color:#6b7280}
.settings td{text-align:left;font-family:ui-monospace,monospace;font-size:12px}
.bar{display:inline-block;height:10px;border-radius:2px;vertical-align:middle}
.bar.series-a{background:#2563eb}.bar.series-c{background:#9ca3af}
.better{color:#15803d;font-weight:600}.worse{color:#b91c1c;font-weight:600}
.note{color:#4b5563;font-size:13px;max-width:860px}.warn{color:#b45309}
)css";

// Runs once the browser has laid the page out; the rendering test reads
// the outcome from <body data-layout>.
constexpr char kLayoutCheck[] = R"js(
addEventListener('load', function () {
  var problems = [];
  var charts = document.querySelectorAll('figure.chart svg');
  charts.forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    if (box.width < 100 || box.height < 100) {
      problems.push('chart ' + svg.parentNode.id + ' is ' + box.width + 'x' +
                    box.height);
    }
  });
  var page = document.querySelector('main').getBoundingClientRect();
  document.querySelectorAll('main table, main figure').forEach(function (e) {
    if (e.getBoundingClientRect().right > page.right + 1) {
      problems.push((e.id || e.tagName) + ' is wider than the page');
    }
  });
  document.body.dataset.layout = problems.length
      ? 'broken: ' + problems.join('; ')
      : 'ok: ' + charts.length + ' charts, ' +
        document.querySelectorAll('main table').length + ' tables';
});
)js";

}  // namespace

std::string RenderHtmlReport(const ReportedVersion& current,
                             const ReportedVersion* previous) {
  const Json& m = current.metrics;
  const bool classification = IsClassification(m);
  const std::string title =
      absl::StrCat(current.model, " \xe2\x80\x94 version ", current.version);
  std::string html = absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width\">\n<title>",
      Escape(title), " \xc2\xb7 lineserve evaluation</title>\n<style>", kStyle,
      "</style>\n</head>\n<body data-layout=\"not checked\">\n<main>\n", "<h1>",
      Escape(title), "</h1>\n<p class=\"sub\">",
      classification ? "Quality inspection (image classification)"
                     : absl::StrCat("Efficiency prediction (regression of ",
                                    Escape(Text(m, {"target"})), ")"),
      " &middot; trained in ",
      absl::StrFormat("%.3g", Number(m, {"training", "seconds"}).value_or(0.0)),
      " s &middot; lineserve evaluation report</p>\n");
  html += classification ? QualitySummary(m) : EfficiencySummary(m);
  html += Split(m);
  if (classification) {
    html += "<h2>Defect vs OK</h2>\n";
    html += QualityCurves(m);
    html += "<h2>Confusion matrix</h2>\n";
    html += ConfusionMatrix(m);
    html += "<h2>Per class</h2>\n";
    html += PerClass(m);
  } else {
    html += "<h2>Residuals</h2>\n";
    html += Residuals(m);
    html += "<h2>Against the baselines</h2>\n";
    html += Baselines(m);
  }
  html += "<h2>Cross-validation</h2>\n";
  html += CrossValidationTable(m);
  html += "<h2>Compared with the previous version</h2>\n";
  html += Comparison(current, previous);
  html += "<h2>Training</h2>\n";
  html += Training(m);
  absl::StrAppend(&html, "</main>\n<script>", kLayoutCheck,
                  "</script>\n</body></html>\n");
  return html;
}

std::string FiguresInWords(const Json& m, const std::string& indent) {
  std::string out;
  const Json* split = Find(m, {"split"});
  const std::string figures =
      split != nullptr ? Text(*split, {"figures"}) : std::string();
  const std::string on =
      figures == "out_of_fold"
          ? "out of fold (each item by a model that never saw it)"
      : figures == "first_fold"
          ? "on the first fold (items the model never saw)"
          : "on held-out items the model never saw";
  if (IsClassification(m)) {
    absl::StrAppend(&out, indent, "validated ", on, ": ",
                    Text(m, {"split", "validation_count"}), " images");
    if (auto tiles = Number(m, {"split", "tiles"})) {
      absl::StrAppend(&out, ", split by tile (", std::lround(*tiles),
                      " tiles in all)");
    }
    out += "\n";
    const auto auc = Number(m, {"defect_score", "roc_auc"});
    const auto threshold = Number(m, {"defect_threshold"});
    const auto recall = Number(m, {"defect_recall"});
    const auto precision = Number(m, {"defect_precision"});
    const auto two_class = Number(m, {"defect_vs_ok_accuracy"});
    if (auc && threshold && recall && two_class) {
      absl::StrAppendFormat(
          &out,
          "%sdefect vs OK: ROC AUC %.3f; at threshold %.4f it flags %s of "
          "the defects, %s of its flags are defects, %s of the verdicts are "
          "right\n",
          indent, *auc, *threshold, Percent(*recall),
          precision ? Percent(*precision) : std::string("-"),
          Percent(*two_class));
    }
    const auto accuracy = Number(m, {"accuracy"});
    const auto f1 = Number(m, {"macro_f1"});
    if (accuracy && f1) {
      absl::StrAppendFormat(&out,
                            "%sclass named right: %s (macro F1 %.3f); recall "
                            "by class:",
                            indent, Percent(*accuracy), *f1);
      for (const std::string& label : Labels(m)) {
        if (auto r = Number(m, {"per_class", label.c_str(), "recall"})) {
          absl::StrAppend(&out, " ", label, " ", Percent(*r));
        }
      }
      out += "\n";
    }
    return out;
  }
  const auto mae = Number(m, {"mae"});
  if (!mae) return out;
  absl::StrAppendFormat(&out, "%svalidated %s: %s rows\n", indent, on,
                        Text(m, {"count"}));
  absl::StrAppendFormat(&out, "%s%s: MAE %.4f, RMSE %.4f, R\xc2\xb2 %.3f\n",
                        indent, Text(m, {"target"}), *mae,
                        Number(m, {"rmse"}).value_or(0.0),
                        Number(m, {"r2"}).value_or(0.0));
  const Json* baselines = Find(m, {"baselines"});
  if (baselines != nullptr && baselines->is_object() && !baselines->empty()) {
    absl::StrAppend(&out, indent, "baselines on the same rows:");
    for (const auto& [name, b] : baselines->items()) {
      if (auto v = Number(b, {"mae"})) {
        absl::StrAppendFormat(&out, " %s MAE %.4f", name, *v);
      }
    }
    out += "\n";
  }
  return out;
}

absl::StatusOr<std::string> WriteHtmlReport(const std::string& model_dir,
                                            int64_t version) {
  const std::string model =
      std::filesystem::path(model_dir).filename().string();
  auto read = [&](int64_t v) -> absl::StatusOr<ReportedVersion> {
    absl::StatusOr<Json> metrics =
        ReadVersionMetrics(absl::StrCat(model_dir, "/", v));
    if (!metrics.ok()) return metrics.status();
    return ReportedVersion{model, v, std::move(*metrics)};
  };
  absl::StatusOr<ReportedVersion> current = read(version);
  if (!current.ok()) return current.status();
  // The newest earlier version with a readable metrics.json.
  std::optional<ReportedVersion> previous;
  const std::vector<int64_t> versions = ModelVersions(model_dir);
  for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
    if (*v >= version) continue;
    absl::StatusOr<ReportedVersion> candidate = read(*v);
    if (candidate.ok()) {
      previous = std::move(*candidate);
      break;
    }
  }
  const std::string path =
      absl::StrCat(model_dir, "/", version, "/", kHtmlReportFile);
  absl::Status written = WriteFileAtomically(
      path, RenderHtmlReport(*current, previous ? &*previous : nullptr));
  if (!written.ok()) return written;
  return path;
}

}  // namespace lineserve::train
