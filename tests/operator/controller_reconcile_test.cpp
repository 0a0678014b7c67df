// Controller::reconcile over a kube::Client on a FakeTransport: the caches are filled through
// observeForTesting() (the informers never start) and time is a ManualClock, so each case is one
// reconcile (or a few) and the exact API requests it sent — method, path, the body fields that matter —
// plus the outcome it handed its queue. FakeApi below answers like a small API server (objects by path,
// resourceVersions, AlreadyExists, NotFound, status Conflicts on a stale resourceVersion); one-off failures
// are scripted with failNext().
#include "tokenstorm/operator/controller.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "operator_fixtures.h"
#include "support/fake_transport.h"
#include "support/manual_clock.h"
#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::op {
namespace {

using Json = nlohmann::json;
using tokenstorm::testing::FakeTransport;

constexpr core::MonoNanos kSecond_ns = 1'000'000'000;

// Collections and objects as the client addresses them.
const std::string kConfigMaps = "/api/v1/namespaces/default/configmaps";
const std::string kJobs = "/apis/batch/v1/namespaces/default/jobs";
const std::string kLoadTests = "/apis/tokenstorm.dev/v1alpha1/namespaces/default/loadtests";
const std::string kEvents = "/apis/events.k8s.io/v1/namespaces/default/events";

// The requests of a first reconcile of kChat: the plan, two shards, the Job, the status and an Event.
const std::vector<std::string> kLaunch = {"POST " + kConfigMaps,
                                          "POST " + kConfigMaps,
                                          "POST " + kConfigMaps,
                                          "POST " + kJobs,
                                          "PUT " + kLoadTests + "/chat/status",
                                          "POST " + kEvents};

// Two runners, one 10 s stage, stopped by the operator after 60 s at the latest.
constexpr const char* kChat = R"(apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata: {name: chat, namespace: default}
spec:
  target:
    endpoints: [{name: sim, url: "sim://", model: sim-llama}]
  workload:
    classes:
      - {name: chat, prompt: {synthetic: {inputTokens: {fixed: 100}}}, maxOutputTokens: {fixed: 50}}
  load:
    stages: [{duration: 10s, rate: 10, hold: true}]
  limits: {maxDuration: 60s}
  runners: {count: 2}
)";

// kChat with a budget priced by the ConfigMap "prices" (key prices.yaml).
std::string pricedChat() {
  return std::string(kChat) +
         "  budget: {maxCost: \"10.00\", pricingRef: {name: prices, key: prices.yaml}}\n";
}

// A small Kubernetes API behind the FakeTransport's handler.
class FakeApi {
 public:
  explicit FakeApi(FakeTransport& transport) {
    transport.setHandler([this](const kube::HttpRequest& r) { return answer(r); });
  }

  // Stores `object` in `collection` as if it had been created before; returns it as stored.
  Json add(const std::string& collection, Json object) {
    object["metadata"]["resourceVersion"] = nextVersion();
    objects_[collection + "/" + object["metadata"]["name"].get<std::string>()] = object;
    return object;
  }
  // Changes a stored object (a runner writing its shard, a user labelling the LoadTest): a new version.
  Json modify(const std::string& path, const std::function<void(Json&)>& change) {
    Json& object = objects_.at(path);
    change(object);
    object["metadata"]["resourceVersion"] = nextVersion();
    return object;
  }
  std::optional<Json> object(const std::string& path) const {
    auto it = objects_.find(path);
    return it == objects_.end() ? std::nullopt : std::optional<Json>(it->second);
  }
  size_t count(const std::string& collection) const {
    size_t n = 0;
    for (const auto& [path, object] : objects_) {
      n += path.rfind(collection + "/", 0) == 0 ? 1 : 0;
    }
    return n;
  }
  // The next `method` on `path` (without query) gets `response` instead, once.
  void failNext(const std::string& method, const std::string& path, kube::HttpResponse response) {
    failures_.push_back({method, path, std::move(response)});
  }

 private:
  struct Failure {
    std::string method;
    std::string path;
    kube::HttpResponse response;
  };

  std::string nextVersion() { return std::to_string(++version_); }

