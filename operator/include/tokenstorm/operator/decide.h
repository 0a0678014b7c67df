// The reconcile decision: from the current state of one LoadTest and its children (read from informer
// caches, never from event payloads) to the API calls to make, as a pure function. Time is an argument,
// so every scenario is a data file (tests/data/operator/decide/*.case) and no test sleeps.
//
// Reconcile contract (style.md): reconcile(key) → actions, then Requeue{after d | wait for a change}; a
// failed API call is an error for the caller's queue (backoff with jitter); applying the actions and
// deciding again yields no further create/delete (decide is idempotent: restart the operator at any point
// and the same state gives the same actions).
//
// clang-format off
//  # | state observed                                  | actions                                  | requeue
// ---+-------------------------------------------------+------------------------------------------+-------------
//  0 | LoadTest being deleted                          | none (ownerReferences: the GC removes    | wait
//    |                                                 |  every child)                            |
//  1 | spec invalid (decode, validate, name too long   | status Failed/InvalidSpec with the path, | wait (30 s if
//    |  for the Job, pricingRef unreadable), nothing   |  Event; nothing created                  |  pricingRef)
//    |  launched                                       |                                          |
//    | suspend, nothing launched                       | status Pending/Suspended                 | wait
//  2 | valid, not launched                             | create plan, shards 0..N-1, Job          | wait
//    | launched, no startAt, a shard or the Job        | create the missing ones (never after     | wait
//    |  missing                                        |  startAt: a second Job would count twice)|
//  3 | no startAt; every runner pod Ready, every shard | patch plan data.startAt = now+startLead  | startLead
//    |  `ready`                                        |                                          |
//  4 | running (startAt written)                       | status (summary, stage, thresholds so    | min(status
//    |                                                 |  far)                                    |  interval,
//    |                                                 |                                          |  startAt,
//    |                                                 |                                          |  warm-up end,
//    |                                                 |                                          |  maxDuration)
//  5 | budget cap / error rate / maxDuration / suspend | delete the Job (propagation Background:  | 1 s until the
//    |  / runner failed, Job still running; any end    |  runners get SIGTERM and flush)          |  runners settle
//    |  while a runner has no outcome yet (runners     |                                          |
//    |  that all finished exit by themselves: Job      |                                          |
//    |  and pod logs stay until row 7)                 |                                          |
//  6 | ended and settled (every outcome written, or no | create the report ConfigMap; status      | ttl, else wait
//    |  runner pod left, or flushGrace after           |  reportRef, verdict, completionTime      |
//    |  completionTime)                                |                                          |
//  7 | ended, report written, ttlSecondsAfterFinished  | delete Job, shards, plan (never the      | wait
//    |  passed                                         |  LoadTest, never the report); the status |
//    |                                                 |  goes out in the same pass (the record   |
//    |                                                 |  keeps what the pods said)               |
//  8 | spec changed after launch (suspend excepted)    | status: "spec change refused" in Ready's | wait
//    |                                                 |  message, a Warning Event once; the      |
//    |                                                 |  plan's spec stays the one that runs     |
//  * | status differs from the object's                | update status, at most once per          | the rest of
//    |                                                 |  statusInterval unless the phase changed |  the interval
//  * | phase changed                                   | Event (Warning for Failed/Aborted)       |
// clang-format on
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/kube/events.h"
#include "tokenstorm/operator/aggregate.h"
#include "tokenstorm/operator/children.h"
#include "tokenstorm/operator/status.h"

namespace tokenstorm::op {

// Longest LoadTest name run in a cluster: "<name>-runners" must stay a valid label value (63), which the
// Job controller puts on its pods.
inline constexpr size_t kMaxNameLength = 63 - 8;
// After an abort, how long runners get to write their final snapshot before the report is written
// without them: the pod's termination grace period plus this.
inline constexpr core::Duration kFlushMargin = core::Duration::fromSeconds(10);
// While runners flush, how often to look again.
inline constexpr core::Duration kSettlePoll = core::Duration::fromSeconds(1);
// How often to retry a spec that cannot be run because budget.pricingRef could not be read.
inline constexpr core::Duration kPricingRetry = core::Duration::fromSeconds(30);

// What reconcile read for one LoadTest.
struct World {
  WallTime now;
  nlohmann::json loadTest;  // the object as read: metadata, spec, status
  std::optional<nlohmann::json> plan;
  std::vector<nlohmann::json> shards;  // ConfigMaps labelled role=shard of this test
  std::optional<nlohmann::json> job;
  std::vector<nlohmann::json> pods;  // runner pods of this test
  std::optional<nlohmann::json> report;
  // budget.pricingRef, read by the caller (the operator may read that ConfigMap; runners may not):
  // the prices, or why they could not be read.
  std::optional<core::Pricing> resolvedPricing;
  std::string pricingError;
  // When this operator last updated this LoadTest's status (kept in memory; none after a restart).
  std::optional<WallTime> lastStatusUpdate;
};

struct Action {
  enum class Kind { Create, Patch, Delete, UpdateStatus, Event };
  Kind kind = Kind::Create;
  std::string apiVersion;  // of the target (Create: of `body`)
  std::string resource;    // the target's kind: ConfigMap, Job, LoadTest
  std::string name;
  nlohmann::json body;      // Create: the object; Patch: a JSON merge patch; UpdateStatus: {"status": ...}
  kube::EventRecord event;  // Event
  std::string propagation;  // Delete: "Background"
};

struct Requeue {
  bool wait = true;      // wait for a change of the LoadTest or its children
  core::Duration after;  // else: reconcile again after this
};

struct Decision {
  std::vector<Action> actions;
  Requeue requeue;
  core::LoadTestStatus status;  // the status as decided (written only when an UpdateStatus action says so)
};

Decision decide(const World& world, const OperatorOptions& options);

std::string describe(const Action& action);  // one line: "create ConfigMap quickstart-plan", ...

}  // namespace tokenstorm::op
