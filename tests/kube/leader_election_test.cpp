// Leader election on a ManualClock: two candidates over one fake Lease API (FakeTransport with a handler
// that keeps one Lease, bumps resourceVersion on each write and answers 409 to stale writes). Covers
// acquisition, renewal, handover after expiry, a lost race (409), release on stop and the renew deadline.
#include "tokenstorm/kube/leader_election.h"

#include <gtest/gtest.h>

#include "support/fake_transport.h"
#include "support/manual_clock.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;
using testing::FakeTransport;

constexpr core::MonoNanos kSecond = 1'000'000'000;

// One Lease, served the way kube-apiserver does for the verbs the elector uses.
class LeaseApi {
 public:
  explicit LeaseApi(FakeTransport& transport) {
    transport.setHandler([this](const HttpRequest& r) { return handle(r); });
  }

  HttpResponse handle(const HttpRequest& r) {
    if (down) {
      return FakeTransport::status(500, "InternalError", "etcd unavailable");
    }
    if (r.method == "GET") {
      if (lease.is_null()) {
        return FakeTransport::status(404, "NotFound", "leases \"op\" not found");
      }
      return FakeTransport::json(200, lease);
    }
    if (beforeWrite) {
      auto hook = std::move(beforeWrite);
      beforeWrite = nullptr;
      hook();
    }
    json body = json::parse(r.body);
    if (r.method == "POST") {
      if (!lease.is_null()) {
        return FakeTransport::status(409, "AlreadyExists", "leases \"op\" already exists");
      }
    } else if (r.method == "PUT") {
      if (body["metadata"].value("resourceVersion", "") != lease["metadata"].value("resourceVersion", "")) {
        return FakeTransport::status(409, "Conflict", "the object has been modified");
      }
    }
    body["metadata"]["resourceVersion"] = std::to_string(++version);
    lease = body;
    ++writes;
    return FakeTransport::json(r.method == "POST" ? 201 : 200, lease);
  }

  std::string holder() const { return lease.is_null() ? "" : lease["spec"].value("holderIdentity", ""); }
  int64_t transitions() const { return lease["spec"].value("leaseTransitions", int64_t{-1}); }

  json lease;
  int version = 0;
  int writes = 0;
  bool down = false;
  std::function<void()> beforeWrite;
};

struct Candidate {
  Candidate(std::shared_ptr<FakeTransport> transport, testing::ManualClock& clock, const std::string& id)
      : client(transport, nullptr, options(clock)),
        elector(client, {"ops", "tokenstorm-operator", id}, callbacks(), clock) {}

  static ClientOptions options(testing::ManualClock& clock) {
    ClientOptions o;
    o.qps = 0;
    o.clock = &clock;
    o.retry.max_attempts = 1;  // the elector retries by itself every retryPeriod
    o.sleep = [](core::MonoNanos) {};
    return o;
  }
  LeaderCallbacks callbacks() {
    return {[this] { ++started; }, [this] { ++stopped; },
            [this](const std::string& id) { leaders.push_back(id); }};
  }

  Client client;
  int started = 0;
  int stopped = 0;
  std::vector<std::string> leaders;
  LeaderElector elector;
};

class LeaderElectionTest : public ::testing::Test {
 protected:
  testing::ManualClock clock_;
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  LeaseApi api_{*transport_};
  Candidate a_{transport_, clock_, "a"};
  Candidate b_{transport_, clock_, "b"};
};

TEST_F(LeaderElectionTest, FirstAcquiresSecondWaitsRenewalsKeepAcquireTime) {
  EXPECT_TRUE(a_.elector.step());
  EXPECT_EQ(a_.started, 1);
  EXPECT_EQ(api_.holder(), "a");
  EXPECT_EQ(api_.transitions(), 0);
  EXPECT_EQ(api_.lease["spec"]["leaseDurationSeconds"], 15);
  EXPECT_EQ(api_.lease["apiVersion"], "coordination.k8s.io/v1");
  EXPECT_EQ(transport_->requests()[1].target, "/apis/coordination.k8s.io/v1/namespaces/ops/leases");

  EXPECT_FALSE(b_.elector.step());
  EXPECT_EQ(b_.leaders, (std::vector<std::string>{"a"}));
  EXPECT_EQ(b_.started, 0);

  std::string acquired = api_.lease["spec"]["acquireTime"];
  std::string renewed = api_.lease["spec"]["renewTime"];
  clock_.advance(2 * kSecond);
  EXPECT_TRUE(a_.elector.step());
  EXPECT_EQ(api_.lease["spec"]["acquireTime"], acquired);
  EXPECT_NE(api_.lease["spec"]["renewTime"], renewed);
  EXPECT_EQ(a_.started, 1) << "a renewal is not a new start";
}

