// Metrics: what the runner folds each finished request into (docs/metrics.md), and the snapshots it
// publishes every report.interval.
//
//   RequestRecord ──Recorder::record──▶ MetricSet (whole test, per stage, per class) + 1 s time series
//                 Recorder::snapshot ──▶ Snapshot ──toJson──▶ shard ConfigMap ──decodeSnapshot──▶ merge
//
// Which requests feed which histogram (one rule, applied the same way everywhere):
//   - ok requests feed every latency histogram;
//   - cancelled requests feed the per-event ones only: ttft, ttftSched and ttfo when their first (content)
//     token came, itl and interChunk for the gaps they received. Those were measured before the client
//     acted and are the server's honest figures. e2e, e2eSched, tpot and ntpot describe the whole
//     response, which the cancellation cut short, so cancelled requests stay out of them;
//   - failed requests feed no latency histogram (a fast 500 is not a fast answer);
//   - schedLag (t_send − t_sched) takes every request that was sent: it measures the client, not the
//     server;
//   - token counters and cost take every request: a cancelled stream's tokens were generated and billed.
// Counters are exact integers and cost is an exact Decimal, so merging snapshots is exact, associative
// and commutative: three runners merged report exactly what one runner would have.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/core/histogram.h"
#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/record.h"
#include "tokenstorm/core/stages.h"

namespace tokenstorm::core {

inline constexpr size_t kErrorKindCount = 9;  // ErrorKind values, None included
// MetricSet::outputLength keeps output tokens × this, so that the histogram's 1 µs–1 h range holds 1 to
// 3.6e9 tokens at the same 3 significant digits.
inline constexpr int64_t kOutputLengthScale = 1'000;
// The per-second time series keeps a 2-significant-digit TTFT histogram per point (1/8 of the memory).
inline constexpr int kTimeSeriesDigits = 2;
// A compacted time series (compact.h) has points of 2^k seconds; 2^22 s (48 days) is beyond any test.
inline constexpr int64_t kMaxTimeSeriesStepS = int64_t{1} << 22;

// The raw per-request value of a latency metric, in nanoseconds, as docs/metrics.md defines it; nullopt
// where the metric is undefined for this request (no first token, N_out ≤ 1 for TPOT, no gaps, ...) or
// `metric` is not a latency metric. For itl and interChunk, the largest of the request's values.
std::optional<int64_t> requestLatency(const RequestRecord& r, Metric metric);

// Index of the workload class / plan stage of this name; nullopt when none has it.
std::optional<int> findClass(const LoadTestSpec& spec, std::string_view name);
std::optional<int> findStage(const LoadPlan& plan, std::string_view name);

// A latency threshold's `max`, applied to each request for goodput.
struct LatencyLimit {
  Metric metric = Metric::Ttft;
  int64_t maxNanos = 0;
  std::optional<int> cls;    // only requests of this class (index into spec.workload.classes)
  std::optional<int> stage;  // only requests of this stage (index into the plan's stages)
};

// What MetricSet::add needs from the spec besides the record itself.
struct MetricRules {
  std::optional<Pricing> pricing;     // spec.budget.pricing; no cost accrues without it
  std::vector<LatencyLimit> goodput;  // every latency threshold with a `max`, whatever its stat

  static MetricRules fromSpec(const LoadTestSpec& spec, const LoadPlan& plan);
  // Goodput: the request is ok and meets every limit that applies to its class and stage. A metric
  // undefined for the request (no gaps for itl, ...) does not disqualify it.
  bool isGood(const RequestRecord& r) const;
  // Exact cost of one request (docs/metrics.md): uncached input × input + cached × cachedInput (input
  // when absent) + output × output, prices per 1M tokens, each term rounded half up to a nano-USD.
  Decimal costOf(const RequestRecord& r) const;
};

struct MetricSet {
  int64_t requests = 0;  // logical requests finished: ok + failed + cancelled
  int64_t ok = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
  std::array<int64_t, kErrorKindCount> errors{};  // failed requests by ErrorKind ([None]: no kind given)
  int64_t attempts = 0;                           // Σ attempts (at least 1 per request)
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  int64_t cachedTokens = 0;
  int64_t estimatedTokenRequests = 0;  // requests whose token counts came from the estimator
  // Requests with both the server's output count and the runner's estimate: the two sums, to compare.
  int64_t serverOutputTokensCompared = 0;
  int64_t clientOutputTokensCompared = 0;
  int64_t goodput = 0;          // ok requests meeting every latency threshold's max
  int64_t finishLength = 0;     // ok requests with finish_reason "length"
  int64_t emptyOutput = 0;      // ok requests with no output tokens
  int64_t droppedArrivals = 0;  // arrivals dropped by maxInFlight
  Decimal cost;
  bool costEstimated = false;  // some of `cost` comes from estimated token counts

  Histogram ttft;
  Histogram ttftSched;
  Histogram ttfo;
  Histogram e2e;
  Histogram e2eSched;
  Histogram tpot;
  Histogram ntpot;
  Histogram itl;
  Histogram interChunk;
  Histogram schedLag;
  Histogram outputLength;  // output tokens × kOutputLengthScale of ok requests with output

  void add(const RequestRecord& r, const MetricRules& rules);
  void add(const RequestRecord& r);  // no pricing; every ok request counts as goodput
  void merge(const MetricSet& other);

  // The histogram of a latency metric; nullptr for the others.
  const Histogram* histogram(Metric metric) const;
  int64_t errorCount(ErrorKind kind) const { return errors[static_cast<size_t>(kind)]; }