  kube::HttpResponse answer(const kube::HttpRequest& r) {
    const std::string path = r.target.substr(0, r.target.find('?'));
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (it->method == r.method && it->path == path) {
        kube::HttpResponse response = std::move(it->response);
        failures_.erase(it);
        return response;
      }
    }
    if (r.method == "POST") {
      Json object = Json::parse(r.body);
      if (path == kEvents) {
        return FakeTransport::json(201, object);  // not kept: Events are only looked at as requests
      }
      const std::string name = object["metadata"]["name"];
      if (objects_.count(path + "/" + name)) {
        return FakeTransport::status(409, "AlreadyExists", "\"" + name + "\" already exists");
      }
      object["metadata"]["uid"] = "uid-" + name;
      return FakeTransport::json(201, add(path, object));
    }
    const bool status = path.size() > 7 && path.compare(path.size() - 7, 7, "/status") == 0;
    auto it = objects_.find(status ? path.substr(0, path.size() - 7) : path);
    if (it == objects_.end()) {
      return FakeTransport::status(404, "NotFound", path + " not found");
    }
    Json& held = it->second;
    if (r.method == "GET") {
      return FakeTransport::json(200, held);
    }
    if (r.method == "PUT" && status) {
      Json object = Json::parse(r.body);
      if (object["metadata"].value("resourceVersion", "") != held["metadata"]["resourceVersion"]) {
        return FakeTransport::status(409, "Conflict",
                                     "Operation cannot be fulfilled: the object has been modified; please "
                                     "apply your changes to the latest version and try again");
      }
      held["status"] = object["status"];
      held["metadata"]["resourceVersion"] = nextVersion();
      return FakeTransport::json(200, held);
    }
    if (r.method == "PATCH") {
      held.merge_patch(Json::parse(r.body));
      held["metadata"]["resourceVersion"] = nextVersion();
      return FakeTransport::json(200, held);
    }
    if (r.method == "DELETE") {
      objects_.erase(it);
      return FakeTransport::json(200, {{"kind", "Status"}, {"status", "Success"}});
    }
    return FakeTransport::status(405, "MethodNotAllowed", r.method + " " + path);
  }

  int64_t version_ = 100;
  std::map<std::string, Json> objects_;  // by path
  std::vector<Failure> failures_;
};

// One request as sent.
struct Call {
  std::string method;
  std::string target;
  Json body;
  std::string line() const { return method + " " + target; }
};

// A Controller and the Prometheus registry it reports to (a restart makes a new one of these).
struct Operator {
  prometheus::Registry registry;
  Controller controller;
  Operator(kube::Client& client, ControllerOptions options)
      : controller(client, std::move(options), registry) {}

  double counter(const std::string& name) {
    for (const auto& family : registry.Collect()) {
      if (family.name == name && !family.metric.empty()) {
        return family.metric.front().counter.value;
      }
    }
    return -1;
  }
};

class ControllerReconcileTest : public ::testing::Test {
 protected:
  ControllerReconcileTest()
      : api_(*transport_),
        client_(transport_, std::make_shared<kube::StaticTokenAuth>("tok"), clientOptions()) {
    operator_ = start();
  }

  kube::ClientOptions clientOptions() {
    kube::ClientOptions o;
    o.qps = 0;
    o.clock = &clock_;
    o.sleep = [this](core::MonoNanos ns) { clock_.advance(ns); };
    o.random01 = [] { return 0.0; };
    return o;
  }

  // A fresh controller (an operator restart): empty caches, nothing in memory.
  std::unique_ptr<Operator> start() {
    ControllerOptions o;
    o.identity = "tokenstorm-operator-0";
    o.clock = &clock_;
    o.op.image = "ghcr.io/tokenstorm/tokenstorm:test";
    o.op.startLead = core::Duration::fromSeconds(2);
    o.op.deadlineGrace = core::Duration::fromSeconds(300);
    o.op.statusInterval = core::Duration::fromSeconds(5);
    return std::make_unique<Operator>(client_, o);
  }
  Controller& controller() { return operator_->controller; }

