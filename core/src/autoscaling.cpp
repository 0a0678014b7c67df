#include "tokenstorm/core/autoscaling.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tokenstorm::core {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string refText(const ScaleRef& ref) {
  return ref.apiVersion + " " + ref.kind + " " + ref.name;
}

// Seconds as a Duration, rounded to the millisecond (observations are no finer) and never negative.
Duration seconds(double s) {
  double ms = std::round(std::max(0.0, s) * 1000);
  if (!(ms < 9e15)) {
    return Duration{INT64_MAX};
  }
  return Duration::fromMillis(static_cast<int64_t>(ms));
}

// The last known value of `field` at or before `t`; nullopt when none is known yet.
template <class Field>
std::optional<int64_t> valueAt(const std::vector<ReplicaSample>& samples, double t, Field field) {
  std::optional<int64_t> value;
  for (const auto& s : samples) {
    if (s.tS > t) {
      break;
    }
    if (s.*field) {
      value = s.*field;
    }
  }
  return value;
}

// The first sample in (start, end) whose `field` exceeds `baseline`.
template <class Field>
const ReplicaSample* firstAbove(const std::vector<ReplicaSample>& samples, double start, double end,
                                int64_t baseline, Field field) {
  for (const auto& s : samples) {
    if (s.tS > start && s.tS < end && s.*field && *(s.*field) > baseline) {
      return &s;
    }
  }
  return nullptr;
}

// Seconds a point covers: 1, or 2^k in a compacted series (metrics.h); each point is judged whole.
int64_t spanS(const TimePoint& p) {
  return std::max<int64_t>(1, p.stepS);
}

std::optional<int64_t> p95(const TimePoint& p) {
  if (p.ttft.count() == 0) {
    return std::nullopt;
  }
  return p.ttft.valueAtPercentile(95);
}

// The median of the per-second p95s in [from, to); nullopt without data.
std::optional<double> medianP95(const std::map<int64_t, TimePoint>& series, double from, double to) {
  std::vector<int64_t> values;
  for (auto it = series.lower_bound(static_cast<int64_t>(std::ceil(from))); it != series.end(); ++it) {
    if (static_cast<double>(it->first) >= to) {
      break;
    }
    if (auto v = p95(it->second)) {
      values.push_back(*v);
    }
  }
  if (values.empty()) {
    return std::nullopt;
  }
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 == 1 ? static_cast<double>(values[n / 2])
                    : (static_cast<double>(values[n / 2 - 1]) + static_cast<double>(values[n / 2])) / 2;
}

// The first second s ≥ start (and < end) from which kRecoverySeconds seconds with TTFT data all have p95 ≤
// limit; seconds without data neither count nor break the run (a low rate leaves seconds empty). A
// compacted point counts for the seconds it covers.
std::optional<double> recoveredAt(const std::map<int64_t, TimePoint>& series, double start, double end,
                                  double limit_nanos) {
  std::optional<int64_t> run_start;
  int64_t run = 0;
  for (auto it = series.lower_bound(static_cast<int64_t>(std::ceil(start))); it != series.end(); ++it) {
    if (static_cast<double>(it->first) >= end) {
      break;
    }
    auto v = p95(it->second);
    if (!v) {
      continue;
    }
    if (static_cast<double>(*v) > limit_nanos) {
      run = 0;
      run_start.reset();
      continue;
    }
    if (run == 0) {
      run_start = it->first;
    }
    run += spanS(it->second);
    if (run >= kRecoverySeconds) {
      return static_cast<double>(*run_start);
    }
  }
  return std::nullopt;
}

std::optional<int64_t> limitFor(const std::map<std::string, int64_t>& limits, const std::string& stage) {
  if (auto it = limits.find(stage); it != limits.end()) {
    return it->second;
  }
  if (auto it = limits.find(""); it != limits.end()) {
    return it->second;
  }
  return std::nullopt;
}

