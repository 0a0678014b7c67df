// The Client over a FakeTransport: request shapes (paths, queries, bodies, headers), errors as values,
// retries and the rate limit on a ManualClock (waits advance the clock instead of sleeping), 401
// re-authentication, and the watch call's decoding.
#include "tokenstorm/kube/client.h"

#include <gtest/gtest.h>

#include "kube/temp_dir.h"
#include "support/fake_transport.h"
#include "support/manual_clock.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;
using testing::FakeTransport;

constexpr core::MonoNanos kMs = 1'000'000;
constexpr core::MonoNanos kSecond = 1'000 * kMs;

class ClientTest : public ::testing::Test {
 protected:
  ClientTest() : client_(transport_, std::make_shared<StaticTokenAuth>("tok"), options()) {}

  ClientOptions options(double qps = 0) {
    ClientOptions o;
    o.qps = qps;
    o.clock = &clock_;
    o.sleep = [this](core::MonoNanos ns) {
      sleeps_.push_back(ns);
      clock_.advance(ns);
    };
    o.random01 = [] { return 0.0; };
    o.fieldManager = "tokenstorm";
    return o;
  }

  HttpRequest last() const { return transport_->requests().back(); }

  testing::ManualClock clock_;
  std::vector<core::MonoNanos> sleeps_;
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  Client client_;
};

TEST(ResourceRefTest, Paths) {
  EXPECT_EQ(resources::kPods.path("a", "web-0"), "/api/v1/namespaces/a/pods/web-0");
  EXPECT_EQ(resources::kPods.path(""), "/api/v1/pods");
  EXPECT_EQ(resources::kNamespaces.path("ignored", "x"), "/api/v1/namespaces/x");
  EXPECT_EQ(resources::kDeployments.path("a", "d", "scale"),
            "/apis/apps/v1/namespaces/a/deployments/d/scale");
  EXPECT_EQ(resources::kLoadTests.path("b", "t", "status"),
            "/apis/tokenstorm.dev/v1alpha1/namespaces/b/loadtests/t/status");
  EXPECT_EQ(resources::kCustomResourceDefinitions.path("", "x"),
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x");
  EXPECT_EQ(resources::kLeases.apiVersion(), "coordination.k8s.io/v1");
  EXPECT_EQ(urlEncode("app in (a,b),!x"), "app%20in%20%28a%2Cb%29%2C%21x");
}

TEST_F(ClientTest, GetSendsHeadersAndParsesJson) {
  transport_->push(FakeTransport::json(200, {{"kind", "Pod"}, {"metadata", {{"name", "web-0"}}}}));
  auto pod = client_.get(resources::kPods, "a", "web-0");
  ASSERT_TRUE(pod) << pod.error().str();
  EXPECT_EQ((*pod)["kind"], "Pod");
  HttpRequest r = last();
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/api/v1/namespaces/a/pods/web-0");
  EXPECT_EQ(r.headers["Authorization"], "Bearer tok");
  EXPECT_EQ(r.headers["Accept"], "application/json");
  EXPECT_EQ(r.headers["User-Agent"], "tokenstorm");
  EXPECT_EQ(r.timeout_ns, 30 * kSecond);
}

TEST_F(ClientTest, ListQueryAndListAllFollowsContinue) {
  transport_->push(FakeTransport::json(200, {{"items", {{{"n", 1}}, {{"n", 2}}}},
                                             {"metadata", {{"continue", "c1"}, {"resourceVersion", "5"}}}}));
  transport_->push(
      FakeTransport::json(200, {{"items", {{{"n", 3}}}}, {"metadata", {{"resourceVersion", "7"}}}}));
  ListOptions o;
  o.labelSelector = "app=web,tier!=db";
  o.fieldSelector = "metadata.name=x";
  o.limit = 2;
  auto all = client_.listAll(resources::kConfigMaps, "ns", o);
  ASSERT_TRUE(all) << all.error().str();
  EXPECT_EQ((*all)["items"].size(), 3u);
  EXPECT_EQ((*all)["metadata"], json({{"resourceVersion", "7"}}));
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].target,
            "/api/v1/namespaces/ns/configmaps?labelSelector=app%3Dweb%2Ctier%21%3Ddb"
            "&fieldSelector=metadata.name%3Dx&limit=2");
  EXPECT_EQ(requests[1].target, requests[0].target + "&continue=c1");
}

