#include "job_controller.h"

#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "watch_pump.h"

namespace tokenstorm::kts {

namespace {

constexpr int64_t kDefaultBackoffLimit = 6;
constexpr const char* kCompletionsReached = "CompletionsReached";
constexpr const char* kCompletionsReachedMessage = "Reached expected number of succeeded pods";

bool isDeleting(const nlohmann::json& pod) {
  return !member(member(pod, "metadata"), "deletionTimestamp").is_null();
}

// The completion index of a pod: its annotation (or label), -1 when missing or not a number.
int64_t podIndex(const nlohmann::json& pod) {
  std::string text = stringAt(pod, {"metadata", "annotations", kJobCompletionIndex});
  if (text.empty()) {
    text = stringAt(pod, {"metadata", "labels", kJobCompletionIndex});
  }
  if (text.empty() || text.size() > 9 || !std::all_of(text.begin(), text.end(), ::isdigit)) {
    return -1;
  }
  return std::stoll(text);
}

bool podReady(const nlohmann::json& pod) {
  return conditionTrue(member(member(pod, "status"), "conditions"), "Ready");
}

int64_t containerRestarts(const nlohmann::json& pod) {
  int64_t restarts = 0;
  const auto& statuses = member(member(pod, "status"), "containerStatuses");
  if (statuses.is_array()) {
    for (const auto& s : statuses) {
      restarts += intAt(s, {"restartCount"}).value_or(0);
    }
  }
  return restarts;
}

std::string podName(const nlohmann::json& pod) {
  return stringAt(pod, {"metadata", "name"});
}

void addIndexEnv(nlohmann::json& containers) {
  if (!containers.is_array()) {
    return;
  }
  for (auto& container : containers) {
    if (!container.is_object()) {
      continue;
    }
    auto& env = container["env"];
    if (!env.is_array()) {
      env = nlohmann::json::array();
    }
    bool present = false;
    for (const auto& e : env) {
      present = present || stringAt(e, {"name"}) == "JOB_COMPLETION_INDEX";
    }
    if (!present) {
      env.push_back(
          {{"name", "JOB_COMPLETION_INDEX"},
           {"valueFrom",
            {{"fieldRef",
              {{"apiVersion", "v1"},
               {"fieldPath", std::string("metadata.annotations['") + kJobCompletionIndex + "']"}}}}}});
    }
  }
}

}  // namespace

std::string formatIndexes(const std::vector<int64_t>& sorted_indexes) {
  std::string out;
  size_t i = 0;
  while (i < sorted_indexes.size()) {
    size_t j = i;
    while (j + 1 < sorted_indexes.size() && sorted_indexes[j + 1] == sorted_indexes[j] + 1) {
      ++j;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(sorted_indexes[i]);
    if (j > i) {
      out += '-' + std::to_string(sorted_indexes[j]);
    }
    i = j + 1;
  }
  return out;
}

std::vector<int64_t> parseIndexes(const std::string& text) {
  std::set<int64_t> indexes;
  size_t start = 0;
  while (start < text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) {
      comma = text.size();
    }
    const std::string part = text.substr(start, comma - start);
    start = comma + 1;
    const size_t dash = part.find('-');
    const std::string first = part.substr(0, dash);
    const std::string last = dash == std::string::npos ? first : part.substr(dash + 1);
    auto isNumber = [](const std::string& s) {
      return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), ::isdigit);
    };
    if (!isNumber(first) || !isNumber(last)) {
      continue;
    }
    for (int64_t i = std::stoll(first), end = std::stoll(last); i <= end; ++i) {
      indexes.insert(i);
    }
  }
  return {indexes.begin(), indexes.end()};
}

