#include "tokenstorm/runner/cluster.h"

#include <nlohmann/json.hpp>

#include <thread>

#include "tokenstorm/core/compact.h"
#include "tokenstorm/kube/credentials.h"

namespace tokenstorm::runner {
namespace {

using std::chrono::system_clock;

constexpr int64_t kMaxWholeNumberDigits = 9;  // far beyond any runner count, far below int64 overflow
constexpr auto kRetryPause = std::chrono::seconds(1);
constexpr auto kCancelPoll = std::chrono::milliseconds(20);
constexpr int64_t kWatchTimeoutS = 300;  // re-established after a fresh get, like a reflector's resync

std::optional<int64_t> wholeNumber(const std::string& text) {
  if (text.empty() || static_cast<int64_t>(text.size()) > kMaxWholeNumberDigits ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoll(text);
}

// Sleeps `pause`, waking early when cancelled; false when cancelled.
bool pauseUnlessCancelled(kube::Cancellation& cancellation, std::chrono::milliseconds pause) {
  auto until = std::chrono::steady_clock::now() + pause;
  while (std::chrono::steady_clock::now() < until) {
    if (cancellation.cancelled()) {
      return false;
    }
    std::this_thread::sleep_for(kCancelPoll);
  }
  return !cancellation.cancelled();
}

// data.startAt of a plan ConfigMap: absent (nullopt inside), a time, or an error for a bad value.
kube::Expected<std::optional<system_clock::time_point>> startAtOf(const nlohmann::json& plan,
                                                                  const std::string& name) {
  const nlohmann::json* data = plan.contains("data") ? &plan["data"] : nullptr;
  if (data == nullptr || !data->is_object() || !data->contains(contract::kStartAtKey)) {
    return std::optional<system_clock::time_point>{};
  }
  const nlohmann::json& value = (*data)[contract::kStartAtKey];
  auto at = value.is_string() ? kube::parseRfc3339(value.get<std::string>()) : std::nullopt;
  if (!at) {
    return kube::fail("plan ConfigMap " + name + ": data.startAt is not an RFC 3339 time (got " +
                      value.dump() + ")");
  }
  return std::optional<system_clock::time_point>{*at};
}

}  // namespace

kube::Expected<RunnerEnv> runnerEnvFrom(const kube::EnvLookup& env) {
  RunnerEnv out;
  auto need = [&](const char* name, std::string* into) -> bool {
    auto value = env(name);
    if (!value || value->empty()) {
      return false;
    }
    *into = *value;
    return true;
  };
  using std::string_literals::operator""s;
  if (!need(contract::kPlanEnv, &out.plan)) {
    return kube::fail(contract::kPlanEnv +
                      " is not set: it names the plan ConfigMap (the operator sets it)"s);
  }
  if (!need(contract::kNamespaceEnv, &out.ns)) {
    return kube::fail(contract::kNamespaceEnv +
                      " is not set: it names the plan's namespace (the operator sets it)"s);
  }
  if (!need(contract::kIndexEnv, &out.indexText)) {
    return kube::fail(
        contract::kIndexEnv +
        " is not set: a runner is a pod of the LoadTest's Indexed Job, whose controller sets it"s);
  }
  need(contract::kPodEnv, &out.pod);
  return out;
}

kube::Expected<RunnerShare> runnerShare(const std::string& index_text, const std::string& runners_text) {
  auto runners = wholeNumber(runners_text);
  if (!runners || *runners < 1) {
    return kube::fail("plan data.runners: must be a whole number of at least 1 (got \"" + runners_text +
                      "\")");
  }
  auto index = wholeNumber(index_text);
  if (!index) {
    return kube::fail("JOB_COMPLETION_INDEX: must be a whole number (got \"" + index_text + "\")");
  }
  if (*index >= *runners) {
    return kube::fail("JOB_COMPLETION_INDEX " + index_text + " is out of range: the plan has " +
                      runners_text + " runner(s), indexes 0 to " + std::to_string(*runners - 1));
  }
  RunnerShare share;
  share.index = *index;
  share.count = *runners;
  return share;
}

std::string shardName(const std::string& loadtest_name, const std::string& plan_name, int64_t index) {
  std::string base = loadtest_name;
  if (base.empty()) {
    base = plan_name;
    if (base.size() > contract::kPlanSuffix.size() && base.ends_with(contract::kPlanSuffix)) {
      base.resize(base.size() - contract::kPlanSuffix.size());
    }
  }
  return contract::shardName(base, index);
}

StartInstant startInstant(system_clock::time_point start_at, const core::Clock& clock) {
  // Both clocks are read once, together: the difference to the wall instant is carried over to the
  // monotonic clock, which the engine's timers use. (A wall clock stepped later does not move the start.)
  core::MonoNanos now_mono = clock.monotonicNanos();
  int64_t ahead = std::chrono::duration_cast<std::chrono::nanoseconds>(start_at - clock.wallNow()).count();
  StartInstant out;
  if (ahead >= 0) {
    out.monoNanos = now_mono + ahead;
  } else {
    out.monoNanos = now_mono;
    out.lateNanos = -ahead;
  }
  return out;
}

kube::Expected<std::optional<system_clock::time_point>> waitForStartAt(
    kube::Client& client, const std::string& ns, const std::string& plan, kube::Cancellation& cancellation,
    const std::function<void(const std::string&)>& on_retry) {
  using Found = std::optional<system_clock::time_point>;
  auto retry = [&](const std::string& why) {
    if (on_retry) {
      on_retry(why);
    }
    return pauseUnlessCancelled(cancellation, kRetryPause);
  };
  while (!cancellation.cancelled()) {
    auto got = client.get(kube::resources::kConfigMaps, ns, plan);
    if (!got.ok()) {
      if (got.error().notFound()) {
        return kube::fail("plan ConfigMap " + ns + "/" + plan + " not found (was the LoadTest deleted?)");
      }
      if (!retry(got.error().str())) {
        break;
      }
      continue;
    }
    auto start_at = startAtOf(*got, plan);
    if (!start_at.ok() || start_at->has_value()) {
      return start_at;
    }
    kube::WatchOptions options;
    options.fieldSelector = "metadata.name=" + plan;
    options.resourceVersion = (*got)["metadata"].value("resourceVersion", "");
    options.timeoutSeconds = kWatchTimeoutS;
    kube::Expected<Found> seen = Found{};
    bool deleted = false;
    auto watched = client.watch(
        kube::resources::kConfigMaps, ns, options,
        [&](const kube::WatchEvent& event) {
          if (event.type == kube::WatchEventType::kDeleted) {
            deleted = true;
            return false;
          }
          if (event.type != kube::WatchEventType::kAdded && event.type != kube::WatchEventType::kModified) {
            return event.type != kube::WatchEventType::kError;  // an ERROR (410 Gone...): get again
          }
          seen = startAtOf(event.object, plan);
          return seen.ok() && !seen->has_value();
        },
        cancellation);
    if (!seen.ok() || seen->has_value()) {
      return seen;
    }
    if (deleted) {
      return kube::fail("plan ConfigMap " + ns + "/" + plan + " was deleted while waiting for startAt");
    }
    if (!watched.ok() && !cancellation.cancelled() && !retry(watched.error().str())) {
      break;
    }
  }
  return Found{};
}

ShardConfigMap::ShardConfigMap(kube::Client& client, std::string ns, std::string name)
    : client_(client), ns_(std::move(ns)), name_(std::move(name)) {}

bool ShardConfigMap::put(const std::string& key, const std::string& value, std::string* error) {
  nlohmann::json patch = {{"data", {{key, value}}}};
  auto patched = client_.patch(kube::resources::kConfigMaps, ns_, name_, kube::PatchType::kMerge, patch);
  if (!patched.ok()) {
    *error = "shard ConfigMap " + ns_ + "/" + name_ + ": writing " + key + ": " + patched.error().str();
    return false;
  }
  return true;
}

ConfigMapSnapshotSink::ConfigMapSnapshotSink(ShardConfigMap& shard, std::ostream* warnings)
    : shard_(shard), warnings_(warnings) {}

bool ConfigMapSnapshotSink::write(const core::Snapshot& snapshot, std::string* error) {
  // The Recorder keeps the full series; each write compacts its own copy, so every snapshot is as fine
  // as its size allows (and the engine's own error-rate judgement still sees every second).
  core::Compaction c = core::compactSnapshot(snapshot, kSnapshotMaxBytes);
  auto bytes = static_cast<int64_t>(c.json.size());
  if (!c.fits) {
    *error = "shard ConfigMap " + shard_.ns() + "/" + shard_.name() + ": snapshot.json is " +
             std::to_string(bytes) + " bytes" + (c.compacted ? " with its time series compacted" : "") +
             ", over what a ConfigMap holds (1 MiB with the shard's other keys); not written";
    return false;
  }
  if (c.compacted && !warned_compacted_ && warnings_ != nullptr) {
    warned_compacted_ = true;
    *warnings_ << "note: snapshot.json would be " << c.bytesBefore / 1024
               << " KiB, over what a ConfigMap holds; its time series is compacted to fit (the last "
               << c.fullResolutionS << " s at full resolution, older points up to " << c.maxStepS
               << " s; totals stay exact)\n";
  }
  if (!c.compacted && bytes > kSnapshotWarnBytes && !warned_ && warnings_ != nullptr) {
    warned_ = true;
    *warnings_ << "warning: snapshot.json is " << bytes / 1024
               << " KiB, near the 1 MiB a ConfigMap holds; a longer test may not fit\n";
  }
  return shard_.put(contract::kSnapshotKey, c.json, error);
}

}  // namespace tokenstorm::runner
