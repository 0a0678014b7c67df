// The runner's side of the operator contract (docs/operator.md, "The runner in a pod"): the runner's
// environment and share, the plan ConfigMap's start instant, and the shard ConfigMap it writes (`ready`,
// `snapshot.json` through ConfigMapSnapshotSink, `outcome.json`).
//
// Library tokenstorm_runner_cluster: the only part of runner/ that talks to the API server (kube/), kept
// apart so that the engine (tokenstorm_runner) and its tests stay free of the Kubernetes client. The flow
// that puts these together with the engine is `tokenstorm run --in-cluster` (app/cluster_command.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/core/cluster_contract.h"
#include "tokenstorm/kube/client.h"
#include "tokenstorm/kube/config.h"
#include "tokenstorm/kube/result.h"
#include "tokenstorm/runner/arrivals.h"
#include "tokenstorm/runner/snapshot_sink.h"

namespace tokenstorm::runner {

// Names, keys and environment of the operator contract: core/cluster_contract.h (tokenstorm::contract).

// A ConfigMap holds at most 1 MiB of data (keys and values together). The snapshot shares its shard with
// `ready` and `outcome.json`, which stay under this headroom.
inline constexpr int64_t kConfigMapLimitBytes = 1024 * 1024;
inline constexpr int64_t kShardOtherKeysBytes = 8 * 1024;
// What snapshot.json may take: a larger snapshot is compacted to fit (core/compact.h: its time series
// coarsened, oldest first; every total and histogram stays exact).
inline constexpr int64_t kSnapshotMaxBytes = kConfigMapLimitBytes - kShardOtherKeysBytes;
// A snapshot that is this large without its time series (many stages and classes) cannot shrink by
// compaction; it is still written, with one warning.
inline constexpr int64_t kSnapshotWarnBytes = 900 * 1024;

// What the pod's environment says (docs/operator.md "What a runner pod gets").
struct RunnerEnv {
  std::string plan;       // TOKENSTORM_PLAN: the plan ConfigMap's name
  std::string ns;         // TOKENSTORM_NAMESPACE
  std::string pod;        // TOKENSTORM_POD (optional: the runner id in snapshots)
  std::string indexText;  // JOB_COMPLETION_INDEX, as given (checked by runnerShare)
};
// Errors name the missing variable.
kube::Expected<RunnerEnv> runnerEnvFrom(const kube::EnvLookup& env);

// This runner's share: index JOB_COMPLETION_INDEX of the plan's `runners`. Errors name the variable or
// key and what was wrong (missing, not a whole number, index out of range).
kube::Expected<RunnerShare> runnerShare(const std::string& index_text, const std::string& runners_text);

// `<lt>-shard-<index>`, where `<lt>` is the LoadTest's name (or the plan's name without `-plan`).
std::string shardName(const std::string& loadtest_name, const std::string& plan_name, int64_t index);

// The engine's start on the monotonic clock for a wall instant, read at the moment of the call:
// start = now_mono + (startAt − now_wall). A startAt already past starts at once, late by `lateNanos`.
struct StartInstant {
  core::MonoNanos monoNanos = 0;
  int64_t lateNanos = 0;  // > 0 only when startAt had passed
};
StartInstant startInstant(std::chrono::system_clock::time_point start_at, const core::Clock& clock);

// Watches the plan ConfigMap until data.startAt appears: a get, then a watch (fieldSelector
// metadata.name=PLAN) from its resourceVersion; a watch that ends or breaks is re-established after a
// fresh get, transient errors after a second (`on_retry` hears why). nullopt when cancelled; an error when
// the plan is gone or its startAt is not RFC 3339.
kube::Expected<std::optional<std::chrono::system_clock::time_point>> waitForStartAt(
    kube::Client& client, const std::string& ns, const std::string& plan, kube::Cancellation& cancellation,
    const std::function<void(const std::string&)>& on_retry = {});

// A shard ConfigMap: merge patches of data keys (the operator created it; a runner needs only `patch`).
class ShardConfigMap {
 public:
  ShardConfigMap(kube::Client& client, std::string ns, std::string name);
  // data[key] = value, other keys untouched. False with the API's error.
  bool put(const std::string& key, const std::string& value, std::string* error);
  const std::string& name() const { return name_; }
  const std::string& ns() const { return ns_; }

 private:
  kube::Client& client_;
  std::string ns_;
  std::string name_;
};

// Snapshots into the shard's `snapshot.json` (core/metrics.h JSON), one merge patch each. A failed write
// returns false with the message; the engine's next interval is the retry. A snapshot larger than
// kSnapshotMaxBytes is compacted first (core::compactSnapshot; one warning the first time); one that
// still does not fit is not sent (false, naming the size); one near the limit uncompacted is sent with a
// warning, once.
// Blocking: the engine uses it through a BackgroundSnapshotSink.
class ConfigMapSnapshotSink final : public SnapshotSink {
 public:
  explicit ConfigMapSnapshotSink(ShardConfigMap& shard, std::ostream* warnings = nullptr);
  // SnapshotSink
  bool write(const core::Snapshot& snapshot, std::string* error) override;

 private:
  ShardConfigMap& shard_;
  std::ostream* warnings_;
  bool warned_ = false;
  bool warned_compacted_ = false;
};

}  // namespace tokenstorm::runner
