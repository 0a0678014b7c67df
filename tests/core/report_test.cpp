#include "tokenstorm/core/report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"
#include "tokenstorm/core/compact.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/validate.h"

namespace tokenstorm::core {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;
constexpr MonoNanos kStart = 500 * kS;

// Two 10 s stages after a 2 s warm-up; `thresholds` is spliced in as the spec's thresholds list.
std::string specText(const std::string& thresholds) {
  return testing::twoStageLoadTest("report", R"({input: "0.20", output: "0.60"})", thresholds);
}

LoadTestSpec parsedSpec(const std::string& thresholds) {
  LoadResult r = parseLoadTests(specText(thresholds));
  for (const auto& t : r.tests) {
    validate(t, &r.errors);
  }
  EXPECT_TRUE(r.errors.empty()) << r.errors[0].str();
  EXPECT_EQ(r.tests.size(), 1u);
  return r.tests.empty() ? LoadTestSpec{} : r.tests[0].spec;
}

RequestRecord request(int stage, int64_t at_ms, int64_t ttft_ms, int64_t e2e_ms, int64_t output) {
  RequestRecord r;
  r.stage = stage;
  r.cls = 0;
  r.tSched = kStart + at_ms * kMs;
  r.tSend = r.tSched + 2 * kMs;
  r.tFirst = r.tSend + ttft_ms * kMs;
  r.tFirstContent = r.tFirst;
  r.tEnd = r.tSend + e2e_ms * kMs;
  r.tLast = r.tEnd - kMs;
  r.inputTokens = 100;
  r.outputTokens = output;
  r.finishReason = "stop";
  return r;
}

// The run every test reads (all class chat; no request of class long):
//   low  (3–9 s):   40 ok, TTFT 100..139 ms, E2E 1 s, 10 tokens
//   high (10–19 s): 50 ok, TTFT 400 ms, E2E 2 s, 20 tokens, 1 in 5 cut by length;
//                   10 failed with 429 after 3 attempts each; 5 cancelled with TTFT 450 ms, 3 tokens
// Window: 22 s elapsed − 2 s warm-up = 20 s. Totals: 105 requests, 1415 output tokens.
std::vector<RequestRecord> theRun(int64_t sched_lag_ms = 2) {
  std::vector<RequestRecord> out;
  for (int64_t i = 0; i < 40; ++i) {
    out.push_back(request(0, 3'000 + i * 150, 100 + i, 1'000, 10));
  }
  for (int64_t i = 0; i < 50; ++i) {
    out.push_back(request(1, 10'000 + i * 180, 400, 2'000, 20));
    out.back().finishReason = i % 5 == 0 ? "length" : "stop";
  }
  for (int64_t i = 0; i < 10; ++i) {
    RequestRecord r = request(1, 12'000 + i * 100, 0, 5, 0);
    r.tFirst = r.tFirstContent = r.tLast = 0;
    r.outcome = Outcome::Failed;
    r.error = ErrorKind::Http429;
    r.attempts = 3;
    out.push_back(r);
  }
  for (int64_t i = 0; i < 5; ++i) {
    out.push_back(request(1, 15'000, 450, 600, 3));
    out.back().outcome = Outcome::Cancelled;
  }
  for (auto& r : out) {
    r.tSend = r.tSched + sched_lag_ms * kMs;
  }
  return out;
}

Report reportOf(const std::string& thresholds,
                const RunOutcome& outcome = {Phase::Succeeded, "", 22, std::nullopt},
                int64_t sched_lag_ms = 2) {
  LoadTestSpec spec = parsedSpec(thresholds);
  LoadPlan plan = expandLoad(spec);
  Recorder rec(spec, plan, kStart, "r");
  for (const auto& r : theRun(sched_lag_ms)) {
    rec.record(r);
  }
  return buildReport(spec, plan, rec.snapshot(true, kStart + 22 * kS), outcome);
}

std::vector<std::string> keysOf(const nlohmann::ordered_json& j) {
  std::vector<std::string> out;
  for (const auto& [k, v] : j.items()) {
    out.push_back(k);
  }
  return out;
}

using Keys = std::vector<std::string>;

TEST(ReportTest, JsonHasTheShapeOfMetricsMd) {
  nlohmann::ordered_json j = toJson(reportOf("[{metric: ttft, stat: p95, max: 500ms}]"));
  EXPECT_EQ(keysOf(j), (Keys{"verdict", "phase", "reason", "summary", "stages", "classes", "thresholds",
                             "timeseries", "quality", "warnings", "tokens"}));
  EXPECT_EQ(j["verdict"], "Pass");
  EXPECT_EQ(j["phase"], "Succeeded");
  const auto& s = j["summary"];
  EXPECT_EQ(keysOf(s),
            (Keys{"requests", "requestsPerSecond", "inputTokensPerSecond", "outputTokensPerSecond",
                  "goodputPerSecond", "ttftMs", "ttftSchedMs", "ttfoMs", "e2eMs", "tpotMs", "itlMs",
                  "interChunkMs", "errors", "retries", "cacheHitRate", "cost", "client"}));
  EXPECT_EQ(keysOf(s["requests"]), (Keys{"total", "ok", "failed", "cancelled"}));
  for (const char* latency :
       {"ttftMs", "ttftSchedMs", "ttfoMs", "e2eMs", "tpotMs", "itlMs", "interChunkMs"}) {
    for (const char* stat : {"p50", "p90", "p95", "p99", "p999", "max", "mean"}) {
      EXPECT_TRUE(s[latency].contains(stat)) << latency << "." << stat;
    }
  }
  EXPECT_EQ(keysOf(s["errors"]),
            (Keys{"http429", "http4xx", "http5xx", "timeout", "connect", "tls", "streamError", "protocol"}));
  EXPECT_EQ(keysOf(s["cost"]), (Keys{"spentUsd", "budgetUsd", "estimated"}));
  EXPECT_EQ(keysOf(s["client"]), (Keys{"schedLagMs", "droppedArrivals"}));
  ASSERT_EQ(j["stages"].size(), 2u);
  EXPECT_EQ(keysOf(j["stages"][0]), (Keys{"name", "startS", "endS", "summary"}));
  EXPECT_EQ(keysOf(j["stages"][0]["summary"]), keysOf(s));
  EXPECT_EQ(keysOf(j["classes"]), (Keys{"chat", "long"}));
  EXPECT_EQ(keysOf(j["classes"]["chat"]), keysOf(s));
  ASSERT_EQ(j["thresholds"].size(), 1u);
  EXPECT_EQ(keysOf(j["thresholds"][0]), (Keys{"metric", "stat", "limit", "value", "passed"}));
  EXPECT_EQ(j["thresholds"][0]["limit"], "max 500ms");
  EXPECT_EQ(j["timeseries"]["intervalS"], 1);
  ASSERT_FALSE(j["timeseries"]["points"].empty());
  for (const char* key : {"tS", "requestsPerSecond", "outputTokensPerSecond", "ttftP95Ms", "errors"}) {
    EXPECT_TRUE(j["timeseries"]["points"][0].contains(key)) << key;
  }
  // The summary decodes with the API's own decoder: report.json and status.summary are one shape.
  Diagnostics errors;
  EXPECT_TRUE(decodeSummary(nodeFromJson(nlohmann::json::parse(s.dump())), &errors).has_value())
      << (errors.empty() ? "" : errors[0].str());
}

TEST(ReportTest, RatesDivideByTheMeasuredWindow) {
  Report r = reportOf("[]");
  EXPECT_DOUBLE_EQ(r.windowS, 20);
  const Summary& s = r.summary;
  EXPECT_EQ(s.requests.total, 105);
  EXPECT_EQ(s.requests.ok, 90);
  EXPECT_EQ(s.requests.failed, 10);
  EXPECT_EQ(s.requests.cancelled, 5);
  EXPECT_DOUBLE_EQ(s.requestsPerSecond, 105.0 / 20);
  EXPECT_DOUBLE_EQ(s.outputTokensPerSecond, 1'415.0 / 20);
  EXPECT_DOUBLE_EQ(s.inputTokensPerSecond, 105 * 100.0 / 20);
  EXPECT_DOUBLE_EQ(s.goodputPerSecond, 90.0 / 20);  // no latency thresholds: every ok request
  EXPECT_EQ(s.errors.http429, 10);
  EXPECT_EQ(s.retries, 20);
  EXPECT_NEAR(s.ttftMs.p95, 400, 400 * 0.001);
  EXPECT_DOUBLE_EQ(s.ttftMs.min, 100);
  EXPECT_DOUBLE_EQ(s.ttftMs.max, 450);
  EXPECT_DOUBLE_EQ(s.client.schedLagMs.max, 2);
  // 105 × 100 input at 0.20 + 1415 output at 0.60, per 1M tokens.
  EXPECT_EQ(s.cost.spentUsd.nanos, 105 * 100 * 200 + 1'415 * 600);
  EXPECT_EQ(s.cost.budgetUsd, Decimal::fromUnits(10));
  ASSERT_EQ(r.stages.size(), 2u);
  EXPECT_EQ(r.stages[0].name, "low");
  EXPECT_DOUBLE_EQ(r.stages[0].startS, 0);
  EXPECT_DOUBLE_EQ(r.stages[0].endS, 10);
  EXPECT_DOUBLE_EQ(r.stages[0].summary.requestsPerSecond, 40.0 / 8);  // low ran 2–10 s after the warm-up
  EXPECT_DOUBLE_EQ(r.stages[1].summary.requestsPerSecond, 65.0 / 10);
  EXPECT_FALSE(r.stages[0].summary.cost.budgetUsd.has_value());
  EXPECT_EQ(r.classes.at("chat").requests.total, 105);
  EXPECT_EQ(r.classes.at("long").requests.total, 0);
}

struct ThresholdCase {
  const char* threshold;
  bool passed;
  double value;
  const char* message;  // a part of the message
};

TEST(ReportTest, ThresholdsAreEvaluatedOnTheirScope) {
  const ThresholdCase cases[] = {
      {"{metric: ttft, stat: p95, max: 500ms}", true, 400, "ttft p95 400.0 ms within max 500ms"},
      {"{metric: ttft, stat: p95, max: 300ms}", false, 400, "ttft p95 400.0 ms > max 300ms"},
      {"{metric: ttft, stat: max, max: 450ms}", true, 450, "within max 450ms"},
      {"{metric: ttft, stat: min, min: 101ms}", false, 100, "< min 101ms"},
      {"{metric: errorRate, max: 0.1}", true, 0.1, "errorRate 0.1 within max 0.1"},
      {"{metric: errorRate, max: 0.05}", false, 0.1, "> max 0.05"},
      {"{metric: outputTokensPerSecond, min: 50}", true, 70.75, "within min 50"},
      {"{metric: outputTokensPerSecond, min: 100}", false, 70.75, "< min 100"},
      {"{metric: requestsPerSecond, min: 5, stage: low}", true, 5, "requestsPerSecond (stage low) 5.00"},
      {"{metric: requestsPerSecond, min: 6, max: 7, stage: high}", true, 6.5, "within min 6, max 7"},
      {"{metric: ttft, stat: p50, max: 300ms, stage: high}", false, 400, "(stage high)"},
      {"{metric: ttft, stat: p50, max: 1s, stage: high, class: chat}", true, 400, "(stage high, class chat)"},
      {"{metric: e2e, stat: p99, max: 3s, class: chat}", true, 2'000, "e2e p99 (class chat)"},
      {"{metric: ttft, stat: p95, max: 1s, class: long}", false, 0, "no data (no ttft samples)"},
      {"{metric: requestsPerSecond, min: 0, class: long}", false, 0, "no data (no requests finished)"},
      {"{metric: goodputFraction, min: 0.9}", true, 0.9, "within min 0.9"},
      {"{metric: goodput, min: 4.5}", true, 4.5, "within min 4.5"},
      {"{metric: retryAmplification, max: 1.2}", true, 125.0 / 105, "within max 1.2"},
      {"{metric: cacheHitRate, min: 0.5}", false, 0, "< min 0.5"},
      {"{metric: schedLag, stat: p99, max: 5ms}", true, 2, "schedLag p99 2.00 ms"},
  };
  for (const auto& c : cases) {
    Report r = reportOf(std::string("[") + c.threshold + "]");
    ASSERT_EQ(r.thresholds.size(), 1u) << c.threshold;
    const ThresholdCheck& t = r.thresholds[0];
    EXPECT_EQ(t.result.passed, c.passed) << c.threshold << ": " << t.message;
    EXPECT_NEAR(t.result.value, c.value, std::max(1e-9, c.value * 0.001)) << c.threshold;
    EXPECT_NE(t.message.find(c.message), std::string::npos) << c.threshold << ": " << t.message;
    EXPECT_EQ(r.verdict, c.passed ? Verdict::Pass : Verdict::Fail) << c.threshold;
    EXPECT_EQ(exitCode(r), c.passed ? 0 : 1) << c.threshold;
    if (!c.passed) {
      EXPECT_NE(r.reason.find("ThresholdsFailed: " + t.message), std::string::npos) << r.reason;
    }
  }
}

TEST(ReportTest, GoodputCountsOnlyRequestsMeetingLatencyMaxima) {
  // TTFT max 300 ms excludes the 50 ok requests of stage high at 400 ms: 40 good of 100 finished.
  Report r = reportOf("[{metric: ttft, stat: p50, max: 300ms}, {metric: goodputFraction, min: 0.5}]");
  EXPECT_DOUBLE_EQ(r.summary.goodputPerSecond, 40.0 / 20);
  EXPECT_DOUBLE_EQ(r.thresholds[1].result.value, 0.4);
  EXPECT_FALSE(r.thresholds[1].result.passed);
}

struct VerdictCase {
  Phase phase;
  const char* thresholds;
  Verdict verdict;
  int exit;
};

TEST(ReportTest, VerdictAndExitCodeFollowPhaseAndThresholds) {
  const VerdictCase cases[] = {
      {Phase::Succeeded, "[]", Verdict::Pass, 0},
      {Phase::Succeeded, "[{metric: errorRate, max: 0.5}]", Verdict::Pass, 0},
      {Phase::Succeeded, "[{metric: errorRate, max: 0.01}]", Verdict::Fail, 1},
      {Phase::Failed, "[{metric: errorRate, max: 0.5}]", Verdict::Fail, 1},
      {Phase::Aborted, "[{metric: errorRate, max: 0.5}]", Verdict::Fail, 3},  // never Pass when aborted
      {Phase::Aborted, "[{metric: errorRate, max: 0.01}]", Verdict::Fail, 3},
  };
  for (const auto& c : cases) {
    Report r = reportOf(c.thresholds,
                        {c.phase, c.phase == Phase::Aborted ? "BudgetExceeded" : "", 22, std::nullopt});
    EXPECT_EQ(r.verdict, c.verdict) << enumName(c.phase) << " " << c.thresholds;
    EXPECT_EQ(r.phase, c.phase);
    EXPECT_EQ(exitCode(r), c.exit) << enumName(c.phase) << " " << c.thresholds;
  }
  Report aborted =
      reportOf("[{metric: errorRate, max: 0.01}]", {Phase::Aborted, "BudgetExceeded", 22, std::nullopt});
  EXPECT_EQ(aborted.reason.rfind("BudgetExceeded; ThresholdsFailed: errorRate", 0), 0u) << aborted.reason;
}

TEST(ReportTest, AnAbortedRunReportsTheStagesThatRan) {
  LoadTestSpec spec = parsedSpec("[{metric: ttft, stat: p95, max: 1s, stage: high}]");
  LoadPlan plan = expandLoad(spec);
  Recorder rec(spec, plan, kStart, "r");
  for (const auto& r : theRun()) {
    if (r.tSched < kStart + 9 * kS) {
      rec.record(r);
    }
  }
  Report r = buildReport(spec, plan, rec.snapshot(true, kStart + 9 * kS),
                         {Phase::Aborted, "Suspended", 9, std::nullopt});
  ASSERT_EQ(r.stages.size(), 1u);  // high never started
  EXPECT_DOUBLE_EQ(r.stages[0].endS, 9);
  EXPECT_DOUBLE_EQ(r.stages[0].summary.requestsPerSecond, 40.0 / 7);
  ASSERT_EQ(r.thresholds.size(), 1u);
  EXPECT_FALSE(r.thresholds[0].result.passed);
  EXPECT_TRUE(r.thresholds[0].noData);
  EXPECT_EQ(exitCode(r), 3);
}

TEST(ReportTest, JunitHasOneTestcasePerThresholdAndTheRun) {
  Report r = reportOf(
      "[{metric: ttft, stat: p95, max: 500ms}, {metric: errorRate, max: 0.05}, "
      "{metric: ttft, stat: p95, max: 1s, class: long}]");
  std::string xml = toJunitXml(r, "chat <spike> & \"co\"");
  EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 0), 0u);
  EXPECT_NE(
      xml.find("<testsuite name=\"chat &lt;spike&gt; &amp; &quot;co&quot;\" tests=\"4\" failures=\"2\""),
      std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"run\""), std::string::npos);
  EXPECT_NE(xml.find("name=\"ttft p95 max 500ms\" time=\"0\"/>"), std::string::npos) << xml;
  EXPECT_NE(xml.find("<failure message=\"errorRate 0.1 &gt; max 0.05\" type=\"ThresholdFailed\">"),
            std::string::npos)
      << xml;
  EXPECT_NE(xml.find("name=\"ttft p95 max 1s [class long]\""), std::string::npos) << xml;
  EXPECT_NE(xml.find("type=\"NoData\""), std::string::npos);
  EXPECT_EQ(xml.find("chat <spike>"), std::string::npos);  // nothing unescaped
  size_t testcases = 0;
  for (size_t at = xml.find("<testcase "); at != std::string::npos; at = xml.find("<testcase ", at + 1)) {
    ++testcases;
  }
  EXPECT_EQ(testcases, 4u);

  Report aborted = reportOf("[]", {Phase::Aborted, "DeadlineExceeded: 15m", 22, std::nullopt});
  std::string long_name(2'000, 'x');  // longer than any buffer: nothing is cut
  EXPECT_NE(toJunitXml(aborted, long_name).find("classname=\"tokenstorm." + long_name + "\" name=\"run\""),
            std::string::npos);
  std::string axml = toJunitXml(aborted, "t");
  EXPECT_NE(axml.find("<failure message=\"Aborted: DeadlineExceeded: 15m\" type=\"Aborted\"/>"),
            std::string::npos)
      << axml;
}

TEST(ReportTest, TerminalTableShowsTheKeyFigures) {
  Report r = reportOf("[{metric: ttft, stat: p95, max: 500ms}, {metric: errorRate, max: 0.05}]");
  std::string text = renderTerminal(r);
  for (const char* figure :
       {"FAIL", "phase Succeeded", "105 total", "90 ok", "10 failed", "5 cancelled", "error rate 10.00%",
        "5.25 req/s", "70.8 tok/s", "http429 10", "10.00 budget", "400.03",
        "PASS  ttft p95 400.0 ms within max 500ms", "FAIL  errorRate 0.1 > max 0.05", "low", "high"}) {
    EXPECT_NE(text.find(figure), std::string::npos) << figure << "\n" << text;
  }
  EXPECT_EQ(text.find("Warnings"), std::string::npos) << text;
  // Columns line up: every latency row is as wide as its header.
  size_t header = text.find("Latency (ms)");
  size_t ttft_row = text.find("\nttft ", header);
  ASSERT_NE(ttft_row, std::string::npos);
  EXPECT_EQ(text.find('\n', header) - header, text.find('\n', ttft_row + 1) - ttft_row - 1);
}

TEST(ReportTest, SchedulingLagOverFiveMsIsSaidLoudly) {
  Report r = reportOf("[]", {Phase::Succeeded, "", 22, std::nullopt}, /*sched_lag_ms=*/8);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find("SCHEDULING LAG: p99 is 8.00 ms"), std::string::npos) << r.warnings[0];
  EXPECT_NE(renderTerminal(r).find("SCHEDULING LAG"), std::string::npos);
  EXPECT_EQ(toJson(r)["warnings"][0], r.warnings[0]);
  EXPECT_TRUE(
      reportOf("[]", {Phase::Succeeded, "", 22, std::nullopt}, 5).warnings.empty());  // 5 ms is not over
}

TEST(ReportTest, RunnerCpuIsReportedAndABusyRunnerSaidLoudly) {
  RunOutcome busy{Phase::Succeeded, "", 22, 96.0};
  Report r = reportOf("[]", busy);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("RUNNER CPU: the runner's event loop used 96%"), std::string::npos)
      << r.warnings[0];
  EXPECT_DOUBLE_EQ(toJson(r)["runner"]["cpuPercent"].get<double>(), 96.0);
  RunOutcome calm{Phase::Succeeded, "", 22, 40.0};
  Report quiet = reportOf("[]", calm);
  EXPECT_TRUE(quiet.warnings.empty());
  EXPECT_DOUBLE_EQ(toJson(quiet)["runner"]["cpuPercent"].get<double>(), 40.0);
  EXPECT_FALSE(toJson(reportOf("[]")).contains("runner"));  // not measured: not reported
}

TEST(ReportTest, QualityDriftComparesEachStageWithTheFirst) {
  Report r = reportOf("[]");
  ASSERT_EQ(r.quality.size(), 2u);
  EXPECT_TRUE(r.quality[0].baseline);
  EXPECT_EQ(r.quality[0].stage, "low");
  EXPECT_DOUBLE_EQ(r.quality[0].meanOutputTokens, 10);
  EXPECT_DOUBLE_EQ(r.quality[0].finishLengthRate, 0);
  EXPECT_FALSE(r.quality[1].baseline);
  EXPECT_DOUBLE_EQ(r.quality[1].meanOutputTokens, 20);
  EXPECT_DOUBLE_EQ(r.quality[1].meanOutputChange, 1.0);
  EXPECT_DOUBLE_EQ(r.quality[1].finishLengthRate, 0.2);
  EXPECT_DOUBLE_EQ(r.quality[1].finishLengthRateChange, 0.2);
  EXPECT_DOUBLE_EQ(r.quality[1].emptyRateChange, 0);
}

TEST(ReportTest, TimeSeriesIsContiguousPerSecond) {
  Report r = reportOf("[]");
  ASSERT_FALSE(r.timeseries.empty());
  EXPECT_EQ(r.timeseries.front().tS, 4);  // the first request ended at 4.0 s
  for (size_t i = 1; i < r.timeseries.size(); ++i) {
    EXPECT_EQ(r.timeseries[i].tS, r.timeseries[i - 1].tS + 1);
  }
  double requests = 0;
  int64_t errors = 0;
  for (const auto& p : r.timeseries) {
    requests += p.requestsPerSecond;
    errors += p.errors;
  }
  EXPECT_DOUBLE_EQ(requests, 105);
  EXPECT_EQ(errors, 10);
  EXPECT_GE(r.peakRequestsPerSecond, 10);  // 10 failures in one second, on top of the ok ones
}

TEST(ReportTest, ACompactedSnapshotsCoarsePointsAreAveragedAndSaidSo) {
  LoadTestSpec spec = parsedSpec("[]");
  LoadPlan plan = expandLoad(spec);
  Recorder rec(spec, plan, kStart, "r");
  for (const auto& r : theRun()) {
    rec.record(r);
  }
  Snapshot fine = rec.snapshot(true, kStart + 22 * kS);
  Snapshot coarse = fine;
  coarse.timeseries = coarsenTimeSeries(fine.timeseries, 4);  // the last 4 s stay at 1 s
  ASSERT_NE(coarse.timeseries, fine.timeseries);
  const RunOutcome outcome{Phase::Succeeded, "", 22, std::nullopt};
  Report a = buildReport(spec, plan, fine, outcome);
  Report b = buildReport(spec, plan, coarse, outcome);
  EXPECT_EQ(toJson(a)["summary"], toJson(b)["summary"]) << "the summary does not read the time series";
  double requests = 0;
  int64_t errors = 0;
  int64_t next = b.timeseries.front().tS;
  bool saw_coarse = false;
  for (const auto& p : b.timeseries) {
    EXPECT_EQ(p.tS, next) << "contiguous: each point starts where the last ended";
    next = p.tS + p.stepS;
    requests += p.requestsPerSecond * static_cast<double>(p.stepS);  // a rate over stepS seconds
    errors += p.errors;
    saw_coarse = saw_coarse || p.stepS > 1;
  }
  EXPECT_TRUE(saw_coarse);
  EXPECT_DOUBLE_EQ(requests, 105);
  EXPECT_EQ(errors, 10);
  nlohmann::ordered_json j = toJson(b);
  ASSERT_TRUE(j["timeseries"].contains("compacted"));
  EXPECT_GT(j["timeseries"]["compacted"]["maxStepS"].get<int64_t>(), 1);
  EXPECT_FALSE(toJson(a)["timeseries"].contains("compacted")) << "an uncompacted report is as it was";
  EXPECT_FALSE(toJson(a)["timeseries"]["points"][0].contains("stepS"));
}

}  // namespace
}  // namespace tokenstorm::core