void deriveReplicas(AutoscalingStep& out, const LoadStep& step, const std::vector<ReplicaSample>& samples) {
  out.replicasBefore = valueAt(samples, step.startS, &ReplicaSample::desired);
  // Without a sample at or before the step, the first one after it is the baseline: a rise before it
  // was not seen and cannot be timed.
  auto baseline = [&](auto field) -> std::optional<int64_t> {
    if (auto v = valueAt(samples, step.startS, field)) {
      return v;
    }
    for (const auto& s : samples) {
      if (s.tS > step.startS && s.tS < step.endS && s.*field) {
        return s.*field;
      }
    }
    return std::nullopt;
  };
  auto desired0 = baseline(&ReplicaSample::desired);
  auto ready0 = baseline(&ReplicaSample::ready);
  if (desired0) {
    int64_t most = *desired0;
    for (const auto& s : samples) {
      if (s.tS > step.startS && s.tS < step.endS && s.desired) {
        most = std::max(most, *s.desired);
      }
    }
    out.replicasMax = most;
    if (const auto* d = firstAbove(samples, step.startS, step.endS, *desired0, &ReplicaSample::desired)) {
      out.timeToScaleDecision = seconds(d->tS - step.startS);
      // All ready: ready reaches the most desired within the step, at or after the decision.
      for (const auto& s : samples) {
        if (s.tS >= d->tS && s.tS < step.endS && s.ready && *s.ready >= most) {
          out.timeToAllReady = seconds(s.tS - step.startS);
          break;
        }
      }
    }
  }
  if (ready0) {
    // A new replica: ready rises above both the ready and the desired count at the step, so that a
    // flapping pod coming back, or one scaled up before the step, does not count as the step's replica.
    int64_t base = std::max(*ready0, out.replicasBefore.value_or(0));
    if (const auto* r = firstAbove(samples, step.startS, step.endS, base, &ReplicaSample::ready)) {
      out.timeToFirstReadyReplica = seconds(r->tS - step.startS);
    }
  }
}

// Latency and errors over the seconds that begin in [start, start + timeToFirstReadyReplica). The time
// series carries a TTFT histogram per second, so the window's p95 comes from the merged histogram.
void deriveWarmupWindow(AutoscalingStep& out, const std::map<int64_t, TimePoint>& series) {
  if (!out.timeToFirstReadyReplica) {
    return;
  }
  double end = out.startS + out.timeToFirstReadyReplica->seconds();
  TimePoint window;
  for (auto it = series.lower_bound(static_cast<int64_t>(std::ceil(out.startS))); it != series.end(); ++it) {
    if (static_cast<double>(it->first) >= end) {
      break;
    }
    window.merge(it->second);
  }
  out.warmupRequests = window.requests;
  out.warmupErrors = window.errors;
  if (auto v = p95(window)) {
    out.warmupTtftP95 = Duration::fromNanos(*v);
  }
}

void deriveRecovery(AutoscalingStep& out, const LoadStep& step, const LoadPlan& plan,
                    const std::map<int64_t, TimePoint>& series, std::optional<int64_t> limit) {
  double limit_nanos = 0;
  if (limit) {
    limit_nanos = static_cast<double>(*limit);
  } else {
    // Pre-step level: the last kPreStepWindowS seconds, or the whole previous stage when shorter.
    double from = step.startS - kPreStepWindowS;
    if (step.stage > 0) {
      from = std::max(from, plan.stages[static_cast<size_t>(step.stage - 1)].start.seconds());
    }
    auto level = medianP95(series, from, step.startS);
    if (!level) {
      return;
    }
    limit_nanos = *level * kRecoveryTolerance;
  }
  if (auto at = recoveredAt(series, step.startS, step.endS, limit_nanos)) {
    out.timeToP95Recovered = seconds(*at - step.startS);
  }
}

