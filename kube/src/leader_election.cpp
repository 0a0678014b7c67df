#include "tokenstorm/kube/leader_election.h"

#include "tokenstorm/kube/object.h"

namespace tokenstorm::kube {

namespace {

constexpr core::MonoNanos kNanosPerSecond = 1'000'000'000;

nlohmann::json specOf(const nlohmann::json& lease) {
  auto it = lease.find("spec");
  return it != lease.end() && it->is_object() ? *it : nlohmann::json::object();
}

}  // namespace

nlohmann::json LeaderElection::record(const nlohmann::json& base, bool renewal,
                                      std::chrono::system_clock::time_point wall_now) const {
  std::string now = formatMicroTime(wall_now);
  nlohmann::json spec = {{"holderIdentity", config_.identity},
                         {"leaseDurationSeconds", config_.leaseDuration_ns / kNanosPerSecond},
                         {"renewTime", now}};
  if (renewal) {
    std::string acquired = stringAt(base, {"acquireTime"});
    spec["acquireTime"] = acquired.empty() ? now : acquired;
    spec["leaseTransitions"] = intAt(base, {"leaseTransitions"}).value_or(0);
  } else {
    spec["acquireTime"] = now;
    spec["leaseTransitions"] =
        base.contains("holderIdentity") ? intAt(base, {"leaseTransitions"}).value_or(0) + 1 : 0;
  }
  return spec;
}

LeaderElection::Attempt LeaderElection::decide(const std::optional<nlohmann::json>& current,
                                               core::MonoNanos now,
                                               std::chrono::system_clock::time_point wall_now) {
  if (!current) {
    observed_spec_ = nlohmann::json::object();
    observed_holder_.clear();
    nlohmann::json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                            {"kind", "Lease"},
                            {"metadata", {{"name", config_.name}, {"namespace", config_.ns}}},
                            {"spec", record(nlohmann::json::object(), false, wall_now)}};
    return {Write::kCreate, std::move(lease)};
  }
  nlohmann::json spec = specOf(*current);
  if (spec != observed_spec_) {
    observed_spec_ = spec;
    observed_at_ = now;  // expiry counts from when WE saw the record change
  }
  observed_holder_ = stringAt(spec, {"holderIdentity"});
  core::MonoNanos duration = intAt(spec, {"leaseDurationSeconds"}).value_or(0) * kNanosPerSecond;
  if (duration <= 0) {
    duration = config_.leaseDuration_ns;
  }
  bool mine = observed_holder_ == config_.identity;
  if (!observed_holder_.empty() && !mine && now < observed_at_ + duration) {
    holds_ = false;  // someone else holds a live lease
    return {Write::kNone, {}};
  }
  nlohmann::json lease = *current;
  lease["spec"] = record(spec, mine, wall_now);
  return {Write::kUpdate, std::move(lease)};
}

void LeaderElection::succeeded(const nlohmann::json& written, core::MonoNanos now) {
  observed_spec_ = specOf(written);
  observed_at_ = now;
  observed_holder_ = config_.identity;
  last_written_ = written;
  holds_ = true;
  renewed_at_ = now;
}

void LeaderElection::failed(core::MonoNanos /*now*/) {
  // Nothing to record: leading() lapses by itself once renewDeadline passes without a renewal.
}

bool LeaderElection::leading(core::MonoNanos now) const {
  return holds_ && now - renewed_at_ < config_.renewDeadline_ns;
}

std::optional<nlohmann::json> LeaderElection::release(std::chrono::system_clock::time_point wall_now) const {
  if (!holds_ || last_written_.is_null()) {
    return std::nullopt;
  }
  nlohmann::json lease = last_written_;
  std::string now = formatMicroTime(wall_now);
  lease["spec"]["holderIdentity"] = "";
  lease["spec"]["leaseDurationSeconds"] = 1;
  lease["spec"]["acquireTime"] = now;
  lease["spec"]["renewTime"] = now;
  return lease;
}

LeaderElector::LeaderElector(Client& client, LeaderElectionConfig config, LeaderCallbacks callbacks,
                             const core::Clock& clock)
    : client_(client), election_(std::move(config)), callbacks_(std::move(callbacks)), clock_(clock) {}

LeaderElector::~LeaderElector() {
  stop();
}

bool LeaderElector::step() {
  const auto& cfg = election_.config();
  core::MonoNanos now = clock_.monotonicNanos();
  auto wall = clock_.wallNow();
  auto got = client_.get(resources::kLeases, cfg.ns, cfg.name);
  if (got || got.error().notFound()) {
    std::optional<nlohmann::json> current;
    if (got) {
      current = std::move(*got);
    }
    auto attempt = election_.decide(current, now, wall);
    if (attempt.write != LeaderElection::Write::kNone) {
      auto written = attempt.write == LeaderElection::Write::kCreate
                         ? client_.create(resources::kLeases, cfg.ns, attempt.lease)
                         : client_.update(resources::kLeases, cfg.ns, attempt.lease);
      if (written) {
        election_.succeeded(*written, now);
      } else {
        election_.failed(now);  // 409: another candidate wrote first; it wins this round
      }
    }
  } else {
    election_.failed(now);
  }
  bool is_leading = election_.leading(clock_.monotonicNanos());
  std::string holder = election_.holder();
  if (holder != last_holder_) {
    last_holder_ = holder;
    if (callbacks_.onNewLeader && !holder.empty()) {
      callbacks_.onNewLeader(holder);
    }
  }
  if (is_leading && !leading_) {
    leading_ = true;
    if (callbacks_.onStartedLeading) {
      callbacks_.onStartedLeading();
    }
  } else if (!is_leading && leading_) {
    leading_ = false;
    if (callbacks_.onStoppedLeading) {
      callbacks_.onStoppedLeading();
    }
  }
  return is_leading;
}

void LeaderElector::start() {
  if (thread_.joinable()) {
    return;
  }
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      step();
      lock.lock();
      wake_.wait_for(lock, std::chrono::nanoseconds(election_.config().retryPeriod_ns),
                     [this] { return stopping_; });
    }
  });
}

void LeaderElector::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  if (!leading_) {
    return;
  }
  // Stop leading first, release second: once the Lease is released another candidate may start at once,
  // so this one's work must already have stopped (client-go cancels the leader's context before
  // release()).
  leading_ = false;
  if (callbacks_.onStoppedLeading) {
    callbacks_.onStoppedLeading();
  }
  if (auto lease = election_.release(clock_.wallNow())) {
    client_.update(resources::kLeases, election_.config().ns, *lease);
  }
}

}  // namespace tokenstorm::kube