nlohmann::json podFromTemplate(const nlohmann::json& job, int64_t index) {
  const std::string name = stringAt(job, {"metadata", "name"});
  const std::string uid = stringAt(job, {"metadata", "uid"});
  const nlohmann::json& tmpl = member(member(job, "spec"), "template");
  const nlohmann::json& tmplMeta = member(tmpl, "metadata");

  nlohmann::json labels =
      member(tmplMeta, "labels").is_object() ? member(tmplMeta, "labels") : nlohmann::json::object();
  nlohmann::json annotations = member(tmplMeta, "annotations").is_object() ? member(tmplMeta, "annotations")
                                                                           : nlohmann::json::object();
  labels[kJobControllerUidLabel] = uid;
  labels[kJobNameLabel] = name;
  labels[kLegacyControllerUidLabel] = uid;
  labels[kLegacyJobNameLabel] = name;

  nlohmann::json spec = member(tmpl, "spec").is_object() ? member(tmpl, "spec") : nlohmann::json::object();
  std::string generateName = name + "-";
  if (index >= 0) {
    const std::string text = std::to_string(index);
    labels[kJobCompletionIndex] = text;
    annotations[kJobCompletionIndex] = text;
    generateName = name + "-" + text + "-";
    if (stringAt(spec, {"hostname"}).empty()) {
      spec["hostname"] = name + "-" + text;
    }
    addIndexEnv(spec["containers"]);
    if (spec.contains("initContainers")) {
      addIndexEnv(spec["initContainers"]);
    }
  }

  nlohmann::json metadata = {{"generateName", generateName},
                             {"namespace", stringAt(job, {"metadata", "namespace"})},
                             {"labels", labels},
                             {"ownerReferences", nlohmann::json::array({{{"apiVersion", "batch/v1"},
                                                                         {"kind", "Job"},
                                                                         {"name", name},
                                                                         {"uid", uid},
                                                                         {"controller", true},
                                                                         {"blockOwnerDeletion", true}}})}};
  if (!annotations.empty()) {
    metadata["annotations"] = annotations;
  }
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata}, {"spec", spec}};
}