// Cold start: the first requests of a step that found no ready replica. Per-request data, when given, is
// exact. From the time series: the requests queued on the cold replica finish together once it is ready,
// and the earliest sent waited longest, so the first request's TTFT is the largest TTFT of the first
// second with any; the p50 merges seconds from there until kColdStartRequests TTFTs are in.
void deriveColdStart(AutoscalingResult& out, double start, double end, const AutoscalingInput& input) {
  std::vector<EarlyRequest> early;
  for (const auto& r : input.earlyRequests) {
    if (r.sentS >= start && r.sentS < end && r.ttftNanos > 0) {
      early.push_back(r);
    }
  }
  if (!early.empty()) {
    std::stable_sort(early.begin(), early.end(),
                     [](const EarlyRequest& a, const EarlyRequest& b) { return a.sentS < b.sentS; });
    out.coldStartTtft = Duration::fromNanos(early.front().ttftNanos);
    if (early.size() >= static_cast<size_t>(kColdStartRequests)) {
      std::vector<int64_t> first;
      for (int64_t i = 0; i < kColdStartRequests; ++i) {
        first.push_back(early[static_cast<size_t>(i)].ttftNanos);
      }
      std::sort(first.begin(), first.end());
      out.coldStartTtftP50 = Duration::fromNanos(first[first.size() / 2]);
    }
    return;
  }
  if (input.timeseries == nullptr) {
    return;
  }
  Histogram merged{kTimeSeriesDigits};
  const auto& series = *input.timeseries;
  for (auto it = series.lower_bound(static_cast<int64_t>(std::ceil(start))); it != series.end(); ++it) {
    if (static_cast<double>(it->first) >= end) {
      break;
    }
    if (it->second.ttft.count() == 0) {
      continue;
    }
    if (merged.count() == 0) {
      out.coldStartTtft = Duration::fromNanos(it->second.ttft.max());
    }
    merged.merge(it->second.ttft);
    if (merged.count() >= kColdStartRequests) {
      out.coldStartTtftP50 = Duration::fromNanos(merged.valueAtPercentile(50));
      return;
    }
  }
}

void copyHeadline(AutoscalingResult& out, const AutoscalingStep& s) {
  out.timeToScaleDecision = s.timeToScaleDecision;
  out.timeToFirstReadyReplica = s.timeToFirstReadyReplica;
  out.timeToAllReady = s.timeToAllReady;
  out.timeToP95Recovered = s.timeToP95Recovered;
  out.warmupTtftP95 = s.warmupTtftP95;
  out.warmupRequests = s.warmupRequests;
  out.warmupErrors = s.warmupErrors;
}

}  // namespace

ObservationProblem observationProblem(ObservationProblemKind kind, const ScaleRef& ref,
                                      const std::string& detail) {
  std::string text;
  switch (kind) {
    case ObservationProblemKind::NotFound:
      text = "scaleRef " + refText(ref) + " not found";
      break;
    case ObservationProblemKind::Forbidden:
      text = "no RBAC to read scaleRef " + refText(ref);
      break;
    case ObservationProblemKind::Unsupported:
      text = "scaleRef " + refText(ref) + ": kind not supported";
      break;
    case ObservationProblemKind::Malformed:
      text = "scaleRef " + refText(ref) + ": replica fields unreadable";
      break;
    case ObservationProblemKind::NoSamples:
      text = "no replica observations of scaleRef " + refText(ref);
      break;
  }
  if (!detail.empty()) {
    text += ": " + detail;
  }
  return ObservationProblem{kind, std::move(text)};
}

std::vector<LoadStep> findLoadSteps(const LoadPlan& plan) {
  std::vector<LoadStep> steps;
  double previous = 0;
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& s = plan.stages[i];
    if (s.from > previous) {
      steps.push_back(LoadStep{static_cast<int>(i), s.name, s.start.seconds(), kInf, previous, s.from});
    }
    previous = s.to;
  }
  for (size_t i = 0; i < steps.size(); ++i) {
    steps[i].endS = i + 1 < steps.size() ? steps[i + 1].startS : kInf;
  }
  return steps;
}

