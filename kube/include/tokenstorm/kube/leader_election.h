// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does it.
//
// The Lease's spec is the record: holderIdentity, leaseDurationSeconds, acquireTime, renewTime (MicroTime)
// and leaseTransitions. Writes are optimistic: an update carries the resourceVersion that was read, so
// of two candidates writing at once one gets 409 Conflict and loses the round.
//
// One attempt (LeaderElection::decide, pure):
//   lease as read                                             | write
//   ----------------------------------------------------------+---------------------------------------
//   absent                                                    | create: holder = me, transitions 0
//   held by another, and its record changed less than          | none: wait (not leading)
//     leaseDuration ago by OUR clock                          |
//   held by another but unchanged for leaseDuration (expired), | update: holder = me, acquireTime = now,
//     or released (holder "")                                 |   transitions + 1
//   held by me                                                | update: renewTime = now (a renewal)
// Expiry is judged by when this candidate last saw the record change (its own monotonic clock), not by
// the renewTime written there, so clock skew between machines does not matter (client-go's rule).
//
// Leading: an attempt's write succeeded; it stays true while the last successful renewal is less than
// renewDeadline old. The elector retries every retryPeriod; a leader that cannot renew within
// renewDeadline stops leading (onStoppedLeading) even if it never learns why. Release (on stop, when
// leading) writes holderIdentity "" and leaseDurationSeconds 1, so another candidate takes over at once.
//
// Defaults are client-go's: leaseDuration 15 s, renewDeadline 10 s, retryPeriod 2 s.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/client.h"

namespace tokenstorm::kube {

struct LeaderElectionConfig {
  std::string ns;
  std::string name;
  std::string identity;  // unique per candidate, e.g. the pod name
  core::MonoNanos leaseDuration_ns = 15'000'000'000;
  core::MonoNanos renewDeadline_ns = 10'000'000'000;
  core::MonoNanos retryPeriod_ns = 2'000'000'000;
};

class LeaderElection {
 public:
  enum class Write { kNone, kCreate, kUpdate };
  struct Attempt {
    Write write = Write::kNone;
    nlohmann::json lease;  // the object to create or update (with the resourceVersion read)
  };

  explicit LeaderElection(LeaderElectionConfig config) : config_(std::move(config)) {}

  // What to write, given the Lease as read (nullopt: it does not exist).
  Attempt decide(const std::optional<nlohmann::json>& current, core::MonoNanos now,
                 std::chrono::system_clock::time_point wall_now);
  // The write of decide()'s attempt succeeded; `written` is the server's answer.
  void succeeded(const nlohmann::json& written, core::MonoNanos now);
  // The attempt failed (conflict, network, another holder): leading() decides by renewDeadline.
  void failed(core::MonoNanos now);
  // The Lease to write when releasing (holder cleared), from the last one we wrote; nullopt if none.
  std::optional<nlohmann::json> release(std::chrono::system_clock::time_point wall_now) const;

  bool leading(core::MonoNanos now) const;
  std::string holder() const { return observed_holder_; }  // as last read
  const LeaderElectionConfig& config() const { return config_; }

 private:
  nlohmann::json record(const nlohmann::json& base, bool renewal,
                        std::chrono::system_clock::time_point wall_now) const;

  LeaderElectionConfig config_;
  nlohmann::json observed_spec_;  // the Lease spec last read or written
  core::MonoNanos observed_at_ = 0;
  std::string observed_holder_;
  nlohmann::json last_written_;
  bool holds_ = false;
  core::MonoNanos renewed_at_ = 0;
};

struct LeaderCallbacks {
  std::function<void()> onStartedLeading;
  std::function<void()> onStoppedLeading;
  std::function<void(const std::string& identity)> onNewLeader;  // optional
};

// Runs the election over a Client: step() is one attempt (tests call it directly on a ManualClock);
// start() runs step() every retryPeriod on a thread until stop(), which releases the Lease if leading.
class LeaderElector {
 public:
  LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                const core::Clock& clock = core::RealClock::instance());
  ~LeaderElector();

  // One attempt: read the Lease, write what decide() says, fire callbacks on changes. Returns leading.
  bool step();
  void start();
  void stop();  // joins the thread; when leading, calls onStoppedLeading, then releases the Lease
  bool leading() const { return leading_.load(); }

 private:
  Client& client_;
  LeaderElection election_;
  LeaderCallbacks callbacks_;
  const core::Clock& clock_;
  std::atomic<bool> leading_{false};
  std::string last_holder_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tokenstorm::kube
