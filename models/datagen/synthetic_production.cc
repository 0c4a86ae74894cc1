#include "models/datagen/synthetic_production.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/base/file_util.h"
#include "models/base/status_macros.h"
#include "models/datagen/deterministic_random.h"

namespace lineserve::datagen {

const char kSyntheticProductionHeader[] =
    "date,quarter,department,day,team,targeted_productivity,smv,wip,"
    "over_time,incentive,idle_time,idle_men,no_of_style_change,"
    "no_of_workers,actual_productivity";

namespace {

constexpr int kTeams = 12;

// Share of the rows, from the top, whose finishing rows are spelled with the
// trailing space; the source switched spelling part-way through, too.
constexpr double kTrailingSpaceShare = 0.45;

struct Choice {
  double value;
  double weight;
};

double PickWeighted(DeterministicRandom& rng,
                    const std::vector<Choice>& choices) {
  double total = 0.0;
  for (const Choice& c : choices) total += c.weight;
  double u = rng.Uniform(0.0, total);
  for (const Choice& c : choices) {
    if (u < c.weight) return c.value;
    u -= c.weight;
  }
  return choices.back().value;
}

template <typename T>
const T& PickUniform(DeterministicRandom& rng, const std::vector<T>& values) {
  return values[static_cast<size_t>(
      rng.UniformInt(0, static_cast<int64_t>(values.size()) - 1))];
}

double RoundTo(double value, double step) {
  // Values here are positive: adding a half and truncating rounds to nearest.
  return static_cast<double>(static_cast<int64_t>(value / step + 0.5)) * step;
}

// Fixed-point with at most `decimals` digits and no trailing zeros, the way
// the real table writes numbers ("0.8", "30.1", "56.5", "960").
std::string FormatNumber(double value, int decimals) {
  std::string text = absl::StrFormat("%.*f", decimals, value);
  if (text.find('.') != std::string::npos) {
    while (text.back() == '0') text.pop_back();
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

// A calendar day. Only the Gregorian arithmetic the table needs.
struct Date {
  int year = 2015;
  int month = 1;    // 1..12
  int day = 1;      // 1..31
  int weekday = 3;  // 0 = Monday; 1 January 2015 was a Thursday

  static int DaysInMonth(int year, int month) {
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                    31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : kDays[month - 1];
  }

  void Advance() {
    weekday = (weekday + 1) % 7;
    if (++day > DaysInMonth(year, month)) {
      day = 1;
      if (++month > 12) {
        month = 1;
        ++year;
      }
    }
  }

  std::string Text() const { return absl::StrCat(month, "/", day, "/", year); }
  // The source's "quarter" is the week of the month; days 29..31 are the
  // fifth.
  std::string Quarter() const {
    return absl::StrCat("Quarter", (day - 1) / 7 + 1);
  }
  const char* DayName() const {
    static constexpr const char* kNames[] = {"Monday",   "Tuesday", "Wednesday",
                                             "Thursday", "Friday",  "Saturday",
                                             "Sunday"};
    return kNames[weekday];
  }
  bool IsWorkingDay() const { return weekday != 4; }  // the plant rests Friday
};

// What a team keeps from day to day.
struct Team {
  double skill = 0.0;         // added to productivity
  double base_workers = 0.0;  // sewing team size
  double smv = 0.0;           // the style currently on the line (sewing)
  bool small = false;         // the two small sewing lines
};

const std::vector<double>& LargeLineStyles() {
  static const auto* const kStyles = new std::vector<double>{
      18.79, 19.87, 20.4,  20.79, 21.82, 22.52, 22.52, 22.94, 23.69,
      24.26, 25.9,  26.16, 26.82, 27.48, 28.08, 29.12, 29.4,  30.1,
      30.1,  30.33, 31.83, 35.61, 42.27, 48.18, 50.89, 54.56};
  return *kStyles;
}

const std::vector<double>& SmallLineStyles() {
  static const auto* const kStyles = new std::vector<double>{
      10.05, 11.41, 11.61, 11.61, 12.52, 14.89, 15.09, 15.26, 15.26, 18.79};
  return *kStyles;
}

const std::vector<double>& FinishingStyles() {
  static const auto* const kStyles = new std::vector<double>{
      2.9, 2.9, 3.9, 3.94, 3.94, 3.94, 3.94, 4.08, 4.15, 4.15, 4.3, 4.6, 5.13};
  return *kStyles;
}

double PickTarget(DeterministicRandom& rng, bool after_style_change) {
  // Planners lower the target while a line learns a new style.
  if (after_style_change) {
    return PickWeighted(rng, {{0.8, 0.15},
                              {0.75, 0.15},
                              {0.7, 0.35},
                              {0.65, 0.12},
                              {0.6, 0.1},
                              {0.5, 0.09},
                              {0.35, 0.04}});
  }
  return PickWeighted(rng, {{0.8, 0.46},
                            {0.75, 0.18},
                            {0.7, 0.18},
                            {0.65, 0.06},
                            {0.6, 0.05},
                            {0.5, 0.04},
                            {0.4, 0.01},
                            {0.35, 0.02}});
}

// Overtime minutes per worker, as scheduled (mostly two or three hours).
double PickOvertimePerWorker(DeterministicRandom& rng) {
  return PickWeighted(rng, {{0, 0.03},
                            {60, 0.02},
                            {120, 0.47},
                            {180, 0.25},
                            {240, 0.05},
                            {300, 0.03},
                            {420, 0.04},
                            {600, 0.02}});
}

// One row's cells before formatting.
struct Row {
  std::string department;
  int team = 0;
  double target = 0.0;
  double smv = 0.0;
  double wip = -1.0;  // < 0: empty (finishing)
  double over_time = 0.0;
  double incentive = 0.0;
  double idle_time = 0.0;
  double idle_men = 0.0;
  int style_changes = 0;
  double workers = 0.0;
  double actual = 0.0;
};

class TableGenerator {
 public:
  explicit TableGenerator(uint64_t seed) : rng_(seed) {
    for (int t = 0; t < kTeams; ++t) {
      Team& sewing = sewing_[t];
      sewing.small = t == 5 || t == 11;  // teams 6 and 12, as in the source
      sewing.skill = rng_.Normal(0.0, 0.035);
      sewing.base_workers = RoundTo(
          sewing.small ? rng_.Uniform(31.0, 35.0) : rng_.Uniform(54.0, 60.0),
          0.5);
      sewing.smv = PickStyle(sewing);
      finishing_[t].skill = rng_.Normal(0.0, 0.04);
    }
  }

  Row SewingRow(int team_number, const Date& date) {
    Team& team = sewing_[team_number - 1];
    Row row;
    row.department = "sweing";  // sic: the source's spelling
    row.team = team_number;
    const double u = rng_.Uniform();
    row.style_changes = u < 0.8 ? 0 : (u < 0.95 ? 1 : 2);
    if (row.style_changes > 0) team.smv = PickStyle(team);
    row.smv = team.smv;
    row.target = PickTarget(rng_, row.style_changes > 0);
    row.workers = std::clamp(
        RoundTo(team.base_workers + rng_.Normal(0.0, 1.2), 0.5), 20.0, 89.0);
    row.over_time = OverTime(row.workers);
    // Incentives are paid in the source's usual amounts (BDT).
    row.incentive =
        rng_.Bernoulli(0.12)
            ? 0.0
            : PickUniform(rng_, std::vector<double>{
                                    23, 23, 26, 30, 30, 34,  38,  38,  40, 45,
                                    45, 50, 50, 50, 53, 55,  56,  60,  63, 63,
                                    69, 75, 81, 88, 94, 100, 113, 119, 138});
    if (rng_.Bernoulli(0.025)) {
      row.idle_time = PickUniform(
          rng_, std::vector<double>{2, 3.5, 4, 4.5, 5, 6.5, 8, 90, 150, 270});
      row.idle_men = PickUniform(
          rng_, std::vector<double>{10, 15, 20, 25, 30, 35, 40, 45});
    }
    // Pieces waiting per worker: usually a buffer of a day or so, sometimes
    // a pile-up, sometimes almost nothing.
    double wip_per_worker = std::max(0.3, rng_.Normal(20.0, 9.0));
    if (rng_.Bernoulli(0.03)) wip_per_worker = rng_.Uniform(80.0, 400.0);
    row.wip = std::max(7.0, RoundTo(wip_per_worker * row.workers, 1.0));

    double effect = team.skill;
    effect += 0.0015 * (std::min(row.incentive, 120.0) - 40.0);
    effect -= 0.0025 * (row.smv - 22.0);
    if (wip_per_worker < 6.0) effect -= 0.04;
    effect -= 0.01;  // sewing lines run closer to their limit
    row.actual = Productivity(row, effect, 0.045, date);
    return row;
  }

  Row FinishingRow(int team_number, const Date& date, bool trailing_space) {
    const Team& team = finishing_[team_number - 1];
    Row row;
    row.department = trailing_space ? "finishing " : "finishing";
    row.team = team_number;
    row.smv = PickUniform(rng_, FinishingStyles());
    row.target = PickTarget(rng_, false);
    row.workers = PickWeighted(rng_, {{2, 0.01},
                                      {5, 0.02},
                                      {8, 0.45},
                                      {9, 0.07},
                                      {10, 0.11},
                                      {12, 0.06},
                                      {15, 0.07},
                                      {18, 0.04},
                                      {20, 0.04},
                                      {25, 0.02}});
    row.over_time = OverTime(row.workers);
    // The source pays finishing bonuses rarely and only in its later part.
    if (!trailing_space && rng_.Bernoulli(0.04)) {
      row.incentive = PickUniform(
          rng_, std::vector<double>{960, 1080, 1200, 1440, 2880, 3600});
    }
    double effect = team.skill + 0.03;
    if (row.incentive > 0.0) effect += 0.06;
    row.actual = Productivity(row, effect, 0.07, date);
    return row;
  }

  DeterministicRandom& rng() { return rng_; }

 private:
  double PickStyle(const Team& team) {
    return PickUniform(rng_,
                       team.small ? SmallLineStyles() : LargeLineStyles());
  }

  double OverTime(double workers) {
    double minutes = PickOvertimePerWorker(rng_) * workers;
    // Recorded overtime is not always the schedule.
    if (rng_.Bernoulli(0.15)) minutes *= rng_.Uniform(0.85, 1.1);
    // The real table's ceiling: a big line is not kept 10 hours longer.
    minutes = std::min(minutes, 25920.0);
    return RoundTo(minutes, minutes > 1000 ? 10.0 : 1.0);
  }

  // The effects every row shares, then noise and clipping.
  double Productivity(const Row& row, double effect, double noise_stddev,
                      const Date& date) {
    // Lines meet their target more often than not, as in the source.
    double actual = row.target + 0.03 + effect;
    actual -= 0.06 * row.style_changes;
    actual -= 0.6 * row.idle_men / row.workers + 0.0005 * row.idle_time;
    const double overtime_hours_per_worker = row.over_time / row.workers / 60;
    actual -= 0.03 * std::max(0.0, overtime_hours_per_worker - 3.0);
    if (date.weekday == 5) actual -= 0.015;  // first day of the working week
    actual += rng_.Normal(0.0, noise_stddev);
    if (rng_.Bernoulli(0.07)) actual -= rng_.Uniform(0.1, 0.3);  // bad day
    return std::clamp(actual, 0.23, 1.12);
  }

  DeterministicRandom rng_;
  Team sewing_[kTeams];
  Team finishing_[kTeams];
};

std::string FormatRow(const Date& date, const Row& row) {
  return absl::StrJoin(
      {date.Text(), date.Quarter(), row.department, std::string(date.DayName()),
       absl::StrCat(row.team), FormatNumber(row.target, 2),
       FormatNumber(row.smv, 2),
       row.wip < 0 ? std::string() : FormatNumber(row.wip, 0),
       FormatNumber(row.over_time, 0), FormatNumber(row.incentive, 0),
       FormatNumber(row.idle_time, 1), FormatNumber(row.idle_men, 0),
       absl::StrCat(row.style_changes), FormatNumber(row.workers, 1),
       FormatNumber(row.actual, 9)},
      ",");
}

}  // namespace

absl::StatusOr<std::string> RenderSyntheticProduction(int rows, uint64_t seed) {
  if (rows < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("rows must be >= 1, got ", rows));
  }
  TableGenerator generator(seed);
  DeterministicRandom& rng = generator.rng();
  std::string csv = absl::StrCat(kSyntheticProductionHeader, "\n");
  int written = 0;
  bool trailing_space = true;
  for (Date date; written < rows; date.Advance()) {
    if (!date.IsWorkingDay()) continue;
    // The spelling changes between days, never within one.
    if (written >= kTrailingSpaceShare * rows) trailing_space = false;
    // Not every team reports every day.
    std::vector<Row> day;
    for (int team = 1; team <= kTeams; ++team) {
      if (rng.Bernoulli(0.8)) day.push_back(generator.SewingRow(team, date));
      if (rng.Bernoulli(0.55)) {
        day.push_back(generator.FinishingRow(team, date, trailing_space));
      }
    }
    // The source lists a day's rows in no particular order. Fisher-Yates
    // by hand: std::shuffle's algorithm is implementation-defined.
    for (size_t i = day.size(); i > 1; --i) {
      const size_t j =
          static_cast<size_t>(rng.UniformInt(0, static_cast<int64_t>(i) - 1));
      std::swap(day[i - 1], day[j]);
    }
    for (const Row& row : day) {
      if (written == rows) break;
      absl::StrAppend(&csv, FormatRow(date, row), "\n");
      ++written;
    }
  }
  return csv;
}

absl::Status GenerateSyntheticProduction(
    const SyntheticProductionOptions& options) {
  if (options.output_path.empty()) {
    return absl::InvalidArgumentError("output_path is empty");
  }
  ASSIGN_OR_RETURN(const std::string csv,
                   RenderSyntheticProduction(options.rows, options.seed));
  const std::filesystem::path parent =
      std::filesystem::path(options.output_path).parent_path();
  if (!parent.empty()) {
    std::error_code error;
    std::filesystem::create_directories(parent, error);
    if (error) {
      return absl::ErrnoToStatus(
          error.value(),
          absl::StrCat("cannot create folder ", parent.string()));
    }
  }
  return AnnotateStatus(WriteFileAtomically(options.output_path, csv),
                        absl::StrCat("cannot write ", options.output_path));
}

}  // namespace lineserve::datagen