  // The LoadTest, stored in the API and in the controller's cache as the API returns it; `change` edits
  // its JSON first (a spec the validator would refuse cannot come from testing::loadTest).
  Json applyLoadTest(const std::string& yaml, const std::function<void(Json&)>& change = {}) {
    Json object = Json::parse(core::toJson(testing::loadTest(yaml)).dump());
    object.erase("status");
    if (change) {
      change(object);
    }
    Json stored = api_.add(kLoadTests, object);
    EXPECT_TRUE(controller().observeForTesting(stored));
    return stored;
  }
  // What the informer of `path`'s kind would deliver now.
  void observe(const std::string& path) {
    auto object = api_.object(path);
    ASSERT_TRUE(object.has_value()) << path;
    ASSERT_TRUE(controller().observeForTesting(*object)) << path;
  }
  // Runner pod `index` of the Job, running and Ready.
  void observeReadyRunnerPod(int64_t index) {
    Json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata",
         {{"name", "chat-runners-" + std::to_string(index) + "-x7k2p"},
          {"namespace", "default"},
          {"resourceVersion", "50" + std::to_string(index)},
          {"annotations", {{"batch.kubernetes.io/job-completion-index", std::to_string(index)}}},
          {"labels", childLabels("chat", "runner")}}},
        {"status",
         {{"phase", "Running"}, {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
    ASSERT_TRUE(controller().observeForTesting(pod));
  }

  // Runs reconcile("default/chat") and returns the requests it sent; its log lines go to log_.
  std::vector<Call> reconcile(kube::ReconcileOutcome* outcome = nullptr) {
    const size_t before = transport_->requestCount();
    ::testing::internal::CaptureStderr();
    kube::ReconcileOutcome got = controller().reconcile("default/chat");
    log_ = ::testing::internal::GetCapturedStderr();
    if (outcome != nullptr) {
      *outcome = got;
    }
    std::vector<Call> calls;
    const auto requests = transport_->requests();
    for (size_t i = before; i < requests.size(); ++i) {
      const auto& r = requests[i];
      calls.push_back({r.method, r.target, r.body.empty() ? Json() : Json::parse(r.body)});
    }
    return calls;
  }
  static std::vector<std::string> lines(const std::vector<Call>& calls) {
    std::vector<std::string> out;
    for (const Call& c : calls) {
      out.push_back(c.line());
    }
    return out;
  }
  // The condition of that type (null when absent).
  static Json condition(const Json& status, const std::string& type) {
    for (const Json& c : status.value("conditions", Json::array())) {
      if (c.value("type", "") == type) {
        return c;
      }
    }
    return nullptr;
  }
  std::string wallMillis(core::MonoNanos from_now_ns = 0) const {
    return formatTimeMillis(clock_.wallNow() + std::chrono::nanoseconds(from_now_ns));
  }

  tokenstorm::testing::ManualClock clock_;
  std::shared_ptr<FakeTransport> transport_ = std::make_shared<FakeTransport>();
  FakeApi api_;
  kube::Client client_;
  std::unique_ptr<Operator> operator_;
  std::string log_;  // what the last reconcile() logged
};

// (By value: operator[] on a missing key of a const json is undefined; here it gives null.)
void expectOwnedByChat(Json object, const std::string& uid) {
  ASSERT_EQ(object["metadata"]["ownerReferences"].size(), 1u) << object.dump();
  Json& owner = object["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["apiVersion"], "tokenstorm.dev/v1alpha1");
  EXPECT_EQ(owner["kind"], "LoadTest");
  EXPECT_EQ(owner["name"], "chat");
  EXPECT_EQ(owner["uid"], uid);
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(owner["blockOwnerDeletion"], true);
}

// 1. A new valid LoadTest: plan, shards and the Indexed Job created, the status written through the
// status subresource with the resourceVersion read, and one Event.
TEST_F(ControllerReconcileTest, NewLoadTestCreatesItsChildrenThenWritesStatusAndAnEvent) {
  Json lt = applyLoadTest(kChat);
  const std::string uid = lt["metadata"]["uid"];
  kube::ReconcileOutcome outcome;
  std::vector<Call> calls = reconcile(&outcome);
  ASSERT_EQ(lines(calls), kLaunch);

  Json& plan = calls[0].body;
  EXPECT_EQ(plan["kind"], "ConfigMap");
  EXPECT_EQ(plan["metadata"]["name"], "chat-plan");
  EXPECT_EQ(plan["metadata"]["labels"]["tokenstorm.dev/role"], "plan");
  EXPECT_EQ(plan["metadata"]["labels"]["tokenstorm.dev/loadtest"], "chat");
  expectOwnedByChat(plan, uid);
  EXPECT_EQ(plan["data"]["runners"], "2");
  EXPECT_FALSE(plan["data"].contains("startAt"));
  Json document = Json::parse(plan["data"]["loadtest.json"].get<std::string>());
  EXPECT_EQ(document["metadata"]["name"], "chat");
  EXPECT_EQ(document["metadata"]["uid"], uid);
  EXPECT_EQ(document["spec"]["runners"]["count"], 2);

  for (int i = 0; i < 2; ++i) {
    Json& shard = calls[1 + i].body;
    EXPECT_EQ(shard["metadata"]["name"], "chat-shard-" + std::to_string(i));
    EXPECT_EQ(shard["metadata"]["labels"]["tokenstorm.dev/role"], "shard");
    expectOwnedByChat(shard, uid);
  }

  Json& job = calls[3].body;
  EXPECT_EQ(job["kind"], "Job");
  EXPECT_EQ(job["metadata"]["name"], "chat-runners");
  expectOwnedByChat(job, uid);
  EXPECT_EQ(job["spec"]["completionMode"], "Indexed");
  EXPECT_EQ(job["spec"]["completions"], 2);
  EXPECT_EQ(job["spec"]["parallelism"], 2);
  EXPECT_EQ(job["spec"]["backoffLimit"], 0);
  EXPECT_EQ(job["spec"]["activeDeadlineSeconds"], 60 + 2 + 300);  // maxDuration + startLead + grace

  Json& put = calls[4].body;
  EXPECT_EQ(put["metadata"]["name"], "chat");
  EXPECT_EQ(put["metadata"]["resourceVersion"], lt["metadata"]["resourceVersion"]);
  EXPECT_EQ(put["spec"], lt["spec"]);
  EXPECT_EQ(put["status"]["phase"], "Provisioning");
  EXPECT_EQ(put["status"]["observedGeneration"], 1);
  Json reconciling = condition(put["status"], "Reconciling");
  ASSERT_TRUE(reconciling.is_object());
  EXPECT_EQ(reconciling["status"], "True");
  EXPECT_EQ(reconciling["reason"], "WaitingForRunners");
  Json ready = condition(put["status"], "Ready");
  ASSERT_TRUE(ready.is_object());
  EXPECT_EQ(ready["status"], "False");
  EXPECT_EQ(ready["message"], "0/2 runner pods ready, 0/2 shards ready");

  Json& event = calls[5].body;
  EXPECT_EQ(event["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(event["type"], "Normal");
  EXPECT_EQ(event["reason"], "WaitingForRunners");
  EXPECT_EQ(event["action"], "Provisioning");
  EXPECT_EQ(event["regarding"]["kind"], "LoadTest");
  EXPECT_EQ(event["regarding"]["name"], "chat");
  EXPECT_EQ(event["regarding"]["uid"], uid);
  EXPECT_EQ(event["reportingController"], "tokenstorm.dev/operator");
  EXPECT_EQ(event["reportingInstance"], "tokenstorm-operator-0");

  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);  // wait for the runners
  EXPECT_EQ(operator_->counter("tokenstorm_operator_reconcile_errors_total"), 0);
  EXPECT_EQ(api_.object(kLoadTests + "/chat")->at("status").at("phase"), "Provisioning");
}

// 2. Reconciling the same state again creates nothing twice: once the cache has what was written nothing
// is sent; after a restart whose cache has not caught up, every create is answered AlreadyExists, which
// is no error, and the API still holds one of each.
TEST_F(ControllerReconcileTest, ReconcilingTwiceIsIdempotentAndAlreadyExistsIsNoError) {
  applyLoadTest(kChat);
  ASSERT_EQ(lines(reconcile()), kLaunch);
  for (const char* name : {"chat-plan", "chat-shard-0", "chat-shard-1"}) {
    observe(kConfigMaps + "/" + name);
  }
  observe(kJobs + "/chat-runners");
  observe(kLoadTests + "/chat");
  kube::ReconcileOutcome outcome;
  EXPECT_EQ(lines(reconcile(&outcome)), std::vector<std::string>{});
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);

  // The operator restarts; its informers have listed the LoadTest (with the status written) but none of
  // the children yet.
  operator_ = start();
  observe(kLoadTests + "/chat");
  std::vector<Call> calls = reconcile(&outcome);
  EXPECT_EQ(lines(calls), (std::vector<std::string>{"POST " + kConfigMaps, "POST " + kConfigMaps,
                                                    "POST " + kConfigMaps, "POST " + kJobs}));
  EXPECT_EQ(calls[0].body["metadata"]["name"], "chat-plan");  // the same names: nothing new to create
  EXPECT_EQ(calls[3].body["metadata"]["name"], "chat-runners");
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);
  EXPECT_EQ(operator_->counter("tokenstorm_operator_reconcile_errors_total"), 0);
  EXPECT_EQ(api_.count(kConfigMaps), 3u);
  EXPECT_EQ(api_.count(kJobs), 1u);
}

// 3. An invalid spec: only the status (Failed, Stalled=True, InvalidSpec, the field path) and a Warning.
TEST_F(ControllerReconcileTest, InvalidSpecWritesOnlyTheStatusAndAnEvent) {
  applyLoadTest(kChat, [](Json& lt) {
    lt["spec"]["load"]["stages"].push_back({{"duration", "0s"}, {"rate", 5}});
  });
  kube::ReconcileOutcome outcome;
  std::vector<Call> calls = reconcile(&outcome);
  ASSERT_EQ(lines(calls),
            (std::vector<std::string>{"PUT " + kLoadTests + "/chat/status", "POST " + kEvents}));
  const std::string why = "spec.load.stages[1].duration: must be greater than 0 (got \"0s\")";
  Json& status = calls[0].body["status"];
  EXPECT_EQ(status["phase"], "Failed");
  Json stalled = condition(status, "Stalled");
  ASSERT_TRUE(stalled.is_object());
  EXPECT_EQ(stalled["status"], "True");
  EXPECT_EQ(stalled["reason"], "InvalidSpec");
  EXPECT_EQ(stalled["message"], why);
  EXPECT_EQ(condition(status, "Reconciling")["status"], "False");
  EXPECT_EQ(calls[1].body["type"], "Warning");
  EXPECT_EQ(calls[1].body["reason"], "InvalidSpec");
  EXPECT_EQ(calls[1].body["note"], why);
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);
  EXPECT_EQ(api_.count(kConfigMaps), 0u);
  EXPECT_EQ(api_.count(kJobs), 0u);
}

// 4. A status update refused as stale (someone changed the LoadTest after the cache read it): requeued
// shortly (the informer catches up), not counted as an error; the Event waits for that reconcile.
TEST_F(ControllerReconcileTest, StatusConflictRequeuesWithoutAnError) {
  applyLoadTest(kChat);
  api_.modify(kLoadTests + "/chat", [](Json& lt) { lt["metadata"]["labels"]["team"] = "inference"; });
  kube::ReconcileOutcome outcome;
  EXPECT_EQ(lines(reconcile(&outcome)),
            (std::vector<std::string>{"POST " + kConfigMaps, "POST " + kConfigMaps, "POST " + kConfigMaps,
                                      "POST " + kJobs, "PUT " + kLoadTests + "/chat/status"}));
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kRequeueAfter);
  EXPECT_EQ(outcome.after_ns, kSecond_ns / 2);
  EXPECT_EQ(operator_->counter("tokenstorm_operator_reconcile_errors_total"), 0);
  EXPECT_NE(log_.find("level=info msg=\"status update conflict; requeued\""), std::string::npos) << log_;
  EXPECT_EQ(log_.find("level=error"), std::string::npos) << log_;
  EXPECT_FALSE(api_.object(kLoadTests + "/chat")->contains("status"));

