#include "tokenstorm/core/metrics.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <tuple>

#include "support/fixtures.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/core/validate.h"

namespace tokenstorm::core {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;
constexpr MonoNanos kStart = 1'000 * kS;  // the test start on the monotonic clock

// Two classes, two stages, a warm-up, pricing and thresholds of every kind of scope.
const std::string kSpec =
    testing::twoStageLoadTest("metrics", R"({input: "0.20", output: "0.60", cachedInput: "0.05"})",
                              R"(
    - {metric: ttft, stat: p95, max: 500ms}
    - {metric: e2e, stat: p99, max: 2s, class: chat}
    - {metric: ttft, stat: p50, max: 300ms, stage: high, class: long}
    - {metric: errorRate, max: 0.1})");

LoadTest parsed(const std::string& text) {
  LoadResult r = parseLoadTests(text);
  for (const auto& t : r.tests) {
    validate(t, &r.errors);
  }
  EXPECT_TRUE(r.errors.empty()) << r.errors[0].str();
  EXPECT_EQ(r.tests.size(), 1u);
  return r.tests.empty() ? LoadTest{} : r.tests[0];
}

// An ok streamed request: sent 2 ms late at `at` after the start, first token 200 ms later, 11 tokens in
// 4 events (gaps of 100, 300 and 600 ms carrying 1, 3 and 6 tokens), done 50 ms after the last.
RequestRecord okRequest(int64_t at = 5 * kS) {
  RequestRecord r;
  r.stage = 0;
  r.cls = 0;
  r.tSched = kStart + at;
  r.tSend = r.tSched + 2 * kMs;
  r.tFirst = r.tSend + 200 * kMs;
  r.tFirstContent = r.tSend + 300 * kMs;
  r.tLast = r.tFirst + 1'000 * kMs;
  r.tEnd = r.tLast + 50 * kMs;
  r.gaps = {{100 * kMs, 1}, {300 * kMs, 3}, {600 * kMs, 6}};
  r.inputTokens = 1'000;
  r.cachedTokens = 400;
  r.outputTokens = 11;
  r.finishReason = "stop";
  return r;
}

void expectOnly(const Histogram& h, int64_t value, int64_t count = 1) {
  EXPECT_EQ(h.count(), count);
  EXPECT_EQ(h.min(), value);
  EXPECT_EQ(h.max(), value);
}

struct DefinitionCase {
  Metric metric;
  std::optional<int64_t> nanos;
};

TEST(MetricsTest, PerRequestValuesFollowTheDefinitions) {
  RequestRecord r = okRequest();
  const DefinitionCase cases[] = {
      {Metric::Ttft, 200 * kMs},          // t_first − t_send
      {Metric::TtftSched, 202 * kMs},     // t_first − t_sched
      {Metric::Ttfo, 300 * kMs},          // first content − t_send
      {Metric::E2e, 1'250 * kMs},         // t_end − t_send
      {Metric::E2eSched, 1'252 * kMs},    // t_end − t_sched
      {Metric::Tpot, 100 * kMs},          // (t_last − t_first) / (11 − 1)
      {Metric::Ntpot, 113'636'364},       // 1250 ms / 11, rounded to the ns
      {Metric::Itl, 100 * kMs},           // largest gap / its tokens
      {Metric::InterChunk, 600 * kMs},    // largest gap
      {Metric::SchedLag, 2 * kMs},        // t_send − t_sched
      {Metric::ErrorRate, std::nullopt},  // not a latency metric
  };
  for (const auto& c : cases) {
    EXPECT_EQ(requestLatency(r, c.metric), c.nanos) << enumName(c.metric);
  }
  RequestRecord one = okRequest();
  one.outputTokens = 1;
  one.gaps.clear();
  EXPECT_EQ(requestLatency(one, Metric::Tpot), std::nullopt);  // undefined for N_out ≤ 1
  EXPECT_EQ(requestLatency(one, Metric::Itl), std::nullopt);
  EXPECT_EQ(requestLatency(one, Metric::Ntpot), 1'250 * kMs);
  RequestRecord none = okRequest();
  none.tFirst = 0;
  none.tFirstContent = 0;
  EXPECT_EQ(requestLatency(none, Metric::Ttft), std::nullopt);
  EXPECT_EQ(requestLatency(none, Metric::Ttfo), std::nullopt);
}

TEST(MetricsTest, AnOkRequestFeedsEveryHistogram) {
  MetricSet m;
  m.add(okRequest());
  expectOnly(m.ttft, 200 * kMs);
  expectOnly(m.ttftSched, 202 * kMs);
  expectOnly(m.ttfo, 300 * kMs);
  expectOnly(m.e2e, 1'250 * kMs);
  expectOnly(m.e2eSched, 1'252 * kMs);
  expectOnly(m.tpot, 100 * kMs);
  expectOnly(m.ntpot, 113'636'364);
  expectOnly(m.itl, 100 * kMs, 10);  // each gap split over its tokens: 100 ms, ten times
  EXPECT_EQ(m.interChunk.count(), 3);
  EXPECT_EQ(m.interChunk.min(), 100 * kMs);
  EXPECT_EQ(m.interChunk.max(), 600 * kMs);
  EXPECT_DOUBLE_EQ(m.interChunk.mean(), 1'000.0 * kMs / 3);
  expectOnly(m.schedLag, 2 * kMs);
  expectOnly(m.outputLength, 11 * kOutputLengthScale);
  EXPECT_EQ(m.requests, 1);
  EXPECT_EQ(m.ok, 1);
  EXPECT_EQ(m.attempts, 1);
  EXPECT_EQ(m.inputTokens, 1'000);
  EXPECT_EQ(m.cachedTokens, 400);
  EXPECT_EQ(m.outputTokens, 11);
  EXPECT_EQ(m.goodput, 1);  // no rules: every ok request is good
  EXPECT_EQ(m.cost, Decimal{});
}

TEST(MetricsTest, ItlSplitsUnevenGapsOverTheirTokens) {
  RequestRecord r = okRequest();
  r.gaps = {{90 * kMs, 3}, {10 * kMs, 0}};  // a chunk reporting no tokens counts as one
  MetricSet m;
  m.add(r);
  EXPECT_EQ(m.itl.count(), 4);
  EXPECT_EQ(m.itl.min(), 10 * kMs);
  EXPECT_EQ(m.itl.max(), 30 * kMs);
  EXPECT_DOUBLE_EQ(m.itl.mean(), 100.0 * kMs / 4);
}

TEST(MetricsTest, CancelledRequestsFeedOnlyPerEventLatencies) {
  RequestRecord r = okRequest();
  r.outcome = Outcome::Cancelled;
  MetricSet m;
  m.add(r);
  EXPECT_EQ(m.cancelled, 1);
  EXPECT_EQ(m.ok, 0);
  expectOnly(m.ttft, 200 * kMs);
  expectOnly(m.ttftSched, 202 * kMs);
  expectOnly(m.ttfo, 300 * kMs);
  EXPECT_EQ(m.interChunk.count(), 3);
  EXPECT_EQ(m.itl.count(), 10);
  for (const Histogram* h : {&m.e2e, &m.e2eSched, &m.tpot, &m.ntpot, &m.outputLength}) {
    EXPECT_EQ(h->count(), 0);
  }
  EXPECT_EQ(m.schedLag.count(), 1);
  EXPECT_EQ(m.outputTokens, 11);  // generated, so counted in throughput and cost
  EXPECT_EQ(m.goodput, 0);

  RequestRecord early = okRequest();  // cancelled before its first token
  early.outcome = Outcome::Cancelled;
  early.tFirst = early.tFirstContent = early.tLast = 0;
  early.gaps.clear();
  m.add(early);
  EXPECT_EQ(m.ttft.count(), 1);
  EXPECT_EQ(m.cancelled, 2);
}

TEST(MetricsTest, FailedRequestsCountByKindAndFeedNoLatency) {
  MetricSet m;
  for (ErrorKind kind : {ErrorKind::Http429, ErrorKind::Http429, ErrorKind::Http5xx, ErrorKind::StreamError,
                         ErrorKind::None}) {
    RequestRecord r = okRequest();
    r.outcome = Outcome::Failed;
    r.error = kind;
    r.attempts = 3;
    m.add(r);
  }
  EXPECT_EQ(m.failed, 5);
  EXPECT_EQ(m.errorCount(ErrorKind::Http429), 2);
  EXPECT_EQ(m.errorCount(ErrorKind::Http5xx), 1);
  EXPECT_EQ(m.errorCount(ErrorKind::StreamError), 1);
  EXPECT_EQ(m.errorCount(ErrorKind::None), 1);
  EXPECT_EQ(m.attempts, 15);
  EXPECT_EQ(m.ttft.count(), 0);
  EXPECT_EQ(m.e2e.count(), 0);
  EXPECT_EQ(m.interChunk.count(), 0);
  EXPECT_EQ(m.schedLag.count(), 5);  // the client still sent them
}

TEST(MetricsTest, QualityCountersTrackLengthAndEmptyOutputs) {
  MetricSet m;
  RequestRecord length = okRequest();
  length.finishReason = "length";
  RequestRecord empty = okRequest();
  empty.outputTokens = 0;
  empty.tokensEstimated = true;
  m.add(okRequest());
  m.add(length);
  m.add(empty);
  EXPECT_EQ(m.finishLength, 1);
  EXPECT_EQ(m.emptyOutput, 1);
  EXPECT_EQ(m.estimatedTokenRequests, 1);
  EXPECT_EQ(m.outputLength.count(), 2);  // empty outputs are counted apart
  EXPECT_EQ(m.tpot.count(), 2);          // undefined for the empty one
}

struct CostCase {
  const char* name;
  const char* pricing;
  int64_t input;
  int64_t cached;
  int64_t output;
  int64_t nanoUsd;
};

TEST(MetricsTest, CostIsExactPerRequest) {
  const CostCase cases[] = {
      // 600 × 0.20 + 400 × 0.05 + 500 × 0.60, per 1M tokens: 120 + 20 + 300 µUSD
      {"cached price", R"({input: "0.20", output: "0.60", cachedInput: "0.05"})", 1'000, 400, 500, 440'000},
      // cached tokens at the input price when cachedInput is absent: 200 + 300 µUSD
      {"no cached price", R"({input: "0.20", output: "0.60"})", 1'000, 400, 500, 500'000},
      // 1 token at 0.000001 USD/1M is 1e-12 USD: rounds to 0 nano-USD, never to a float
      {"sub-nano", R"({input: "0.000001", output: "0"})", 1, 0, 0, 0},
      // 3 × 0.5/1M = 1.5 nano-USD: half rounds up
      {"half up", R"({input: "0.0005", output: "0"})", 3, 0, 0, 2},
      // more cached than input (a confused server): cached is capped at the input
      {"cached over input", R"({input: "1", output: "0", cachedInput: "0"})", 10, 50, 0, 0},
  };
  for (const auto& c : cases) {
    const std::string spec_pricing = R"({input: "0.20", output: "0.60", cachedInput: "0.05"})";
    std::string text = kSpec;
    text.replace(text.find(spec_pricing), spec_pricing.size(), c.pricing);
    LoadTest t = parsed(text);
    MetricRules rules = MetricRules::fromSpec(t.spec, expandLoad(t.spec));
    RequestRecord r = okRequest();
    r.inputTokens = c.input;
    r.cachedTokens = c.cached;
    r.outputTokens = c.output;
    EXPECT_EQ(rules.costOf(r).nanos, c.nanoUsd) << c.name;
    MetricSet m;
    m.add(r, rules);
    m.add(r, rules);
    EXPECT_EQ(m.cost.nanos, 2 * c.nanoUsd) << c.name;
    EXPECT_FALSE(m.costEstimated);
    r.tokensEstimated = true;
    m.add(r, rules);
    EXPECT_TRUE(m.costEstimated);
  }
}

TEST(MetricsTest, GoodputCountsOkRequestsMeetingEveryApplicableLatencyMax) {
  LoadTest t = parsed(kSpec);
  MetricRules rules = MetricRules::fromSpec(t.spec, expandLoad(t.spec));
  ASSERT_EQ(rules.goodput.size(), 3u);  // errorRate is not a latency threshold
  struct Case {
    const char* name;
    int cls;
    int stage;
    int64_t ttft_ms;
    int64_t e2e_ms;
    bool good;
  };
  const Case cases[] = {
      {"chat, fast", 0, 0, 400, 1'500, true},
      {"ttft over 500ms, whatever the stat", 0, 0, 600, 1'500, false},
      {"chat e2e over 2s", 0, 0, 400, 2'500, false},
      {"long e2e over 2s: the e2e limit is chat's", 1, 0, 400, 2'500, true},
      {"long in high over its 300ms", 1, 1, 350, 1'000, false},
      {"long in low: the 300ms limit is high's", 1, 0, 350, 1'000, true},
      {"chat in high at 350ms", 0, 1, 350, 1'000, true},
  };
  for (const auto& c : cases) {
    RequestRecord r = okRequest();
    r.cls = c.cls;
    r.stage = c.stage;
    r.tFirst = r.tSend + c.ttft_ms * kMs;
    r.tEnd = r.tSend + c.e2e_ms * kMs;
    r.tLast = r.tEnd;
    EXPECT_EQ(rules.isGood(r), c.good) << c.name;
    r.outcome = Outcome::Cancelled;
    EXPECT_FALSE(rules.isGood(r)) << c.name;
  }
}

TEST(MetricsTest, MergeOfSetsEqualsOneSetOfEverything) {
  LoadTest t = parsed(kSpec);
  MetricRules rules = MetricRules::fromSpec(t.spec, expandLoad(t.spec));
  MetricSet all;
  MetricSet a;
  MetricSet b;
  for (int i = 0; i < 50; ++i) {
    RequestRecord r = okRequest(3 * kS + i * 100 * kMs);
    r.tFirst += i * 13 * kMs;
    r.outcome = i % 7 == 0 ? Outcome::Failed : i % 5 == 0 ? Outcome::Cancelled : Outcome::Ok;
    r.error = r.outcome == Outcome::Failed ? ErrorKind::Timeout : ErrorKind::None;
    all.add(r, rules);
    (i % 2 == 0 ? a : b).add(r, rules);
  }
  a.merge(b);
  EXPECT_EQ(a, all);
}

// ---- Recorder and snapshots ----
TEST(RecorderTest, WarmupArrivalsCountOnlyAsExcluded) {
  LoadTest t = parsed(kSpec);
  LoadPlan plan = expandLoad(t.spec);
  Recorder rec(t.spec, plan, kStart, "runner-0");
  rec.record(okRequest(1'999 * kMs));  // t_sched inside the 2 s warm-up
  rec.droppedArrival(0, kStart + 500 * kMs);
  Snapshot s = rec.snapshot(false, kStart + 3 * kS);
  EXPECT_EQ(s.warmupExcluded, 2);
  EXPECT_EQ(s.total, MetricSet{});
  EXPECT_EQ(s.stages[0], MetricSet{});
  EXPECT_EQ(s.classes[0], MetricSet{});
  EXPECT_TRUE(s.timeseries.empty());
  // ...but money spent is spent: the warm-up request's cost and tokens count in what the budget sees.
  const MetricRules rules = MetricRules::fromSpec(t.spec, plan);
  const RequestRecord warm = okRequest(1'999 * kMs);
  EXPECT_EQ(s.warmupSpend.cost, rules.costOf(warm));
  EXPECT_GT(s.warmupSpend.cost.nanos, 0);
  EXPECT_EQ(s.warmupSpend.inputTokens, warm.inputTokens);
  EXPECT_EQ(s.warmupSpend.outputTokens, warm.outputTokens);
  EXPECT_EQ(s.spent(), s.warmupSpend);

  rec.record(okRequest(2 * kS));  // the first instant after the warm-up counts
  rec.droppedArrival(1, kStart + 12 * kS);
  s = rec.snapshot(true, kStart + 22 * kS);
  EXPECT_EQ(s.warmupExcluded, 2);
  EXPECT_EQ(s.total.requests, 1);
  EXPECT_EQ(s.spent().cost, s.warmupSpend.cost + s.total.cost);
  EXPECT_EQ(s.spent().outputTokens, 2 * warm.outputTokens);
  // The report's spend includes it too; every other number leaves it out.
  Report report = buildReport(t.spec, plan, s, RunOutcome{Phase::Succeeded, "", 22, std::nullopt});
  EXPECT_EQ(report.summary.cost.spentUsd, s.spent().cost);
  EXPECT_EQ(report.summary.requests.total, 1);
  EXPECT_EQ(s.total.droppedArrivals, 1);
  EXPECT_EQ(s.stages[1].droppedArrivals, 1);
  EXPECT_EQ(s.sequence, 2);
  EXPECT_TRUE(s.final);
  EXPECT_DOUBLE_EQ(s.elapsedS, 22);
  EXPECT_EQ(s.runnerId, "runner-0");
}

TEST(RecorderTest, RecordsLandInTheirStageClassPairAndSecond) {
  LoadTest t = parsed(kSpec);
  Recorder rec(t.spec, expandLoad(t.spec), kStart, "r");
  RequestRecord a = okRequest(5 * kS);   // low, chat: ends at 5 s + 1452 ms → second 6
  RequestRecord b = okRequest(15 * kS);  // high, long
  b.stage = 1;
  b.cls = 1;
  b.outcome = Outcome::Failed;
  b.error = ErrorKind::Http5xx;
  RequestRecord stray = okRequest(8 * kS);  // indices outside the plan count in the total only
  stray.stage = 7;
  stray.cls = -1;
  rec.record(a);
  rec.record(b);
  rec.record(stray);
  Snapshot s = rec.snapshot(false, kStart + 20 * kS);
  EXPECT_EQ(s.total.requests, 3);
  ASSERT_EQ(s.stages.size(), 2u);
  ASSERT_EQ(s.classes.size(), 2u);
  EXPECT_EQ(s.stages[0].requests, 1);
  EXPECT_EQ(s.stages[1].failed, 1);
  EXPECT_EQ(s.classes[0].requests, 1);
  EXPECT_EQ(s.classes[1].requests, 1);
  ASSERT_EQ(s.stageClasses.size(), 1u);  // only the pair a threshold names
  EXPECT_EQ(s.stageClasses.begin()->first, (std::pair{1, 1}));
  EXPECT_EQ(s.stageClasses.begin()->second.failed, 1);
  ASSERT_EQ(s.timeseries.count(6), 1u);
  EXPECT_EQ(s.timeseries.at(6).ok, 1);
  EXPECT_EQ(s.timeseries.at(6).ttft.count(), 1);
  EXPECT_EQ(s.timeseries.at(16).errors, 1);
  EXPECT_EQ(s.timeseries.at(9).requests, 1);
}

// A deterministic mix of records: every outcome, both classes and stages, estimated counts, odd gaps.
std::vector<RequestRecord> mixedRecords(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
  };
  std::vector<RequestRecord> out;
  for (size_t i = 0; i < n; ++i) {
    RequestRecord r;
    r.tSched = kStart + pick(0, 20'000) * kMs;
    r.stage = r.tSched - kStart < 10 * kS ? 0 : 1;
    r.cls = static_cast<int>(pick(0, 1));
    r.tSend = r.tSched + pick(0, 8'000'000);
    r.inputTokens = pick(10, 5'000);
    r.cachedTokens = pick(0, r.inputTokens);
    r.tokensEstimated = pick(0, 9) == 0;
    r.attempts = static_cast<int>(pick(1, 3));
    int64_t roll = pick(0, 19);
    r.outcome = roll < 2 ? Outcome::Failed : roll < 4 ? Outcome::Cancelled : Outcome::Ok;
    if (r.outcome == Outcome::Failed) {
      r.error = static_cast<ErrorKind>(pick(1, 8));
      r.tEnd = r.tSend + pick(1, 3'000) * kMs;
      out.push_back(r);
      continue;
    }
    r.outputTokens = pick(0, 300);
    MonoNanos t = r.tSend + pick(20, 2'000) * kMs;
    if (r.outputTokens > 0) {
      r.tFirst = t;
      r.tFirstContent = t + pick(0, 500) * kMs;
      int64_t left = r.outputTokens - 1;
      while (left > 0) {
        int64_t tokens = std::min(left, pick(1, 8));
        int64_t gap = pick(1'000, 80'000'000);
        r.gaps.push_back({gap, tokens});
        t += gap;
        left -= tokens;
      }
      r.tLast = t;
    }
    r.tEnd = t + pick(0, 50) * kMs;
    r.finishReason = pick(0, 9) == 0 ? "length" : "stop";
    out.push_back(r);
  }
  return out;
}

TEST(SnapshotTest, JsonRoundTripsExactly) {
  LoadTest t = parsed(kSpec);
  Recorder rec(t.spec, expandLoad(t.spec), kStart, "runner-3");
  for (const auto& r : mixedRecords(300, 11)) {
    rec.record(r);
  }
  rec.droppedArrival(1, kStart + 15 * kS);
  Snapshot s = rec.snapshot(true, kStart + 21'500 * kMs);
  std::string text = toJson(s).dump();
  std::string why;
  auto back = parseSnapshot(text, &why);
  ASSERT_TRUE(back.has_value()) << why;
  EXPECT_EQ(*back, s);
  EXPECT_EQ(toJson(*back).dump(), text);
}

struct MalformedSnapshot {
  const char* pointer;  // JSON pointer of the field to change; empty: the text replaces the whole document
  std::string value;    // JSON text of the new value; "-" removes the field
  const char* error;
};

TEST(SnapshotTest, MalformedSnapshotsAreRejectedNamingTheField) {
  LoadTest t = parsed(kSpec);
  Recorder rec(t.spec, expandLoad(t.spec), kStart, "runner-0");
  for (const auto& r : mixedRecords(50, 3)) {
    rec.record(r);
  }
  const nlohmann::json good = nlohmann::json::parse(toJson(rec.snapshot(false, kStart + 10 * kS)).dump());
  const std::string empty3 =
      "\"" + Histogram(3).encode() + "\"";  // valid, but not the time series' precision
  const std::vector<MalformedSnapshot> cases = {
      {"/version", "2", "snapshot.version: is 2"},
      {"/runnerId", "7", "snapshot.runnerId: must be a string"},
      {"/elapsedS", "\"x\"", "snapshot.elapsedS: must be a number"},
      {"/elapsedS", "-1", "snapshot.elapsedS: must be a number"},
      {"/total/ok", "-1", "snapshot.total.ok: must be between 0 and 2^48"},
      {"/total/ok", "\"3\"", "snapshot.total.ok: must be a whole number"},
      {"/total/ok", "1.5", "snapshot.total.ok: must be a whole number"},
      {"/total/ok", "18446744073709551615", "snapshot.total.ok: must be between 0 and 2^48"},
      {"/total/bogus", "1", "snapshot.total.bogus: is not a known field"},
      {"/total/requests", "100000", "snapshot.total.requests: must equal ok + failed + cancelled"},
      {"/total/errors/http429", "999999", "snapshot.total.errors: must add up to failed"},
      {"/total/errors/http418", "0", "snapshot.total.errors.http418: is not a known field"},
      {"/total/costUsd", "\"-1\"", "snapshot.total.costUsd: must be a decimal between 0 and 1000000"},
      {"/total/costUsd", "\"1000000.000000001\"", "snapshot.total.costUsd: must be a decimal between"},
      {"/total/ok", "281474976710657", "snapshot.total.ok: must be between 0 and 2^48"},
      {"/total/costUsd", "0.5", "snapshot.total.costUsd: must be a string"},
      {"/total/histograms/ttft", "\"AAAA\"", "snapshot.total.histograms.ttft: has format version 0"},
      {"/total/histograms/ttft", "\"!!\"", "snapshot.total.histograms.ttft: is not base64"},
      {"/total/histograms/latency", empty3, "snapshot.total.histograms.latency: is not a known field"},
      {"/stages/1/histograms", "-", "snapshot.stages[1].histograms: is required"},
      {"/stages/0", "[]", "snapshot.stages[0]: must be an object"},
      {"/classes", "{}", "snapshot.classes: must be a list"},
      {"/stageClasses/0/stage", "9", "snapshot.stageClasses[0].stage: names no stage"},
      {"/timeseries/0/ttft", empty3, "snapshot.timeseries[0].ttft: has 3 significant digits (expected 2)"},
      {"/timeseries/1/tS", "0", "snapshot.timeseries[1].tS: must be greater than the previous"},
      {"/timeseries/0/tS", "99999999", "snapshot.timeseries[0].tS: is beyond"},
      {"/warmupSpend/costUsd", "\"x\"", "snapshot.warmupSpend.costUsd: must be a decimal between 0"},
      {"/warmupSpend/inputTokens", "-1", "snapshot.warmupSpend.inputTokens: must be between 0 and 2^48"},
      {"/warmupSpend/bogus", "1", "snapshot.warmupSpend.bogus: is not a known field"},
      {"/warmupSpend/estimated", "-", "snapshot.warmupSpend.estimated: is required"},
      {"", "[1, 2]", "snapshot: must be an object"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = good;
    if (std::string(c.pointer).empty()) {
      j = nlohmann::json::parse(c.value);
    } else if (c.value == "-") {
      nlohmann::json::json_pointer p(c.pointer);
      j.at(p.parent_pointer()).erase(p.back());
    } else {
      j[nlohmann::json::json_pointer(c.pointer)] = nlohmann::json::parse(c.value);
    }
    std::string why;
    EXPECT_FALSE(parseSnapshot(j.dump(), &why).has_value()) << c.pointer;
    EXPECT_EQ(why.rfind(c.error, 0), 0u) << c.pointer << " → " << why;
  }
  std::string why;
  EXPECT_FALSE(parseSnapshot("{\"version\": 1,", &why).has_value());
  EXPECT_EQ(why, "snapshot: is not valid JSON");
  EXPECT_FALSE(parseSnapshot(std::string(100'000, '[') + std::string(100'000, ']'), &why).has_value());
  EXPECT_EQ(why, "snapshot: nests deeper than 32 levels");
  EXPECT_TRUE(parseSnapshot(good.dump(), &why).has_value()) << why;
}

TEST(SnapshotTest, EveryFieldReplacedWithGarbageIsRejectedOrDecoded) {
  LoadTest t = parsed(kSpec);
  Recorder rec(t.spec, expandLoad(t.spec), kStart, "runner-0");
  for (const auto& r : mixedRecords(40, 8)) {
    rec.record(r);
  }
  const nlohmann::json good = nlohmann::json::parse(toJson(rec.snapshot(false, kStart + 10 * kS)).dump());
  const nlohmann::json garbage[] = {
      nullptr, -1, "x", 1e300, nlohmann::json::array(), nlohmann::json::object(), true, "AQMAAAAAAAA="};
  size_t rejected = 0;
  size_t tried = 0;
  const nlohmann::json leaves = good.flatten();
  for (const auto& [pointer, value] : leaves.items()) {
    for (const auto& g : garbage) {
      nlohmann::json j = good;
      j[nlohmann::json::json_pointer(pointer)] = g;
      std::string why;
      ++tried;
      if (!parseSnapshot(j.dump(), &why)) {
        EXPECT_EQ(why.rfind("snapshot", 0), 0u) << pointer << " → " << why;
        ++rejected;
      }
    }
  }
  EXPECT_GT(tried, 100u);
  EXPECT_GT(rejected, tried * 9 / 10);
}

TEST(SnapshotTest, MergeIsAssociativeAndCommutative) {
  LoadTest t = parsed(kSpec);
  LoadPlan plan = expandLoad(t.spec);
  std::vector<Snapshot> parts;
  auto records = mixedRecords(300, 5);
  for (int k = 0; k < 3; ++k) {
    Recorder rec(t.spec, plan, kStart, "runner-" + std::to_string(k));
    for (size_t i = static_cast<size_t>(k); i < records.size(); i += 3) {
      rec.record(records[i]);
    }
    parts.push_back(rec.snapshot(k != 1, kStart + (20 + k) * kS));
  }
  Snapshot ab_c = merge({merge({parts[0], parts[1]}), parts[2]});
  Snapshot a_bc = merge({parts[0], merge({parts[1], parts[2]})});
  Snapshot cba = merge({parts[2], parts[1], parts[0]});
  EXPECT_EQ(ab_c, a_bc);
  EXPECT_EQ(ab_c, cba);
  EXPECT_EQ(ab_c.runnerId, "runner-0,runner-1,runner-2");
  EXPECT_FALSE(ab_c.final);  // runner-1 is not done
  EXPECT_DOUBLE_EQ(ab_c.elapsedS, 22);
  EXPECT_EQ(merge({}), Snapshot{});
}

// The key property: however the records are split over runners, the merged report is the same, to the
// byte, as one runner's — and it survives the JSON trip through ConfigMaps.
TEST(SnapshotTest, ThreeRunnersMergedReportExactlyWhatOneRunnerDoes) {
  LoadTest t = parsed(kSpec);
  LoadPlan plan = expandLoad(t.spec);
  auto records = mixedRecords(900, 17);
  Recorder one(t.spec, plan, kStart, "solo");
  std::vector<Recorder> three;
  for (int k = 0; k < 3; ++k) {
    three.emplace_back(t.spec, plan, kStart, "runner-" + std::to_string(k));
  }
  std::mt19937_64 rng(99);
  for (const auto& r : records) {
    one.record(r);
    three[rng() % 3].record(r);
  }
  const MonoNanos end = kStart + 21 * kS;
  Snapshot single = one.snapshot(true, end);
  std::vector<Snapshot> shards;
  for (auto& rec : three) {
    std::string why;
    auto back = parseSnapshot(toJson(rec.snapshot(true, end)).dump(), &why);
    ASSERT_TRUE(back.has_value()) << why;
    shards.push_back(*back);
  }
  Snapshot merged = merge(shards);
  EXPECT_EQ(merged.total, single.total);
  EXPECT_EQ(merged.stages, single.stages);
  EXPECT_EQ(merged.classes, single.classes);
  EXPECT_EQ(merged.stageClasses, single.stageClasses);
  EXPECT_EQ(merged.timeseries, single.timeseries);
  RunOutcome outcome{Phase::Succeeded, "", 21.5, std::nullopt};
  std::string expected = toJson(buildReport(t.spec, plan, single, outcome)).dump(2);
  EXPECT_EQ(toJson(buildReport(t.spec, plan, merged, outcome)).dump(2), expected);
  std::reverse(shards.begin(), shards.end());
  EXPECT_EQ(toJson(buildReport(t.spec, plan, merge(shards), outcome)).dump(2), expected);
  EXPECT_GT(single.total.requests, 700);  // the fixture exercised what it claims
  EXPECT_GT(single.warmupExcluded, 0);
  EXPECT_EQ(merged.warmupExcluded, single.warmupExcluded);
  EXPECT_GT(single.total.failed, 0);
  EXPECT_GT(single.total.cancelled, 0);
  EXPECT_GT(single.total.estimatedTokenRequests, 0);
}

TEST(MetricSetTest, ClientEstimatesAreComparedOnlyWhereTheServerCounted) {
  MetricSet m;
  RequestRecord counted;
  counted.outputTokens = 10;
  counted.clientOutputEstimate = 13;
  m.add(counted);
  RequestRecord estimated;  // no usage: nothing to compare with
  estimated.outputTokens = 7;
  estimated.tokensEstimated = true;
  estimated.clientOutputEstimate = 7;
  m.add(estimated);
  RequestRecord unknown;  // usage, but no estimate computed
  unknown.outputTokens = 5;
  m.add(unknown);
  EXPECT_EQ(m.serverOutputTokensCompared, 10);
  EXPECT_EQ(m.clientOutputTokensCompared, 13);
  MetricSet twice = m;
  twice.merge(m);
  EXPECT_EQ(twice.serverOutputTokensCompared, 20);
  EXPECT_EQ(twice.clientOutputTokensCompared, 26);
}

TEST(SnapshotTest, CoarseTimeSeriesPointsRoundTripAndAreChecked) {
  Snapshot s;
  for (auto [second, step, requests] : {std::tuple{0, 4, 3}, std::tuple{4, 1, 1}, std::tuple{6, 2, 2}}) {
    TimePoint p;
    p.stepS = step;
    p.requests = requests;
    p.ok = requests;
    p.ttft.record(100 * kMs, requests);
    s.timeseries[second] = p;
  }
  nlohmann::json j = nlohmann::json::parse(toJson(s).dump());
  EXPECT_EQ(j["timeseries"][0]["stepS"], 4);
  EXPECT_FALSE(j["timeseries"][1].contains("stepS")) << "1 is not written";
  std::string why;
  auto back = parseSnapshot(j.dump(), &why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(*back, s);
  struct Case {
    int point;
    const char* key;
    int value;
    const char* error;
  };
  for (const Case& c :
       {Case{0, "stepS", 3, "snapshot.timeseries[0].stepS: must be a power of two between 1 and"},
        Case{0, "stepS", 0, "snapshot.timeseries[0].stepS: must be a power of two"},
        Case{0, "stepS", 1 << 23, "snapshot.timeseries[0].stepS: must be a power of two"},
        Case{2, "tS", 5, "snapshot.timeseries[2].tS: must be a multiple of stepS 2"},
        Case{1, "tS", 2,
             "snapshot.timeseries[1].tS: must be greater than the previous point's (0, "
             "which covers 4 s)"}}) {
    nlohmann::json bad = j;
    bad["timeseries"][c.point][c.key] = c.value;
    EXPECT_FALSE(parseSnapshot(bad.dump(), &why)) << c.error;
    EXPECT_EQ(why.rfind(c.error, 0), 0u) << why;
  }
}

}  // namespace
}  // namespace tokenstorm::core
