// A LoadTest's status from what the operator observed (docs/loadtest-api.md, "status"), as a pure
// function: the phase, the conditions kstatus/Flux and Argo CD read, and the numbers.
//
// Phase and reason, first match wins:
// clang-format off
//   the test ended before (terminal phase, not     -> that phase and reason (the status is the record)
//    InvalidSpec)
//   spec invalid, nothing launched                 -> Failed / InvalidSpec (field path in the message)
//   suspend, nothing launched                      -> Pending / Suspended (nothing is created)
//   nothing launched                               -> Pending / WaitingForRunners
//   a runner pod failed (OOMKilled, image pull,    -> Failed / RunnerFailed (kind in the message);
//    config, crash) or the Job failed                 the Job's own deadline -> Aborted / DeadlineExceeded
//   a runner's outcome is Failed                   -> Failed / RunnerFailed (TargetUnreachable when it
//                                                     says so)
//   spec.suspend                                   -> Aborted / Suspended
//   budget cap reached over all shards             -> Aborted / BudgetExceeded (overshoot in the message)
//   error rate over the merged window, or a runner -> Aborted / ErrorRateExceeded
//    aborted on it
//   startAt + limits.maxDuration passed            -> Aborted / DeadlineExceeded
//   every runner finished (all outcomes, or the Job complete):
//     a runner aborted (its budget share, deadline) -> Aborted / that reason
//     no request answered, every failure            -> Failed / TargetUnreachable
//      connect/tls
//     a threshold failed                            -> Failed / ThresholdsFailed
//     else                                          -> Succeeded / ThresholdsMet
//   startAt not written, or still ahead            -> Provisioning / WaitingForRunners
//   inside spec.load.warmup after startAt          -> WarmingUp / WarmingUp
//   else                                           -> Running / Running
// clang-format on
//
// Conditions (as the chart's health.lua fixtures show them):
//   in progress: Reconciling=True and Ready=False, both with the phase's reason; Stalled=False if present
//   Succeeded:   Reconciling=False, Ready=True and Complete=True (ThresholdsMet)
//   failure:     Reconciling=False, Stalled=True and Ready=False with the reason
//   BudgetExceeded=True once a cap is reached; ThresholdsMet=True|False once the run ended.
// Every condition keeps its lastTransitionTime unless its status changes (the Kubernetes rule).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/stages.h"
#include "tokenstorm/operator/aggregate.h"

namespace tokenstorm::op {

// Condition types and reasons (docs/loadtest-api.md).
namespace reason {
inline constexpr const char* kWaitingForRunners = "WaitingForRunners";
inline constexpr const char* kWarmingUp = "WarmingUp";
inline constexpr const char* kRunning = "Running";
inline constexpr const char* kSucceeded = "Succeeded";
inline constexpr const char* kThresholdsMet = "ThresholdsMet";
inline constexpr const char* kThresholdsFailed = "ThresholdsFailed";
inline constexpr const char* kBudgetExceeded = "BudgetExceeded";
inline constexpr const char* kWithinBudget = "WithinBudget";
inline constexpr const char* kDeadlineExceeded = "DeadlineExceeded";
inline constexpr const char* kErrorRateExceeded = "ErrorRateExceeded";
inline constexpr const char* kSuspended = "Suspended";
inline constexpr const char* kRunnerFailed = "RunnerFailed";
inline constexpr const char* kInvalidSpec = "InvalidSpec";
inline constexpr const char* kTargetUnreachable = "TargetUnreachable";
inline constexpr const char* kRerun = "Rerun";  // spec.runId changed: the last run's children are removed
}  // namespace reason

// RFC 3339 in UTC: "2025-01-15T10:00:05Z" (metav1.Time), and with milliseconds for startAt.
std::string formatTime(WallTime at);
std::string formatTimeMillis(WallTime at);
std::optional<WallTime> parseTime(const std::string& text);

// Sets condition `type`; lastTransitionTime becomes `now` only when the condition is new or its status
// changes. Returns true when anything changed.
bool setCondition(std::vector<core::Condition>* conditions, const std::string& type,
                  const std::string& status, const std::string& reason, const std::string& message,
                  WallTime now, int64_t generation);
const core::Condition* findCondition(const std::vector<core::Condition>& conditions, const std::string& type);

// ---- what was observed ---------------------------------------------------------------------------------
enum class FailureKind { OOMKilled, ImagePull, Config, Crash, Evicted };
struct PodFailure {
  int64_t index = -1;  // Job completion index, -1 when unknown
  std::string pod;
  FailureKind kind = FailureKind::Crash;
  std::string reason;  // as the kubelet said: OOMKilled, ImagePullBackOff, Error, ...
  std::optional<int64_t> exitCode;
  std::string message;
};
std::string describe(const PodFailure& failure);  // "runner 2 (pod p): OOMKilled (exit code 137)"

struct RunnerPods {
  int64_t desired = 0;
  int64_t ready = 0;        // Ready condition True
  int64_t active = 0;       // Pending or Running, not being deleted
  int64_t terminating = 0;  // Pending or Running with a deletionTimestamp (flushing after SIGTERM)
  int64_t succeeded = 0;    // phase Succeeded
  int64_t failed = 0;       // phase Failed
  std::vector<PodFailure> failures;
};
// From the runner pods (label tokenstorm.dev/role=runner of the test): counts, and failures told apart:
// a terminated container OOMKilled, waiting in ErrImagePull/ImagePullBackOff/InvalidImageName, waiting in
// CreateContainerConfigError (a missing Secret or key), CrashLoopBackOff, a Failed pod (exit code), or
// an evicted pod.
RunnerPods observeRunnerPods(const std::vector<nlohmann::json>& pods, int64_t desired);

struct JobState {
  bool exists = false;
  bool complete = false;  // condition Complete=True
  bool failed = false;    // condition Failed=True
  std::string reason;     // of the Failed condition: BackoffLimitExceeded, DeadlineExceeded, ...
  std::string message;
};
JobState observeJob(const std::optional<nlohmann::json>& job);

struct Observed {
  WallTime now;
  int64_t generation = 0;
  core::LoadTestStatus previous;
  const core::LoadTestSpec* spec = nullptr;  // the spec being run: the plan's once launched
  const core::LoadPlan* plan = nullptr;
  core::Diagnostics invalid;  // validation errors of the object's spec (empty: valid)
  std::string refusedChange;  // non-empty: the spec changed after launch (suspend aside); why refused
  bool suspend = false;       // the object's spec.suspend (the one field that may change)
  bool launched = false;      // the plan ConfigMap exists
  std::optional<WallTime> startAt;
  JobState job;
  RunnerPods pods;
  const Aggregate* shards = nullptr;  // null before launch
  bool reportWritten = false;
  std::string reportName;  // for status.reportRef
};

bool isTerminal(std::optional<core::Phase> phase);
// The reason of the phase (the Ready condition's), "" when none.
std::string phaseReason(const core::LoadTestStatus& status);
std::string phaseMessage(const core::LoadTestStatus& status);

core::LoadTestStatus statusFor(const Observed& observed);

}  // namespace tokenstorm::op