std::vector<ReplicaSample> sortedSamples(std::vector<ReplicaSample> samples) {
  std::erase_if(samples, [](const ReplicaSample& s) { return !std::isfinite(s.tS); });
  for (auto& s : samples) {
    for (auto* f : {&s.desired, &s.current, &s.ready, &s.available}) {
      if (*f && **f < 0) {
        f->reset();
      }
    }
  }
  std::stable_sort(samples.begin(), samples.end(),
                   [](const ReplicaSample& a, const ReplicaSample& b) { return a.tS < b.tS; });
  return samples;
}

std::map<std::string, int64_t> ttftP95Limits(const LoadTestSpec& spec) {
  std::map<std::string, int64_t> limits;
  for (const auto& t : spec.thresholds) {
    if (t.metric != Metric::Ttft || t.stat != Stat::P95 || !t.max || !t.max->duration || t.className) {
      continue;
    }
    std::string key = t.stage.value_or("");
    auto [it, inserted] = limits.emplace(key, t.max->duration->nanos);
    if (!inserted) {
      it->second = std::min(it->second, t.max->duration->nanos);  // two limits: the stricter holds
    }
  }
  return limits;
}

AutoscalingResult deriveAutoscaling(const AutoscalingInput& input) {
  AutoscalingResult out;
  if (input.plan == nullptr) {
    return out;
  }
  std::vector<ReplicaSample> samples;
  if (input.timeline != nullptr) {
    samples = sortedSamples(input.timeline->replicas);
    if (input.timeline->problem) {
      out.message = input.timeline->problem->message;
      samples.clear();  // a partial timeline of an object that then vanished would mislead
    } else if (samples.empty()) {
      out.message = "no replica observations of the scale target";
    }
  }
  static const std::map<int64_t, TimePoint> kNoSeries;
  const auto& series = input.timeseries != nullptr ? *input.timeseries : kNoSeries;

  auto steps = findLoadSteps(*input.plan);
  for (const auto& step : steps) {
    AutoscalingStep s;
    s.stage = step.name;
    s.startS = step.startS;
    s.from = step.from;
    s.to = step.to;
    if (!samples.empty()) {
      deriveReplicas(s, step, samples);
      deriveWarmupWindow(s, series);
    }
    deriveRecovery(s, step, *input.plan, series, limitFor(input.ttftP95MaxNanos, step.name));
    out.steps.push_back(std::move(s));
  }
  if (!out.steps.empty()) {
    auto headline = std::find_if(out.steps.begin(), out.steps.end(),
                                 [](const AutoscalingStep& s) { return s.startS > 0; });
    const AutoscalingStep& h = headline != out.steps.end() ? *headline : out.steps.front();
    copyHeadline(out, h);
    // Say why the headline numbers are absent although the target was observed.
    std::vector<std::string> why;
    if (!samples.empty() && !h.timeToScaleDecision) {
      why.push_back("desired replicas did not rise after step " + h.stage +
                    (h.replicasBefore ? " (stayed at " + std::to_string(*h.replicasBefore) + ")" : ""));
    }
    if (!samples.empty() && std::none_of(samples.begin(), samples.end(),
                                         [](const ReplicaSample& x) { return x.ready.has_value(); })) {
      why.push_back("the scale target reports no ready count");
    }
    if (!out.message && !why.empty()) {
      std::string text;
      for (const auto& w : why) {
        text += (text.empty() ? "" : "; ") + w;
      }
      out.message = text;
    }
  }
  // Cold start: the first step that found zero ready replicas.
  for (const auto& step : steps) {
    auto ready = valueAt(samples, step.startS, &ReplicaSample::ready);
    if (ready && *ready == 0) {
      deriveColdStart(out, step.startS, step.endS, input);
      break;
    }
  }
  // The timeline, compacted to changes, for the samples that carry both counts.
  for (const auto& s : samples) {
    if (!s.desired || !s.ready) {
      continue;
    }
    if (!out.replicas.empty() && out.replicas.back().replicas == *s.desired &&
        out.replicas.back().ready == *s.ready) {
      continue;
    }
    out.replicas.push_back(ReplicaPoint{s.tS, *s.desired, *s.ready});
  }
  return out;
}

}  // namespace tokenstorm::core
