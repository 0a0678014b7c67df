// Shard aggregation: what the runners wrote into their shard ConfigMaps, merged into one view of the run.
//
//   shard ConfigMaps ──readShard──▶ ShardData ──aggregate──▶ merged Snapshot ──core::buildReport──▶ Report
//                                                        └──▶ outcomes, start skew, budget check
//
// Shards are untrusted input (a runner, or anyone with its RBAC, writes them): each is decoded strictly
// (core::parseSnapshot); a malformed shard is reported with the shard and field named and left out of the
// merge, and never poisons the others or crashes the operator. Metrics are never re-implemented here:
// the merge is core::merge and every number comes from core::buildReport.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/metrics.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/core/stages.h"

namespace tokenstorm::op {

using WallTime = std::chrono::system_clock::time_point;

// One shard ConfigMap's data, as read.
struct ShardData {
  int64_t index = 0;
  std::string name;  // the ConfigMap's name, for messages
  std::optional<std::string> ready;
  std::optional<std::string> snapshot;  // snapshot.json
  std::optional<std::string> outcome;   // outcome.json
};
// From a shard ConfigMap; nullopt when its name is not `<loadtest>-shard-<index>`.
std::optional<ShardData> readShard(const nlohmann::json& config_map, std::string_view loadtest);

// outcome.json: {"phase", "reason", "message", "elapsedS", "cpuPercent", "startedAt", "startSkewMs"}.
struct ShardOutcome {
  core::Phase phase = core::Phase::Succeeded;  // Succeeded, Failed or Aborted
  std::string reason;                          // e.g. "BudgetExceeded"; empty when none
  std::string message;
  double elapsedS = 0;
  std::optional<double> cpuPercent;
  std::string startedAt;  // RFC 3339
  std::optional<double> startSkewMs;
};
// Strict: phase must be a terminal phase, numbers finite and non-negative (skew may be negative), unknown
// keys refused. On failure nullopt with *error naming the field ("outcome.phase: ...").
std::optional<ShardOutcome> parseOutcome(std::string_view text, std::string* error);

struct ShardError {
  int64_t index = 0;
  std::string message;  // "quickstart-shard-1: snapshot.json: snapshot.total.ok: ..."
};

// Spend against spec.budget. `exceeded` when any cap is reached (spent ≥ cap, as the runners count it).
// `spent` is Snapshot::spent(): the warm-up's requests count, as they do in each runner's own share.
struct BudgetState {
  core::Decimal spent;
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  bool exceeded = false;
  std::string message;  // "spent $2.03 of $2.00 (overshoot $0.03)"; empty when not exceeded
  std::optional<core::Decimal> overshoot;  // money over maxCost, when that cap was crossed
};
BudgetState checkBudget(const core::Budget& budget, const core::Spend& spent);

// The error rate over the last `window` of the merged time series (failed ÷ (requests − cancelled)), as
// the engine's abortOnErrorRate judges it, with at least `min_samples` requests in the window. The
// message when over the threshold; nullopt otherwise (and when there is no time series).
inline constexpr int64_t kErrorRateMinSamples = 20;  // as runner::EngineOptions::errorRateMinSamples
std::optional<std::string> errorRateExceeded(const core::Limits& limits, const core::Snapshot& merged);

struct Aggregate {
  int64_t shards = 0;       // shards present
  int64_t readyShards = 0;  // with `ready`
  int64_t finalShards = 0;  // with a valid outcome.json
  std::vector<ShardError> errors;
  std::vector<std::optional<ShardOutcome>> outcomes;  // by index, spec.runners.count entries
  bool anySnapshot = false;
  core::Snapshot merged;  // the latest snapshot of every well-formed shard, merged exactly
  // The runners' own view of how the run ended: the worst phase of the outcomes so far (Failed over
  // Aborted over Succeeded), with that outcome's reason and message (prefixed with the shard index).
  core::RunOutcome runnerOutcome;
  std::optional<core::Duration> startSkew;  // the largest |startSkewMs| of the outcomes
  BudgetState budget;
  std::optional<std::string> errorRate;  // errorRateExceeded() of the merge
  core::Report report;                   // core::buildReport(spec, plan, merged, runnerOutcome)

  bool allFinal(int64_t runners) const { return finalShards >= runners; }
};

Aggregate aggregate(const core::LoadTestSpec& spec, const core::LoadPlan& plan,
                    const std::vector<ShardData>& shards);

}  // namespace tokenstorm::op
