#include "tokenstorm/operator/decide.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/core/stages.h"
#include "tokenstorm/core/validate.h"
#include "tokenstorm/kube/object.h"

namespace tokenstorm::op {
namespace {

using Json = nlohmann::json;
using Nanos = std::chrono::nanoseconds;

using kube::stringAt;

core::Duration between(WallTime from, WallTime to) {
  return core::Duration::fromNanos(std::chrono::duration_cast<Nanos>(to - from).count());
}

WallTime plus(WallTime at, core::Duration d) {
  return at + std::chrono::duration_cast<WallTime::duration>(Nanos(d.nanos));
}

// The spec as JSON for comparison: what the runners were given versus what the object says now.
Json comparableSpec(const Json& spec) {
  Json out = spec;
  if (out.is_object()) {
    out.erase("suspend");
  }
  return out;
}

Action create(const Json& object) {
  Action a;
  a.kind = Action::Kind::Create;
  a.apiVersion = object.value("apiVersion", "");
  a.resource = object.value("kind", "");
  a.name = object["metadata"].value("name", "");
  a.body = object;
  return a;
}

Action remove(const char* api_version, const char* kind, const std::string& name) {
  Action a;
  a.kind = Action::Kind::Delete;
  a.apiVersion = api_version;
  a.resource = kind;
  a.name = name;
  a.propagation = "Background";
  return a;
}

Action event(const Json& object, const std::string& type, const std::string& why, const std::string& action,
             const std::string& note) {
  Action a;
  a.kind = Action::Kind::Event;
  a.event.regarding = kube::objectReference(object);
  a.event.type = type;
  a.event.reason = why;
  a.event.action = action;
  a.event.note = note.size() > 1000 ? note.substr(0, 997) + "..." : note;
  return a;
}

struct Requeuer {
  std::optional<core::Duration> after;
  void at(core::Duration d) {
    d = std::max(d, core::Duration::fromMillis(100));  // never spin
    if (!after || d < *after) {
      after = d;
    }
  }
  Requeue result() const { return after ? Requeue{false, *after} : Requeue{}; }
};

// A number of the status, rounded to 6 significant digits: `kubectl get` prints what it finds (a
// Req/s of 9.528597747025762 otherwise), and no reader needs more; the report ConfigMap keeps them whole.
void roundNumbers(Json* j) {
  if (j->is_number_float()) {
    const double v = j->get<double>();
    if (std::isfinite(v) && v != 0) {
      char text[32];
      std::snprintf(text, sizeof text, "%.6g", v);
      *j = std::strtod(text, nullptr);
    }
  } else if (j->is_structured()) {
    for (Json& child : *j) {
      roundNumbers(&child);
    }
  }
}

// The status as written (numbers rounded), and as compared with the object's.
Json statusJson(const core::LoadTestStatus& status) {
  Json out = Json::parse(core::toJson(status).dump());
  roundNumbers(&out);
  return out;
}

// The status a re-run starts from: Pending, reason Rerun, for run `wanted`; the kstatus conditions keep
// their transition times where their status holds, the last run's results and domain conditions go.
core::LoadTestStatus rerunStatus(const core::LoadTestStatus& previous,
                                 const std::optional<std::string>& wanted,
                                 const std::optional<std::string>& last, bool ended, WallTime now,
                                 int64_t generation) {
  const std::string message =
      "run \"" + wanted.value_or("") + "\" requested: " + (ended ? "removing" : "stopping") + " run \"" +
      last.value_or("") + "\" (" +
      (previous.phase ? std::string(core::enumName(*previous.phase)) : std::string("Pending")) +
      ") and its runner Job and ConfigMaps";
  core::LoadTestStatus fresh;
  fresh.phase = core::Phase::Pending;
  fresh.observedGeneration = generation;
  fresh.runId = wanted;
  for (const core::Condition& c : previous.conditions) {
    if (c.type == "Reconciling" || c.type == "Ready" || c.type == "Stalled") {
      fresh.conditions.push_back(c);
    }
  }
  setCondition(&fresh.conditions, "Reconciling", "True", reason::kRerun, message, now, generation);
  setCondition(&fresh.conditions, "Ready", "False", reason::kRerun, message, now, generation);
  setCondition(&fresh.conditions, "Stalled", "False", reason::kRerun, message, now, generation);
  return fresh;
}

}  // namespace

Decision decide(const World& world, const OperatorOptions& options) {
  Decision d;
  const Json& object = world.loadTest;
  if (object.contains("metadata") && object["metadata"].contains("deletionTimestamp")) {
    return d;  // the garbage collector removes the children through their ownerReferences
  }

  // ---- the object: its spec, its previous status ----
  core::Diagnostics invalid;
  std::optional<core::LoadTest> test = core::decodeLoadTest(core::nodeFromJson(object), &invalid);
  core::LoadTestStatus previous;
  if (test && test->status) {
    previous = *test->status;
  } else if (object.contains("status")) {
    core::Diagnostics ignored;
    if (auto s = core::decodeStatus(core::nodeFromJson(object["status"]), &ignored)) {
      previous = *s;
    }
  }
  const std::string name = stringAt(object, {"metadata", "name"});
  int64_t generation = 0;
  if (object.contains("metadata") && object["metadata"].contains("generation") &&
      object["metadata"]["generation"].is_number_integer()) {
    generation = object["metadata"]["generation"].get<int64_t>();
  }
  if (test) {
    core::validate(*test, &invalid);
    if (name.size() > kMaxNameLength) {
      invalid.push_back({"metadata.name",
                         "must be at most " + std::to_string(kMaxNameLength) +
                             " characters to run in a cluster (the runner Job is named <name>-runners)",
                         {}});
    }
    if (test->spec.budget.pricingRef && !world.resolvedPricing) {
      invalid.push_back({"spec.budget.pricingRef",
                         "ConfigMap \"" + test->spec.budget.pricingRef->name + "\" key \"" +
                             test->spec.budget.pricingRef->key + "\" could not be read" +
                             (world.pricingError.empty() ? "" : ": " + world.pricingError),
                         {}});
    }
  }

  // ---- the plan: what the runners were given, which is what this run is judged by ----
  std::optional<core::LoadTest> planned;
  std::optional<WallTime> start_at;
  std::string refused;
  if (world.plan) {
    const Json& data = (*world.plan).contains("data") ? (*world.plan)["data"] : Json::object();
    if (data.contains(contract::kPlanKey) && data[contract::kPlanKey].is_string()) {
      core::LoadResult loaded = core::parseLoadTests(data[contract::kPlanKey].get<std::string>());
      if (loaded.errors.empty() && loaded.tests.size() == 1) {
        planned = loaded.tests.front();
      }
    }
    if (data.contains(contract::kStartAtKey) && data[contract::kStartAtKey].is_string()) {
      start_at = parseTime(data[contract::kStartAtKey].get<std::string>());
    }
    if (planned && test) {
      // A pricingRef is compared as resolved at launch: the ConfigMap's prices may change (or it may go)
      // while the test runs without that being a change of this spec.
      const std::optional<core::Pricing> as_launched =
          test->spec.budget.pricingRef && planned->spec.budget.pricing ? planned->spec.budget.pricing
                                                                       : world.resolvedPricing;
      Json now_spec = comparableSpec(planDocument(*test, as_launched)["spec"]);
      Json then_spec = comparableSpec(planDocument(*planned)["spec"]);
      if (now_spec != then_spec) {
        refused = "the test was launched from generation " + std::to_string(planned->metadata.generation) +
                  "; only spec.suspend may change after that (a re-run is a new LoadTest or a new " +
                  "spec.runId)";
      }
    }
  }
  const bool launched = world.plan.has_value() && planned.has_value();
  bool was_terminal = isTerminal(previous.phase) && phaseReason(previous) != reason::kInvalidSpec;

  // ---- a re-run (row 9): spec.runId differs from the run the children (or, after the TTL, the status)
  // belong to. That run is stopped if it is still going, its children are removed (its report too: the
  // new run writes its own) and the status starts afresh with reason Rerun. The new run is launched only
  // once none of the old children or runner pods is left, so no old shard, runner or Job can count in it.
  if (test && invalid.empty()) {
    const std::optional<std::string>& wanted = test->spec.runId;
    const std::optional<std::string> last = launched ? planned->spec.runId : previous.runId;
    const core::Condition* reconciling = findCondition(previous.conditions, "Reconciling");
    const bool reset = !was_terminal && reconciling != nullptr && reconciling->status == "True" &&
                       reconciling->reason == reason::kRerun && previous.runId == wanted;
    const bool start_rerun = !reset && wanted != last && (launched || was_terminal);
    const bool clearing =
        reset && (world.plan ? !planned || planned->spec.runId != wanted
                             : world.job || !world.shards.empty() || world.report || !world.pods.empty());
    const bool nothing_left =
        !world.plan && !world.job && world.shards.empty() && !world.report && world.pods.empty();
    if (start_rerun && nothing_left) {
      // After the TTL removed the children: the fresh status is the previous one, and the new run is
      // launched in this pass.
      previous = rerunStatus(previous, wanted, last, was_terminal, world.now, generation);
      d.actions.push_back(event(object, "Normal", reason::kRerun, "Rerun", phaseMessage(previous)));
      was_terminal = false;
    } else if (start_rerun || clearing) {
      if (world.job) {
        d.actions.push_back(remove("batch/v1", "Job", jobName(name)));
      }
      for (const Json& cm : world.shards) {
        d.actions.push_back(remove("v1", "ConfigMap", stringAt(cm, {"metadata", "name"})));
      }
      if (world.plan) {
        d.actions.push_back(remove("v1", "ConfigMap", planName(name)));
      }
      if (world.report) {
        d.actions.push_back(remove("v1", "ConfigMap", reportName(name)));
      }
      d.status = previous;
      if (start_rerun) {
        core::LoadTestStatus fresh = rerunStatus(previous, wanted, last, was_terminal, world.now, generation);
        Action update;
        update.kind = Action::Kind::UpdateStatus;
        update.apiVersion = core::kApiVersion;
        update.resource = core::kKind;
        update.name = name;
        update.body = Json{{"status", statusJson(fresh)}};
        d.actions.push_back(std::move(update));
        d.actions.push_back(event(object, "Normal", reason::kRerun, "Rerun", phaseMessage(fresh)));
        d.status = std::move(fresh);
      }
      d.requeue = Requeue{false, kSettlePoll};  // until the informers no longer hold the old children
      return d;
    }
  }

  // Once launched, the plan's spec is the one being run; before, the object's.
  const core::LoadTest* running = launched ? &*planned : (test ? &*test : nullptr);

  Observed o;
  o.now = world.now;
  o.generation = generation;
  o.previous = previous;
  o.invalid = launched ? core::Diagnostics{} : invalid;
  if (!test && !launched && o.invalid.empty()) {
    o.invalid.push_back({"", "the LoadTest could not be decoded", {}});
  }
  o.refusedChange = refused;
  o.suspend = test ? test->spec.suspend : false;
  o.launched = launched;
  o.startAt = start_at;
  o.job = observeJob(world.job);
  o.reportWritten = world.report.has_value();
  o.reportName = reportName(name);

  core::LoadPlan plan;
  Aggregate shards;
  if (running != nullptr) {
    plan = core::expandLoad(running->spec);
    o.spec = &running->spec;
    o.plan = &plan;
    o.pods = observeRunnerPods(world.pods, running->spec.runners.count);
  }
  if (launched) {
    std::vector<ShardData> data;
    for (const Json& cm : world.shards) {
      if (auto shard = readShard(cm, name)) {
        data.push_back(std::move(*shard));
      }
    }
    shards = aggregate(running->spec, plan, data);
    o.shards = &shards;
  }

  Requeuer requeue;
  const bool invalid_now = !launched && !o.invalid.empty();
  // statusFor(o), recording which run it describes.
  auto status_of = [&](const Observed& observed) {
    core::LoadTestStatus out = statusFor(observed);
    out.runId = running != nullptr ? running->spec.runId : previous.runId;
    return out;
  };
  core::LoadTestStatus status = status_of(o);
  const bool terminal = isTerminal(status.phase);

  // ---- children ----
  if (!launched && !was_terminal && !invalid_now && !o.suspend && test) {
    d.actions.push_back(create(buildPlanConfigMap(*test, world.resolvedPricing)));
    for (const Json& shard : buildShardConfigMaps(*test)) {
      d.actions.push_back(create(shard));
    }
    d.actions.push_back(create(buildRunnerJob(*test, options)));
    // The status tells the state these actions leave behind: launched, waiting for the runners.
    o.launched = true;
    o.job.exists = true;
    shards = aggregate(test->spec, plan, {});
    o.shards = &shards;
    status = status_of(o);
  } else if (launched && !terminal && !start_at) {
    // A restart after a partial creation: make what is missing, the Job last (runners need the rest).
    for (int64_t i = 0; i < running->spec.runners.count; ++i) {
      const std::string shard = shardName(name, i);
      bool present = std::any_of(world.shards.begin(), world.shards.end(), [&](const Json& cm) {
        return stringAt(cm, {"metadata", "name"}) == shard;
      });
      if (!present) {
        d.actions.push_back(create(buildShardConfigMap(*running, i)));
      }
    }
    if (!world.job) {
      d.actions.push_back(create(buildRunnerJob(*running, options)));
    } else if (o.pods.ready >= running->spec.runners.count &&
               shards.readyShards >= running->spec.runners.count) {
      WallTime at = plus(world.now, options.startLead);
      Action patch;
      patch.kind = Action::Kind::Patch;
      patch.apiVersion = "v1";
      patch.resource = "ConfigMap";
      patch.name = planName(name);
      patch.body = Json{{"data", {{contract::kStartAtKey, formatTimeMillis(at)}}}};
      d.actions.push_back(std::move(patch));
      requeue.at(options.startLead);
    }
  }
  if (launched && !terminal && start_at) {
    requeue.at(options.statusInterval);
    if (world.now < *start_at) {
      requeue.at(between(world.now, *start_at));
    } else {
      core::Duration since = between(*start_at, world.now);
      if (since < running->spec.load.warmup) {
        requeue.at(running->spec.load.warmup - since);
      }
      if (running->spec.limits.maxDuration) {
        requeue.at(*running->spec.limits.maxDuration - since);
      }
    }
  }

  bool cleanup = false;  // ttlSecondsAfterFinished deletes the runner pods in this pass
  if (terminal && launched) {
    // Runners still at work are stopped (row 5): after an abort, or while one has no outcome yet. Runners
    // that all ran to their end are exiting by themselves; their Job and pods (whose logs hold each
    // runner's table) stay until ttlSecondsAfterFinished.
    const bool stop_runners =
        status.phase == core::Phase::Aborted || !shards.allFinal(running->spec.runners.count);
    if (stop_runners && o.job.exists && !o.job.complete && !o.job.failed) {
      d.actions.push_back(remove("batch/v1", "Job", jobName(name)));
    }
    const WallTime ended =
        status.completionTime ? parseTime(*status.completionTime).value_or(world.now) : world.now;
    const core::Duration grace =
        core::Duration::fromSeconds(options.terminationGracePeriodSeconds) + kFlushMargin;
    const bool settled = shards.allFinal(running->spec.runners.count) ||
                         (o.pods.active == 0 && o.pods.terminating == 0 &&
                          (!o.job.exists || o.job.complete || o.job.failed)) ||
                         world.now >= plus(ended, grace);
    if (!settled) {
      requeue.at(std::min(kSettlePoll, grace - between(ended, world.now)));
    } else if (!world.report) {
      core::RunOutcome outcome;
      outcome.phase = *status.phase;
      outcome.reason = phaseReason(status) + ": " + phaseMessage(status);
      if (phaseReason(status) == reason::kBudgetExceeded && shards.budget.exceeded) {
        // The spend when the report is written, in-flight requests finished after the abort included (as
        // the BudgetExceeded condition says it); the phase's message keeps the spend that aborted.
        outcome.reason = std::string(reason::kBudgetExceeded) + ": " + shards.budget.message;
      }
      outcome.elapsedS = shards.runnerOutcome.elapsedS;
      outcome.runnerCpuPercent = shards.runnerOutcome.runnerCpuPercent;
      core::Report report = core::buildReport(running->spec, plan, shards.merged, outcome);
      d.actions.push_back(create(
          buildReportConfigMap(*running, core::toJson(report).dump(2), core::toJunitXml(report, name))));
      o.reportWritten = true;
      status = status_of(o);
    }
    const auto& ttl = running->spec.ttlSecondsAfterFinished;
    if (settled && ttl) {
      const WallTime expires = plus(ended, core::Duration::fromSeconds(*ttl));
      if (world.now >= expires) {
        cleanup = !world.pods.empty();  // the status is still read from them: it goes out now
        if (world.job) {
          d.actions.push_back(remove("batch/v1", "Job", jobName(name)));
        }
        for (const Json& cm : world.shards) {
          d.actions.push_back(remove("v1", "ConfigMap", stringAt(cm, {"metadata", "name"})));
        }
        d.actions.push_back(remove("v1", "ConfigMap", planName(name)));
      } else {
        requeue.at(between(world.now, expires));
      }
    }
  }
  if (invalid_now && test && test->spec.budget.pricingRef && !world.resolvedPricing) {
    requeue.at(kPricingRetry);
  }

  // ---- status and events ----
  const bool phase_changed = status.phase != previous.phase;
  if (statusJson(status) != statusJson(previous)) {
    // A phase change and the report's reference go out at once; the rest at most once per interval.
    const bool report_ref_new = status.reportRef && !previous.reportRef;
    // So does the last update before the TTL deletes what the status is read from (pods, shards): the
    // record keeps what they said (runner counts) instead of an update held back by the interval.
    const bool due = phase_changed || report_ref_new || cleanup || !world.lastStatusUpdate ||
                     world.now >= plus(*world.lastStatusUpdate, options.statusInterval);
    if (due) {
      Action update;
      update.kind = Action::Kind::UpdateStatus;
      update.apiVersion = core::kApiVersion;
      update.resource = core::kKind;
      update.name = name;
      update.body = Json{{"status", statusJson(status)}};
      d.actions.push_back(std::move(update));
    } else {
      requeue.at(between(world.now, plus(*world.lastStatusUpdate, options.statusInterval)));
    }
  }
  if (phase_changed) {
    const bool bad = status.phase == core::Phase::Failed || status.phase == core::Phase::Aborted;
    d.actions.push_back(event(object, bad ? "Warning" : "Normal", phaseReason(status),
                              std::string(core::enumName(*status.phase)), phaseMessage(status)));
  }
  if (!refused.empty() && previous.observedGeneration != generation) {
    d.actions.push_back(event(object, "Warning", "SpecChangeRefused", "Refuse", refused));
  }
  d.requeue = requeue.result();
  d.status = std::move(status);
  return d;
}

std::string describe(const Action& a) {
  switch (a.kind) {
    case Action::Kind::Create:
      return "create " + a.resource + " " + a.name;
    case Action::Kind::Patch:
      return "patch " + a.resource + " " + a.name + " " + a.body.dump();
    case Action::Kind::Delete:
      return "delete " + a.resource + " " + a.name;
    case Action::Kind::UpdateStatus:
      return "update status of " + a.resource + " " + a.name;
    case Action::Kind::Event:
      return "event " + a.event.type + " " + a.event.reason + " (" + a.event.action + "): " + a.event.note;
  }
  return "";
}

}  // namespace tokenstorm::op
