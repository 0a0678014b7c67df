#include "tokenstorm/core/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <sstream>

#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::core {

namespace {

using Json = nlohmann::ordered_json;

constexpr double kNanosPerMilli = 1e6;
constexpr size_t kReasonThresholds = 3;  // failed thresholds named in the reason; the rest are counted

__attribute__((format(printf, 2, 3))) void appendf(std::string& out, const char* format, ...) {
  va_list args;
  va_start(args, format);
  va_list again;
  va_copy(again, args);
  int n = std::vsnprintf(nullptr, 0, format, args);
  va_end(args);
  if (n > 0) {
    size_t at = out.size();
    out.resize(at + static_cast<size_t>(n) + 1);
    std::vsnprintf(out.data() + at, static_cast<size_t>(n) + 1, format, again);
    out.resize(at + static_cast<size_t>(n));
  }
  va_end(again);
}

std::string formatf(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A number with as many decimals as its size deserves: 1234.5 → "1234.5", 12.345 → "12.35", 0.0126 →
// "0.0126".
std::string formatNumber(double v) {
  double a = std::fabs(v);
  if (a >= 100) {
    return formatf("%.1f", v);
  }
  if (a >= 1) {
    return formatf("%.2f", v);
  }
  return formatf("%.4g", v);
}

std::string formatMs(double ms) {
  return formatNumber(ms) + " ms";
}

double rate(int64_t count, double window_s) {
  return window_s > 0 ? static_cast<double>(count) / window_s : 0;
}

double ratio(int64_t part, int64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0;
}

// The value of `stat` in nanoseconds.
double statNanos(const Histogram& h, Stat stat) {
  switch (stat) {
    case Stat::P50:
      return static_cast<double>(h.valueAtPercentile(50));
    case Stat::P90:
      return static_cast<double>(h.valueAtPercentile(90));
    case Stat::P95:
      return static_cast<double>(h.valueAtPercentile(95));
    case Stat::P99:
      return static_cast<double>(h.valueAtPercentile(99));
    case Stat::P999:
      return static_cast<double>(h.valueAtPercentile(99.9));
    case Stat::Min:
      return static_cast<double>(h.min());
    case Stat::Max:
      return static_cast<double>(h.max());
    case Stat::Mean:
      return h.mean();
  }
  return 0;
}

Percentiles percentilesMs(const Histogram& h) {
  Percentiles p;
  if (h.count() == 0) {
    return p;
  }
  auto ms = [&](Stat s) { return statNanos(h, s) / kNanosPerMilli; };
  p.p50 = ms(Stat::P50);
  p.p90 = ms(Stat::P90);
  p.p95 = ms(Stat::P95);
  p.p99 = ms(Stat::P99);
  p.p999 = ms(Stat::P999);
  p.min = ms(Stat::Min);
  p.max = ms(Stat::Max);
  p.mean = ms(Stat::Mean);
  return p;
}

Summary summarize(const MetricSet& m, double window_s, std::optional<Decimal> budget) {
  Summary s;
  s.requests = RequestCounts{m.requests, m.ok, m.failed, m.cancelled};
  s.requestsPerSecond = rate(m.requests, window_s);
  s.inputTokensPerSecond = rate(m.inputTokens, window_s);
  s.outputTokensPerSecond = rate(m.outputTokens, window_s);
  s.goodputPerSecond = rate(m.goodput, window_s);
  s.ttftMs = percentilesMs(m.ttft);
  s.ttftSchedMs = percentilesMs(m.ttftSched);
  s.ttfoMs = percentilesMs(m.ttfo);
  s.e2eMs = percentilesMs(m.e2e);
  s.tpotMs = percentilesMs(m.tpot);
  s.itlMs = percentilesMs(m.itl);
  s.interChunkMs = percentilesMs(m.interChunk);
  s.errors.http429 = m.errorCount(ErrorKind::Http429);
  s.errors.http4xx = m.errorCount(ErrorKind::Http4xx);
  s.errors.http5xx = m.errorCount(ErrorKind::Http5xx);
  s.errors.timeout = m.errorCount(ErrorKind::Timeout);
  s.errors.connect = m.errorCount(ErrorKind::Connect);
  s.errors.tls = m.errorCount(ErrorKind::Tls);
  s.errors.streamError = m.errorCount(ErrorKind::StreamError);
  s.errors.protocol = m.errorCount(ErrorKind::Protocol);
  s.retries = std::max<int64_t>(m.attempts - m.requests, 0);
  s.cacheHitRate = ratio(m.cachedTokens, m.inputTokens);
  s.cost = CostSummary{m.cost, budget, m.costEstimated};
  s.client = ClientHealth{percentilesMs(m.schedLag), m.droppedArrivals};
  return s;
}

// ---- thresholds ----
struct Scope {
  const MetricSet* set = nullptr;  // nullptr: the scope names nothing measured
  double windowS = 0;
  std::string label;    // "", "class chat", "stage spike", "stage spike, class chat"
  std::string missing;  // why set is nullptr
};

std::string limitText(const Threshold& t) {
  auto text = [](const ThresholdValue& v) {
    if (!v.text.empty()) {
      return v.text;
    }
    return v.duration ? v.duration->str() : v.number ? formatNumber(*v.number) : std::string("?");
  };
  std::string out;
  if (t.min) {
    out = "min " + text(*t.min);
  }
  if (t.max) {
    out += (out.empty() ? "max " : ", max ") + text(*t.max);
  }
  return out;
}

// A limit as a comparable number: nanoseconds for latency metrics, the number itself for the others.
std::optional<double> limitValue(const ThresholdValue& v, bool latency) {
  if (latency) {
    return v.duration ? std::optional(static_cast<double>(v.duration->nanos)) : std::nullopt;
  }
  return v.number;
}

class Evaluator {
 public:
  Evaluator(const LoadTestSpec& spec, const LoadPlan& plan, const Snapshot& snap, double window_s,
            const std::vector<double>& stage_windows)
      : spec_(spec), plan_(plan), snap_(snap), window_s_(window_s), stage_windows_(stage_windows) {}

  ThresholdCheck check(const Threshold& t) const {
    ThresholdCheck c;
    c.result.metric = std::string(enumName(t.metric));
    if (t.stat) {
      c.result.stat = std::string(enumName(*t.stat));
    }
    c.result.limit = limitText(t);
    c.result.className = t.className;
    c.result.stage = t.stage;
    Scope scope = scopeOf(t);
    std::string name = c.result.metric + (t.stat ? " " + *c.result.stat : "") +
                       (scope.label.empty() ? "" : " (" + scope.label + ")");
    bool latency = isLatencyMetric(t.metric);
    std::string why;
    std::optional<double> value =
        scope.set == nullptr ? std::nullopt : measure(t, *scope.set, scope.windowS, &why);
    if (scope.set == nullptr) {
      why = scope.missing;
    }
    if (!value) {
      c.noData = true;
      c.result.passed = false;
      c.message = name + ": no data (" + why + ")";
      return c;
    }
    bool passed = true;
    std::string broken;
    for (const auto& [limit, is_max] : {std::pair{&t.max, true}, std::pair{&t.min, false}}) {
      if (!*limit) {
        continue;
      }
      auto bound = limitValue(**limit, latency);
      if (!bound) {
        passed = false;
        broken = std::string(is_max ? "max " : "min ") + (**limit).text + " is not a " +
                 (latency ? "duration" : "number");
        continue;
      }
      if (is_max ? *value > *bound : *value < *bound) {
        passed = false;
        broken = std::string(is_max ? "> max " : "< min ") + (**limit).text;
      }
    }
    c.result.value = latency ? *value / kNanosPerMilli : *value;
    c.result.passed = passed;
    std::string shown = latency ? formatMs(c.result.value) : formatNumber(c.result.value);
    c.message = name + " " + shown + (passed ? " within " + c.result.limit : " " + broken);
    return c;
  }

 private:
  Scope scopeOf(const Threshold& t) const {
    Scope s;
    s.windowS = window_s_;
    std::optional<int> cls;
    std::optional<int> stage;
    if (t.stage) {
      s.label = "stage " + *t.stage;
      stage = findStage(plan_, *t.stage);
      if (!stage) {
        s.missing = "no stage is named \"" + *t.stage + "\"";
        return s;
      }
      auto i = static_cast<size_t>(*stage);
      s.windowS = i < stage_windows_.size() ? stage_windows_[i] : 0;
    }
    if (t.className) {
      s.label += (s.label.empty() ? "class " : ", class ") + *t.className;
      cls = findClass(spec_, *t.className);
      if (!cls) {
        s.missing = "no workload class is named \"" + *t.className + "\"";
        return s;
      }
    }
    if (stage && cls) {
      auto it = snap_.stageClasses.find({*stage, *cls});
      s.set = it == snap_.stageClasses.end() ? nullptr : &it->second;
    } else if (stage) {
      auto i = static_cast<size_t>(*stage);
      s.set = i < snap_.stages.size() ? &snap_.stages[i] : nullptr;
    } else if (cls) {
      auto i = static_cast<size_t>(*cls);
      s.set = i < snap_.classes.size() ? &snap_.classes[i] : nullptr;
    } else {
      s.set = &snap_.total;
    }
    if (s.set == nullptr) {
      s.missing = "the runners reported nothing for " + s.label;
    }
    return s;
  }

  // The measured value (nanoseconds for latency metrics), or nullopt with *why when there is no data.
  static std::optional<double> measure(const Threshold& t, const MetricSet& m, double window_s,
                                       std::string* why) {
    const int64_t finished = m.requests - m.cancelled;  // the denominator that counts errors
    if (const Histogram* h = m.histogram(t.metric)) {
      if (!t.stat) {
        *why = "a latency threshold needs a stat";
        return std::nullopt;
      }
      if (h->count() == 0) {
        *why = "no " + std::string(enumName(t.metric)) + " samples";
        return std::nullopt;
      }
      return statNanos(*h, *t.stat);
    }
    switch (t.metric) {
      case Metric::ErrorRate:
      case Metric::GoodputFraction:
        if (finished <= 0) {
          *why = m.requests > 0 ? "every request was cancelled" : "no requests finished";
          return std::nullopt;
        }
        return ratio(t.metric == Metric::ErrorRate ? m.failed : m.goodput, finished);
      case Metric::CacheHitRate:
        if (m.inputTokens <= 0) {
          *why = "no input tokens";
          return std::nullopt;
        }
        return ratio(m.cachedTokens, m.inputTokens);
      case Metric::RetryAmplification:
        if (m.requests <= 0) {
          *why = "no requests finished";
          return std::nullopt;
        }
        return ratio(m.attempts, m.requests);
      default:
        break;
    }
    if (m.requests <= 0) {
      *why = "no requests finished";
      return std::nullopt;
    }
    if (window_s <= 0) {
      *why = "no measured time";
      return std::nullopt;
    }
    switch (t.metric) {
      case Metric::RequestsPerSecond:
        return rate(m.requests, window_s);
      case Metric::InputTokensPerSecond:
        return rate(m.inputTokens, window_s);
      case Metric::OutputTokensPerSecond:
        return rate(m.outputTokens, window_s);
      case Metric::Goodput:
        return rate(m.goodput, window_s);
      default:
        *why = "unknown metric";
        return std::nullopt;
    }
  }

  const LoadTestSpec& spec_;
  const LoadPlan& plan_;
  const Snapshot& snap_;
  double window_s_;
  const std::vector<double>& stage_windows_;
};

// ---- quality drift, warnings, time series ----
std::vector<QualityDrift> qualityDrift(const std::vector<StageSummary>& stages,
                                       const std::vector<const MetricSet*>& sets) {
  std::vector<QualityDrift> out;
  for (size_t i = 0; i < stages.size(); ++i) {
    const MetricSet& m = *sets[i];
    if (m.ok == 0) {
      continue;
    }
    QualityDrift q;
    q.stage = stages[i].name;
    q.ok = m.ok;
    auto tokens = [](double scaled) { return scaled / static_cast<double>(kOutputLengthScale); };
    q.meanOutputTokens = tokens(m.outputLength.mean());
    q.p50OutputTokens = tokens(static_cast<double>(m.outputLength.valueAtPercentile(50)));
    q.p95OutputTokens = tokens(static_cast<double>(m.outputLength.valueAtPercentile(95)));
    q.finishLengthRate = ratio(m.finishLength, m.ok);
    q.emptyRate = ratio(m.emptyOutput, m.ok);
    out.push_back(q);
    if (out.size() == 1) {
      out.back().baseline = true;
      continue;
    }
    const QualityDrift& b = out.front();
    QualityDrift& cur = out.back();
    cur.meanOutputChange =
        b.meanOutputTokens > 0 ? (cur.meanOutputTokens - b.meanOutputTokens) / b.meanOutputTokens : 0;
    cur.finishLengthRateChange = cur.finishLengthRate - b.finishLengthRate;
    cur.emptyRateChange = cur.emptyRate - b.emptyRate;
  }
  return out;
}

std::vector<std::string> warningsFor(const Snapshot& snap, const Summary& s) {
  std::vector<std::string> out;
  const MetricSet& m = snap.total;
  if (s.client.schedLagMs.p99 > kSchedLagWarnMs) {
    out.push_back("SCHEDULING LAG: p99 is " + formatMs(s.client.schedLagMs.p99) + " (over " +
                  formatMs(kSchedLagWarnMs) +
                  "): requests left later than planned, so latencies from the send understate what users "
                  "saw; read ttftSched. The lag includes opening connections (TCP and TLS handshakes to a "
                  "distant endpoint); otherwise the runner is short of CPU: add runners or CPU");
  }
  if (m.droppedArrivals > 0) {
    out.push_back(std::to_string(m.droppedArrivals) +
                  " arrivals were dropped at maxInFlight: the planned load was not fully offered");
  }
  if (m.estimatedTokenRequests > 0) {
    out.push_back("token counts of " + std::to_string(m.estimatedTokenRequests) + " of " +
                  std::to_string(m.requests) +
                  " requests were estimated (the server sent no usage); token rates and cost are estimates");
  }
  int64_t clamped = 0;
  for (Metric metric : {Metric::Ttft, Metric::TtftSched, Metric::Ttfo, Metric::E2e, Metric::E2eSched,
                        Metric::Tpot, Metric::Ntpot, Metric::Itl, Metric::InterChunk, Metric::SchedLag}) {
    clamped += m.histogram(metric)->clampedHigh();
  }
  if (clamped > 0) {
    out.push_back(std::to_string(clamped) +
                  " latency samples exceeded 1 h and were counted as 1 h in percentiles");
  }
  return out;
}

std::vector<TimeSeriesPoint> timeSeries(const Snapshot& snap, double elapsed_s) {
  std::vector<TimeSeriesPoint> out;
  if (snap.timeseries.empty()) {
    return out;
  }
  auto point = [](int64_t second, const TimePoint& p) {
    TimeSeriesPoint t;
    t.tS = second;
    t.stepS = std::max<int64_t>(p.stepS, 1);
    const auto seconds = static_cast<double>(t.stepS);
    t.requestsPerSecond = static_cast<double>(p.requests) / seconds;
    t.inputTokensPerSecond = static_cast<double>(p.inputTokens) / seconds;
    t.outputTokensPerSecond = static_cast<double>(p.outputTokens) / seconds;
    t.ttftP95Ms = static_cast<double>(p.ttft.valueAtPercentile(95)) / kNanosPerMilli;
    t.ok = p.ok;
    t.errors = p.errors;
    t.cancelled = p.cancelled;
    return t;
  };
  // Seconds with no completions inside the run show as zeros (an outage is a gap worth seeing).
  const auto last_run_second = static_cast<int64_t>(std::ceil(elapsed_s));
  int64_t next = snap.timeseries.begin()->first;
  for (const auto& [second, p] : snap.timeseries) {
    for (; next < second && next <= last_run_second; ++next) {
      out.push_back(TimeSeriesPoint{next, 1, 0, 0, 0, 0, 0, 0, 0});
    }
    out.push_back(point(second, p));
    next = second + out.back().stepS;
  }
  return out;
}

std::string xmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no control characters but tab, newline and carriage return.
        out += static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c;
    }
  }
  return out;
}

}  // namespace