TEST_F(LeaderElectionTest, HandoverAfterExpiryByTheObserversClock) {
  ASSERT_TRUE(a_.elector.step());
  EXPECT_FALSE(b_.elector.step());  // b sees the record now; expiry counts from here
  clock_.advance(14 * kSecond);     // a stopped renewing (it hangs)
  EXPECT_FALSE(b_.elector.step());
  clock_.advance(kSecond);
  EXPECT_TRUE(b_.elector.step()) << "unchanged for leaseDuration: expired";
  EXPECT_EQ(api_.holder(), "b");
  EXPECT_EQ(api_.transitions(), 1);
  EXPECT_EQ(b_.started, 1);

  EXPECT_FALSE(a_.elector.step()) << "a wakes up and finds b holding";
  EXPECT_EQ(a_.stopped, 1);
  EXPECT_EQ(a_.leaders, (std::vector<std::string>{"a", "b"}));
}

TEST_F(LeaderElectionTest, RenewalsKeepOthersOut) {
  ASSERT_TRUE(a_.elector.step());
  for (int i = 0; i < 20; ++i) {
    clock_.advance(2 * kSecond);
    EXPECT_TRUE(a_.elector.step());
    EXPECT_FALSE(b_.elector.step()) << "the record changes every 2 s, so it never looks expired";
  }
}

TEST_F(LeaderElectionTest, LosingTheRaceIsA409) {
  // b reads "no lease"; before its create lands, a creates one: b's create gets 409 AlreadyExists.
  api_.beforeWrite = [this] { EXPECT_TRUE(a_.elector.step()); };
  EXPECT_FALSE(b_.elector.step());
  EXPECT_EQ(api_.holder(), "a");
  EXPECT_EQ(b_.started, 0);
  EXPECT_EQ(b_.leaders, (std::vector<std::string>{})) << "b never read a holder";
}

TEST_F(LeaderElectionTest, ConcurrentTakeoverOneWins) {
  ASSERT_TRUE(a_.elector.step());
  EXPECT_FALSE(b_.elector.step());
  Candidate c(transport_, clock_, "c");
  EXPECT_FALSE(c.elector.step());
  clock_.advance(15 * kSecond);  // a is gone; b and c both see the lease expired
  api_.beforeWrite = [&] { EXPECT_TRUE(c.elector.step()); };
  EXPECT_FALSE(b_.elector.step()) << "b read the same resourceVersion as c, and c wrote first";
  EXPECT_EQ(api_.holder(), "c");
  EXPECT_EQ(api_.transitions(), 1);
  EXPECT_EQ(b_.started, 0);
}

TEST_F(LeaderElectionTest, ReleaseOnStopLetsTheNextTakeOverAtOnce) {
  ASSERT_TRUE(a_.elector.step());
  EXPECT_FALSE(b_.elector.step());
  a_.elector.stop();
  EXPECT_EQ(a_.stopped, 1);
  EXPECT_EQ(api_.holder(), "");
  EXPECT_EQ(api_.lease["spec"]["leaseDurationSeconds"], 1);
  EXPECT_TRUE(b_.elector.step()) << "a released lease is free without waiting";
  EXPECT_EQ(api_.transitions(), 1);
}

TEST_F(LeaderElectionTest, RenewDeadlineEndsLeadershipWhenTheApiIsDown) {
  ASSERT_TRUE(a_.elector.step());
  api_.down = true;
  clock_.advance(9 * kSecond);
  EXPECT_TRUE(a_.elector.step()) << "within renewDeadline (10 s) of the last renewal";
  clock_.advance(kSecond);
  EXPECT_FALSE(a_.elector.step());
  EXPECT_EQ(a_.stopped, 1);
  api_.down = false;
  EXPECT_TRUE(a_.elector.step()) << "still the holder on record: it renews and leads again";
  EXPECT_EQ(a_.started, 2);
}

TEST(LeaderElectionPureTest, DecideWithoutAServer) {
  LeaderElection e({"ns", "l", "me"});
  auto wall = std::chrono::system_clock::from_time_t(1'800'000'000);
  auto create = e.decide(std::nullopt, 0, wall);
  ASSERT_EQ(create.write, LeaderElection::Write::kCreate);
  EXPECT_EQ(create.lease["spec"]["holderIdentity"], "me");
  EXPECT_EQ(create.lease["spec"]["acquireTime"], "2027-01-15T08:00:00.000000Z");
  EXPECT_FALSE(e.leading(0));
  EXPECT_FALSE(e.release(wall)) << "nothing to release before holding";
  json held = {{"metadata", {{"resourceVersion", "3"}}},
               {"spec", {{"holderIdentity", "other"}, {"leaseDurationSeconds", 30}}}};
  EXPECT_EQ(e.decide(held, 0, wall).write, LeaderElection::Write::kNone);
  EXPECT_EQ(e.decide(held, 29 * kSecond, wall).write, LeaderElection::Write::kNone)
      << "the record's duration";
  auto take = e.decide(held, 30 * kSecond, wall);
  ASSERT_EQ(take.write, LeaderElection::Write::kUpdate);
  EXPECT_EQ(take.lease["metadata"]["resourceVersion"], "3");
  e.succeeded(take.lease, 30 * kSecond);
  EXPECT_TRUE(e.leading(30 * kSecond));
  EXPECT_FALSE(e.leading(40 * kSecond));
}

}  // namespace
}  // namespace tokenstorm::kube
