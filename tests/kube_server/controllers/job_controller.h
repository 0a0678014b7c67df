// The Job controller of the API test server (batch/v1 Jobs), following the documented behaviour of
// kube-controller-manager's job controller (Kubernetes 1.31+):
//
// - completionMode Indexed: one pod per index 0..completions-1, named `<job>-<index>-<5 random>`, with the
//   annotation and label batch.kubernetes.io/job-completion-index, env JOB_COMPLETION_INDEX (a fieldRef to
//   that annotation) in every container, hostname `<job>-<index>`; status.completedIndexes ("0-2,4").
// - completionMode NonIndexed: pods named `<job>-<5 random>`; done when `completions` pods succeeded (or,
//   without completions, when one succeeded and none is active).
// - parallelism, completions: at most min(parallelism, remaining) active pods; both default to 1 when
//   neither is set.
// - backoffLimit (default 6): failed pods (plus container restarts under restartPolicy OnFailure) above it
//   → FailureTarget, active pods deleted, then Failed, reason BackoffLimitExceeded; below it a failed index
//   gets a replacement pod at once.
// - activeDeadlineSeconds: counted from status.startTime; past it → FailureTarget, active pods deleted,
//   then Failed, reason DeadlineExceeded.
// - suspend: active pods deleted, condition Suspended=True (JobSuspended); on resume Suspended=False
//   (JobResumed) and startTime reset.
// - ttlSecondsAfterFinished (the TTL-after-finished controller): that long after Complete/Failed, the Job
//   is deleted with propagationPolicy Foreground.
//
// Terminal conditions come in two steps as in Kubernetes 1.31: FailureTarget / SuccessCriteriaMet when
// decided, Failed / Complete (with completionTime for Complete) once no pod of the Job is still running or
// terminating. status.active counts pods neither terminal nor being deleted, status.terminating those
// being deleted, status.ready the active pods with Ready=True. Failed and succeeded counts never go down
// (pods are not tracked with finalizers here; a pod deleted before it finished is not counted as failed).
// Not implemented: podFailurePolicy, successPolicy, backoffLimitPerIndex, podReplacementPolicy Failed,
// the exponential delay before replacing a failed pod, managedBy.
//
// reconcileJob() is the whole decision, a pure function of the Job, its pods and the time; JobController
// runs it on a thread driven by Job and Pod watches plus a periodic resync, and applies the decision to the
// store (pods first, then the status, written with the Job's resourceVersion so a stale view retries).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"
#include "tokenstorm/core/clock.h"
#include "util.h"

namespace tokenstorm::kts {

inline constexpr const char* kJobControllerUidLabel = "batch.kubernetes.io/controller-uid";
inline constexpr const char* kJobNameLabel = "batch.kubernetes.io/job-name";
inline constexpr const char* kLegacyControllerUidLabel = "controller-uid";
inline constexpr const char* kLegacyJobNameLabel = "job-name";
inline constexpr const char* kJobCompletionIndex = "batch.kubernetes.io/job-completion-index";

struct JobDecision {
  std::vector<nlohmann::json> podsToCreate;  // complete Pod objects (metadata.generateName set)
  std::vector<std::string> podsToDelete;     // names, in the Job's namespace
  nlohmann::json status;                     // the Job's new status
  bool statusChanged = false;
  bool deleteJob = false;  // ttlSecondsAfterFinished has passed
  // When the Job must be looked at again even if nothing changes (active deadline, TTL after finished).
  std::optional<std::chrono::milliseconds> requeueAfter;
};

// `pods` are the Job's own pods (controller ownerReference to its uid); order does not matter.
JobDecision reconcileJob(const nlohmann::json& job, const std::vector<nlohmann::json>& pods, WallTime now);

// The Pod the Job controller creates for `index` (-1 for NonIndexed Jobs).
nlohmann::json podFromTemplate(const nlohmann::json& job, int64_t index);

// "0-2,4" for {0,1,2,4} (a single index alone, two or more consecutive ones as a range), and back;
// parseIndexes ignores malformed parts.
std::string formatIndexes(const std::vector<int64_t>& sorted_indexes);
std::vector<int64_t> parseIndexes(const std::string& text);

struct JobControllerOptions {
  std::chrono::milliseconds resyncPeriod{1000};
  std::function<void(const std::string&)> log;  // error lines; stderr when empty
};

class JobController {
 public:
  JobController(ApiStore& store, const core::Clock& clock, JobControllerOptions options = {});
  ~JobController();
  JobController(const JobController&) = delete;
  JobController& operator=(const JobController&) = delete;

  void start();
  void stop();

  // Reconciles one Job now, on the calling thread (tests drive it without start()). Returns when to look
  // again at the latest (deadline), if ever.
  std::optional<std::chrono::milliseconds> sync(const std::string& ns, const std::string& name);

 private:
  void run();
  void resyncAll();
  void log(const std::string& line) const;

  ApiStore& store_;
  const core::Clock& clock_;
  JobControllerOptions options_;
  ResourceType jobType_;
  ResourceType podType_;
  struct Threads;
  std::unique_ptr<Threads> threads_;
};

}  // namespace tokenstorm::kts
