#include "models/data/csv_table.h"

#include <string>
#include <variant>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace lineserve::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CsvTableTest, ParsesQuotesBlanksAndLineEnds) {
  auto table =
      ParseCsv("a, b ,c\r\n1,\"x, \"\"y\"\"\",\n2,\"multi\nline\",3.5\n\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->columns, ElementsAre("a", "b", "c"));
  ASSERT_EQ(table->rows.size(), 2u);
  EXPECT_THAT(table->rows[0], ElementsAre("1", "x, \"y\"", ""));
  EXPECT_THAT(table->rows[1], ElementsAre("2", "multi\nline", "3.5"));
  EXPECT_EQ(table->ColumnIndex("c"), 2u);
  EXPECT_EQ(table->ColumnIndex("d"), std::nullopt);
}

TEST(CsvTableTest, NumericColumnsAllowBlanks) {
  auto table = ParseCsv("n,t,e\n1,a,\n,b,\n2.5e1,3,\n");
  ASSERT_TRUE(table.ok());
  EXPECT_TRUE(table->ColumnIsNumeric(0));
  EXPECT_FALSE(table->ColumnIsNumeric(1));
  EXPECT_FALSE(table->ColumnIsNumeric(2));  // no value at all
}

TEST(CsvTableTest, ParseNumberRejectsTextAndNonFinite) {
  EXPECT_EQ(ParseNumber(" 0.25 "), 0.25);
  EXPECT_EQ(ParseNumber(""), std::nullopt);
  EXPECT_EQ(ParseNumber("abc"), std::nullopt);
  EXPECT_EQ(ParseNumber("nan"), std::nullopt);
  EXPECT_EQ(ParseNumber("inf"), std::nullopt);
}

TEST(CsvTableTest, RaggedRowNamesItsLine) {
  auto table = ParseCsv("a,b\n1,2\n3\n");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("line 3"));
}

TEST(CsvTableTest, UnterminatedQuoteIsAnError) {
  auto table = ParseCsv("a,b\n1,\"open\n");
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("unterminated"));
}

TEST(CsvTableTest, EmptyInputHasNoHeader) { EXPECT_FALSE(ParseCsv("").ok()); }

TEST(CsvTableTest, ExcelByteOrderMarkIsDropped) {
  auto table = ParseCsv("\xEF\xBB\xBFquarter,team\nQuarter1,3\n");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_THAT(table->columns, ElementsAre("quarter", "team"));
  EXPECT_EQ(table->ColumnIndex("quarter"), 0u);
}

TEST(CsvTableTest, DelimiterIsFoundFromTheHeader) {
  // A semicolon export with decimal commas: the commas stay in the cells.
  auto semicolons = ParseCsv("a;b;\"c;d\"\n0,5;x;\"1;2\"\n");
  ASSERT_TRUE(semicolons.ok()) << semicolons.status();
  EXPECT_EQ(semicolons->delimiter, ';');
  EXPECT_THAT(semicolons->columns, ElementsAre("a", "b", "c;d"));
  EXPECT_THAT(semicolons->rows[0], ElementsAre("0,5", "x", "1;2"));

  auto tabs = ParseCsv("a\tb\n1\t2\n");
  ASSERT_TRUE(tabs.ok());
  EXPECT_EQ(tabs->delimiter, '\t');
  EXPECT_THAT(tabs->rows[0], ElementsAre("1", "2"));

  // Quoted delimiters in the header do not count; one column is a comma.
  auto quoted = ParseCsv("\"a;b;c\",d\n1,2\n");
  ASSERT_TRUE(quoted.ok());
  EXPECT_EQ(quoted->delimiter, ',');
  auto single = ParseCsv("only\n1\n");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->delimiter, ',');
}

TEST(CsvTableTest, GivenDelimiterWins) {
  auto table = ParseCsv("a,b;c\n1,2;3\n", {';'});
  ASSERT_TRUE(table.ok());
  EXPECT_THAT(table->columns, ElementsAre("a,b", "c"));
  EXPECT_EQ(ParseDelimiter(";").value(), ';');
  EXPECT_EQ(ParseDelimiter("tab").value(), '\t');
  EXPECT_EQ(ParseDelimiter("\t").value(), '\t');
  EXPECT_EQ(ParseDelimiter("|").status().message(),
            "delimiter \"|\" is not one of \",\", \";\", \"tab\"");
}

TEST(CsvTableTest, RowsRememberTheirFileLines) {
  auto table = ParseCsv("a,b\n1,\"two\nlines\"\n\n3,4\n");
  ASSERT_TRUE(table.ok());
  EXPECT_THAT(table->lines, ElementsAre(2, 5));
}

TEST(CsvTableTest, FeatureRowTakesTheDeclaredFeaturesByColumnName) {
  auto table = ParseCsv("team,extra,smv,shift\n3, ignored ,,Night\n");
  ASSERT_TRUE(table.ok()) << table.status();
  lineserve::v1::TabularPreprocessing tabular;
  auto* team = tabular.add_features();
  team->set_name("team");
  team->set_kind(lineserve::v1::Feature::KIND_NUMERIC);
  auto* smv = tabular.add_features();  // blank: left out
  smv->set_name("smv");
  smv->set_kind(lineserve::v1::Feature::KIND_NUMERIC);
  auto* shift = tabular.add_features();
  shift->set_name("shift");
  shift->set_kind(lineserve::v1::Feature::KIND_CATEGORICAL);
  auto* day = tabular.add_features();  // no column: left out
  day->set_name("day");
  day->set_kind(lineserve::v1::Feature::KIND_CATEGORICAL);
  const preprocess::FeatureRow row =
      FeatureRowFromCsv(*table, table->rows[0], tabular);
  ASSERT_EQ(row.size(), 2u);
  EXPECT_EQ(row[0].first, "team");
  EXPECT_EQ(std::get<double>(row[0].second), 3.0);
  EXPECT_EQ(row[1].first, "shift");
  EXPECT_EQ(std::get<std::string>(row[1].second), "Night");
}

}  // namespace
}  // namespace lineserve::data
