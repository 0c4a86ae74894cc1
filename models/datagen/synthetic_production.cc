#include "models/datagen/synthetic_production.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/datagen/random.h"
#include "server/common/file_util.h"

namespace lineserve::datagen {

const char kProductionHeader[] =
    "date,quarter,department,day,team,targeted_productivity,smv,wip,"
    "over_time,incentive,idle_time,idle_men,no_of_style_change,"
    "no_of_workers,actual_productivity";

namespace {

constexpr int kTeams = 12;
constexpr const char* kDays[] = {"Saturday", "Sunday",    "Monday",
                                 "Tuesday",  "Wednesday", "Thursday"};
constexpr int kDaysInMonth[] = {31, 28, 31};

}  // namespace

std::string RenderProductionTable(int rows, uint64_t seed) {
  Random rng(seed);
  // Each team has its own lasting skill; a production line's planners know
  // it only roughly, which is what makes the target worth predicting.
  std::vector<double> team_skill(kTeams);
  for (double& skill : team_skill) skill = rng.Normal(0, 0.04);

  std::string csv = absl::StrCat(kProductionHeader, "\n");
  int month = 0, day_of_month = 1, weekday = 5;  // 1 Jan 2015: a Thursday
  int row = 0;
  while (row < rows) {
    // A working day (no Fridays, as in the plant the real table is from)
    // has rows for a random subset of the sewing and finishing teams.
    for (int team = 1; team <= kTeams && row < rows; ++team) {
      for (int finishing = 0; finishing <= 1 && row < rows; ++finishing) {
        if (!rng.Chance(0.55)) continue;
        const int quarter = std::min(5, (day_of_month - 1) / 7 + 1);
        const double targets[] = {0.8, 0.8,  0.8, 0.75, 0.7,
                                  0.7, 0.65, 0.6, 0.5,  0.35};
        const double planned = targets[rng.Int(0, 9)];
        const int style_changes =
            finishing ? 0 : (rng.Chance(0.8) ? 0 : rng.Int(1, 2));
        const bool idle = rng.Chance(0.04);
        const double idle_time = idle ? std::round(rng.Uniform(2, 90)) : 0;
        const int idle_men = idle ? rng.Int(10, 45) : 0;
        double workers, smv, over_time, incentive;
        std::string wip;
        if (finishing) {
          workers = rng.Int(8, 20);
          smv = rng.Uniform(2.9, 5.2);
          over_time = 60 * rng.Int(15, 100);
          incentive = 0;
        } else {
          workers = 0.5 * rng.Int(50, 120);
          smv = rng.Uniform(10, 55);
          over_time = 60 * rng.Int(50, 170);
          incentive = rng.Chance(0.3) ? 0 : std::round(rng.Uniform(20, 120));
          wip = absl::StrCat(
              static_cast<int>(std::exp(rng.Normal(std::log(1000.0), 0.35))));
        }
        double actual = planned + team_skill[team - 1] + 0.0012 * incentive -
                        0.05 * style_changes - 0.003 * idle_time -
                        (finishing ? 0.0 : 0.03) +
                        0.0004 * (over_time / 60 - 80) + rng.Normal(0, 0.05);
        actual = std::clamp(actual, 0.23, 1.1);
        const std::string department =
            finishing ? (rng.Chance(0.4) ? "finishing " : "finishing")
                      : "sweing";
        absl::StrAppendFormat(
            &csv,
            "%d/%d/"
            "2015,Quarter%d,%s,%s,%d,%.2f,%.2f,%s,%d,%d,%g,%d,%d,%g,%.9f\n",
            month + 1, day_of_month, quarter, department, kDays[weekday], team,
            planned, smv, wip, static_cast<int>(over_time),
            static_cast<int>(incentive), idle_time, idle_men, style_changes,
            workers, actual);
        ++row;
      }
    }
    // Next working day.
    do {
      weekday = (weekday + 1) % 7;
      if (++day_of_month > kDaysInMonth[month % 3]) {
        day_of_month = 1;
        ++month;
      }
    } while (weekday == 6);  // index 6 is Friday in this week order
  }
  return csv;
}

absl::Status GenerateSyntheticProduction(
    const SyntheticProductionOptions& options) {
  if (options.rows < 1) return absl::InvalidArgumentError("rows must be >= 1");
  return WriteFileAtomically(options.output_path,
                             RenderProductionTable(options.rows, options.seed));
}

}  // namespace lineserve::datagen