JobDecision reconcileJob(const nlohmann::json& job, const std::vector<nlohmann::json>& pods, WallTime now) {
  JobDecision decision;
  const nlohmann::json& spec = member(job, "spec");
  const nlohmann::json& oldStatus = member(job, "status");
  nlohmann::json status = oldStatus.is_object() ? oldStatus : nlohmann::json::object();
  decision.status = status;
  nlohmann::json conditions =
      member(status, "conditions").is_array() ? status["conditions"] : nlohmann::json::array();

  // A finished Job is left alone (Complete and Failed are final) until ttlSecondsAfterFinished passes.
  if (conditionTrue(conditions, "Complete") || conditionTrue(conditions, "Failed")) {
    const std::optional<int64_t> ttl = intAt(spec, {"ttlSecondsAfterFinished"});
    const nlohmann::json* finished =
        findCondition(conditions, conditionTrue(conditions, "Complete") ? "Complete" : "Failed");
    const std::optional<WallTime> finishedAt = parseTime(stringAt(*finished, {"lastTransitionTime"}));
    if (ttl && finishedAt) {
      const auto left = *finishedAt + std::chrono::seconds(*ttl) - now;
      if (left <= std::chrono::seconds(0)) {
        decision.deleteJob = true;
      } else {
        decision.requeueAfter = std::chrono::duration_cast<std::chrono::milliseconds>(left);
      }
    }
    return decision;
  }
  const std::string nowText = formatTime(now);

  const bool indexed = stringAt(spec, {"completionMode"}) == "Indexed";
  const std::optional<int64_t> parallelismSet = intAt(spec, {"parallelism"});
  std::optional<int64_t> completions = intAt(spec, {"completions"});
  if (!completions && (!parallelismSet || indexed)) {
    completions = 1;  // the API server's defaulting (Indexed Jobs require completions)
  }
  const int64_t parallelism = std::max<int64_t>(0, parallelismSet.value_or(1));
  const int64_t backoffLimit = intAt(spec, {"backoffLimit"}).value_or(kDefaultBackoffLimit);
  const bool suspend = member(spec, "suspend").is_boolean() && spec["suspend"].get<bool>();
  const std::optional<int64_t> activeDeadline = intAt(spec, {"activeDeadlineSeconds"});
  const bool onFailure = stringAt(spec, {"template", "spec", "restartPolicy"}) == "OnFailure";

  // Classify the pods.
  std::vector<const nlohmann::json*> active;
  int64_t terminating = 0;
  int64_t succeededPods = 0;
  int64_t failedPods = 0;
  int64_t restartFailures = 0;
  std::set<int64_t> completed;
  if (indexed) {
    for (int64_t i : parseIndexes(stringAt(status, {"completedIndexes"}))) {
      if (i < *completions) {
        completed.insert(i);
      }
    }
  }
  for (const auto& pod : pods) {
    const std::string phase = stringAt(pod, {"status", "phase"});
    if (phase == "Succeeded") {
      ++succeededPods;
      const int64_t index = podIndex(pod);
      if (indexed && index >= 0 && index < *completions) {
        completed.insert(index);
      }
    } else if (phase == "Failed") {
      ++failedPods;
    } else if (isDeleting(pod)) {
      ++terminating;
    } else {
      active.push_back(&pod);
      if (onFailure) {
        restartFailures += containerRestarts(pod);
      }
    }
  }
  const int64_t succeeded = indexed ? static_cast<int64_t>(completed.size())
                                    : std::max(intAt(status, {"succeeded"}).value_or(0), succeededPods);
  const int64_t failed = std::max(intAt(status, {"failed"}).value_or(0), failedPods);

  // Terminal decisions: FailureTarget / SuccessCriteriaMet first, Failed / Complete once no pod runs.
  std::string failureReason;
  std::string failureMessage;
  if (const nlohmann::json* target = findCondition(conditions, "FailureTarget");
      target != nullptr && stringAt(*target, {"status"}) == "True") {
    failureReason = stringAt(*target, {"reason"});
    failureMessage = stringAt(*target, {"message"});
  }
  bool successMet = conditionTrue(conditions, "SuccessCriteriaMet");
  std::optional<WallTime> startTime = parseTime(stringAt(status, {"startTime"}));

  if (failureReason.empty() && !successMet) {
    if (failed + restartFailures > backoffLimit) {
      failureReason = "BackoffLimitExceeded";
      failureMessage = "Job has reached the specified backoff limit";
    } else if (activeDeadline && !suspend && startTime &&
               now >= *startTime + std::chrono::seconds(*activeDeadline)) {
      failureReason = "DeadlineExceeded";
      failureMessage = "Job was active longer than specified deadline";
    } else if (completions ? succeeded >= *completions : succeeded > 0 && active.empty()) {
      successMet = true;
      setCondition(conditions, "SuccessCriteriaMet", "True", kCompletionsReached, kCompletionsReachedMessage,
                   nowText, true);
    }
    if (!failureReason.empty()) {
      setCondition(conditions, "FailureTarget", "True", failureReason, failureMessage, nowText, true);
    }
  }

  std::set<const nlohmann::json*> deleting;
  auto remove = [&](const nlohmann::json* pod) {
    if (deleting.insert(pod).second) {
      decision.podsToDelete.push_back(podName(*pod));
    }
  };

  if (!failureReason.empty() || successMet) {
    for (const auto* pod : active) {
      remove(pod);
    }
    if (active.empty() && terminating == 0) {
      if (!failureReason.empty()) {
        setCondition(conditions, "Failed", "True", failureReason, failureMessage, nowText, true);
      } else {
        setCondition(conditions, "Complete", "True", kCompletionsReached, kCompletionsReachedMessage, nowText,
                     true);
        status["completionTime"] = nowText;
      }
    }
  } else if (suspend) {
    for (const auto* pod : active) {
      remove(pod);
    }
    setCondition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", nowText, true);
  } else {
    if (conditionTrue(conditions, "Suspended")) {
      setCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", nowText, true);
      startTime = now;  // resuming restarts the activeDeadlineSeconds clock
      status["startTime"] = nowText;
    }
    if (!startTime) {
      startTime = now;
      status["startTime"] = nowText;
    }
    const int64_t wantActive = completions
                                   ? std::min(parallelism, std::max<int64_t>(0, *completions - succeeded))
                                   : (succeeded > 0 ? static_cast<int64_t>(active.size()) : parallelism);
    if (indexed) {
      // Keep one active pod per pending index, preferring the older (listed first) of duplicates.
      std::map<int64_t, const nlohmann::json*> byIndex;
      for (const auto* pod : active) {
        const int64_t index = podIndex(*pod);
        if (index < 0 || index >= *completions || completed.count(index) > 0 || byIndex.count(index) > 0) {
          remove(pod);
        } else {
          byIndex[index] = pod;
        }
      }
      while (static_cast<int64_t>(byIndex.size()) > wantActive) {  // parallelism lowered: highest go
        remove(byIndex.rbegin()->second);
        byIndex.erase(std::prev(byIndex.end()));
      }
      int64_t activeCount = static_cast<int64_t>(byIndex.size());
      for (int64_t index = 0; index < *completions && activeCount < wantActive; ++index) {
        if (completed.count(index) == 0 && byIndex.count(index) == 0) {
          decision.podsToCreate.push_back(podFromTemplate(job, index));
          ++activeCount;
        }
      }
    } else {
      int64_t activeCount = static_cast<int64_t>(active.size());
      for (auto it = active.rbegin(); it != active.rend() && activeCount > wantActive; ++it, --activeCount) {
        remove(*it);
      }
      for (; activeCount < wantActive; ++activeCount) {
        decision.podsToCreate.push_back(podFromTemplate(job, -1));
      }
    }
    if (activeDeadline) {
      const auto left = *startTime + std::chrono::seconds(*activeDeadline) - now;
      decision.requeueAfter =
          std::max(std::chrono::milliseconds(0), std::chrono::duration_cast<std::chrono::milliseconds>(left));
    }
  }

  int64_t ready = 0;
  for (const auto* pod : active) {
    if (deleting.count(pod) == 0 && podReady(*pod)) {
      ++ready;
    }
  }
  const int64_t stillActive = static_cast<int64_t>(active.size() - deleting.size()) +
                              static_cast<int64_t>(decision.podsToCreate.size());
  // active, succeeded and failed are omitempty in batch/v1; ready and terminating are pointers, always set.
  auto setCount = [&status](const char* key, int64_t value) {
    if (value > 0) {
      status[key] = value;
    } else {
      status.erase(key);
    }
  };
  setCount("active", stillActive);
  setCount("succeeded", succeeded);
  setCount("failed", failed);
  status["ready"] = ready;
  status["terminating"] = terminating + static_cast<int64_t>(deleting.size());
  if (indexed) {
    status["completedIndexes"] = formatIndexes({completed.begin(), completed.end()});
  }
  if (!conditions.empty()) {
    status["conditions"] = conditions;
  }
  decision.statusChanged = status != oldStatus;
  decision.status = std::move(status);
  return decision;
}

