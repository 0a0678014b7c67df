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
// deletes nothing. The one two-step transition is a re-run (row 9): the pass that removes the last run's
// children is followed by the one that launches the new run once they are gone.
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
    bool rerun = false;  // the real pass before this dry one started a re-run
    for (const auto& l : got) {
      if (l.rfind("reconcile at", 0) == 0) {
        in_dry = l.find("(dry)") != std::string::npos;
        if (!in_dry) {
          rerun = false;
        }
        continue;
      }
      if (!in_dry && l.rfind("  event Normal Rerun", 0) == 0) {
        rerun = true;
      }
      if (in_dry && !rerun) {
        EXPECT_EQ(l.find("  create"), std::string::npos) << c.name << ": " << l;
        EXPECT_EQ(l.find("  delete"), std::string::npos) << c.name << ": " << l;
        EXPECT_EQ(l.find("  patch"), std::string::npos) << c.name << ": " << l;
        EXPECT_EQ(l.find("  event"), std::string::npos) << c.name << ": " << l;
      }
    }
  }
}

// A budget abort's report states the spend at the end: requests in flight when the cap was crossed end
// after the abort (their tokens billed), and report.json's reason counts them, as the BudgetExceeded
// condition does; the phase's own message keeps the spend that aborted the test.
TEST(DecideTest, BudgetReportStatesTheSpendAtTheEnd) {
  using Json = nlohmann::json;
  core::LoadTest test = testing::exampleTest("examples/quickstart.yaml");
  test.spec.runners.count = 2;
  test.spec.budget.maxCost = core::Decimal::parse("0.50");
  // 100 input and 20 output tokens a request (testing::Traffic): $0.14 each.
  test.spec.budget.pricing = core::Pricing{*core::Decimal::parse("1000"), *core::Decimal::parse("2000"), {}};
  OperatorOptions options;
  World world;
  world.now = *parseTime("2025-01-15T10:00:06Z");
  world.loadTest = Json::parse(core::toJson(test).dump());
  world.plan = buildPlanConfigMap(test);
  (*world.plan)["data"]["startAt"] = "2025-01-15T10:00:02.000Z";
  world.job = buildRunnerJob(test, options);
  auto shards = [&](int ok0, int ok1, bool final) {
    world.shards.clear();
    for (int i = 0; i < 2; ++i) {
      Json cm = buildShardConfigMap(test, i);
      testing::Traffic traffic;
      traffic.ok = i == 0 ? ok0 : ok1;
      traffic.first = 50 * i;
      cm["data"]["ready"] = "2025-01-15T10:00:01Z";
      cm["data"]["snapshot.json"] =
          core::toJson(testing::snapshot(test.spec, "r" + std::to_string(i), traffic, final)).dump();
      if (final) {
        cm["data"]["outcome.json"] = testing::outcomeJson("Aborted", "Interrupted");
      }
      world.shards.push_back(cm);
    }
  };
  // The cap is crossed at 4 requests ($0.56): Aborted, the Job deleted.
  shards(1, 3, false);
  Decision aborted = decide(world, options);
  ASSERT_EQ(phaseReason(aborted.status), reason::kBudgetExceeded);
  EXPECT_EQ(phaseMessage(aborted.status), "spent $0.56 of $0.50 (overshoot $0.06)");
  // The runners flush: one more request ended after the abort ($0.70). The report is written now.
  world.loadTest["status"] = Json::parse(core::toJson(aborted.status).dump());
  world.now += std::chrono::seconds(1);
  world.job.reset();
  shards(2, 3, true);
  Decision settled = decide(world, options);
  std::optional<Json> report;
  for (const Action& a : settled.actions) {
    if (a.kind == Action::Kind::Create && a.name == reportName("quickstart")) {
      report = Json::parse(a.body["data"]["report.json"].get<std::string>());
    }
  }
  ASSERT_TRUE(report.has_value()) << "no report ConfigMap created";
  EXPECT_EQ((*report)["reason"], "BudgetExceeded: spent $0.70 of $0.50 (overshoot $0.20)");
  EXPECT_EQ((*report)["summary"]["cost"]["spentUsd"], "0.70");
  EXPECT_EQ(findCondition(settled.status.conditions, "BudgetExceeded")->message,
            "spent $0.70 of $0.50 (overshoot $0.20)");
  EXPECT_EQ(phaseMessage(settled.status), "spent $0.56 of $0.50 (overshoot $0.06)");
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
