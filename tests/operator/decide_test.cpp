// The reconcile decision: scenarios as scripts (tests/data/operator/decide/*.case, language in
// world_script.h): objects in, actions out, each applied the way the cluster would before the next
// reconcile. Plus the properties every state must have: deciding twice on one state gives the same
// actions, and deciding again after applying them creates and deletes nothing.
#include "tokenstorm/operator/decide.h"

#include <gtest/gtest.h>

#include "world_script.h"

namespace tokenstorm::op {
namespace {

TEST(DecideCasesTest, EachScenarioGivesExactlyItsActions) {
  tokenstorm::testing::checkCases("operator/decide", testing::runScript);
}

// Every case, replayed with each `reconcile` preceded by a dry one: the dry run must print exactly what
// the real one then does (the decision depends on the state alone, not on what ran before).
TEST(DecideCasesTest, TheSameStateTwiceGivesTheSameActions) {
  for (const auto& c : tokenstorm::testing::loadCases("operator/decide")) {
    std::string doubled;
    std::istringstream in(c.input);
    std::string line;
    while (std::getline(in, line)) {
      if (line == "reconcile") {
        doubled += "reconcile dry\n";
      }
      doubled += line + "\n";
    }
    std::vector<std::string> got = testing::runScript(doubled);
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].find("(dry)") == std::string::npos) {
        continue;
      }
      size_t j = i + 1;
      while (j < got.size() && got[j].rfind("reconcile at", 0) != 0) {
        ++j;
      }
      ASSERT_LT(j, got.size()) << c.name;
      size_t n = j - i;
      ASSERT_LE(j + n, got.size()) << c.name;
      for (size_t k = 1; k < n; ++k) {
        EXPECT_EQ(got[i + k], got[j + k]) << c.name << ": the dry run at line " << i << " differs";
      }
    }
  }
}

// After a reconcile's actions are applied, reconciling the same moment again creates, patches and
// deletes nothing.
TEST(DecideCasesTest, AfterTheActionsAreAppliedNothingMoreIsCreatedOrDeleted) {
  for (const auto& c : tokenstorm::testing::loadCases("operator/decide")) {
    std::string doubled;
    std::istringstream in(c.input);
    std::string line;
    while (std::getline(in, line)) {
      doubled += line + "\n";
      if (line == "reconcile") {
        doubled += "reconcile dry\n";
      }
    }
    std::vector<std::string> got = testing::runScript(doubled);
    bool in_dry = false;
    for (const auto& l : got) {
      if (l.rfind("reconcile at", 0) == 0) {
        in_dry = l.find("(dry)") != std::string::npos;
        continue;
      }
      if (in_dry) {
        EXPECT_EQ(l.find("  create"), std::string::npos) << c.name << ": " << l;
        EXPECT_EQ(l.find("  delete"), std::string::npos) << c.name << ": " << l;
        EXPECT_EQ(l.find("  patch"), std::string::npos) << c.name << ": " << l;
        EXPECT_EQ(l.find("  event"), std::string::npos) << c.name << ": " << l;
      }
    }
  }
}

TEST(DecideTest, DescribeNamesTheTarget) {
  Action a;
  a.kind = Action::Kind::Delete;
  a.resource = "Job";
  a.name = "x-runners";
  EXPECT_EQ(describe(a), "delete Job x-runners");
}

}  // namespace
}  // namespace tokenstorm::op