// ---- JobController ----

struct JobController::Threads {
  KeyQueue queue;
  std::unique_ptr<WatchPump> jobs;
  std::unique_ptr<WatchPump> pods;
  std::thread worker;
  std::atomic<bool> stopping{false};
};

JobController::JobController(ApiStore& store, const core::Clock& clock, JobControllerOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
  jobType_ = store_.findType("batch", "v1", "jobs").value_or(ResourceType{});
  podType_ = store_.findType("", "v1", "pods").value_or(ResourceType{});
}

JobController::~JobController() {
  stop();
}

void JobController::log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << "kts job-controller: " << line << "\n";
  }
}

std::optional<std::chrono::milliseconds> JobController::sync(const std::string& ns, const std::string& name) {
  Result got = store_.get(jobType_, ns, name);
  if (!got.ok()) {
    return std::nullopt;  // gone: the store's garbage collector removes its pods
  }
  nlohmann::json job = std::move(got.object);
  const std::string uid = stringAt(job, {"metadata", "uid"});
  ListOptions selector;
  selector.labelSelector = std::string(kJobControllerUidLabel) + "=" + uid;
  Result listed = store_.list(podType_, ns, selector);
  if (!listed.ok()) {
    log("listing pods of job " + ns + "/" + name + ": " + listed.error->message);
    return std::chrono::milliseconds(options_.resyncPeriod);
  }
  std::vector<nlohmann::json> pods;
  for (auto& pod : listed.object["items"]) {
    if (controllerOwnerUid(pod, "Job") == uid) {
      pods.push_back(std::move(pod));
    }
  }
  JobDecision decision = reconcileJob(job, pods, clock_.wallNow());
  if (decision.deleteJob) {
    DeleteOptions foreground;  // what the TTL-after-finished controller asks for
    foreground.propagationPolicy = "Foreground";
    foreground.preconditionUid = uid;
    Result removed = store_.remove(jobType_, ns, name, foreground);
    if (!removed.ok() && removed.error->code != 404 && removed.error->code != 409) {
      log("deleting finished job " + ns + "/" + name + ": " + removed.error->message);
    }
    return std::nullopt;
  }
  for (const auto& pod : decision.podsToDelete) {
    Result removed = store_.remove(podType_, ns, pod, DeleteOptions{});
    if (!removed.ok() && removed.error->code != 404) {
      log("deleting pod " + ns + "/" + pod + ": " + removed.error->message);
    }
  }
  for (auto& pod : decision.podsToCreate) {
    Result created = store_.create(podType_, ns, std::move(pod));
    if (!created.ok()) {
      log("creating a pod for job " + ns + "/" + name + ": " + created.error->message);
    }
  }
  if (decision.statusChanged) {
    job["status"] = decision.status;
    Result updated = store_.update(jobType_, ns, name, std::move(job), Subresource::kStatus);
    if (!updated.ok()) {
      if (updated.error->code != 409 && updated.error->code != 404) {
        log("updating status of job " + ns + "/" + name + ": " + updated.error->message);
      }
      return std::chrono::milliseconds(0);  // look again at the current state
    }
  }
  return decision.requeueAfter;
}

