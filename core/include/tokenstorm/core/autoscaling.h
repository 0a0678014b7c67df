// Autoscaling results (issue 7): observations of the scale target, joined with the runners' 1 s time
// series, become the warm-up numbers of status.autoscaling. docs/autoscaling.md defines each number.
//
//   watches (operator) ─┐                                  ┌─ LoadPlan (core::expandLoad) → findLoadSteps
//   simulator /metrics ─┴─▶ ReplicaSample[] ─▶ deriveAutoscaling ◀─ Snapshot::timeseries (TimePoint per s)
//                                                   │
//                                                   ▼
//                                         AutoscalingResult (loadtest.h)
//
// Pure: no clock, no I/O. Every time is seconds since the test start (a double; negative for observations
// made before it). Observations may arrive out of order and jitter; they are sorted here. Absent data stays
// absent: a number that cannot be derived is nullopt, never 0, and `message` says why when the whole
// replica timeline is missing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/metrics.h"
#include "tokenstorm/core/stages.h"

namespace tokenstorm::core {

// One observation of the scale target's replica counts (a watch event, a scrape).
struct ReplicaSample {
  double tS = 0;
  std::optional<int64_t> desired;    // spec.replicas / HPA desiredReplicas / simulator replicas
  std::optional<int64_t> current;    // status.replicas / HPA currentReplicas
  std::optional<int64_t> ready;      // status.readyReplicas / simulator ready replicas
  std::optional<int64_t> available;  // status.availableReplicas
  friend bool operator==(const ReplicaSample&, const ReplicaSample&) = default;
};

// One pod of the workload, with its lifecycle times (from pod conditions and container statuses).
struct PodEvent {
  std::string pod;
  double createdS = 0;
  std::optional<double> scheduledS;
  std::optional<double> startedS;  // the first container's startedAt
  std::optional<double> readyS;    // Ready condition's lastTransitionTime while Ready is True
  friend bool operator==(const PodEvent&, const PodEvent&) = default;
};

// One server-side metric value (summed over label sets) at a scrape.
struct ServerMetricSample {
  double tS = 0;
  std::string name;
  double value = 0;
  friend bool operator==(const ServerMetricSample&, const ServerMetricSample&) = default;
};

// Why the replica timeline is missing, for a condition message; the test itself goes on.
enum class ObservationProblemKind : uint8_t {
  NotFound,     // the scaleRef object does not exist
  Forbidden,    // no RBAC to read it
  Unsupported,  // a kind the operator does not know how to read
  Malformed,    // the object exists but its replica fields could not be read
  NoSamples,    // nothing was recorded (set by deriveAutoscaling when the sample list is empty)
};
struct ObservationProblem {
  ObservationProblemKind kind = ObservationProblemKind::NoSamples;
  std::string message;  // "scaleRef apps/v1 Deployment vllm not found"
};
// "scaleRef apps/v1 Deployment vllm not found", "no RBAC to read apps/v1 Deployment vllm: <detail>", ...
ObservationProblem observationProblem(ObservationProblemKind kind, const ScaleRef& ref,
                                      const std::string& detail = "");

// Everything recorded about the scale target during one test.
struct ScaleTimeline {
  std::vector<ReplicaSample> replicas;
  std::vector<PodEvent> pods;
  std::vector<ServerMetricSample> serverMetrics;
  std::optional<ObservationProblem> problem;
};

// A load step: a stage whose starting target is above the previous stage's ending target (0 before the
// first stage). A ramp is not a step (its target rises continuously); an idle stage followed by a held
// stage is.
struct LoadStep {
  int stage = 0;  // index into the plan's stages
  std::string name;
  double startS = 0;
  double endS = 0;  // where the next step starts, or the end of the plan
  double from = 0;
  double to = 0;
};
std::vector<LoadStep> findLoadSteps(const LoadPlan& plan);

// Samples sorted by time (stable: of two samples at the same time the later one observed wins), with
// non-finite times dropped and negative counts made absent.
std::vector<ReplicaSample> sortedSamples(std::vector<ReplicaSample> samples);

// A request at the start of a cold step, when per-request data is at hand (local runs).
struct EarlyRequest {
  double sentS = 0;
  int64_t ttftNanos = 0;
};

// Seconds of consecutive p95 TTFT at or under the limit that count as recovered.
inline constexpr int kRecoverySeconds = 3;
// Without a threshold: recovered within this factor of the pre-step level ...
inline constexpr double kRecoveryTolerance = 1.2;
// ... taken as the median of the per-second p95s over this many seconds before the step (or the previous
// stage, when shorter).
inline constexpr double kPreStepWindowS = 30;
// coldStartTtftP50 is taken over this many first requests.
inline constexpr int64_t kColdStartRequests = 5;

struct AutoscalingInput {
  const LoadPlan* plan = nullptr;
  const ScaleTimeline* timeline = nullptr;                   // nullptr: no scaleRef observed
  const std::map<int64_t, TimePoint>* timeseries = nullptr;  // nullptr: no time series
  // spec.thresholds' TTFT p95 max per stage name ("" for thresholds without a stage): see ttftP95Limits.
  std::map<std::string, int64_t> ttftP95MaxNanos;
  std::vector<EarlyRequest> earlyRequests;  // optional: sharper coldStartTtft than the time series
};

// The TTFT p95 `max` thresholds without a class, by stage ("" when the threshold names no stage).
std::map<std::string, int64_t> ttftP95Limits(const LoadTestSpec& spec);

// Derives every number of AutoscalingResult (docs/autoscaling.md). Never fails: what cannot be derived is
// absent.
AutoscalingResult deriveAutoscaling(const AutoscalingInput& input);

}  // namespace tokenstorm::core
