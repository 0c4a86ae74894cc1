#include "models/datagen/synthetic_production.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/base/file_util.h"

namespace lineserve::datagen {
namespace {

namespace fs = std::filesystem;
using ::testing::AnyOf;
using ::testing::Contains;
using ::testing::Eq;
using ::testing::HasSubstr;

// The real garment table's header, spelled out here on purpose: the
// generator's constant must not be the only witness.
constexpr char kGarmentHeader[] =
    "date,quarter,department,day,team,targeted_productivity,smv,wip,"
    "over_time,incentive,idle_time,idle_men,no_of_style_change,"
    "no_of_workers,actual_productivity";

enum Column {
  kDate,
  kQuarter,
  kDepartment,
  kDay,
  kTeam,
  kTarget,
  kSmv,
  kWip,
  kOverTime,
  kIncentive,
  kIdleTime,
  kIdleMen,
  kStyleChanges,
  kWorkers,
  kActual,
  kColumnCount
};

std::string Render(int rows, uint64_t seed) {
  absl::StatusOr<std::string> csv = RenderSyntheticProduction(rows, seed);
  if (!csv.ok()) {
    ADD_FAILURE() << csv.status();
    return "";
  }
  return *std::move(csv);
}

// Data rows split into cells (the generator never quotes).
std::vector<std::vector<std::string>> Rows(const std::string& csv) {
  std::vector<std::string> lines = absl::StrSplit(csv, '\n');
  EXPECT_EQ(lines.back(), "") << "the last line must end in LF";
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    rows.push_back(absl::StrSplit(lines[i], ','));
  }
  return rows;
}

double Number(const std::string& cell) {
  double value = 0.0;
  EXPECT_TRUE(absl::SimpleAtod(cell, &value)) << "'" << cell << "'";
  return value;
}

bool IsFinishing(const std::vector<std::string>& row) {
  return row[kDepartment] == "finishing" || row[kDepartment] == "finishing ";
}

TEST(SyntheticProductionTest, HeaderIsTheGarmentTablesHeader) {
  EXPECT_EQ(std::string(kSyntheticProductionHeader), kGarmentHeader);
  const std::string csv = Render(5, 1);
  EXPECT_EQ(csv.substr(0, csv.find('\n')), kGarmentHeader);
}

TEST(SyntheticProductionTest, SameSeedGivesIdenticalBytes) {
  EXPECT_EQ(Render(400, 3), Render(400, 3));
  EXPECT_NE(Render(400, 3), Render(400, 4));
}

TEST(SyntheticProductionTest, WritesTheRequestedNumberOfRows) {
  for (int rows : {1, 7, 600}) {
    const auto table = Rows(Render(rows, 1));
    ASSERT_EQ(table.size(), static_cast<size_t>(rows));
    for (const auto& row : table) ASSERT_EQ(row.size(), size_t{kColumnCount});
  }
}

TEST(SyntheticProductionTest, WipIsEmptyExactlyOnFinishingRows) {
  int finishing = 0, sewing = 0;
  for (const auto& row : Rows(Render(600, 5))) {
    ASSERT_THAT(row[kDepartment],
                AnyOf(Eq("sweing"), Eq("finishing"), Eq("finishing ")));
    if (IsFinishing(row)) {
      EXPECT_EQ(row[kWip], "");
      ++finishing;
    } else {
      EXPECT_NE(row[kWip], "");
      EXPECT_GE(Number(row[kWip]), 1.0);
      ++sewing;
    }
  }
  EXPECT_GT(finishing, 100);
  EXPECT_GT(sewing, 250);
}

TEST(SyntheticProductionTest, UsesBothSpellingsOfFinishing) {
  std::set<std::string> departments;
  for (const auto& row : Rows(Render(600, 2)))
    departments.insert(row[kDepartment]);
  EXPECT_EQ(departments,
            (std::set<std::string>{"sweing", "finishing", "finishing "}));
}

TEST(SyntheticProductionTest, ValuesAreInTheRealTablesRanges) {
  for (const auto& row : Rows(Render(1000, 11))) {
    const std::string line = absl::StrJoin(row, ",");
    std::vector<std::string> date = absl::StrSplit(row[kDate], '/');
    ASSERT_EQ(date.size(), 3u) << line;
    const int month = std::atoi(date[0].c_str());
    const int day = std::atoi(date[1].c_str());
    EXPECT_TRUE(month >= 1 && month <= 12) << line;
    EXPECT_TRUE(day >= 1 && day <= 31) << line;
    EXPECT_EQ(date[2], "2015") << line;
    EXPECT_EQ(row[kQuarter], absl::StrCat("Quarter", (day - 1) / 7 + 1))
        << line;
    EXPECT_THAT(row[kDay],
                AnyOf(Eq("Saturday"), Eq("Sunday"), Eq("Monday"), Eq("Tuesday"),
                      Eq("Wednesday"), Eq("Thursday")))
        << line;
    const double team = Number(row[kTeam]);
    EXPECT_TRUE(team >= 1 && team <= 12 && team == std::floor(team)) << line;
    const double target = Number(row[kTarget]);
    EXPECT_TRUE(target >= 0.07 && target <= 0.8) << line;
    const double smv = Number(row[kSmv]);
    EXPECT_TRUE(IsFinishing(row) ? smv >= 2.9 && smv <= 5.2
                                 : smv >= 10.0 && smv <= 55.0)
        << line;
    const double workers = Number(row[kWorkers]);
    EXPECT_TRUE(workers >= 2 && workers <= 89) << line;
    EXPECT_EQ(workers * 2, std::floor(workers * 2)) << line;  // .5 at most
    const double over_time = Number(row[kOverTime]);
    EXPECT_TRUE(over_time >= 0 && over_time <= 26000) << line;
    const double incentive = Number(row[kIncentive]);
    EXPECT_TRUE(incentive >= 0 && incentive <= 3600) << line;
    const double idle_time = Number(row[kIdleTime]);
    const double idle_men = Number(row[kIdleMen]);
    EXPECT_TRUE(idle_time >= 0 && idle_time <= 300) << line;
    EXPECT_TRUE(idle_men >= 0 && idle_men <= 45) << line;
    EXPECT_EQ(idle_time == 0, idle_men == 0) << line;
    const double changes = Number(row[kStyleChanges]);
    EXPECT_TRUE(changes == 0 || changes == 1 || changes == 2) << line;
    const double actual = Number(row[kActual]);
    EXPECT_TRUE(actual >= 0.23 && actual <= 1.12) << line;
    if (IsFinishing(row)) {
      EXPECT_EQ(changes, 0) << line;
      EXPECT_EQ(idle_men, 0) << line;
    }
  }
}

TEST(SyntheticProductionTest, DatesRunForwardWithTheirWeekdays) {
  // 1 January 2015 was a Thursday; the plant does not work on Fridays.
  const std::map<std::string, std::string> known = {
      {"1/1/2015", "Thursday"},  {"1/3/2015", "Saturday"},
      {"1/4/2015", "Sunday"},    {"1/5/2015", "Monday"},
      {"1/31/2015", "Saturday"}, {"2/1/2015", "Sunday"}};
  const auto table = Rows(Render(1000, 1));
  EXPECT_EQ(table.front()[kDate], "1/1/2015");
  std::set<std::string> dates;
  for (const auto& row : table) {
    dates.insert(row[kDate]);
    auto it = known.find(row[kDate]);
    if (it != known.end()) {
      EXPECT_EQ(row[kDay], it->second) << row[kDate];
    }
  }
  EXPECT_EQ(dates.count("1/2/2015"), 0u) << "a Friday";
  EXPECT_THAT(dates, Contains("2/1/2015"));
}

TEST(SyntheticProductionTest, NumbersHaveNoTrailingZeros) {
  for (const auto& row : Rows(Render(300, 9))) {
    for (int column : {kTarget, kSmv, kIdleTime, kWorkers, kActual}) {
      const std::string& cell = row[column];
      if (cell.find('.') != std::string::npos) {
        EXPECT_NE(cell.back(), '0') << cell;
      }
    }
  }
}

TEST(SyntheticProductionTest, ProductivityFollowsTheFeatures) {
  // The documented effects must show in the data, or a model has nothing
  // to learn: residual actual - target by incentive and style change, and
  // the overall link to the target.
  double high_incentive = 0, no_incentive = 0, changed = 0, unchanged = 0;
  int n_high = 0, n_none = 0, n_changed = 0, n_unchanged = 0;
  double sum_t = 0, sum_a = 0, sum_tt = 0, sum_aa = 0, sum_ta = 0;
  int n = 0;
  for (const auto& row : Rows(Render(5000, 21))) {
    const double target = Number(row[kTarget]);
    const double actual = Number(row[kActual]);
    sum_t += target;
    sum_a += actual;
    sum_tt += target * target;
    sum_aa += actual * actual;
    sum_ta += target * actual;
    ++n;
    if (IsFinishing(row)) continue;
    const double residual = actual - target;
    const double incentive = Number(row[kIncentive]);
    if (incentive >= 70) {
      high_incentive += residual;
      ++n_high;
    } else if (incentive == 0) {
      no_incentive += residual;
      ++n_none;
    }
    if (Number(row[kStyleChanges]) > 0) {
      changed += residual;
      ++n_changed;
    } else {
      unchanged += residual;
      ++n_unchanged;
    }
  }
  ASSERT_GT(n_high, 50);
  ASSERT_GT(n_none, 50);
  ASSERT_GT(n_changed, 50);
  EXPECT_GT(high_incentive / n_high, no_incentive / n_none + 0.05);
  EXPECT_LT(changed / n_changed, unchanged / n_unchanged - 0.03);
  const double covariance = sum_ta / n - (sum_t / n) * (sum_a / n);
  const double correlation =
      covariance / std::sqrt((sum_tt / n - (sum_t / n) * (sum_t / n)) *
                             (sum_aa / n - (sum_a / n) * (sum_a / n)));
  EXPECT_GT(correlation, 0.4);
  // Noisy, not a function of the target alone.
  EXPECT_LT(correlation, 0.95);
}

TEST(SyntheticProductionTest, GenerateWritesTheRenderedTable) {
  const fs::path dir = fs::path(::testing::TempDir()) /
                       absl::StrCat("synthetic_production_", getpid()) /
                       "nested";
  SyntheticProductionOptions options;
  options.output_path = (dir / "production.csv").string();
  options.rows = 50;
  options.seed = 4;
  ASSERT_TRUE(GenerateSyntheticProduction(options).ok());
  absl::StatusOr<std::string> written = ReadFile(options.output_path);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, Render(50, 4));
  fs::remove_all(dir.parent_path());
}

TEST(SyntheticProductionTest, RejectsBadOptions) {
  EXPECT_EQ(RenderSyntheticProduction(0, 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  SyntheticProductionOptions options;
  EXPECT_EQ(GenerateSyntheticProduction(options).code(),
            absl::StatusCode::kInvalidArgument);
  options.output_path = (fs::path(::testing::TempDir()) / "x.csv").string();
  options.rows = -3;
  EXPECT_EQ(GenerateSyntheticProduction(options).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SyntheticProductionTest, ReportsThePathItCannotWrite) {
  const fs::path blocker = fs::path(::testing::TempDir()) /
                           absl::StrCat("synthetic_production_file_", getpid());
  ASSERT_TRUE(WriteFileAtomically(blocker.string(), "x").ok());
  SyntheticProductionOptions options;
  options.output_path = (blocker / "production.csv").string();
  const absl::Status status = GenerateSyntheticProduction(options);
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr(blocker.string()));
  fs::remove(blocker);
}

}  // namespace
}  // namespace lineserve::datagen
