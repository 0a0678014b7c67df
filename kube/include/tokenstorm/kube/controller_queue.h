// The controller's work queue for N worker threads: the WorkQueue rules (work_queue.h: dedupe, delay,
// one reconcile per key at a time, rate-limited requeue) behind a mutex, with a condition variable that
// add() wakes and that waits with a deadline at the next delayed key (no timer thread). It adds no rules
// of its own.
//
// Workers run `reconcile(key)` and act on its outcome (controller-runtime's contract):
//   outcome              | queue
//   ---------------------+------------------------------------------------------------
//   done                 | forget(key): its backoff resets; it runs again on the next add
//   requeueAfter(d)      | forget(key), addAfter(key, d)
//   error                | addRateLimited(key): 5 ms doubling per consecutive error, up to 1000 s
// done(key) is called after each reconcile, so an add() during the reconcile queues the key once more.
//
// Time: a core::Clock gives `now` for WorkQueue; the waits are real (condition variable deadlines), so a
// ManualClock suits only tests that never wait for a delayed key.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/work_queue.h"

namespace tokenstorm::kube {

struct ReconcileOutcome {
  enum class Kind { kDone, kRequeueAfter, kError };
  Kind kind = Kind::kDone;
  core::MonoNanos after_ns = 0;

  static ReconcileOutcome done() { return {}; }
  static ReconcileOutcome requeueAfter(core::MonoNanos ns) { return {Kind::kRequeueAfter, ns}; }
  static ReconcileOutcome error() { return {Kind::kError, 0}; }
};

class ControllerQueue {
 public:
  using Reconcile = std::function<ReconcileOutcome(const std::string& key)>;

  explicit ControllerQueue(const core::Clock& clock = core::RealClock::instance(), RateLimit limit = {});
  ~ControllerQueue();  // shutdown() and join the workers
  ControllerQueue(const ControllerQueue&) = delete;
  ControllerQueue& operator=(const ControllerQueue&) = delete;

  void add(const std::string& key);
  void addAfter(const std::string& key, core::MonoNanos delay_ns);
  core::MonoNanos addRateLimited(const std::string& key);
  void forget(const std::string& key);

  // Blocks until a key is ready (now marked processing; call done(key) after) or the queue is shut down
  // with nothing ready (nullopt).
  std::optional<std::string> get();
  void done(const std::string& key);

  // Starts `workers` threads looping get -> reconcile -> outcome -> done.
  void start(size_t workers, Reconcile reconcile);
  // Stops taking adds; workers finish the keys already ready, then exit; joins them.
  void shutdown();

  size_t ready() const;
  size_t waiting() const;
  size_t processing() const;

 private:
  void work();

  const core::Clock& clock_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  WorkQueue queue_;
  Reconcile reconcile_;
  std::vector<std::thread> workers_;
};

}  // namespace tokenstorm::kube