std::vector<ThresholdResult> Report::thresholdResults() const {
  std::vector<ThresholdResult> out;
  out.reserve(thresholds.size());
  for (const auto& t : thresholds) {
    out.push_back(t.result);
  }
  return out;
}

Report buildReport(const LoadTestSpec& spec, const LoadPlan& plan, const Snapshot& merged,
                   const RunOutcome& outcome) {
  Report r;
  r.phase = outcome.phase;
  r.elapsedS = outcome.elapsedS > 0 ? outcome.elapsedS : merged.elapsedS;
  const double warmup_s = spec.load.warmup.seconds();
  r.windowS = std::max(0.0, r.elapsedS - warmup_s);
  r.warmupExcluded = merged.warmupExcluded;
  r.summary = summarize(merged.total, r.windowS, spec.budget.maxCost);
  // Money spent includes the warm-up's requests, which every other number leaves out.
  const Spend spent = merged.spent();
  r.summary.cost.spentUsd = spent.cost;
  r.summary.cost.estimated = spent.estimated;

  // Stages: the part of each that ran after the warm-up.
  std::vector<double> stage_windows(plan.stages.size(), 0);
  std::vector<const MetricSet*> stage_sets;
  const MetricSet empty;
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const PlannedStage& p = plan.stages[i];
    const MetricSet& m = i < merged.stages.size() ? merged.stages[i] : empty;
    double start = p.start.seconds();
    double end = std::min(start + p.duration.seconds(), r.elapsedS);
    stage_windows[i] = std::max(0.0, end - std::max(start, warmup_s));
    if (start >= r.elapsedS && m.requests == 0) {
      continue;  // never reached (a sweep that stopped early, an aborted run)
    }
    r.stages.push_back(
        StageSummary{p.name, start, std::max(start, end), summarize(m, stage_windows[i], std::nullopt)});
    stage_sets.push_back(&m);
  }
  for (size_t i = 0; i < std::max(spec.workload.classes.size(), merged.classes.size()); ++i) {
    std::string name =
        i < spec.workload.classes.size() ? spec.workload.classes[i].name : "class-" + std::to_string(i + 1);
    r.classes[name] =
        summarize(i < merged.classes.size() ? merged.classes[i] : empty, r.windowS, std::nullopt);
  }

  Evaluator evaluator(spec, plan, merged, r.windowS, stage_windows);
  std::vector<std::string> failures;
  for (const Threshold& t : spec.thresholds) {
    r.thresholds.push_back(evaluator.check(t));
    if (!r.thresholds.back().result.passed) {
      failures.push_back(r.thresholds.back().message);
    }
  }

  r.timeseries = timeSeries(merged, r.elapsedS);
  for (const auto& p : r.timeseries) {
    r.peakRequestsPerSecond = std::max(r.peakRequestsPerSecond, p.requestsPerSecond);
    r.peakOutputTokensPerSecond = std::max(r.peakOutputTokensPerSecond, p.outputTokensPerSecond);
  }
  r.quality = qualityDrift(r.stages, stage_sets);
  r.warnings = warningsFor(merged, r.summary);
  r.runnerCpuPercent = outcome.runnerCpuPercent;
  r.tokensEstimated = merged.total.estimatedTokenRequests;
  r.tokensFromServer = merged.total.requests - merged.total.estimatedTokenRequests;
  if (merged.total.serverOutputTokensCompared > 0) {
    r.clientEstimateVsServer = static_cast<double>(merged.total.clientOutputTokensCompared) /
                               static_cast<double>(merged.total.serverOutputTokensCompared);
  }
  if (outcome.runnerCpuPercent && *outcome.runnerCpuPercent > kRunnerCpuWarnPercent) {
    std::ostringstream w;
    w << "RUNNER CPU: the runner's event loop used " << std::lround(*outcome.runnerCpuPercent)
      << "% of its core: it may have delayed sends and reads; add runners or CPU";
    r.warnings.push_back(w.str());
  }

  bool ended_badly = outcome.phase == Phase::Failed || outcome.phase == Phase::Aborted;
  r.verdict = failures.empty() && !ended_badly ? Verdict::Pass : Verdict::Fail;
  r.reason = outcome.reason;
  if (!failures.empty()) {
    std::string listed;
    for (size_t i = 0; i < failures.size() && i < kReasonThresholds; ++i) {
      listed += (i == 0 ? "" : "; ") + failures[i];
    }
    if (failures.size() > kReasonThresholds) {
      listed += "; and " + std::to_string(failures.size() - kReasonThresholds) + " more";
    }
    r.reason += (r.reason.empty() ? "" : "; ") + std::string("ThresholdsFailed: ") + listed;
  }
  return r;
}

