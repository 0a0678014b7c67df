// The controller work queue (client-go's workqueue: dedupe, delay, rate-limited requeue), as a
// single-threaded core driven by explicit times. It never reads a clock: every call that depends on time
// takes `now` (monotonic nanoseconds), and nextDue() tells the caller when to wake up.
//
// This is the logic only. A thread-safe wrapper serving N workers (a mutex around this class, a condition
// variable woken by add() and by a timer at nextDue()) comes later with the informer; it adds no rules.
//
// Rules:
// - A key is queued at most once: add() of a key already waiting to be processed does nothing.
// - One reconcile per key at a time: get() hands a key out and marks it processing; an add() of that key
//   while it is processing is remembered and the key is queued again only when done(key) is called.
// - Ready keys come out in FIFO order of their (first) add.
// - addAfter(key, delay, now) makes the key ready at now + delay; a key waiting with an earlier instant
//   keeps the earlier one. Delayed keys become ready, in order of their instants, in get(now).
// - addRateLimited(key, now) = addAfter(key, backoff(key)), with per-key exponential backoff: base 5 ms,
//   doubling per call, capped at 1000 s (client-go's per-item default); forget(key) resets it (call it
//   when a reconcile succeeds). client-go's default also has an overall token bucket (10 qps, burst 100);
//   that is left out here, since the Kubernetes client has its own QPS limit.
// - shutdown(): later adds are ignored and delayed keys are dropped; keys already ready are still handed
//   out so workers can drain; drained() says when nothing is ready or processing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "tokenstorm/core/clock.h"

namespace tokenstorm::kube {

struct RateLimit {
  core::MonoNanos base_ns = 5'000'000;         // 5 ms
  core::MonoNanos max_ns = 1'000'000'000'000;  // 1000 s
};

class WorkQueue {
 public:
  // nextDue() when a key is ready now: sorts before every instant, so `nextDue() <= now` holds.
  static constexpr core::MonoNanos kDueNow = std::numeric_limits<core::MonoNanos>::min();

  explicit WorkQueue(RateLimit limit = {}) : limit_(limit) {}

  void add(const std::string& key);
  void addAfter(const std::string& key, core::MonoNanos delay_ns, core::MonoNanos now);
  // Returns the delay chosen.
  core::MonoNanos addRateLimited(const std::string& key, core::MonoNanos now);
  void forget(const std::string& key);
  uint32_t requeues(const std::string& key) const;  // addRateLimited calls since the last forget

  // The next ready key (delayed keys due at `now` become ready first), now marked processing.
  std::optional<std::string> get(core::MonoNanos now);
  void done(const std::string& key);

  // When get() will next have a key: kDueNow if one is ready, else the earliest delayed instant, else none.
  std::optional<core::MonoNanos> nextDue() const;

  void shutdown();
  bool shuttingDown() const { return shutting_down_; }
  bool drained() const { return queue_.empty() && processing_.empty(); }

  size_t ready() const { return queue_.size(); }
  size_t waiting() const { return waiting_.size(); }
  size_t processing() const { return processing_.size(); }

 private:
  void promote(core::MonoNanos now);

  RateLimit limit_;
  std::deque<std::string> queue_;               // ready, not processing, in FIFO order
  std::unordered_set<std::string> dirty_;       // needs processing (queued, or re-added while processing)
  std::unordered_set<std::string> processing_;  // handed out by get(), not yet done()
  // Delayed keys: (ready instant, sequence) -> key, and key -> its entry, so a key waits once.
  std::map<std::pair<core::MonoNanos, uint64_t>, std::string> waiting_;
  std::unordered_map<std::string, std::pair<core::MonoNanos, uint64_t>> waiting_at_;
  uint64_t sequence_ = 0;
  std::unordered_map<std::string, uint32_t> failures_;
  bool shutting_down_ = false;
};

}  // namespace tokenstorm::kube
