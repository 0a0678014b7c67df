// Reports: from the merged Snapshot of a run to the verdict, report.json (docs/metrics.md), JUnit XML
// for CI, and the table `tokenstorm run` prints at the end.
//
// Windows. Rates divide by the measured wall time: for the whole test (and each class) the run's elapsed
// time minus spec.load.warmup; for a stage the part of it that ran after the warm-up,
// [max(start, warmup), min(end, elapsed)]. A window of zero gives rates of 0.
//
// Decisions:
//   - A threshold whose scope has no data fails, with a message saying so: no samples of a latency
//     metric, no requests (or only cancelled ones) for errorRate and goodputFraction, no requests or no
//     measured window for the rates, no input tokens for cacheHitRate. A gate that measured nothing has
//     not passed. Its value is reported as 0.
//   - verdict is Fail when a threshold failed, or the run's phase is Failed or Aborted: an aborted run
//     measured only part of what was asked and never passes. Thresholds are still evaluated on what was
//     measured, so the report says which held.
//   - exitCode: 3 for an Aborted run (whatever the thresholds), else 0 for Pass and 1 for Fail
//     (docs/metrics.md: 0 Pass, 1 Fail, 2 invalid input, 3 aborted, 4 internal error).
//   - phase and reason are the run's own (RunOutcome); when thresholds failed, reason also lists them.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/metrics.h"
#include "tokenstorm/core/stages.h"

namespace tokenstorm::core {

// How the run ended, as the engine (or the operator) saw it.
struct RunOutcome {
  Phase phase = Phase::Succeeded;  // Succeeded, Failed or Aborted
  std::string reason;              // e.g. "BudgetExceeded: spent 40.02 of 40.00 USD"; empty when none
  double elapsedS = 0;             // measured wall time of the run; 0: use the snapshot's
  // CPU time the runner's event loop used, as a share of one core over the run (client health). Absent
  // when not measured (e.g. merged from runners that did not say).
  std::optional<double> runnerCpuPercent;
};

// Runner CPU above this means the runner itself may have shaped the results.
inline constexpr double kRunnerCpuWarnPercent = 90;

// Schedule lag p99 above this makes the report warn that the client, not the server, was the bottleneck.
inline constexpr double kSchedLagWarnMs = 5;

struct ThresholdCheck {
  ThresholdResult result;  // as in LoadTest status.thresholds
  std::string message;     // "ttft p95 912.4 ms > max 800ms", or why there was no data
  bool noData = false;
};

struct TimeSeriesPoint {
  int64_t tS = 0;  // second since the test start
  // Seconds the point covers: 1, or 2^k where a compacted snapshot (compact.h) merged its seconds; rates
  // are then averages over them, counts (ok, errors, cancelled) their sums.
  int64_t stepS = 1;
  double requestsPerSecond = 0;
  double inputTokensPerSecond = 0;
  double outputTokensPerSecond = 0;
  double ttftP95Ms = 0;
  int64_t ok = 0;
  int64_t errors = 0;
  int64_t cancelled = 0;
};

// Output quality of one stage next to the baseline (the first stage with ok requests).
struct QualityDrift {
  std::string stage;
  int64_t ok = 0;
  double meanOutputTokens = 0;  // over ok requests with output
  double p50OutputTokens = 0;
  double p95OutputTokens = 0;
  double finishLengthRate = 0;  // finish_reason=length / ok
  double emptyRate = 0;         // no output / ok
  bool baseline = false;
  double meanOutputChange = 0;        // relative to the baseline: 0.10 is 10% longer
  double finishLengthRateChange = 0;  // difference from the baseline's rate
  double emptyRateChange = 0;         // difference from the baseline's rate
};

struct Report {
  Verdict verdict = Verdict::Pass;
  Phase phase = Phase::Succeeded;
  std::string reason;
  double elapsedS = 0;  // the run's wall time
  double windowS = 0;   // elapsedS minus the warm-up: what rates divide by
  int64_t warmupExcluded = 0;
  Summary summary;
  std::vector<StageSummary> stages;  // stages that started
  std::map<std::string, Summary> classes;
  std::vector<ThresholdCheck> thresholds;   // one per spec.thresholds entry, in order
  std::vector<TimeSeriesPoint> timeseries;  // 1 s points (coarser where compacted), gaps filled with zeros
  double peakRequestsPerSecond = 0;
  double peakOutputTokensPerSecond = 0;
  std::vector<QualityDrift> quality;       // per stage with ok requests
  std::vector<std::string> warnings;       // client health and measurement caveats, said loudly
  std::optional<double> runnerCpuPercent;  // from RunOutcome; report.json "runner": {"cpuPercent"}
  // Where token counts came from (report.json "tokens"): requests counted by the server's usage and by
  // the runner's estimator, and, where both exist, the estimator's output total over the server's.
  int64_t tokensFromServer = 0;
  int64_t tokensEstimated = 0;
  std::optional<double> clientEstimateVsServer;

  // The thresholds as LoadTest status.thresholds holds them.
  std::vector<ThresholdResult> thresholdResults() const;
};

Report buildReport(const LoadTestSpec& spec, const LoadPlan& plan, const Snapshot& merged,
                   const RunOutcome& outcome);

// report.json: the keys of docs/metrics.md ("verdict", "phase", "reason", "summary", "stages", "classes",
// "thresholds", "timeseries") in that order, then "quality" and "warnings".
nlohmann::ordered_json toJson(const Report& report);
// JUnit XML: one <testcase> per threshold (a <failure> with the measured value when it failed), and one
// for the run itself, failing when the run was aborted or failed.
std::string toJunitXml(const Report& report, std::string_view test_name);
// The aligned summary table `tokenstorm run` prints at the end.
std::string renderTerminal(const Report& report);
// 0 Pass, 1 Fail, 3 aborted.
int exitCode(const Report& report);

}  // namespace tokenstorm::core
