// What the operator reads off runner pods and the Job (observeRunnerPods, observeJob, the failure
// kinds told apart) and the times of the status (RFC 3339). Declared in status.h.
#include "tokenstorm/operator/status.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>  // sigabbrev_np
#include <ctime>

#include "tokenstorm/kube/credentials.h"
#include "tokenstorm/kube/object.h"

namespace tokenstorm::op {
namespace {

using Json = nlohmann::json;
using kube::stringAt;

const Json* objectAt(const Json& j, const char* key) {
  if (!j.is_object()) {
    return nullptr;
  }
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

bool conditionTrue(const Json& status, const char* type) {
  const Json* conditions = objectAt(status, "conditions");
  if (conditions == nullptr || !conditions->is_array()) {
    return false;
  }
  for (const Json& c : *conditions) {
    if (stringAt(c, {"type"}) == type && stringAt(c, {"status"}) == "True") {
      return true;
    }
  }
  return false;
}

int64_t completionIndex(const Json& pod) {
  std::string text = stringAt(pod, {"metadata", "annotations", "batch.kubernetes.io/job-completion-index"});
  if (text.empty()) {
    text = stringAt(pod, {"metadata", "labels", "batch.kubernetes.io/job-completion-index"});
  }
  if (text.empty() || text.size() > 9 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::strtoll(text.c_str(), nullptr, 10);
}

// The failure a container status shows, if any.
std::optional<PodFailure> containerFailure(const Json& cs, bool pod_failed) {
  const Json* state = objectAt(cs, "state");
  const Json* last = objectAt(cs, "lastState");
  const Json* waiting = state ? objectAt(*state, "waiting") : nullptr;
  const Json* terminated = state ? objectAt(*state, "terminated") : nullptr;
  if (terminated == nullptr && last != nullptr) {
    terminated = objectAt(*last, "terminated");
  }
  PodFailure f;
  if (waiting != nullptr) {
    f.reason = stringAt(*waiting, {"reason"});
    f.message = stringAt(*waiting, {"message"});
    if (f.reason == "ErrImagePull" || f.reason == "ImagePullBackOff" || f.reason == "InvalidImageName") {
      f.kind = FailureKind::ImagePull;
      return f;
    }
    if (f.reason == "CreateContainerConfigError" || f.reason == "CreateContainerError") {
      f.kind = FailureKind::Config;
      return f;
    }
    if (f.reason == "CrashLoopBackOff") {
      f.kind = FailureKind::Crash;
      if (terminated != nullptr) {
        if (auto code = objectAt(*terminated, "exitCode"); code != nullptr && code->is_number_integer()) {
          f.exitCode = code->get<int64_t>();
        }
      }
      return f;
    }
  }
  if (terminated != nullptr) {
    f.reason = stringAt(*terminated, {"reason"});
    f.message = stringAt(*terminated, {"message"});
    if (auto code = objectAt(*terminated, "exitCode"); code != nullptr && code->is_number_integer()) {
      f.exitCode = code->get<int64_t>();
    }
    if (f.reason == "OOMKilled") {
      f.kind = FailureKind::OOMKilled;
      return f;
    }
    if (pod_failed || (f.exitCode && *f.exitCode != 0)) {
      f.kind = FailureKind::Crash;
      if (f.reason.empty()) {
        f.reason = "Error";
      }
      return f;
    }
  }
  return std::nullopt;
}

}  // namespace

std::string formatTime(WallTime at) {
  std::time_t t = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string formatTimeMillis(WallTime at) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  auto whole = WallTime(std::chrono::seconds(ms / 1000));
  std::string text = formatTime(whole);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms % 1000));
  return text.substr(0, text.size() - 1) + frac + "Z";
}

std::optional<WallTime> parseTime(const std::string& text) {
  auto at = kube::parseRfc3339(text);
  if (!at) {
    return std::nullopt;
  }
  return std::chrono::time_point_cast<WallTime::duration>(*at);
}

const core::Condition* findCondition(const std::vector<core::Condition>& conditions,
                                     const std::string& type) {
  for (const auto& c : conditions) {
    if (c.type == type) {
      return &c;
    }
  }
  return nullptr;
}

bool setCondition(std::vector<core::Condition>* conditions, const std::string& type,
                  const std::string& status, const std::string& reason, const std::string& message,
                  WallTime now, int64_t generation) {
  for (auto& c : *conditions) {
    if (c.type != type) {
      continue;
    }
    bool changed = c.status != status || c.reason != reason || c.message != message ||
                   c.observedGeneration != generation;
    if (c.status != status) {
      c.lastTransitionTime = formatTime(now);
    }
    c.status = status;
    c.reason = reason;
    c.message = message;
    c.observedGeneration = generation;
    return changed;
  }
  conditions->push_back({type, status, reason, message, formatTime(now), generation});
  return true;
}

std::string describe(const PodFailure& f) {
  std::string who =
      f.index >= 0 ? "runner " + std::to_string(f.index) + " (pod " + f.pod + ")" : "pod " + f.pod;
  std::string what;
  switch (f.kind) {
    case FailureKind::OOMKilled:
      what = "OOMKilled: out of memory (raise spec.runners.resources.limits.memory)";
      break;
    case FailureKind::ImagePull:
      what = "image pull failed (" + f.reason + ")";
      break;
    case FailureKind::Config:
      what = "container could not be configured (" + f.reason + "; a missing Secret or key?)";
      break;
    case FailureKind::Crash:
      what = "crashed (" + f.reason + ")";
      break;
    case FailureKind::Evicted:
      what = "evicted";
      break;
  }
  if (f.exitCode) {
    what += ", exit code " + std::to_string(*f.exitCode);
    // 128 + N: the container was ended by signal N (the kernel's OOM killer and `kill -9` give 137).
    if (*f.exitCode > 128 && *f.exitCode < 160) {
      const char* name = sigabbrev_np(static_cast<int>(*f.exitCode - 128));
      if (name != nullptr) {
        what += std::string(" (SIG") + name + ")";
      }
    }
  }
  if (!f.message.empty()) {
    what += ": " + f.message;
  }
  return who + ": " + what;
}

RunnerPods observeRunnerPods(const std::vector<Json>& pods, int64_t desired) {
  RunnerPods out;
  out.desired = desired;
  for (const Json& pod : pods) {
    const Json* status = objectAt(pod, "status");
    const Json empty = Json::object();
    const Json& st = status != nullptr ? *status : empty;
    const std::string phase = stringAt(st, {"phase"});
    const bool deleting = !stringAt(pod, {"metadata", "deletionTimestamp"}).empty();
    if (phase == "Succeeded") {
      ++out.succeeded;
    } else if (phase == "Failed") {
      ++out.failed;
    } else if (deleting) {
      ++out.terminating;
    } else {
      ++out.active;
    }
    if (phase != "Succeeded" && phase != "Failed" && conditionTrue(st, "Ready")) {
      ++out.ready;
    }
    std::optional<PodFailure> failure;
    if (stringAt(st, {"reason"}) == "Evicted") {
      failure = PodFailure{};
      failure->kind = FailureKind::Evicted;
      failure->reason = "Evicted";
      failure->message = stringAt(st, {"message"});
    }
    if (const Json* cs = objectAt(st, "containerStatuses"); !failure && cs != nullptr && cs->is_array()) {
      for (const Json& c : *cs) {
        failure = containerFailure(c, phase == "Failed");
        if (failure) {
          break;
        }
      }
    }
    if (!failure && phase == "Failed") {
      failure = PodFailure{};
      failure->reason = stringAt(st, {"reason"}).empty() ? "Failed" : stringAt(st, {"reason"});
      failure->message = stringAt(st, {"message"});
    }
    if (failure) {
      failure->pod = stringAt(pod, {"metadata", "name"});
      failure->index = completionIndex(pod);
      out.failures.push_back(std::move(*failure));
    }
  }
  std::sort(out.failures.begin(), out.failures.end(), [](const PodFailure& a, const PodFailure& b) {
    return std::tie(a.index, a.pod) < std::tie(b.index, b.pod);
  });
  return out;
}

JobState observeJob(const std::optional<Json>& job) {
  JobState out;
  if (!job) {
    return out;
  }
  out.exists = true;
  const Json* status = objectAt(*job, "status");
  if (status == nullptr) {
    return out;
  }
  out.complete = conditionTrue(*status, "Complete");
  const Json* conditions = objectAt(*status, "conditions");
  if (conditions != nullptr && conditions->is_array()) {
    for (const Json& c : *conditions) {
      if (stringAt(c, {"type"}) == "Failed" && stringAt(c, {"status"}) == "True") {
        out.failed = true;
        out.reason = stringAt(c, {"reason"});
        out.message = stringAt(c, {"message"});
      }
    }
  }
  return out;
}

}  // namespace tokenstorm::op