  // The informer delivers the changed LoadTest: the status goes out with its resourceVersion.
  observe(kLoadTests + "/chat");
  std::vector<Call> calls = reconcile(&outcome);
  ASSERT_EQ(lines(calls),
            (std::vector<std::string>{"PUT " + kLoadTests + "/chat/status", "POST " + kEvents}));
  EXPECT_EQ(calls[0].body["metadata"]["labels"]["team"], "inference");
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);
}

// 5. A create answered 500: an error (the queue's rate-limited backoff); the actions after it wait for the
// retry, which creates only what is still missing.
TEST_F(ControllerReconcileTest, CreateFailureIsAnErrorAndTheRetryCreatesWhatIsMissing) {
  applyLoadTest(kChat);
  api_.failNext("POST", kJobs, FakeTransport::status(500, "InternalError", "etcdserver: request timed out"));
  kube::ReconcileOutcome outcome;
  EXPECT_EQ(lines(reconcile(&outcome)),
            (std::vector<std::string>{"POST " + kConfigMaps, "POST " + kConfigMaps, "POST " + kConfigMaps,
                                      "POST " + kJobs}));
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kError);
  EXPECT_EQ(operator_->counter("tokenstorm_operator_reconcile_errors_total"), 1);
  EXPECT_NE(log_.find("level=error msg=\"API call failed\" loadtest=default/chat action=\"create Job "
                      "chat-runners\" error=\"POST " +
                      kJobs + ": 500 InternalError: etcdserver: request timed out\""),
            std::string::npos)
      << log_;
  EXPECT_FALSE(api_.object(kLoadTests + "/chat")->contains("status"));

  std::vector<Call> calls = reconcile(&outcome);
  ASSERT_EQ(lines(calls), (std::vector<std::string>{"POST " + kJobs, "PUT " + kLoadTests + "/chat/status",
                                                    "POST " + kEvents}));
  EXPECT_EQ(calls[1].body["status"]["phase"], "Provisioning");
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);
  EXPECT_EQ(api_.count(kJobs), 1u);
}

