// The status of a LoadTest from what was observed (statusFor, and the phase and reason it decides); the
// observations themselves are read in observe.cpp.
#include "tokenstorm/operator/status.h"

#include <algorithm>

#include "tokenstorm/core/cluster_contract.h"

namespace tokenstorm::op {
namespace {

std::string joinFirst(const core::Diagnostics& errors) {
  std::string out = errors.front().str();
  if (errors.size() > 1) {
    out += " (and " + std::to_string(errors.size() - 1) + " more)";
  }
  return out;
}

std::string durationText(std::chrono::nanoseconds d) {
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  // Whole seconds: the message is for people, and a stable text keeps status patches rarer.
  return core::Duration::fromSeconds(std::max<int64_t>(0, d.count() / kNanosPerSecond)).str();
}

// Appended to the Ready condition's message while a spec change is refused.
constexpr const char* kRefusedSuffix = "; spec change refused: ";
// Appended to the Ready condition's message while a shard's content is refused (and left out).
constexpr const char* kRejectedSuffix = "; shard rejected: ";

struct Verdict {
  core::Phase phase = core::Phase::Pending;
  std::string reason;
  std::string message;
  bool quiet = false;  // in progress but not working (suspended before launch): Reconciling=False
};

const ShardOutcome* worstOutcome(const Aggregate& a, int64_t* index) {
  const ShardOutcome* worst = nullptr;
  for (size_t i = 0; i < a.outcomes.size(); ++i) {
    const auto& o = a.outcomes[i];
    if (!o) {
      continue;
    }
    auto rank = [](core::Phase p) {
      return p == core::Phase::Failed ? 2 : p == core::Phase::Aborted ? 1 : 0;
    };
    if (worst == nullptr || rank(o->phase) > rank(worst->phase)) {
      worst = &*o;
      *index = static_cast<int64_t>(i);
    }
  }
  return worst;
}

std::string outcomeText(const ShardOutcome& o, int64_t index) {
  std::string text = "runner " + std::to_string(index) + ": " + (o.reason.empty() ? "failed" : o.reason);
  if (!o.message.empty()) {
    text += ": " + o.message;
  }
  return text;
}

std::string thresholdsText(const core::Report& report, int64_t* met) {
  *met = 0;
  for (const auto& t : report.thresholds) {
    *met += t.result.passed ? 1 : 0;
  }
  return std::to_string(*met) + "/" + std::to_string(report.thresholds.size()) + " thresholds met";
}

Verdict finished(const Observed& o) {
  const Aggregate& a = *o.shards;
  int64_t index = -1;
  const ShardOutcome* worst = worstOutcome(a, &index);
  if (worst != nullptr && worst->phase == core::Phase::Aborted) {
    std::string why = worst->reason;
    if (why != reason::kBudgetExceeded && why != reason::kDeadlineExceeded &&
        why != reason::kErrorRateExceeded) {
      why = reason::kRunnerFailed;
    }
    return {core::Phase::Aborted, why, outcomeText(*worst, index)};
  }
  const core::MetricSet& total = a.merged.total;
  const int64_t unreachable =
      total.errorCount(core::ErrorKind::Connect) + total.errorCount(core::ErrorKind::Tls);
  if (total.ok == 0 && total.failed > 0 && unreachable == total.failed) {
    return {core::Phase::Failed, reason::kTargetUnreachable,
            "no request was answered: " + std::to_string(unreachable) + " connection or TLS errors"};
  }
  int64_t met = 0;
  std::string counted = thresholdsText(a.report, &met);
  if (met < static_cast<int64_t>(a.report.thresholds.size())) {
    std::string message;
    for (const auto& t : a.report.thresholds) {
      if (!t.result.passed) {
        message += (message.empty() ? "" : "; ") + t.message;
      }
    }
    return {core::Phase::Failed, reason::kThresholdsFailed, message};
  }
  return {core::Phase::Succeeded, reason::kThresholdsMet, "verdict Pass: " + counted};
}

Verdict classify(const Observed& o) {
  if (!o.launched) {
    if (!o.invalid.empty()) {
      return {core::Phase::Failed, reason::kInvalidSpec, joinFirst(o.invalid)};
    }
    if (o.suspend) {
      return {core::Phase::Pending, reason::kSuspended,
              "spec.suspend is true: nothing is created until it is false", true};
    }
    return {core::Phase::Pending, reason::kWaitingForRunners, "creating the plan, shards and runner Job"};
  }
  const int64_t runners = o.spec->runners.count;
  if (!o.pods.failures.empty()) {
    std::string message = describe(o.pods.failures.front());
    if (o.pods.failures.size() > 1) {
      message += " (and " + std::to_string(o.pods.failures.size() - 1) + " more)";
    }
    return {core::Phase::Failed, reason::kRunnerFailed, message};
  }
  if (o.job.failed) {
    if (o.job.reason == "DeadlineExceeded") {
      return {core::Phase::Aborted, reason::kDeadlineExceeded,
              "the runner Job's activeDeadlineSeconds passed: " + o.job.message};
    }
    return {core::Phase::Failed, reason::kRunnerFailed,
            "the runner Job failed: " + o.job.reason + ": " + o.job.message};
  }
  const Aggregate& a = *o.shards;
  int64_t index = -1;
  const ShardOutcome* worst = worstOutcome(a, &index);
  if (worst != nullptr && worst->phase == core::Phase::Failed) {
    bool unreachable = worst->reason == reason::kTargetUnreachable;
    return {core::Phase::Failed, unreachable ? reason::kTargetUnreachable : reason::kRunnerFailed,
            outcomeText(*worst, index)};
  }
  if (o.suspend) {
    return {core::Phase::Aborted, reason::kSuspended,
            "spec.suspend is true: runners stopped, results so far kept"};
  }
  if (a.budget.exceeded) {
    return {core::Phase::Aborted, reason::kBudgetExceeded, a.budget.message};
  }
  if (a.errorRate) {
    return {core::Phase::Aborted, reason::kErrorRateExceeded, *a.errorRate};
  }
  if (worst != nullptr && worst->reason == reason::kErrorRateExceeded) {
    return {core::Phase::Aborted, reason::kErrorRateExceeded, outcomeText(*worst, index)};
  }
  const auto& max_duration = o.spec->limits.maxDuration;
  if (o.startAt && max_duration && o.now >= *o.startAt + std::chrono::nanoseconds(max_duration->nanos)) {
    return {core::Phase::Aborted, reason::kDeadlineExceeded,
            "limits.maxDuration (" + max_duration->str() + ") passed"};
  }
  if (a.allFinal(runners) || o.job.complete) {
    return finished(o);
  }
  if (o.startAt && !o.job.exists) {
    return {core::Phase::Failed, reason::kRunnerFailed,
            "the runner Job was deleted before its runners finished"};
  }
  if (!o.startAt) {
    return {core::Phase::Provisioning, reason::kWaitingForRunners,
            std::to_string(o.pods.ready) + "/" + std::to_string(runners) + " runner pods ready, " +
                std::to_string(a.readyShards) + "/" + std::to_string(runners) + " shards ready"};
  }
  if (o.now < *o.startAt) {
    return {core::Phase::Provisioning, reason::kWaitingForRunners,
            std::to_string(runners) + "/" + std::to_string(runners) + " runners ready, starting at " +
                formatTimeMillis(*o.startAt)};
  }
  const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(o.now - *o.startAt);
  const core::Duration warmup = o.spec->load.warmup;
  if (since.count() < warmup.nanos) {
    return {core::Phase::WarmingUp, reason::kWarmingUp,
            "warm-up, " + durationText(since) + " of " + warmup.str()};
  }
  std::string message = durationText(since) + " of " + o.plan->total.str();
  for (size_t i = 0; i < o.plan->stages.size(); ++i) {
    const auto& s = o.plan->stages[i];
    if (since.count() < (s.start + s.duration).nanos || i + 1 == o.plan->stages.size()) {
      message = "stage " + std::to_string(i + 1) + "/" + std::to_string(o.plan->stages.size()) + " " +
                s.name + ", " + message;
      break;
    }
  }
  return {core::Phase::Running, reason::kRunning, message};
}

std::optional<core::StageStatus> currentStage(const Observed& o) {
  if (!o.startAt || o.plan == nullptr || o.plan->stages.empty() || o.now < *o.startAt) {
    return std::nullopt;
  }
  const auto since = std::chrono::duration_cast<std::chrono::nanoseconds>(o.now - *o.startAt).count();
  for (size_t i = 0; i < o.plan->stages.size(); ++i) {
    const auto& s = o.plan->stages[i];
    if (since < (s.start + s.duration).nanos || i + 1 == o.plan->stages.size()) {
      return core::StageStatus{static_cast<int64_t>(i), s.name};
    }
  }
  return std::nullopt;
}

}  // namespace

bool isTerminal(std::optional<core::Phase> phase) {
  return phase && (*phase == core::Phase::Succeeded || *phase == core::Phase::Failed ||
                   *phase == core::Phase::Aborted);
}

std::string phaseReason(const core::LoadTestStatus& status) {
  const core::Condition* ready = findCondition(status.conditions, "Ready");
  return ready != nullptr ? ready->reason : "";
}

std::string phaseMessage(const core::LoadTestStatus& status) {
  const core::Condition* ready = findCondition(status.conditions, "Ready");
  if (ready == nullptr) {
    return "";
  }
  // A finished test's own message is the Stalled or Complete one; Ready's may carry notes after it.
  for (const char* type : {"Stalled", "Complete"}) {
    const core::Condition* c = findCondition(status.conditions, type);
    if (c != nullptr && c->status == "True") {
      return c->message;
    }
  }
  std::string message = ready->message;
  for (const char* note : {kRefusedSuffix, kRejectedSuffix}) {
    message = message.substr(0, message.find(note));
  }
  return message;
}

core::LoadTestStatus statusFor(const Observed& o) {
  core::LoadTestStatus s = o.previous;
  const int64_t gen = o.generation;
  const bool was_terminal = isTerminal(o.previous.phase) && phaseReason(o.previous) != reason::kInvalidSpec;

  Verdict v;
  if (was_terminal) {
    // The status is the record: a finished test keeps its phase and reason whatever happens next
    // (runners flushing after an abort, the Job deleted by the TTL).
    v = {*o.previous.phase, phaseReason(o.previous), phaseMessage(o.previous)};
  } else {
    v = classify(o);
  }
  const bool terminal = isTerminal(v.phase);
  const bool success = v.phase == core::Phase::Succeeded;

  s.observedGeneration = gen;
  s.phase = v.phase;
  if (o.launched && o.spec != nullptr) {
    s.runners.desired = o.spec->runners.count;
  }
  // After the TTL removed the Job (and with it the pods), the counts of the record stay as they were;
  // once the test ended, pods that go (an aborted test's Job deleted) take no success or failure along.
  if (!(was_terminal && !o.launched)) {
    s.runners.ready = o.pods.ready;
    s.runners.active = o.pods.active;
    s.runners.succeeded = o.pods.succeeded;
    s.runners.failed = o.pods.failed;
    if (terminal) {
      s.runners.succeeded = std::max(s.runners.succeeded, o.previous.runners.succeeded);
      s.runners.failed = std::max(s.runners.failed, o.previous.runners.failed);
    }
  }
  if (o.shards != nullptr) {
    if (o.shards->startSkew) {
      s.runners.startSkew = o.shards->startSkew;
    }
    if (o.shards->anySnapshot) {
      s.summary = o.shards->report.summary;
      s.stages = o.shards->report.stages;
      s.thresholds = o.shards->report.thresholdResults();
    }
  }
  if (o.startAt && o.now >= *o.startAt) {
    s.startTime = formatTime(*o.startAt);
  }
  if (!terminal) {
    if (auto stage = currentStage(o)) {
      s.stage = stage;
    }
    s.completionTime.reset();
    s.verdict.reset();
  } else {
    if (!s.completionTime) {
      s.completionTime = formatTime(o.now);
    }
    s.verdict = success ? core::Verdict::Pass : core::Verdict::Fail;
  }
  if (o.reportWritten) {
    s.reportRef = core::ConfigMapKeyRef{o.reportName, contract::kReportKey};
  }

  std::string ready_message = v.message;
  if (!o.refusedChange.empty()) {
    ready_message += kRefusedSuffix + o.refusedChange;
  }
  if (o.shards != nullptr && !o.shards->errors.empty()) {
    ready_message += kRejectedSuffix + o.shards->errors.front().message;
    if (o.shards->errors.size() > 1) {
      ready_message += " (and " + std::to_string(o.shards->errors.size() - 1) + " more)";
    }
  }
  auto& c = s.conditions;
  if (!terminal) {
    setCondition(&c, "Reconciling", v.quiet ? "False" : "True", v.reason, v.message, o.now, gen);
    if (findCondition(c, "Stalled") != nullptr) {
      setCondition(&c, "Stalled", "False", v.reason, "", o.now, gen);
    }
    setCondition(&c, "Ready", "False", v.reason, ready_message, o.now, gen);
  } else if (success) {
    setCondition(&c, "Reconciling", "False", reason::kSucceeded, "", o.now, gen);
    if (findCondition(c, "Stalled") != nullptr) {
      setCondition(&c, "Stalled", "False", v.reason, "", o.now, gen);
    }
    setCondition(&c, "Ready", "True", v.reason, ready_message, o.now, gen);
    setCondition(&c, "Complete", "True", v.reason, v.message, o.now, gen);
  } else {
    setCondition(&c, "Reconciling", "False", v.reason, "", o.now, gen);
    setCondition(&c, "Stalled", "True", v.reason, v.message, o.now, gen);
    setCondition(&c, "Ready", "False", v.reason, ready_message, o.now, gen);
  }
  if (o.shards != nullptr) {
    const BudgetState& b = o.shards->budget;
    if (b.exceeded) {
      setCondition(&c, "BudgetExceeded", "True", reason::kBudgetExceeded, b.message, o.now, gen);
    } else if (findCondition(c, "BudgetExceeded") != nullptr) {
      setCondition(&c, "BudgetExceeded", "False", reason::kWithinBudget, "spent $" + b.spent.money(), o.now,
                   gen);
    }
    if (terminal && o.launched && o.startAt) {  // thresholds judge a run that started
      int64_t met = 0;
      std::string counted = thresholdsText(o.shards->report, &met);
      bool all = met == static_cast<int64_t>(o.shards->report.thresholds.size());
      setCondition(&c, "ThresholdsMet", all ? "True" : "False",
                   all ? reason::kThresholdsMet : reason::kThresholdsFailed, counted, o.now, gen);
    }
  }
  return s;
}

}  // namespace tokenstorm::op