void JobController::start() {
  if (threads_) {
    return;
  }
  threads_ = std::make_unique<Threads>();
  Threads* t = threads_.get();
  t->jobs = std::make_unique<WatchPump>(store_, jobType_, [t](const nlohmann::json& event) {
    const auto& meta = member(member(event, "object"), "metadata");
    if (meta.is_object()) {
      t->queue.add(objectKey(stringAt(meta, {"namespace"}), stringAt(meta, {"name"})));
    }
  });
  t->pods = std::make_unique<WatchPump>(store_, podType_, [t](const nlohmann::json& event) {
    const auto& pod = member(event, "object");
    const auto& refs = member(member(pod, "metadata"), "ownerReferences");
    if (!refs.is_array()) {
      return;
    }
    for (const auto& ref : refs) {
      if (ref.is_object() && ref.value("controller", false) && stringAt(ref, {"kind"}) == "Job") {
        t->queue.add(objectKey(stringAt(pod, {"metadata", "namespace"}), stringAt(ref, {"name"})));
      }
    }
  });
  t->jobs->start();
  t->pods->start();
  t->worker = std::thread([this] { run(); });
}

void JobController::stop() {
  if (!threads_) {
    return;
  }
  threads_->stopping = true;
  threads_->queue.wake();
  threads_->jobs->stop();
  threads_->pods->stop();
  if (threads_->worker.joinable()) {
    threads_->worker.join();
  }
  threads_.reset();
}

void JobController::resyncAll() {
  Result listed = store_.list(jobType_, "", ListOptions{});
  if (!listed.ok()) {
    return;
  }
  for (const auto& job : listed.object["items"]) {
    const auto& conditions = member(member(job, "status"), "conditions");
    if ((conditionTrue(conditions, "Complete") || conditionTrue(conditions, "Failed")) &&
        !intAt(member(job, "spec"), {"ttlSecondsAfterFinished"})) {
      continue;  // finished Jobs never change again
    }
    threads_->queue.add(
        objectKey(stringAt(job, {"metadata", "namespace"}), stringAt(job, {"metadata", "name"})));
  }
}

void JobController::run() {
  using Steady = std::chrono::steady_clock;
  std::map<std::string, Steady::time_point> due;  // deadlines to look at again
  Steady::time_point nextResync = Steady::now() + options_.resyncPeriod;
  while (!threads_->stopping) {
    Steady::time_point wakeAt = nextResync;
    for (const auto& [key, at] : due) {
      wakeAt = std::min(wakeAt, at);
    }
    std::vector<std::string> keys = threads_->queue.take(wakeAt);
    const auto now = Steady::now();
    for (auto it = due.begin(); it != due.end();) {
      if (it->second <= now) {
        keys.push_back(it->first);
        it = due.erase(it);
      } else {
        ++it;
      }
    }
    if (now >= nextResync) {
      nextResync = now + options_.resyncPeriod;
      resyncAll();
    }
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto& key : keys) {
      if (threads_->stopping) {
        return;
      }
      const auto [ns, name] = splitKey(key);
      if (auto again = sync(ns, name)) {
        // A little past the deadline, so the wall clock is surely past it too.
        due[key] = Steady::now() + *again + std::chrono::milliseconds(again->count() > 0 ? 20 : 50);
      }
    }
  }
}

}  // namespace tokenstorm::kts