Json toJson(const Report& report) {
  Json j = Json::object();
  j["verdict"] = std::string(enumName(report.verdict));
  j["phase"] = std::string(enumName(report.phase));
  j["reason"] = report.reason;
  j["summary"] = toJson(report.summary);
  // Stages and thresholds go through the status encoder so that they read exactly as status does.
  LoadTestStatus status;
  status.stages = report.stages;
  status.thresholds = report.thresholdResults();
  Json encoded = toJson(status);
  j["stages"] = encoded.contains("stages") ? encoded["stages"] : Json::array();
  Json classes = Json::object();
  for (const auto& [name, summary] : report.classes) {
    classes[name] = toJson(summary);
  }
  j["classes"] = std::move(classes);
  j["thresholds"] = encoded.contains("thresholds") ? encoded["thresholds"] : Json::array();
  Json points = Json::array();
  int64_t max_step = 1;
  std::optional<int64_t> full_resolution_from;  // the start of the 1 s points after the last coarse one
  for (const auto& p : report.timeseries) {
    Json point{{"tS", p.tS},
               {"requestsPerSecond", p.requestsPerSecond},
               {"outputTokensPerSecond", p.outputTokensPerSecond},
               {"ttftP95Ms", p.ttftP95Ms},
               {"errors", p.errors},
               {"inputTokensPerSecond", p.inputTokensPerSecond},
               {"ok", p.ok},
               {"cancelled", p.cancelled}};
    if (p.stepS > 1) {
      point["stepS"] = p.stepS;
      max_step = std::max(max_step, p.stepS);
      full_resolution_from = p.tS + p.stepS;
    }
    points.push_back(std::move(point));
  }
  j["timeseries"] = Json{{"intervalS", 1},
                         {"points", std::move(points)},
                         {"peakRequestsPerSecond", report.peakRequestsPerSecond},
                         {"peakOutputTokensPerSecond", report.peakOutputTokensPerSecond}};
  if (full_resolution_from) {
    // Only a compacted snapshot has coarse points (docs/operator.md): say so next to them.
    j["timeseries"]["compacted"] =
        Json{{"maxStepS", max_step}, {"fullResolutionFromS", *full_resolution_from}};
  }
  Json quality = Json::array();
  for (const auto& q : report.quality) {
    quality.push_back(Json{{"stage", q.stage},
                           {"ok", q.ok},
                           {"meanOutputTokens", q.meanOutputTokens},
                           {"p50OutputTokens", q.p50OutputTokens},
                           {"p95OutputTokens", q.p95OutputTokens},
                           {"finishLengthRate", q.finishLengthRate},
                           {"emptyRate", q.emptyRate},
                           {"baseline", q.baseline},
                           {"meanOutputChange", q.meanOutputChange},
                           {"finishLengthRateChange", q.finishLengthRateChange},
                           {"emptyRateChange", q.emptyRateChange}});
  }
  j["quality"] = std::move(quality);
  j["warnings"] = report.warnings;
  j["tokens"] = {{"fromServer", report.tokensFromServer}, {"estimated", report.tokensEstimated}};
  if (report.clientEstimateVsServer) {
    j["tokens"]["clientEstimateVsServer"] = *report.clientEstimateVsServer;
  }
  if (report.runnerCpuPercent) {
    j["runner"] = {{"cpuPercent", *report.runnerCpuPercent}};
  }
  return j;
}