  friend bool operator==(const MetricSet&, const MetricSet&) = default;
};

// One second of the time series, keyed by the second (since the test start) in which requests ended; or,
// in a compacted snapshot (compact.h), `stepS` seconds [tS, tS + stepS) merged into one point. stepS is a
// power of two and tS a multiple of it, so two points of any two series either nest or do not overlap:
// that is what lets snapshots compacted differently merge exactly (addTimePoint).
struct TimePoint {
  int64_t stepS = 1;
  int64_t requests = 0;
  int64_t ok = 0;
  int64_t errors = 0;  // failed requests
  int64_t cancelled = 0;
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  Histogram ttft{kTimeSeriesDigits};

  void add(const RequestRecord& r);
  // Sums the counters and merges the histogram; stepS becomes the larger of the two (the caller merges
  // only points that nest: see addTimePoint).
  void merge(const TimePoint& other);
  friend bool operator==(const TimePoint&, const TimePoint&) = default;
};

// Adds `point` (covering [second, second + point.stepS)) to a series of points that do not overlap, all
// with the alignment above, keeping them so: merged into the existing point that contains it, or
// absorbing the points it contains. Exact: counters are summed and histograms merged, so a series
// merged into coarser points holds the same totals.
void addTimePoint(std::map<int64_t, TimePoint>& series, int64_t second, TimePoint point);

// Money and tokens spent. Warm-up requests are left out of every measurement but not out of the spend:
// the provider bills them and the budget counts them.
struct Spend {
  Decimal cost;
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  bool estimated = false;  // some of `cost` comes from estimated token counts

  void add(const RequestRecord& r, const MetricRules& rules);
  void merge(const Spend& other);
  friend bool operator==(const Spend&, const Spend&) = default;
};

// What one runner measured so far (or, merged, what all of them did). Snapshots are cumulative: merge
// the latest snapshot of each runner, never two of the same runner.
struct Snapshot {
  std::string runnerId;        // merged: the distinct runner ids, sorted, joined by ","
  int64_t sequence = 0;        // increases with each snapshot of a runner; merged: the highest
  bool final = false;          // the runner finished; merged: every input was final
  double elapsedS = 0;         // since the test start; merged: the longest
  int64_t warmupExcluded = 0;  // arrivals (sent or dropped) whose t_sched fell in spec.load.warmup
  Spend warmupSpend;           // what those warm-up requests cost
  MetricSet total;
  std::vector<MetricSet> stages;   // by RequestRecord::stage (the plan's stages)
  std::vector<MetricSet> classes;  // by RequestRecord::cls (spec.workload.classes)
  // (stage, class) pairs, kept only for thresholds that name both a stage and a class.
  std::map<std::pair<int, int>, MetricSet> stageClasses;
  std::map<int64_t, TimePoint> timeseries;  // second since the test start → point

  // Time series of different resolutions (a compacted snapshot, compact.h) merge into the coarser one
  // where they differ: every point goes through addTimePoint.
  void merge(const Snapshot& other);
  // Everything spent: the measured requests' cost and tokens plus the warm-up's (what budgets compare).
  Spend spent() const;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// Merges snapshots of different runners (associative and commutative); an empty list gives {}.
Snapshot merge(const std::vector<Snapshot>& snapshots);

// JSON form, for shard ConfigMaps and `tokenstorm run --out`:
//   {"version": 1, "runnerId", "sequence", "final", "elapsedS", "warmupExcluded",
//    "warmupSpend": {"costUsd", "inputTokens", "outputTokens", "estimated"} (optional when decoding:
//    absent means nothing was spent in warm-up),
//    "total": SET, "stages": [SET...], "classes": [SET...],
//    "stageClasses": [{"stage", "class", "metrics": SET}...],
//    "timeseries": [{"tS", "requests", "ok", "errors", "cancelled", "inputTokens", "outputTokens",
//                    "ttft": HISTOGRAM, "stepS" (optional, written only when not 1)}...]}
//   SET = {every counter of MetricSet by its name, "errors": {"unclassified", "http429", ...},
//          "costUsd": "0.00123" (exact), "costEstimated", "histograms": {"ttft": HISTOGRAM, ...}}
// where HISTOGRAM is Histogram::encode()'s text and empty histograms are left out.
nlohmann::ordered_json toJson(const Snapshot& snapshot);
// Strict decoding of untrusted snapshots: every field is checked for presence, type, range and
// consistency, and unknown fields are refused. On failure, nullopt with *error naming the field
// ("snapshot.stages[1].histograms.ttft: has a bucket index beyond the range ...").
std::optional<Snapshot> decodeSnapshot(const nlohmann::json& json, std::string* error);
// Parses JSON text (nesting limited, so hostile input cannot exhaust the stack) and decodes it.
std::optional<Snapshot> parseSnapshot(std::string_view text, std::string* error);

// Folds RequestRecords into a Snapshot. Single-threaded: the engine calls it from its event loop.
class Recorder {
 public:
  Recorder(const LoadTestSpec& spec, const LoadPlan& plan, MonoNanos test_start, std::string runner_id);

  // A finished request. One whose t_sched fell inside spec.load.warmup only counts in warmupExcluded.
  // The time series (kept unless spec.report.timeSeries is false) files it under the second it ended.
  void record(const RequestRecord& r);
  // An arrival the scheduler dropped (maxInFlight reached). `stage` as in RequestRecord::stage.
  void droppedArrival(int stage, MonoNanos t_sched);
  // The state so far, with the next sequence number and elapsed time measured at `now`.
  Snapshot snapshot(bool final, MonoNanos now);

 private:
  bool inWarmup(MonoNanos t_sched) const;

  MetricRules rules_;
  MonoNanos test_start_;
  int64_t warmup_nanos_;
  bool time_series_;
  Snapshot state_;
};

}  // namespace tokenstorm::core