TEST_F(ClientTest, WritesShapes) {
  for (int i = 0; i < 8; ++i) {
    transport_->push(FakeTransport::json(200, {{"ok", i}}));
  }
  json cm = {{"metadata", {{"name", "cm"}, {"resourceVersion", "3"}}}, {"data", {{"a", "b"}}}};
  ASSERT_TRUE(client_.create(resources::kConfigMaps, "ns", cm));
  EXPECT_EQ(last().method, "POST");
  EXPECT_EQ(last().target, "/api/v1/namespaces/ns/configmaps?fieldManager=tokenstorm");
  EXPECT_EQ(json::parse(last().body), cm);
  EXPECT_EQ(last().headers["Content-Type"], "application/json");

  ASSERT_TRUE(client_.update(resources::kConfigMaps, "ns", cm));
  EXPECT_EQ(last().method, "PUT");
  EXPECT_EQ(last().target, "/api/v1/namespaces/ns/configmaps/cm?fieldManager=tokenstorm");

  ASSERT_TRUE(client_.patch(resources::kJobs, "ns", "j", PatchType::kJson,
                            json::array({{{"op", "remove"}, {"path", "/x"}}})));
  EXPECT_EQ(last().method, "PATCH");
  EXPECT_EQ(last().headers["Content-Type"], "application/json-patch+json");
  ASSERT_TRUE(client_.patch(resources::kJobs, "ns", "j", PatchType::kStrategicMerge, {{"spec", {}}}));
  EXPECT_EQ(last().headers["Content-Type"], "application/strategic-merge-patch+json");

  ASSERT_TRUE(client_.patchStatus(resources::kLoadTests, "ns", "t", PatchType::kMerge,
                                  {{"status", {{"phase", "Running"}}}}));
  EXPECT_EQ(last().target,
            "/apis/tokenstorm.dev/v1alpha1/namespaces/ns/loadtests/t/status?fieldManager=tokenstorm");
  EXPECT_EQ(last().headers["Content-Type"], "application/merge-patch+json");

  ASSERT_TRUE(client_.updateStatus(resources::kLoadTests, "ns", {{"metadata", {{"name", "t"}}}}));
  EXPECT_EQ(last().method, "PUT");
  EXPECT_EQ(last().target,
            "/apis/tokenstorm.dev/v1alpha1/namespaces/ns/loadtests/t/status?fieldManager=tokenstorm");

  ASSERT_TRUE(client_.patchScale(resources::kDeployments, "ns", "d", 4));
  EXPECT_EQ(last().target, "/apis/apps/v1/namespaces/ns/deployments/d/scale?fieldManager=tokenstorm");
  EXPECT_EQ(json::parse(last().body), json({{"spec", {{"replicas", 4}}}}));

  DeleteOptions d;
  d.propagationPolicy = "Foreground";
  d.gracePeriodSeconds = 0;
  d.preconditionUid = "u-1";
  d.preconditionResourceVersion = "9";
  ASSERT_TRUE(client_.remove(resources::kJobs, "ns", "j", d));
  EXPECT_EQ(last().method, "DELETE");
  EXPECT_EQ(last().target, "/apis/batch/v1/namespaces/ns/jobs/j");
  EXPECT_EQ(json::parse(last().body), json({{"apiVersion", "v1"},
                                            {"kind", "DeleteOptions"},
                                            {"propagationPolicy", "Foreground"},
                                            {"gracePeriodSeconds", 0},
                                            {"preconditions", {{"uid", "u-1"}, {"resourceVersion", "9"}}}}));
}

TEST_F(ClientTest, EventsK8sIoV1) {
  transport_->push(FakeTransport::json(201, {}));
  json loadtest = {
      {"apiVersion", "tokenstorm.dev/v1alpha1"},
      {"kind", "LoadTest"},
      {"metadata", {{"name", "lt"}, {"namespace", "team"}, {"uid", "u-9"}, {"resourceVersion", "4"}}}};
  EventRecord e;
  e.regarding = objectReference(loadtest);
  e.type = "Warning";
  e.reason = "BudgetExceeded";
  e.action = "Abort";
  e.note = "spent $10.00 of $10.00";
  e.reportingInstance = "operator-0";
  ASSERT_TRUE(client_.createEvent(e));
  EXPECT_EQ(last().target, "/apis/events.k8s.io/v1/namespaces/team/events?fieldManager=tokenstorm");
  json sent = json::parse(last().body);
  EXPECT_EQ(sent["regarding"], json({{"apiVersion", "tokenstorm.dev/v1alpha1"},
                                     {"kind", "LoadTest"},
                                     {"namespace", "team"},
                                     {"name", "lt"},
                                     {"uid", "u-9"},
                                     {"resourceVersion", "4"}}));
  EXPECT_EQ(sent["reportingController"], "tokenstorm.dev/operator");
  EXPECT_EQ(sent["reportingInstance"], "operator-0");
  EXPECT_EQ(sent["type"], "Warning");
  EXPECT_EQ(sent["action"], "Abort");
  EXPECT_EQ(sent["note"], "spent $10.00 of $10.00");
  std::string name = sent["metadata"]["name"];
  EXPECT_EQ(name.rfind("lt.", 0), 0u);
  std::string time = sent["eventTime"];
  ASSERT_EQ(time.size(), 27u) << time;  // 2026-11-17T08:53:20.000000Z: MicroTime
  EXPECT_EQ(time.back(), 'Z');
}

