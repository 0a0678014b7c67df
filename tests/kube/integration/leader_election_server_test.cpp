// Leader election between two LeaderElectors, each with its own client, on one Lease of the test server,
// with short timings (2 s lease, 1 s renew deadline, 250 ms retry). A leader that stops releases the
// Lease and the other takes over within a retry period; a leader cut off from the server (its process
// hung or partitioned: it can neither renew nor release) stops leading after its renew deadline, and the
// other takes over only once the lease has expired. Callbacks are recorded with timestamps: never two
// leaders at once.
#include <gtest/gtest.h>

#include "kube/integration/server_fixture.h"
#include "tokenstorm/kube/leader_election.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

constexpr core::MonoNanos kLeaseNs = 2'000'000'000;
constexpr core::MonoNanos kRenewDeadlineNs = 1'000'000'000;
constexpr core::MonoNanos kRetryNs = 250'000'000;

// Started/stopped leading, per candidate, in the order the callbacks ran.
class Timeline {
 public:
  struct Entry {
    steady_clock::time_point at;
    std::string who;
    bool started;
  };

  LeaderCallbacks callbacksFor(const std::string& who) {
    LeaderCallbacks callbacks;
    callbacks.onStartedLeading = [this, who] { record(who, true); };
    callbacks.onStoppedLeading = [this, who] { record(who, false); };
    return callbacks;
  }
  void record(const std::string& who, bool started) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back({steady_clock::now(), who, started});
  }
  std::vector<Entry> entries() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_;
  }
  // Empty when at most one candidate led at any time; otherwise what went wrong.
  std::string overlaps() const {
    std::string leader;
    for (const auto& e : entries()) {
      if (e.started) {
        if (!leader.empty()) {
          return e.who + " started leading while " + leader + " led";
        }
        leader = e.who;
      } else if (e.who == leader) {
        leader.clear();
      }
    }
    return "";
  }
  std::optional<steady_clock::time_point> started(const std::string& who) const {
    for (const auto& e : entries()) {
      if (e.who == who && e.started) {
        return e.at;
      }
    }
    return std::nullopt;
  }
  std::optional<steady_clock::time_point> stopped(const std::string& who) const {
    for (const auto& e : entries()) {
      if (e.who == who && !e.started) {
        return e.at;
      }
    }
    return std::nullopt;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
};

class LeaderElectionServerTest : public ServerFixture {
 protected:
  static LeaderElectionConfig electionFor(const std::string& identity) {
    LeaderElectionConfig c;
    c.ns = "default";
    c.name = "tokenstorm-operator";
    c.identity = identity;
    c.leaseDuration_ns = kLeaseNs;
    c.renewDeadline_ns = kRenewDeadlineNs;
    c.retryPeriod_ns = kRetryNs;
    return c;
  }
  // Electors give up on a failed call at once and try again next retry period, as client-go's do.
  static ClientOptions electorOptions() {
    ClientOptions o = unlimited();
    o.retry.max_attempts = 1;
    return o;
  }
  json lease() {
    auto got = observer_->get(resources::kLeases, "default", "tokenstorm-operator");
    EXPECT_TRUE(got.ok()) << (got.ok() ? "" : got.error().str());
    return got.ok() ? *got : json();
  }
  std::string holder() {
    json l = lease();
    return l.is_null() ? "" : l["spec"].value("holderIdentity", "");
  }

  void SetUp() override {
    ServerFixture::SetUp();
    observer_ = client();
    ASSERT_TRUE(observer_);
  }

  std::unique_ptr<Client> observer_;
  Timeline timeline_;
};