std::string toJunitXml(const Report& report, std::string_view test_name) {
  const std::string suite = xmlEscape(test_name);
  size_t failures = 0;
  std::string cases;
  bool run_ok = report.phase == Phase::Succeeded;
  appendf(cases, "    <testcase classname=\"tokenstorm.%s\" name=\"run\" time=\"%.3f\"", suite.c_str(),
          report.elapsedS);
  if (run_ok) {
    cases += "/>\n";
  } else {
    ++failures;
    std::string phase(enumName(report.phase));
    std::string message = xmlEscape(phase + (report.reason.empty() ? "" : ": " + report.reason));
    appendf(cases, ">\n      <failure message=\"%s\" type=\"%s\"/>\n    </testcase>\n", message.c_str(),
            phase.c_str());
  }
  for (const auto& t : report.thresholds) {
    const ThresholdResult& r = t.result;
    std::string name = r.metric + (r.stat ? " " + *r.stat : "") + " " + r.limit;
    if (r.className) {
      name += " [class " + *r.className + "]";
    }
    if (r.stage) {
      name += " [stage " + *r.stage + "]";
    }
    appendf(cases, "    <testcase classname=\"tokenstorm.%s\" name=\"%s\" time=\"0\"", suite.c_str(),
            xmlEscape(name).c_str());
    if (r.passed) {
      cases += "/>\n";
      continue;
    }
    ++failures;
    std::string message = xmlEscape(t.message);
    appendf(cases, ">\n      <failure message=\"%s\" type=\"%s\">", message.c_str(),
            t.noData ? "NoData" : "ThresholdFailed");
    cases += message + "</failure>\n    </testcase>\n";
  }
  size_t tests = report.thresholds.size() + 1;
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  appendf(out, "<testsuites name=\"tokenstorm\" tests=\"%zu\" failures=\"%zu\" time=\"%.3f\">\n", tests,
          failures, report.elapsedS);
  appendf(
      out,
      "  <testsuite name=\"%s\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"%.3f\">\n",
      suite.c_str(), tests, failures, report.elapsedS);
  out += cases;
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

std::string renderTerminal(const Report& report) {
  const Summary& s = report.summary;
  std::string out;
  appendf(out, "Verdict    %s   phase %s   %.1f s run, %.1f s measured\n",
          report.verdict == Verdict::Pass ? "PASS" : "FAIL", std::string(enumName(report.phase)).c_str(),
          report.elapsedS, report.windowS);
  if (!report.reason.empty()) {
    out += "Reason     " + report.reason + "\n";
  }
  int64_t finished = s.requests.total - s.requests.cancelled;
  appendf(
      out,
      "Requests   %lld total   %lld ok   %lld failed   %lld cancelled   error rate %.2f%%   retries %lld\n",
      static_cast<long long>(s.requests.total), static_cast<long long>(s.requests.ok),
      static_cast<long long>(s.requests.failed), static_cast<long long>(s.requests.cancelled),
      100 * ratio(s.requests.failed, finished), static_cast<long long>(s.retries));
  appendf(
      out,
      "Rate       %.2f req/s   goodput %.2f req/s   input %.1f tok/s   output %.1f tok/s   peak %.0f req/s\n",
      s.requestsPerSecond, s.goodputPerSecond, s.inputTokensPerSecond, s.outputTokensPerSecond,
      report.peakRequestsPerSecond);
  out += "Cost       " + s.cost.spentUsd.money() + " USD";
  if (s.cost.budgetUsd) {
    out += " of " + s.cost.budgetUsd->money() + " budget";
  }
  out += s.cost.estimated ? " (estimated)" : "";
  appendf(out, "   cache hit %.1f%%\n", 100 * s.cacheHitRate);
  appendf(out, "Tokens     from server usage for %lld of %lld requests",
          static_cast<long long>(report.tokensFromServer),
          static_cast<long long>(report.tokensFromServer + report.tokensEstimated));
  if (report.clientEstimateVsServer) {
    appendf(out, "; the runner's estimate would say %.2fx the server's output count",
            *report.clientEstimateVsServer);
  }
  out += "\n";
  std::string errors;
  for (const auto& [name, n] :
       {std::pair{"http429", s.errors.http429}, std::pair{"http4xx", s.errors.http4xx},
        std::pair{"http5xx", s.errors.http5xx}, std::pair{"timeout", s.errors.timeout},
        std::pair{"connect", s.errors.connect}, std::pair{"tls", s.errors.tls},
        std::pair{"streamError", s.errors.streamError}, std::pair{"protocol", s.errors.protocol}}) {
    if (n > 0) {
      appendf(errors, "   %s %lld", name, static_cast<long long>(n));
    }
  }
  if (!errors.empty()) {
    out += "Errors  " + errors + "\n";
  }

  appendf(out, "\n%-14s %10s %10s %10s %10s %10s %10s %10s\n", "Latency (ms)", "p50", "p90", "p95", "p99",
          "p99.9", "max", "mean");
  for (const auto& [name, p] :
       {std::pair{"ttft", &s.ttftMs}, std::pair{"ttft (sched)", &s.ttftSchedMs}, std::pair{"ttfo", &s.ttfoMs},
        std::pair{"e2e", &s.e2eMs}, std::pair{"tpot", &s.tpotMs}, std::pair{"itl", &s.itlMs},
        std::pair{"inter-chunk", &s.interChunkMs}, std::pair{"sched lag", &s.client.schedLagMs}}) {
    appendf(out, "%-14s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f\n", name, p->p50, p->p90, p->p95,
            p->p99, p->p999, p->max, p->mean);
  }

  auto table = [&](const char* title, const std::vector<std::pair<std::string, const Summary*>>& rows) {
    if (rows.empty()) {
      return;
    }
    appendf(out, "\n%-20s %9s %12s %12s %9s %9s\n", title, "req/s", "ttft p95 ms", "e2e p95 ms", "out tok/s",
            "errors");
    for (const auto& [name, row] : rows) {
      appendf(out, "%-20s %9.2f %12.2f %12.2f %9.1f %9lld\n", name.c_str(), row->requestsPerSecond,
              row->ttftMs.p95, row->e2eMs.p95, row->outputTokensPerSecond,
              static_cast<long long>(row->requests.failed));
    }
  };
  std::vector<std::pair<std::string, const Summary*>> rows;
  for (const auto& st : report.stages) {
    rows.emplace_back(st.name, &st.summary);
  }
  table("Stages", rows);
  rows.clear();
  if (report.classes.size() > 1) {
    for (const auto& [name, summary] : report.classes) {
      rows.emplace_back(name, &summary);
    }
  }
  table("Classes", rows);

  if (!report.thresholds.empty()) {
    out += "\nThresholds\n";
    for (const auto& t : report.thresholds) {
      out += std::string(t.result.passed ? "  PASS  " : "  FAIL  ") + t.message + "\n";
    }
  }
  if (!report.warnings.empty()) {
    out += "\nWarnings\n";
    for (const auto& w : report.warnings) {
      out += "  !  " + w + "\n";
    }
  }
  return out;
}

int exitCode(const Report& report) {
  if (report.phase == Phase::Aborted) {
    return 3;
  }
  return report.verdict == Verdict::Pass ? 0 : 1;
}

}  // namespace tokenstorm::core
