// Autoscaling derivations: scenarios as scripts (tests/data/autoscaling/*.case), a plan, replica
// observations and a per-second time series in, the derived numbers out.
//
// Script lines:
//   stage NAME SECONDS FROM [TO]      a planned stage (held when TO is absent)
//   warmup-probe IDLE STEP RATE       the plan of spec.probes.warmup, through core::expandLoad
//   threshold DURATION [STAGE]        a ttft p95 max threshold (for every stage, or one)
//   at T [desired=N] [current=N] [ready=N] [available=N]   a replica observation
//   problem notfound|forbidden        the scaleRef could not be read (apps/v1 Deployment vllm)
//   ttft S[-E] MS [xN]                N (default 1) ok requests ending in each second S..E with this TTFT
//   errors S[-E] N                    N failed requests ending in each second S..E
//   early SENT MS                     a per-request record of a cold step's request
#include "tokenstorm/core/autoscaling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "support/case_file.h"

namespace tokenstorm::core {
namespace {

std::string text(const std::optional<Duration>& d) {
  return d ? d->str() : "-";
}
std::string text(const std::optional<int64_t>& n) {
  return n ? std::to_string(*n) : "-";
}
std::string num(double d) {
  std::ostringstream out;
  out << d;
  return out.str();
}

std::pair<int64_t, int64_t> range(const std::string& word) {
  size_t dash = word.find('-');
  if (dash == std::string::npos) {
    int64_t s = std::stoll(word);
    return {s, s};
  }
  return {std::stoll(word.substr(0, dash)), std::stoll(word.substr(dash + 1))};
}

std::vector<std::string> render(const std::string& input) {
  LoadPlan plan;
  ScaleTimeline timeline;
  bool observed = false;
  std::map<int64_t, TimePoint> series;
  AutoscalingInput in;
  std::istringstream lines(input);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    std::string op;
    words >> op;
    if (op.empty() || op[0] == '#') {
      continue;
    }
    if (op == "stage") {
      std::string name;
      double seconds = 0;
      double from = 0;
      words >> name >> seconds >> from;
      double to = from;
      words >> to;
      Duration d = Duration::fromMillis(static_cast<int64_t>(seconds * 1000));
      plan.stages.push_back(PlannedStage{name, plan.total, d, from, to, from == to});
      plan.total = plan.total + d;
    } else if (op == "warmup-probe") {
      int64_t idle = 0;
      int64_t step = 0;
      double rate = 0;
      words >> idle >> step >> rate;
      LoadTestSpec spec;
      spec.probes.warmup =
          WarmupProbe{Duration::fromSeconds(idle), WarmupStep{rate, Duration::fromSeconds(step)}};
      plan = expandLoad(spec);
    } else if (op == "threshold") {
      std::string limit;
      std::string stage;
      words >> limit >> stage;
      in.ttftP95MaxNanos[stage] = Duration::parse(limit)->nanos;
    } else if (op == "at") {
      observed = true;
      ReplicaSample s;
      words >> s.tS;
      std::string kv;
      while (words >> kv) {
        size_t eq = kv.find('=');
        std::string key = kv.substr(0, eq);
        int64_t v = std::stoll(kv.substr(eq + 1));
        (key == "desired"   ? s.desired
         : key == "current" ? s.current
         : key == "ready"   ? s.ready
                            : s.available) = v;
      }
      timeline.replicas.push_back(s);
    } else if (op == "problem") {
      observed = true;
      std::string kind;
      words >> kind;
      timeline.problem = observationProblem(
          kind == "notfound" ? ObservationProblemKind::NotFound : ObservationProblemKind::Forbidden,
          ScaleRef{"apps/v1", "Deployment", "vllm"});
    } else if (op == "ttft" || op == "errors") {
      std::string when;
      words >> when;
      auto [from, to] = range(when);
      int64_t ms = 0;
      int64_t count = 1;
      if (op == "ttft") {
        std::string times;
        words >> ms >> times;
        if (!times.empty()) {
          count = std::stoll(times.substr(1));
        }
      } else {
        words >> count;
      }
      for (int64_t s = from; s <= to; ++s) {
        TimePoint& p = series[s];
        p.requests += count;
        if (op == "ttft") {
          p.ok += count;
          p.ttft.record(ms * 1'000'000, count);
        } else {
          p.errors += count;
        }
      }
    } else if (op == "early") {
      EarlyRequest r;
      int64_t ms = 0;
      words >> r.sentS >> ms;
      r.ttftNanos = ms * 1'000'000;
      in.earlyRequests.push_back(r);
    } else {
      return {"unknown line: " + line};
    }
  }
  in.plan = &plan;
  in.timeline = observed ? &timeline : nullptr;
  in.timeseries = &series;
  AutoscalingResult r = deriveAutoscaling(in);

