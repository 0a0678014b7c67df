#include "tokenstorm/operator/aggregate.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "tokenstorm/operator/children.h"

namespace tokenstorm::op {
namespace {

using Json = nlohmann::json;

// Outcome JSON is a few hundred bytes; anything far larger is not an outcome.
constexpr size_t kMaxOutcomeBytes = 64 * 1024;

int severity(core::Phase phase) {
  switch (phase) {
    case core::Phase::Failed:
      return 2;
    case core::Phase::Aborted:
      return 1;
    default:
      return 0;
  }
}

bool fail(std::string* error, const std::string& message) {
  if (error != nullptr) {
    *error = message;
  }
  return false;
}

bool readNumber(const Json& j, const char* key, bool allow_negative, std::optional<double>* out,
                std::string* error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return true;
  }
  if (!it->is_number()) {
    return fail(error, std::string("outcome.") + key + ": must be a number, not " + it->type_name());
  }
  double v = it->get<double>();
  if (!std::isfinite(v) || (!allow_negative && v < 0)) {
    return fail(error, std::string("outcome.") + key + ": " + it->dump() + " is out of range");
  }
  *out = v;
  return true;
}

bool readString(const Json& j, const char* key, std::string* out, std::string* error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    return true;
  }
  if (!it->is_string()) {
    return fail(error, std::string("outcome.") + key + ": must be a string, not " + it->type_name());
  }
  *out = it->get<std::string>();
  return true;
}

// A well-formed snapshot that does not fit this plan (another test's shard, a tampered one) would add
// stages or classes nobody asked for; it is refused like a malformed one.
std::optional<std::string> shapeMismatch(const core::Snapshot& s, const core::LoadTestSpec& spec,
                                         const core::LoadPlan& plan) {
  if (s.stages.size() > plan.stages.size()) {
    return "snapshot.stages: has " + std::to_string(s.stages.size()) + " entries, the plan has " +
           std::to_string(plan.stages.size()) + " stages";
  }
  if (s.classes.size() > spec.workload.classes.size()) {
    return "snapshot.classes: has " + std::to_string(s.classes.size()) + " entries, the spec has " +
           std::to_string(spec.workload.classes.size()) + " classes";
  }
  for (const auto& [key, set] : s.stageClasses) {
    if (key.first < 0 || static_cast<size_t>(key.first) >= plan.stages.size() || key.second < 0 ||
        static_cast<size_t>(key.second) >= spec.workload.classes.size()) {
      return "snapshot.stageClasses: names stage " + std::to_string(key.first) + " and class " +
             std::to_string(key.second) + ", which the plan does not have";
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ShardData> readShard(const Json& config_map, std::string_view loadtest) {
  const Json* name = nullptr;
  if (auto m = config_map.find("metadata"); m != config_map.end() && m->is_object()) {
    if (auto n = m->find("name"); n != m->end() && n->is_string()) {
      name = &*n;
    }
  }
  if (name == nullptr) {
    return std::nullopt;
  }
  const std::string prefix = std::string(loadtest) + std::string(contract::kShardInfix);
  const std::string& text = name->get_ref<const std::string&>();
  if (text.size() <= prefix.size() || text.compare(0, prefix.size(), prefix) != 0 ||
      text.size() - prefix.size() > 9) {
    return std::nullopt;
  }
  const std::string digits = text.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      (digits.size() > 1 && digits[0] == '0')) {
    return std::nullopt;
  }
  ShardData shard;
  shard.index = std::strtoll(digits.c_str(), nullptr, 10);
  shard.name = text;
  auto data = config_map.find("data");
  if (data == config_map.end() || !data->is_object()) {
    return shard;
  }
  auto take = [&](const char* key, std::optional<std::string>* out) {
    if (auto it = data->find(key); it != data->end() && it->is_string()) {
      *out = it->get<std::string>();
    }
  };
  take(contract::kReadyKey, &shard.ready);
  take(contract::kSnapshotKey, &shard.snapshot);
  take(contract::kOutcomeKey, &shard.outcome);
  return shard;
}

std::optional<ShardOutcome> parseOutcome(std::string_view text, std::string* error) {
  if (text.size() > kMaxOutcomeBytes) {
    fail(error, "outcome: larger than " + std::to_string(kMaxOutcomeBytes) + " bytes");
    return std::nullopt;
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    fail(error, "outcome: is not a JSON object");
    return std::nullopt;
  }
  static const char* const kKeys[] = {"phase",      "reason",    "message",    "elapsedS",
                                      "cpuPercent", "startedAt", "startSkewMs"};
  for (const auto& [key, value] : j.items()) {
    if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; }) ==
        std::end(kKeys)) {
      fail(error, "outcome." + key + ": unknown field");
      return std::nullopt;
    }
  }
  ShardOutcome out;
  auto phase = j.find("phase");
  if (phase == j.end() || !phase->is_string()) {
    fail(error, "outcome.phase: required, a string");
    return std::nullopt;
  }
  auto parsed = core::enumFromName<core::Phase>(phase->get<std::string>());
  if (!parsed || (*parsed != core::Phase::Succeeded && *parsed != core::Phase::Failed &&
                  *parsed != core::Phase::Aborted)) {
    fail(error, "outcome.phase: " + phase->dump() + " is not Succeeded, Failed or Aborted");
    return std::nullopt;
  }
  out.phase = *parsed;
  std::optional<double> elapsed;
  if (!readString(j, "reason", &out.reason, error) || !readString(j, "message", &out.message, error) ||
      !readString(j, "startedAt", &out.startedAt, error) ||
      !readNumber(j, "elapsedS", false, &elapsed, error) ||
      !readNumber(j, "cpuPercent", false, &out.cpuPercent, error) ||
      !readNumber(j, "startSkewMs", true, &out.startSkewMs, error)) {
    return std::nullopt;
  }
  out.elapsedS = elapsed.value_or(0);
  return out;
}