// 6. A LoadTest gone from the cache: nothing to do (the garbage collector removes its children).
TEST_F(ControllerReconcileTest, LoadTestDeletedFromTheCacheSendsNothing) {
  Json lt = applyLoadTest(kChat);
  ASSERT_EQ(lines(reconcile()), kLaunch);
  ASSERT_TRUE(controller().observeForTesting(lt, /*deleted=*/true));
  kube::ReconcileOutcome outcome;
  EXPECT_EQ(lines(reconcile(&outcome)), std::vector<std::string>{});
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);
  // A key the controller never cached at all: likewise.
  EXPECT_EQ(controller().reconcile("default/other").kind, kube::ReconcileOutcome::Kind::kDone);
  EXPECT_EQ(transport_->requestCount(), kLaunch.size());
}

// 7a. budget.pricingRef read: the prices go into the plan (pricingRef removed) and, once runners report
// with them, the spent money into the status.
TEST_F(ControllerReconcileTest, PricingRefPricesReachThePlanAndTheStatusCost) {
  api_.add(kConfigMaps, {{"apiVersion", "v1"},
                         {"kind", "ConfigMap"},
                         {"metadata", {{"name", "prices"}, {"namespace", "default"}}},
                         {"data", {{"prices.yaml", "input: \"3.00\"\noutput: \"15.00\"\n"}}}});
  applyLoadTest(pricedChat());
  std::vector<Call> calls = reconcile();
  ASSERT_EQ(calls.size(), 1 + kLaunch.size());
  EXPECT_EQ(calls[0].line(), "GET " + kConfigMaps + "/prices");
  EXPECT_EQ(calls[1].body["metadata"]["name"], "chat-plan");
  Json document = Json::parse(calls[1].body["data"]["loadtest.json"].get<std::string>());
  EXPECT_EQ(document["spec"]["budget"]["pricing"], (Json{{"input", "3.00"}, {"output", "15.00"}}));
  EXPECT_FALSE(document["spec"]["budget"].contains("pricingRef"));

  // Both runners ready, startAt written and passed; runner 0 has sent 10 requests priced by the plan.
  const core::LoadTest planned = core::parseLoadTests(document.dump()).tests.at(0);
  const std::string started = wallMillis();
  api_.modify(kConfigMaps + "/chat-plan", [&](Json& cm) { cm["data"]["startAt"] = started; });
  for (int i = 0; i < 2; ++i) {
    api_.modify(kConfigMaps + "/chat-shard-" + std::to_string(i), [&](Json& cm) {
      cm["data"]["ready"] = started;
      if (i == 0) {
        cm["data"]["snapshot.json"] =
            core::toJson(testing::snapshot(planned.spec, "runner-0", {.ok = 10, .in = 100, .out = 20}, false))
                .dump();
      }
    });
    observe(kConfigMaps + "/chat-shard-" + std::to_string(i));
    observeReadyRunnerPod(i);
  }
  observe(kConfigMaps + "/chat-plan");
  observe(kJobs + "/chat-runners");
  observe(kLoadTests + "/chat");
  clock_.advance(3 * kSecond_ns);

  calls = reconcile();
  ASSERT_EQ(lines(calls),
            (std::vector<std::string>{"GET " + kConfigMaps + "/prices", "PUT " + kLoadTests + "/chat/status",
                                      "POST " + kEvents}));
  Json& status = calls[1].body["status"];
  EXPECT_EQ(status["phase"], "Running");
  // 1,000 input tokens at $3 and 200 output tokens at $15 per million.
  EXPECT_EQ(status["summary"]["cost"]["spentUsd"], "0.006");
  EXPECT_EQ(condition(status, "Ready")["message"].get<std::string>().find("refused"), std::string::npos);
}