TEST_F(LeaderElectionServerTest, ReleaseHandsOverWithinARetryPeriod) {
  auto client_a = client(electorOptions());
  auto client_b = client(electorOptions());
  ASSERT_TRUE(client_a && client_b);
  LeaderCallbacks callbacks_a = timeline_.callbacksFor("a");
  std::string holder_when_a_stopped;
  callbacks_a.onStoppedLeading = [&] {
    holder_when_a_stopped = holder();  // a must stop working before anyone else may start
    timeline_.record("a", false);
  };
  LeaderElector a(*client_a, electionFor("a"), callbacks_a);
  LeaderElector b(*client_b, electionFor("b"), timeline_.callbacksFor("b"));
  a.start();
  ASSERT_TRUE(waitFor([&] { return a.leading(); }));
  b.start();
  // b reads the Lease a few times and stays a follower.
  auto lease_rv = rvOf(lease());
  ASSERT_TRUE(waitFor([&] { return rvOf(lease()) != lease_rv; })) << "a renews";
  EXPECT_FALSE(b.leading());
  EXPECT_EQ(holder(), "a");

  auto released_at = steady_clock::now();
  a.stop();
  EXPECT_EQ(holder_when_a_stopped, "a") << "onStoppedLeading runs before the Lease is released";
  ASSERT_TRUE(waitFor([&] { return b.leading(); }));
  auto took = steady_clock::now() - released_at;
  EXPECT_LT(took, std::chrono::nanoseconds(kLeaseNs)) << "the release, not the expiry, handed over";
  EXPECT_EQ(holder(), "b");
  EXPECT_EQ(lease()["spec"]["leaseTransitions"], 1);
  b.stop();
  EXPECT_EQ(holder(), "") << "b released too";
  EXPECT_EQ(timeline_.overlaps(), "");
  ASSERT_EQ(timeline_.entries().size(), 4u);
}

TEST_F(LeaderElectionServerTest, ALeaderCutOffWithoutReleaseIsReplacedAfterTheLeaseExpires) {
  std::shared_ptr<RecordingTransport> network_a;
  auto client_a = recordingClient(&network_a, electorOptions());
  auto client_b = client(electorOptions());
  ASSERT_TRUE(client_a && client_b);
  LeaderElector a(*client_a, electionFor("a"), timeline_.callbacksFor("a"));
  LeaderElector b(*client_b, electionFor("b"), timeline_.callbacksFor("b"));
  a.start();
  ASSERT_TRUE(waitFor([&] { return a.leading(); }));
  b.start();
  auto lease_rv = rvOf(lease());
  ASSERT_TRUE(waitFor([&] { return rvOf(lease()) != lease_rv; })) << "a renews";

  auto cut_at = steady_clock::now();
  network_a->cut(true);  // a can no longer renew, nor release
  ASSERT_TRUE(waitFor([&] { return b.leading(); }));
  ASSERT_TRUE(timeline_.stopped("a")) << "a noticed it could not renew";
  auto a_stopped = *timeline_.stopped("a");
  auto b_started = *timeline_.started("b");
  EXPECT_LT(a_stopped, b_started);
  EXPECT_LT(a_stopped - cut_at, std::chrono::nanoseconds(kLeaseNs))
      << "within the renew deadline (+ a retry)";
  EXPECT_GT(b_started - cut_at, std::chrono::nanoseconds(kRenewDeadlineNs))
      << "b waited for the lease to expire (a's last renewal was at most a retry period before the cut)";
  EXPECT_LT(b_started - cut_at, std::chrono::seconds(5));
  EXPECT_EQ(holder(), "b");
  EXPECT_FALSE(a.leading());

  // a's network comes back: it reads b's live lease and stays a follower.
  network_a->cut(false);
  auto ok_reads = [&] {
    return network_a->count([](const Exchange& e) { return e.method == "GET" && e.status == 200; });
  };
  size_t before = ok_reads();
  ASSERT_TRUE(waitFor([&] { return ok_reads() >= before + 3; }));
  EXPECT_FALSE(a.leading());
  EXPECT_EQ(holder(), "b");
  a.stop();
  b.stop();
  EXPECT_EQ(timeline_.overlaps(), "");
}

TEST_F(LeaderElectionServerTest, TwoCandidatesStartingTogetherElectOne) {
  auto client_a = client(electorOptions());
  auto client_b = client(electorOptions());
  ASSERT_TRUE(client_a && client_b);
  LeaderElector a(*client_a, electionFor("a"), timeline_.callbacksFor("a"));
  LeaderElector b(*client_b, electionFor("b"), timeline_.callbacksFor("b"));
  a.start();
  b.start();
  ASSERT_TRUE(waitFor([&] { return a.leading() || b.leading(); }));
  std::string leader = a.leading() ? "a" : "b";
  // Several renewals later, still exactly one.
  auto lease_rv = rvOf(lease());
  ASSERT_TRUE(waitFor([&] { return std::stoll(rvOf(lease())) > std::stoll(lease_rv) + 2; }));
  EXPECT_NE(a.leading(), b.leading());
  EXPECT_EQ(holder(), leader);
  a.stop();
  b.stop();
  EXPECT_EQ(timeline_.overlaps(), "");
}

}  // namespace
}  // namespace tokenstorm::kube