  std::vector<std::string> out;
  for (const auto& s : r.steps) {
    out.push_back("step " + s.stage + " at " + num(s.startS) + "s (" + num(s.from) + " -> " + num(s.to) +
                  "): replicas " + text(s.replicasBefore) + " -> max " + text(s.replicasMax));
    out.push_back("  decision " + text(s.timeToScaleDecision) + ", first ready " +
                  text(s.timeToFirstReadyReplica) + ", all ready " + text(s.timeToAllReady) + ", recovered " +
                  text(s.timeToP95Recovered));
    out.push_back("  warm-up window: p95 " + text(s.warmupTtftP95) + ", requests " + text(s.warmupRequests) +
                  ", errors " + text(s.warmupErrors));
  }
  out.push_back("headline: decision " + text(r.timeToScaleDecision) + ", first ready " +
                text(r.timeToFirstReadyReplica) + ", all ready " + text(r.timeToAllReady) + ", recovered " +
                text(r.timeToP95Recovered) + ", warm-up p95 " + text(r.warmupTtftP95) + " requests " +
                text(r.warmupRequests) + " errors " + text(r.warmupErrors));
  out.push_back("cold start: first " + text(r.coldStartTtft) + ", p50 " + text(r.coldStartTtftP50));
  if (r.message) {
    out.push_back("message: " + *r.message);
  }
  std::string timeline_text = "timeline:";
  for (const auto& p : r.replicas) {
    timeline_text += " " + num(p.tS) + "=" + std::to_string(p.replicas) + "/" + std::to_string(p.ready);
  }
  out.push_back(timeline_text);
  return out;
}

TEST(AutoscalingCasesTest, EachScenarioDerivesItsNumbers) {
  tokenstorm::testing::checkCases("autoscaling", render);
}

TEST(AutoscalingTest, StepsAreRisesOfTheTargetNotRamps) {
  LoadPlan plan;
  auto add = [&](const char* name, int64_t s, double from, double to) {
    plan.stages.push_back(PlannedStage{name, plan.total, Duration::fromSeconds(s), from, to, from == to});
    plan.total = plan.total + Duration::fromSeconds(s);
  };
  add("idle", 10, 0, 0);
  add("ramp", 10, 0, 5);
  add("hold", 10, 5, 5);
  add("spike", 10, 20, 20);
  add("down", 10, 2, 2);
  add("again", 10, 8, 8);
  auto steps = findLoadSteps(plan);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].name, "spike");
  EXPECT_EQ(steps[0].startS, 30);
  EXPECT_EQ(steps[0].endS, 50);  // the next step's start
  EXPECT_EQ(steps[0].from, 5);
  EXPECT_EQ(steps[1].name, "again");
  EXPECT_TRUE(std::isinf(steps[1].endS));
}

TEST(AutoscalingTest, SamplesAreSortedStablyAndCleaned) {
  std::vector<ReplicaSample> in{{5, 2, {}, 1, {}},
                                {1, 1, {}, -3, {}},
                                {5, 3, {}, 1, {}},
                                {std::numeric_limits<double>::quiet_NaN(), 9, {}, 9, {}}};
  auto out = sortedSamples(in);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].tS, 1);
  EXPECT_FALSE(out[0].ready);  // negative: absent
  EXPECT_EQ(out[1].desired, 2);
  EXPECT_EQ(out[2].desired, 3);  // same time: input order kept, the later observation last
}

TEST(AutoscalingTest, TtftP95LimitsComeFromClasslessP95Thresholds) {
  LoadTestSpec spec;
  auto threshold = [](Stat stat, const char* max, std::optional<std::string> stage,
                      std::optional<std::string> cls) {
    Threshold t;
    t.metric = Metric::Ttft;
    t.stat = stat;
    t.max = ThresholdValue{max, Duration::parse(max), std::nullopt};
    t.stage = std::move(stage);
    t.className = std::move(cls);
    return t;
  };
  spec.thresholds = {threshold(Stat::P95, "2s", std::nullopt, std::nullopt),
                     threshold(Stat::P95, "1s", std::nullopt, std::nullopt),
                     threshold(Stat::P95, "5s", "spike", std::nullopt),
                     threshold(Stat::P99, "9s", std::nullopt, std::nullopt),
                     threshold(Stat::P95, "7s", std::nullopt, "chat")};
  auto limits = ttftP95Limits(spec);
  ASSERT_EQ(limits.size(), 2u);
  EXPECT_EQ(limits[""], Duration::fromSeconds(1).nanos);  // the stricter of two
  EXPECT_EQ(limits["spike"], Duration::fromSeconds(5).nanos);
}

TEST(AutoscalingTest, ProblemsNameTheScaleRef) {
  ScaleRef ref{"apps/v1", "Deployment", "vllm"};
  EXPECT_EQ(observationProblem(ObservationProblemKind::NotFound, ref).message,
            "scaleRef apps/v1 Deployment vllm not found");
  EXPECT_EQ(
      observationProblem(ObservationProblemKind::Forbidden, ref, "deployments.apps is forbidden").message,
      "no RBAC to read scaleRef apps/v1 Deployment vllm: deployments.apps is forbidden");
}

// A compacted series (points of 2^k seconds) counts each point for the seconds it covers.
TEST(AutoscalingTest, CompactedPointsCountForTheirSeconds) {
  LoadPlan plan;
  plan.stages.push_back(PlannedStage{"step", Duration{}, Duration::fromSeconds(60), 5, 5, true});
  plan.total = Duration::fromSeconds(60);
  std::map<int64_t, TimePoint> series;
  auto point = [](int64_t step_s, int64_t ms) {
    TimePoint p;
    p.stepS = step_s;
    p.requests = p.ok = 4;
    p.ttft.record(ms * 1'000'000, 4);
    return p;
  };
  series[0] = point(4, 3000);
  series[4] = point(2, 500);  // 2 s under the limit: not yet 3
  series[6] = point(2, 500);  // 4 s under: recovered since second 4
  AutoscalingInput in;
  in.plan = &plan;
  in.timeseries = &series;
  in.ttftP95MaxNanos[""] = Duration::fromSeconds(1).nanos;
  auto r = deriveAutoscaling(in);
  ASSERT_EQ(r.steps.size(), 1u);
  EXPECT_EQ(r.timeToP95Recovered, Duration::fromSeconds(4));
}

TEST(AutoscalingTest, NoPlanGivesNothing) {
  AutoscalingInput in;
  auto r = deriveAutoscaling(in);
  EXPECT_TRUE(r.steps.empty());
  EXPECT_FALSE(r.timeToScaleDecision);
}

}  // namespace
}  // namespace tokenstorm::core