// 7b. budget.pricingRef naming a ConfigMap that does not exist: nothing launched, the status says which
// ConfigMap, and the read is retried in 30 s.
TEST_F(ControllerReconcileTest, PricingRefNotFoundIsInvalidSpecNamingTheConfigMap) {
  applyLoadTest(pricedChat());
  kube::ReconcileOutcome outcome;
  std::vector<Call> calls = reconcile(&outcome);
  ASSERT_EQ(lines(calls),
            (std::vector<std::string>{"GET " + kConfigMaps + "/prices", "PUT " + kLoadTests + "/chat/status",
                                      "POST " + kEvents}));
  Json& status = calls[1].body["status"];
  EXPECT_EQ(status["phase"], "Failed");
  Json stalled = condition(status, "Stalled");
  ASSERT_TRUE(stalled.is_object());
  EXPECT_EQ(stalled["reason"], "InvalidSpec");
  EXPECT_EQ(
      stalled["message"],
      "spec.budget.pricingRef: ConfigMap \"prices\" key \"prices.yaml\" could not be read: ConfigMap not "
      "found");
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kRequeueAfter);
  EXPECT_EQ(outcome.after_ns, 30 * kSecond_ns);
  EXPECT_EQ(api_.count(kJobs), 0u);
}

// 8. What the controller wrote stands in for the cache until the informer delivers it: the Job is not
// created twice, and startAt is written once.
TEST_F(ControllerReconcileTest, OwnWritesStandInForACacheThatHasNotCaughtUp) {
  applyLoadTest(kChat);
  ASSERT_EQ(lines(reconcile()), kLaunch);
  // The informer has delivered the ConfigMaps, not yet the Job (nor the LoadTest's new status).
  for (const char* name : {"chat-plan", "chat-shard-0", "chat-shard-1"}) {
    observe(kConfigMaps + "/" + name);
  }
  kube::ReconcileOutcome outcome;
  EXPECT_EQ(lines(reconcile(&outcome)), std::vector<std::string>{});
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kDone);

  // The runners are up and have said so in their shards: startAt = now + startLead.
  clock_.advance(3 * kSecond_ns);
  observe(kJobs + "/chat-runners");
  for (int i = 0; i < 2; ++i) {
    const std::string shard = kConfigMaps + "/chat-shard-" + std::to_string(i);
    api_.modify(shard, [&](Json& cm) { cm["data"]["ready"] = wallMillis(); });
    observe(shard);
    observeReadyRunnerPod(i);
  }
  const std::string start_at = wallMillis(2 * kSecond_ns);
  std::vector<Call> calls = reconcile(&outcome);
  ASSERT_EQ(lines(calls), std::vector<std::string>{"PATCH " + kConfigMaps + "/chat-plan"});
  EXPECT_EQ(calls[0].body, (Json{{"data", {{"startAt", start_at}}}}));
  EXPECT_EQ(outcome.kind, kube::ReconcileOutcome::Kind::kRequeueAfter);
  EXPECT_EQ(outcome.after_ns, 2 * kSecond_ns);

  // The cache's plan is still the one without startAt: no second PATCH, no Job.
  clock_.advance(kSecond_ns);
  EXPECT_EQ(lines(reconcile(&outcome)), std::vector<std::string>{});
  EXPECT_EQ(api_.object(kConfigMaps + "/chat-plan")->at("data").at("startAt"), start_at);
  EXPECT_EQ(api_.count(kJobs), 1u);
}

}  // namespace
}  // namespace tokenstorm::op