BudgetState checkBudget(const core::Budget& budget, const core::Spend& spent) {
  BudgetState b;
  b.spent = spent.cost;
  b.inputTokens = spent.inputTokens;
  b.outputTokens = spent.outputTokens;
  std::vector<std::string> over;
  if (budget.maxCost && b.spent >= *budget.maxCost) {
    b.overshoot = b.spent - *budget.maxCost;
    over.push_back("spent $" + b.spent.money() + " of $" + budget.maxCost->money() + " (overshoot $" +
                   b.overshoot->money() + ")");
  }
  if (budget.maxInputTokens && b.inputTokens >= *budget.maxInputTokens) {
    over.push_back(std::to_string(b.inputTokens) + " input tokens of " +
                   std::to_string(*budget.maxInputTokens));
  }
  if (budget.maxOutputTokens && b.outputTokens >= *budget.maxOutputTokens) {
    over.push_back(std::to_string(b.outputTokens) + " output tokens of " +
                   std::to_string(*budget.maxOutputTokens));
  }
  b.exceeded = !over.empty();
  for (size_t i = 0; i < over.size(); ++i) {
    b.message += (i > 0 ? "; " : "") + over[i];
  }
  return b;
}

std::optional<std::string> errorRateExceeded(const core::Limits& limits, const core::Snapshot& merged) {
  if (!limits.abortOnErrorRate || merged.timeseries.empty()) {
    return std::nullopt;
  }
  const auto& rule = *limits.abortOnErrorRate;
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  const int64_t window_s = std::max<int64_t>(1, (rule.window.nanos + kNanosPerSecond - 1) / kNanosPerSecond);
  // Points that reach into the last window_s seconds. A compacted shard's coarse points (stepS > 1) are
  // old ones, so the window is judged at 1 s unless it is as old as they are; one straddling the
  // window's start counts whole.
  const auto& [last_second, last_point] = *merged.timeseries.rbegin();
  const int64_t end = last_second + std::max<int64_t>(last_point.stepS, 1);
  int64_t judged = 0;
  int64_t failed = 0;
  for (auto it = merged.timeseries.rbegin(); it != merged.timeseries.rend(); ++it) {
    if (it->first + std::max<int64_t>(it->second.stepS, 1) <= end - window_s) {
      break;
    }
    judged += it->second.requests - it->second.cancelled;
    failed += it->second.errors;
  }
  if (judged < kErrorRateMinSamples) {
    return std::nullopt;
  }
  double rate = static_cast<double>(failed) / static_cast<double>(judged);
  if (rate <= rule.threshold) {
    return std::nullopt;
  }
  char text[160];
  std::snprintf(text, sizeof text, "error rate %.3g over the last %s (%lld of %lld requests) exceeded %g",
                rate, rule.window.str().c_str(), static_cast<long long>(failed),
                static_cast<long long>(judged), rule.threshold);
  return std::string(text);
}

