// The LoadTest controller: runs the pure layers (decide.h) against a cluster.
//
// Informers (kube/informer.h) keep caches of LoadTests (all namespaces, or each one given) and of the Jobs,
// Pods and ConfigMaps labelled app.kubernetes.io/managed-by=tokenstorm; every change is mapped to its
// LoadTest's key ("namespace/name", the child's tokenstorm.dev/loadtest label) and put on a
// kube::ControllerQueue. reconcile(key) assembles the World from the caches (never from event payloads),
// reads budget.pricingRef with the client, calls decide() and carries out its actions:
//   action        | API call                                        | failure
//   --------------+-------------------------------------------------+-----------------------------------
//   Create        | create                                          | AlreadyExists: fine; else error
//   Patch         | JSON merge patch                                | error
//   Delete        | delete, propagation as decided                  | NotFound: fine; else error
//   UpdateStatus  | status subresource, with the resourceVersion    | Conflict: requeue at once; else error
//                 |   read                                          |
//   Event         | events.k8s.io/v1 Event                          | logged, never retried
// then requeues as the Decision says (error: the queue's rate-limited backoff).
//
// What the controller keeps in memory is rebuildable: the time of its last status update per LoadTest
// (none after a restart: the next update goes out at once) and the objects it wrote most recently, used
// in place of a cache entry that is older (so a reconcile that runs before the informer saw our own write
// neither repeats it nor writes startAt twice); everything else is in the cluster.
//
// Time comes from ControllerOptions::clock: wall time for World::now and the status update times,
// monotonic for the age of the written copies (they stand in for the cache for 30 s at most).
//
// Tests (tests/operator/controller_reconcile_test.cpp) drive reconcile() over a kube::Client on a
// FakeTransport without starting the informers: observeForTesting() puts objects into the caches (or takes
// them out) as the informers would, and a ManualClock moves time.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/client.h"
#include "tokenstorm/kube/controller_queue.h"
#include "tokenstorm/kube/informer.h"
#include "tokenstorm/operator/decide.h"

namespace tokenstorm::op {

struct ControllerOptions {
  std::vector<std::string> namespaces;  // empty: all namespaces
  size_t workers = 2;
  OperatorOptions op;
  std::string identity = "tokenstorm-operator";             // Events' reportingInstance
  const core::Clock* clock = &core::RealClock::instance();  // also given to the informers and the queue
};

// One structured log line to stderr: `ts=... level=info msg="..." key=value ...` (values quoted when they
// hold spaces, quotes or '=').
void logLine(const char* level, const std::string& msg,
             const std::vector<std::pair<std::string, std::string>>& fields = {});

class Controller {
 public:
  Controller(kube::Client& client, ControllerOptions options, prometheus::Registry& registry);
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void startInformers();
  bool synced() const;  // every informer has listed once
  // Starts the workers (once: on becoming leader, or at once without leader election) and queues every
  // LoadTest in the cache.
  void startWorkers();
  // Stops the workers (they finish the reconcile in progress), then the informers.
  void stop();

  // One reconcile of "namespace/name" (what the workers run; public for tests).
  kube::ReconcileOutcome reconcile(const std::string& key);
  // Refreshes the gauges computed from the caches (LoadTests by phase, queue depth); before a scrape.
  void refreshGauges();

  // Test seam, for a Controller whose informers were never started: `object` (a LoadTest, Job, Pod or
  // ConfigMap, by its `kind`) enters the cache of its kind and namespace as if its informer had seen it
  // added or modified, or leaves it (`deleted`); the informer's handlers run (its LoadTest's key is
  // queued). False when no cache holds that kind in that namespace.
  bool observeForTesting(const nlohmann::json& object, bool deleted = false);

 private:
  struct Recent {
    nlohmann::json object;
    core::MonoNanos at = 0;  // when written
  };
  void enqueueLoadTest(const nlohmann::json& object);
  void enqueueChild(const nlohmann::json& object);
  // The informer of `informers` (one per namespace, or one for all) that caches `ns`; null when none does.
  kube::Informer* informerFor(const std::vector<std::unique_ptr<kube::Informer>>& informers,
                              const std::string& ns) const;
  std::vector<nlohmann::json> children(const std::vector<std::unique_ptr<kube::Informer>>& informers,
                                       const std::string& kind, const std::string& ns,
                                       const std::string& name);
  std::optional<nlohmann::json> fresher(const std::string& kind, const std::optional<nlohmann::json>& cached);
  void remember(const std::string& kind, const nlohmann::json& written);
  void forget(const std::string& kind, const std::string& ns, const std::string& name);
  bool execute(const Action& action, const std::string& ns, const nlohmann::json& loadtest, bool* conflict);
  void resolvePricing(World* world, const std::string& ns);
  void recordMetrics(const nlohmann::json& loadtest, const Decision& decision);

  kube::Client& client_;
  ControllerOptions options_;
  kube::ControllerQueue queue_;
  std::vector<std::unique_ptr<kube::Informer>> loadtests_;  // one per namespace, or one for all
  std::vector<std::unique_ptr<kube::Informer>> jobs_;
  std::vector<std::unique_ptr<kube::Informer>> pods_;
  std::vector<std::unique_ptr<kube::Informer>> configmaps_;
  bool workers_started_ = false;
  std::mutex mutex_;                                 // guards the maps below
  std::map<std::string, WallTime> last_status_;      // LoadTest key -> last status update
  std::map<std::string, Recent> recent_;             // "Kind/ns/name" -> the object as we last wrote it
  std::map<std::string, std::string> last_verdict_;  // LoadTest key -> verdict counted

  prometheus::Counter& reconciles_;
  prometheus::Counter& errors_;
  prometheus::Gauge& queue_depth_;
  prometheus::Family<prometheus::Gauge>& phases_;
  prometheus::Family<prometheus::Counter>& verdicts_;
  prometheus::Family<prometheus::Gauge>& budget_spent_;
};

}  // namespace tokenstorm::op
