// Shard aggregation: exact merge, untrusted shards refused by name without poisoning the others, the
// budget check with its overshoot, and runner outcomes.
#include "tokenstorm/operator/aggregate.h"

#include <gtest/gtest.h>

#include "operator_fixtures.h"
#include "tokenstorm/core/compact.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/operator/children.h"

namespace tokenstorm::op {
namespace {

using nlohmann::json;

core::LoadTest budgeted() {
  return testing::loadTest(R"(apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata: {name: agg}
spec:
  target:
    endpoints: [{name: sim, url: "sim://", model: sim-llama}]
  workload:
    classes: [{name: chat, prompt: {synthetic: {inputTokens: {fixed: 100}}}, maxOutputTokens: {fixed: 20}}]
  load: {stages: [{name: steady, duration: 60s, rate: 10, hold: true}]}
  budget:
    maxCost: "0.50"
    maxOutputTokens: 100000
    pricing: {input: "1000", output: "2000"}
  limits: {abortOnErrorRate: {threshold: 0.5, window: 10s}}
  thresholds:
    - {metric: ttft, stat: p95, max: 500ms}
    - {metric: errorRate, max: 0.05}
  runners: {count: 3}
)");
}

ShardData shard(int64_t index, const std::optional<std::string>& snapshot,
                const std::optional<std::string>& outcome = std::nullopt) {
  ShardData s;
  s.index = index;
  s.name = shardName("agg", index);
  s.ready = "2025-01-15T10:00:01Z";
  s.snapshot = snapshot;
  s.outcome = outcome;
  return s;
}

std::string text(const core::Snapshot& s) {
  return core::toJson(s).dump();
}

TEST(AggregateTest, ThreeShardsMergeToWhatOneRunnerOfTheSameRecordsReports) {
  core::LoadTest t = budgeted();
  core::LoadPlan plan = core::expandLoad(t.spec);
  // Each runner's records, and the same records fed to a single recorder.
  std::vector<testing::Traffic> parts{{.ok = 40, .failed = 2, .ttft_ms = 80, .first = 0},
                                      {.ok = 35, .failed = 0, .ttft_ms = 120, .first = 1000},
                                      {.ok = 50, .failed = 5, .ttft_ms = 300, .first = 2000}};
  std::vector<ShardData> shards;
  core::Recorder single(t.spec, plan, 1'000'000'000'000, "one");
  core::MonoNanos last = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    shards.push_back(shard(static_cast<int64_t>(i),
                           text(testing::snapshot(t.spec, "runner-" + std::to_string(i), parts[i], true)),
                           testing::outcomeJson("Succeeded", "", static_cast<double>(i) * 2.5)));
    for (const auto& r : testing::records(t.spec, parts[i])) {
      single.record(r);
      last = std::max(last, r.tEnd);
    }
  }
  Aggregate a = aggregate(t.spec, plan, shards);
  EXPECT_TRUE(a.errors.empty());
  EXPECT_EQ(a.shards, 3);
  EXPECT_EQ(a.readyShards, 3);
  EXPECT_EQ(a.finalShards, 3);
  EXPECT_TRUE(a.allFinal(3));
  core::Snapshot one = single.snapshot(true, last);
  EXPECT_EQ(a.merged.total, one.total);
  EXPECT_EQ(a.merged.stages, one.stages);
  EXPECT_EQ(a.merged.classes, one.classes);
  EXPECT_EQ(a.merged.timeseries, one.timeseries);
  EXPECT_EQ(a.merged.runnerId, "runner-0,runner-1,runner-2");
  EXPECT_TRUE(a.merged.final);
  EXPECT_EQ(a.report.summary.requests.total, 132);
  EXPECT_EQ(a.report.summary.requests.failed, 7);
  // The numbers are core::buildReport's of the merge, never recomputed here.
  core::Report expected = core::buildReport(t.spec, plan, a.merged, a.runnerOutcome);
  EXPECT_EQ(core::toJson(a.report), core::toJson(expected));
  EXPECT_EQ(a.runnerOutcome.phase, core::Phase::Succeeded);
  EXPECT_EQ(a.runnerOutcome.elapsedS, 10.5);
  ASSERT_TRUE(a.runnerOutcome.runnerCpuPercent.has_value());
  ASSERT_TRUE(a.startSkew.has_value());
  EXPECT_EQ(*a.startSkew, core::Duration::fromMillis(5));
  EXPECT_EQ(a.budget.spent, one.total.cost) << "exact money, whatever the split";
}

TEST(AggregateTest, AMalformedShardIsNamedAndTheOthersStillCount) {
  core::LoadTest t = budgeted();
  core::LoadPlan plan = core::expandLoad(t.spec);
  core::Snapshot good0 = testing::snapshot(t.spec, "r0", {.ok = 10}, false);
  core::Snapshot good2 = testing::snapshot(t.spec, "r2", {.ok = 7, .first = 100}, false);
  json bad = core::toJson(testing::snapshot(t.spec, "r1", {.ok = 5}, false));
  bad["total"]["ok"] = "many";
  std::vector<std::pair<std::string, std::string>> hostile{
      {bad.dump(), "agg-shard-1: snapshot.json: snapshot.total.ok"},
      {"{not json", "agg-shard-1: snapshot.json: snapshot: is not valid JSON"},
      {std::string(100000, '['), "agg-shard-1: snapshot.json: snapshot: nests deeper"},
      {"", "agg-shard-1: snapshot.json: snapshot: is not valid JSON"},
  };
  for (const auto& [payload, message] : hostile) {
    Aggregate a = aggregate(t.spec, plan, {shard(0, text(good0)), shard(1, payload), shard(2, text(good2))});
    ASSERT_EQ(a.errors.size(), 1u) << message;
    EXPECT_EQ(a.errors[0].index, 1);
    EXPECT_EQ(a.errors[0].message.rfind(message, 0), 0u) << a.errors[0].message;
    EXPECT_EQ(a.merged.total.ok, 17) << "the good shards still count";
    EXPECT_EQ(a.merged.runnerId, "r0,r2");
  }
}

TEST(AggregateTest, AShardOfAnotherShapeOrIndexIsRefused) {
  core::LoadTest t = budgeted();
  core::LoadPlan plan = core::expandLoad(t.spec);
  json wide = core::toJson(testing::snapshot(t.spec, "r0", {.ok = 3}, false));
  wide["classes"].push_back(wide["classes"][0]);
  Aggregate a = aggregate(t.spec, plan, {shard(0, wide.dump()), shard(7, text(core::Snapshot{}))});
  ASSERT_EQ(a.errors.size(), 2u);
  EXPECT_EQ(a.errors[0].message,
            "agg-shard-0: snapshot.json: snapshot.classes: has 2 entries, the spec has 1 classes");
  EXPECT_EQ(a.errors[1].message, "agg-shard-7: index 7 is beyond spec.runners.count (3)");
  EXPECT_FALSE(a.anySnapshot);
}

TEST(AggregateTest, OutcomesAreDecodedStrictly) {
  std::string error;
  auto ok = parseOutcome(testing::outcomeJson("Aborted", "BudgetExceeded", -4), &error);
  ASSERT_TRUE(ok.has_value()) << error;
  EXPECT_EQ(ok->phase, core::Phase::Aborted);
  EXPECT_EQ(ok->reason, "BudgetExceeded");
  EXPECT_EQ(ok->startSkewMs, -4);
  EXPECT_EQ(ok->cpuPercent, 12.5);
  struct Bad {
    const char* text;
    const char* error;
  };
  for (const Bad& b :
       {Bad{R"({"phase": "Running"})", "outcome.phase: \"Running\" is not Succeeded, Failed or Aborted"},
        Bad{R"({"reason": "x"})", "outcome.phase: required, a string"},
        Bad{R"({"phase": "Succeeded", "elapsedS": -1})", "outcome.elapsedS: -1 is out of range"},
        Bad{R"({"phase": "Succeeded", "elapsedS": "10"})", "outcome.elapsedS: must be a number, not string"},
        Bad{R"({"phase": "Succeeded", "exitCode": 0})", "outcome.exitCode: unknown field"},
        Bad{R"([1, 2])", "outcome: is not a JSON object"}}) {
    EXPECT_FALSE(parseOutcome(b.text, &error).has_value()) << b.text;
    EXPECT_EQ(error, b.error);
  }
}

TEST(AggregateTest, BudgetCrossedOverAllShardsWithItsOvershoot) {
  core::LoadTest t = budgeted();
  core::LoadPlan plan = core::expandLoad(t.spec);
  // Per request: 100 in × $1000/M + 20 out × $2000/M = $0.14. Two runners, 2 requests each: $0.56 of $0.50.
  std::vector<ShardData> shards{
      shard(0, text(testing::snapshot(t.spec, "r0", {.ok = 2}, false))),
      shard(1, text(testing::snapshot(t.spec, "r1", {.ok = 2, .first = 10}, false)))};
  Aggregate under = aggregate(t.spec, plan, {shards[0]});
  EXPECT_FALSE(under.budget.exceeded);
  EXPECT_EQ(under.budget.spent.money(), "0.28");
  Aggregate over = aggregate(t.spec, plan, shards);
  EXPECT_TRUE(over.budget.exceeded);
  EXPECT_EQ(over.budget.spent.money(), "0.56");
  ASSERT_TRUE(over.budget.overshoot.has_value());
  EXPECT_EQ(over.budget.overshoot->money(), "0.06");
  EXPECT_EQ(over.budget.message, "spent $0.56 of $0.50 (overshoot $0.06)");
  EXPECT_EQ(over.report.summary.cost.spentUsd.money(), "0.56");

  core::Budget tokens;
  tokens.maxInputTokens = 400;
  tokens.maxOutputTokens = 1000;
  BudgetState b = checkBudget(tokens, over.merged.spent());
  EXPECT_TRUE(b.exceeded);
  EXPECT_EQ(b.message, "400 input tokens of 400");
  EXPECT_FALSE(b.overshoot.has_value());
}

TEST(AggregateTest, TheWorstRunnerOutcomeSpeaksForTheRun) {
  core::LoadTest t = budgeted();
  core::LoadPlan plan = core::expandLoad(t.spec);
  std::string snap = text(testing::snapshot(t.spec, "r", {.ok = 1}, true));
  Aggregate a =
      aggregate(t.spec, plan,
                {shard(0, snap, testing::outcomeJson("Succeeded", "")),
                 shard(1, snap, testing::outcomeJson("Aborted", "BudgetExceeded")), shard(2, snap)});
  EXPECT_EQ(a.finalShards, 2);
  EXPECT_FALSE(a.allFinal(3));
  EXPECT_EQ(a.runnerOutcome.phase, core::Phase::Aborted);
  EXPECT_EQ(a.runnerOutcome.reason, "runner 1: BudgetExceeded: stopped: BudgetExceeded");
  ASSERT_TRUE(a.outcomes[1].has_value());
  EXPECT_FALSE(a.outcomes[2].has_value());
  EXPECT_EQ(a.report.phase, core::Phase::Aborted);
  EXPECT_EQ(a.report.verdict, core::Verdict::Fail) << "an aborted run never passes";

  Aggregate failed = aggregate(t.spec, plan,
                               {shard(0, snap, testing::outcomeJson("Aborted", "DeadlineExceeded")),
                                shard(1, snap, testing::outcomeJson("Failed", "EngineError"))});
  EXPECT_EQ(failed.runnerOutcome.phase, core::Phase::Failed);
  EXPECT_EQ(failed.runnerOutcome.reason, "runner 1: EngineError: stopped: EngineError");
}

TEST(AggregateTest, ErrorRateOverTheMergedWindow) {
  core::LoadTest t = budgeted();  // abortOnErrorRate 0.5 over 10 s, at least 20 requests
  core::LoadPlan plan = core::expandLoad(t.spec);
  // Requests 100 ms apart: the last 10 s hold ~100 requests.
  auto run = [&](int ok, int failed) {
    return aggregate(t.spec, plan,
                     {shard(0, text(testing::snapshot(t.spec, "r0", {.ok = ok, .failed = failed}, false)))});
  };
  EXPECT_FALSE(run(5, 14).errorRate.has_value()) << "too few samples to judge";
  EXPECT_FALSE(run(50, 50).errorRate.has_value()) << "0.5 is not over 0.5";
  Aggregate bad = run(20, 60);
  ASSERT_TRUE(bad.errorRate.has_value());
  EXPECT_NE(bad.errorRate->find("over the last 10s"), std::string::npos) << *bad.errorRate;
  core::Limits none;
  EXPECT_FALSE(errorRateExceeded(none, bad.merged).has_value());
}

TEST(AggregateTest, ACompactedShardMergesWithTheOthersToTheSameSummary) {
  core::LoadTest t = budgeted();
  core::LoadPlan plan = core::expandLoad(t.spec);
  std::vector<core::Snapshot> snapshots{
      testing::snapshot(t.spec, "r0", {.ok = 400, .failed = 20, .ttft_ms = 80, .first = 0}, true),
      testing::snapshot(t.spec, "r1", {.ok = 300, .failed = 5, .ttft_ms = 200, .first = 5000}, true)};
  std::vector<ShardData> exact;
  std::vector<ShardData> compacted;
  for (size_t i = 0; i < snapshots.size(); ++i) {
    exact.push_back(shard(static_cast<int64_t>(i), text(snapshots[i])));
    // Shard 1 as a runner near the ConfigMap's limit would write it: its older seconds coarsened.
    core::Compaction c =
        core::compactSnapshot(snapshots[i], static_cast<int64_t>(text(snapshots[i]).size()) - 500);
    ASSERT_TRUE(c.fits && c.compacted);
    compacted.push_back(shard(static_cast<int64_t>(i), i == 1 ? c.json : text(snapshots[i])));
  }
  Aggregate a = aggregate(t.spec, plan, exact);
  Aggregate b = aggregate(t.spec, plan, compacted);
  EXPECT_TRUE(b.errors.empty());
  EXPECT_EQ(b.merged.total, a.merged.total);
  EXPECT_EQ(b.merged.stages, a.merged.stages);
  EXPECT_EQ(b.merged.classes, a.merged.classes);
  EXPECT_EQ(b.budget.spent, a.budget.spent);
  json ja = core::toJson(a.report);
  json jb = core::toJson(b.report);
  for (const char* key : {"verdict", "summary", "stages", "classes", "thresholds", "quality"}) {
    EXPECT_EQ(jb[key], ja[key]) << key;
  }
  EXPECT_LT(b.merged.timeseries.size(), a.merged.timeseries.size());
  EXPECT_TRUE(jb["timeseries"].contains("compacted"));
}

TEST(AggregateTest, ErrorRateReadsTheWindowFromTheEndOfACoarseSeries) {
  core::LoadTest t = budgeted();  // abortOnErrorRate 0.5 over 10 s
  core::Snapshot s;
  auto point = [](int64_t step, int64_t ok, int64_t errors) {
    core::TimePoint p;
    p.stepS = step;
    p.ok = ok;
    p.errors = errors;
    p.requests = ok + errors;
    return p;
  };
  s.timeseries[0] = point(16, 1000, 0);  // [0, 16): old and healthy
  s.timeseries[16] = point(8, 0, 30);    // [16, 24): straddles the window [18, 28), counted whole
  s.timeseries[27] = point(1, 20, 0);
  auto rate = errorRateExceeded(t.spec.limits, s);
  ASSERT_TRUE(rate.has_value());
  EXPECT_NE(rate->find("(30 of 50 requests)"), std::string::npos) << *rate;
}

TEST(AggregateTest, ReadShardTakesItsIndexFromItsName) {
  json cm = {{"metadata", {{"name", "agg-shard-12"}}},
             {"data", {{"ready", "2025-01-15T10:00:01Z"}, {"snapshot.json", "{}"}, {"outcome.json", "{}"}}}};
  auto s = readShard(cm, "agg");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->index, 12);
  EXPECT_EQ(s->ready, "2025-01-15T10:00:01Z");
  EXPECT_TRUE(s->snapshot && s->outcome);
  for (const char* name :
       {"agg-shard-", "agg-shard-01", "agg-shard-x", "other-shard-1", "agg-plan", "agg-shard-99999999999"}) {
    EXPECT_FALSE(readShard({{"metadata", {{"name", name}}}}, "agg").has_value()) << name;
  }
  auto empty = readShard({{"metadata", {{"name", "agg-shard-0"}}}, {"data", {{"ready", 5}}}}, "agg");
  ASSERT_TRUE(empty.has_value());
  EXPECT_FALSE(empty->ready.has_value()) << "a non-string value is not a ready time";
}

}  // namespace
}  // namespace tokenstorm::op