Aggregate aggregate(const core::LoadTestSpec& spec, const core::LoadPlan& plan,
                    const std::vector<ShardData>& shards) {
  Aggregate a;
  const int64_t runners = spec.runners.count;
  a.outcomes.resize(static_cast<size_t>(std::max<int64_t>(0, runners)));
  std::vector<core::Snapshot> snapshots;
  int worst = -1;
  double elapsed = 0;
  std::optional<double> cpu;
  bool cpu_everywhere = true;
  for (const ShardData& shard : shards) {
    if (shard.index < 0 || shard.index >= runners) {
      a.errors.push_back({shard.index, shard.name + ": index " + std::to_string(shard.index) +
                                           " is beyond spec.runners.count (" + std::to_string(runners) +
                                           ")"});
      continue;
    }
    ++a.shards;
    if (shard.ready) {
      ++a.readyShards;
    }
    if (shard.snapshot) {
      std::string error;
      auto snap = core::parseSnapshot(*shard.snapshot, &error);
      if (snap) {
        if (auto mismatch = shapeMismatch(*snap, spec, plan)) {
          error = *mismatch;
          snap.reset();
        }
      }
      if (snap) {
        snapshots.push_back(std::move(*snap));
      } else {
        a.errors.push_back({shard.index, shard.name + ": " + contract::kSnapshotKey + ": " + error});
      }
    }
    if (shard.outcome) {
      std::string error;
      auto outcome = parseOutcome(*shard.outcome, &error);
      if (!outcome) {
        a.errors.push_back({shard.index, shard.name + ": " + contract::kOutcomeKey + ": " + error});
        continue;
      }
      ++a.finalShards;
      if (severity(outcome->phase) > worst) {
        worst = severity(outcome->phase);
        a.runnerOutcome.phase = outcome->phase;
        a.runnerOutcome.reason = outcome->reason;
        if (!outcome->message.empty()) {
          a.runnerOutcome.reason += (outcome->reason.empty() ? "" : ": ") + outcome->message;
        }
        if (!a.runnerOutcome.reason.empty()) {
          a.runnerOutcome.reason = "runner " + std::to_string(shard.index) + ": " + a.runnerOutcome.reason;
        }
      }
      elapsed = std::max(elapsed, outcome->elapsedS);
      if (outcome->cpuPercent) {
        cpu = std::max(cpu.value_or(0), *outcome->cpuPercent);
      } else {
        cpu_everywhere = false;
      }
      if (outcome->startSkewMs) {
        auto nanos = static_cast<int64_t>(std::llround(std::fabs(*outcome->startSkewMs) * 1e6));
        a.startSkew = std::max(a.startSkew.value_or(core::Duration{}), core::Duration::fromNanos(nanos));
      }
      a.outcomes[static_cast<size_t>(shard.index)] = std::move(*outcome);
    }
  }
  a.anySnapshot = !snapshots.empty();
  a.merged = core::merge(snapshots);
  a.runnerOutcome.elapsedS = elapsed;
  if (cpu && cpu_everywhere) {
    a.runnerOutcome.runnerCpuPercent = cpu;
  }
  a.budget = checkBudget(spec.budget, a.merged.spent());
  a.errorRate = errorRateExceeded(spec.limits, a.merged);
  a.report = core::buildReport(spec, plan, a.merged, a.runnerOutcome);
  return a;
}

}  // namespace tokenstorm::op
