#include "tokenstorm/core/stages.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>

#include "support/case_file.h"
#include "support/fixtures.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/validate.h"

namespace tokenstorm::core {
namespace {

// Builds a LoadTest whose spec.load (and probes/limits) come from `snippet` (top-level keys
// load/probes/limits).
std::string withLoad(const std::string& snippet) {
  std::string text = testing::kMinimalLoadTest;
  text = text.substr(0, text.find("  load:\n"));
  std::istringstream in(snippet);
  for (std::string line; std::getline(in, line);) {
    text += (line.empty() || line[0] == '#' ? "" : "  ") + line + "\n";
  }
  return text;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::vector<std::string> describePlan(const LoadPlan& plan) {
  std::vector<std::string> out;
  for (const auto& s : plan.stages) {
    out.push_back(s.name + " " + s.start.str() + " " + s.duration.str() + " " + fmt(s.from) + " " +
                  fmt(s.to) + " " + (s.hold ? "hold" : "ramp"));
  }
  out.push_back("total " + plan.total.str());
  return out;
}

// tests/data/patterns/*.case: a load snippet and the explicit stages it expands to.
TEST(StagesCasesTest, EachPatternExpandsToItsStages) {
  for (const auto& c : testing::loadCases("patterns")) {
    SCOPED_TRACE(c.path + " — " + c.title);
    LoadResult r = parseLoadTests(withLoad(c.input));
    for (const auto& t : r.tests) {
      validate(t, &r.errors);
    }
    ASSERT_TRUE(r.errors.empty()) << r.errors[0].str();
    ASSERT_EQ(r.tests.size(), 1u);
    EXPECT_EQ(describePlan(expandLoad(r.tests[0].spec)), c.expected);
  }
}

TEST(StagesTest, TargetFollowsRampsAndHolds) {
  LoadPlan plan;
  plan.stages = {{"up", Duration{}, Duration::fromSeconds(10), 0, 100, false},
                 {"flat", Duration::fromSeconds(10), Duration::fromSeconds(10), 50, 50, true}};
  plan.total = Duration::fromSeconds(20);
  EXPECT_DOUBLE_EQ(targetAt(plan, Duration{}), 0);
  EXPECT_DOUBLE_EQ(targetAt(plan, Duration::fromMillis(2500)), 25);
  EXPECT_DOUBLE_EQ(targetAt(plan, Duration::fromSeconds(10)), 50);
  EXPECT_DOUBLE_EQ(targetAt(plan, Duration::fromSeconds(19)), 50);
  EXPECT_DOUBLE_EQ(targetAt(plan, Duration::fromSeconds(20)), 0);
  EXPECT_DOUBLE_EQ(expectedRequests(plan), 500 + 500);
}

}  // namespace
}  // namespace tokenstorm::core