TEST_F(ClientTest, ErrorsCarryTheStatus) {
  transport_->push(FakeTransport::status(404, "NotFound", "pods \"x\" not found"));
  auto missing = client_.get(resources::kPods, "a", "x");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(missing.error().notFound());
  EXPECT_EQ(missing.error().str(), "GET /api/v1/namespaces/a/pods/x: 404 NotFound: pods \"x\" not found");

  transport_->push(FakeTransport::status(409, "AlreadyExists", "exists"));
  auto exists = client_.create(resources::kPods, "a", {{"metadata", {{"name", "x"}}}});
  EXPECT_TRUE(exists.error().alreadyExists());
  EXPECT_FALSE(exists.error().conflict());

  transport_->push(FakeTransport::status(409, "Conflict", "the object has been modified"));
  auto conflict = client_.update(resources::kPods, "a", {{"metadata", {{"name", "x"}}}});
  EXPECT_TRUE(conflict.error().conflict());

  HttpResponse html;
  html.status = 403;
  html.body = "<html>forbidden</html>";
  transport_->push(html);
  auto forbidden = client_.get(resources::kPods, "a", "x");
  EXPECT_TRUE(forbidden.error().forbidden());
  EXPECT_EQ(forbidden.error().message, "<html>forbidden</html>");
  EXPECT_EQ(transport_->requestCount(), 4u) << "none of these is retried";
}

TEST_F(ClientTest, RetriesGetOn5xxWithBackoff) {
  transport_->push(FakeTransport::status(503, "ServiceUnavailable", "busy"));
  transport_->push(FakeTransport::networkError("connection reset"));
  transport_->push(FakeTransport::json(200, {{"ok", true}}));
  auto r = client_.get(resources::kPods, "a", "x");
  ASSERT_TRUE(r) << r.error().str();
  EXPECT_EQ(transport_->requestCount(), 3u);
  EXPECT_EQ(sleeps_, (std::vector<core::MonoNanos>{250 * kMs, 500 * kMs}));
}

TEST_F(ClientTest, HonoursRetryAfterOn429) {
  transport_->push(FakeTransport::status(429, "TooManyRequests", "slow down", {{"retry-after", "3"}}));
  transport_->push(FakeTransport::json(201, {}));
  ASSERT_TRUE(client_.create(resources::kPods, "a", {}));
  EXPECT_EQ(sleeps_, (std::vector<core::MonoNanos>{3 * kSecond}));
}

TEST_F(ClientTest, DoesNotRetryNonIdempotentOnServerErrors) {
  transport_->push(FakeTransport::status(500, "InternalError", "boom"));
  auto r = client_.create(resources::kPods, "a", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 500);
  transport_->push(FakeTransport::networkError("connection refused"));
  auto n = client_.patch(resources::kPods, "a", "x", PatchType::kMerge, {});
  ASSERT_FALSE(n);
  EXPECT_TRUE(n.error().networkError());
  EXPECT_EQ(n.error().str(), "PATCH /api/v1/namespaces/a/pods/x?fieldManager=tokenstorm: connection refused");
  EXPECT_EQ(transport_->requestCount(), 2u);
  EXPECT_TRUE(sleeps_.empty());
}

TEST_F(ClientTest, GivesUpAfterMaxAttempts) {
  transport_->setHandler(
      [](const HttpRequest&) { return FakeTransport::status(503, "ServiceUnavailable", "down"); });
  auto r = client_.get(resources::kPods, "a", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().attempts, 5u);
  EXPECT_EQ(transport_->requestCount(), 5u);
  EXPECT_EQ(sleeps_, (std::vector<core::MonoNanos>{250 * kMs, 500 * kMs, 1000 * kMs, 2000 * kMs}));
  EXPECT_EQ(r.error().str(),
            "GET /api/v1/namespaces/a/pods/x: 503 ServiceUnavailable: down (after 5 attempts)");
}

TEST_F(ClientTest, GivesUpWhenRetryAfterIsTooLongOrBudgetSpent) {
  transport_->push(FakeTransport::status(429, "TooManyRequests", "later", {{"retry-after", "120"}}));
  auto r = client_.get(resources::kPods, "a", "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().retry_after_ns, 120 * kSecond);
  EXPECT_TRUE(sleeps_.empty());

  ClientOptions o = options();
  o.retry.max_total_ns = 5 * kSecond;
  Client bounded(transport_, nullptr, o);
  transport_->setHandler([](const HttpRequest&) {
    return FakeTransport::status(429, "TooManyRequests", "later", {{"retry-after", "2"}});
  });
  sleeps_.clear();
  auto b = bounded.get(resources::kPods, "a", "x");
  ASSERT_FALSE(b);
  EXPECT_EQ(sleeps_, (std::vector<core::MonoNanos>{2 * kSecond, 2 * kSecond}))
      << "a third wait would end past 5 s";
}

TEST_F(ClientTest, RateLimitWaitsOnTheClock) {
  ClientOptions o = options(5);
  o.burst = 2;
  Client limited(transport_, nullptr, o);
  transport_->setHandler([](const HttpRequest&) { return FakeTransport::json(200, {}); });
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(limited.get(resources::kPods, "a", "x"));
  }
  EXPECT_EQ(sleeps_, (std::vector<core::MonoNanos>{200 * kMs, 200 * kMs}));
  EXPECT_EQ(transport_->requests()[0].headers.count("Authorization"), 0u) << "no authenticator, no header";
}

TEST_F(ClientTest, Unauthorized401RereadsTheTokenOnce) {
  TempDir tmp;
  std::string path = tmp.write("token", "old");
  Client c(transport_, std::make_shared<TokenFileAuth>(path, clock_), options());
  ASSERT_TRUE(c.get(resources::kPods, "a", "x").error().notFound());  // reads "old"
  tmp.write("token", "new");
  transport_->push(FakeTransport::status(401, "Unauthorized", "token expired"));
  transport_->push(FakeTransport::json(200, {}));
  ASSERT_TRUE(c.get(resources::kPods, "a", "x"));
  auto requests = transport_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[1].headers["Authorization"], "Bearer old");
  EXPECT_EQ(requests[2].headers["Authorization"], "Bearer new");

  transport_->setHandler([](const HttpRequest&) { return FakeTransport::status(401, "Unauthorized", "no"); });
  auto denied = c.get(resources::kPods, "a", "x");
  ASSERT_FALSE(denied);
  EXPECT_TRUE(denied.error().unauthorized());
  EXPECT_EQ(transport_->requestCount(), 5u) << "one re-authentication, then the 401 is the answer";
}

TEST_F(ClientTest, WatchDecodesChunksAsTheyArrive) {
  FakeTransport::Stream s;
  s.chunks = {R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}})"
              "\n{\"type\":\"MOD",
              R"(IFIED","object":{"metadata":{"name":"a","resourceVersion":"6"}}})"
              "\n",
              R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}})"};
  transport_->pushStream(s);
  WatchOptions o;
  o.resourceVersion = "4";
  o.labelSelector = "app=x";
  o.timeoutSeconds = 300;
  std::vector<std::string> seen;
  Cancellation cancel;
  auto end = client_.watch(
      resources::kPods, "a", o,
      [&](const WatchEvent& e) {
        seen.push_back(std::string(eventTypeName(e.type)) + " " + e.resourceVersion);
        return true;
      },
      cancel);
  ASSERT_TRUE(end) << end.error().str();
  EXPECT_FALSE(end->cancelled);
  EXPECT_EQ(end->events, 3u);
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED 5", "MODIFIED 6", "BOOKMARK 9"}));
  EXPECT_EQ(
      last().target,
      "/api/v1/namespaces/a/pods?watch=1&allowWatchBookmarks=true&resourceVersion=4&labelSelector=app%3Dx"
      "&timeoutSeconds=300");
  EXPECT_EQ(last().headers["Authorization"], "Bearer tok");
}

TEST_F(ClientTest, WatchFailures) {
  FakeTransport::Stream gone;
  gone.status = 410;
  gone.body = FakeTransport::status(410, "Expired", "too old resource version").body;
  transport_->pushStream(gone);
  FakeTransport::Stream garbage;
  garbage.chunks = {"{not json}\n"};
  transport_->pushStream(garbage);
  FakeTransport::Stream broken;
  broken.chunks = {R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"1"}}})"
                   "\n"};
  broken.error = "connection reset by peer";
  transport_->pushStream(broken);
  FakeTransport::Stream stopped;
  stopped.chunks = {R"({"type":"ADDED","object":{"metadata":{"resourceVersion":"1"}}})"
                    "\n"};
  transport_->pushStream(stopped);

  Cancellation cancel;
  auto any = [](const WatchEvent&) { return true; };
  auto g = client_.watch(resources::kPods, "a", {}, any, cancel);
  ASSERT_FALSE(g);
  EXPECT_TRUE(g.error().gone());
  auto m = client_.watch(resources::kPods, "a", {}, any, cancel);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, 0);
  EXPECT_EQ(m.error().message.rfind("watch body: line 1: ", 0), 0u) << m.error().message;
  auto b = client_.watch(resources::kPods, "a", {}, any, cancel);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().message, "watch stream broke: connection reset by peer");
  auto s = client_.watch(
      resources::kPods, "a", {}, [](const WatchEvent&) { return false; }, cancel);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->cancelled);
}

}  // namespace
}  // namespace tokenstorm::kube
