// A scripted cluster for reconcile scenarios (tests/data/operator/decide and .../status): the LoadTest,
// its children and runner pods as JSON, changed by script lines, with decide()'s actions applied to it the
// way the API server, the Job controller and the garbage collector would.
//
// Script lines (after the case's title; blank lines and `#` lines are ignored):
//   spec FILE                     the LoadTest from a file of the source tree (namespace default, uid, gen 1)
//   set PATH = YAML               change a field of the LoadTest (PATH dotted: spec.suspend); a change
//                                 under spec bumps metadata.generation
//   at TIME | at +DURATION        the wall clock (RFC 3339, or an offset from the current time)
//   pods STATE                    every runner pod (one per completion index) to STATE
//   pod I STATE                   runner pod I: pending, running, ready, succeeded, oom, imagepull,
//                                 configerror, crash CODE, evicted, terminating, gone
//   shards ready                  every shard ConfigMap gets data.ready = now
//   shard I snapshot k=v...       shard I's snapshot.json: ok= failed= kind=(5xx|connect) ttft=MS in= out=
//                                 first= (index of its first request), final
//   shard I outcome PHASE [REASON]  shard I's outcome.json
//   shard I raw KEY TEXT          shard I's data[KEY] = TEXT (untrusted content)
//   job complete | job failed REASON | job gone
//   pricing IN OUT | pricing error TEXT   what the caller read from budget.pricingRef
//   restart                       the operator restarts: it forgets when it last updated the status
//   reconcile [dry|lagging]       decide() and print what it did (dry: without applying the actions;
//                                 lagging: without its deletions, as caches that have not seen them yet)
//   status                        print the LoadTest's status in full
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "operator_fixtures.h"
#include "support/case_file.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/operator/decide.h"

namespace tokenstorm::op::testing {

class WorldScript {
 public:
  std::vector<std::string> run(const std::string& input) {
    std::istringstream in(input);
    std::string line;
    std::getline(in, line);  // the title
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') {
        continue;
      }
      step(line);
    }
    return out_;
  }

 private:
  using Json = nlohmann::json;

  void step(const std::string& line) {
    std::istringstream words(line);
    std::string verb;
    words >> verb;
    if (verb == "spec") {
      std::string file;
      words >> file;
      core::LoadTest t = exampleTest(file);
      object_ = Json::parse(core::toJson(t).dump());
      object_.erase("status");
    } else if (verb == "set") {
      set(line.substr(4));
    } else if (verb == "at") {
      std::string when;
      words >> when;
      if (when[0] == '+') {
        auto d = core::Duration::parse(when.substr(1));
        ASSERT_TRUE(d.has_value()) << line;
        now_ += std::chrono::duration_cast<WallTime::duration>(std::chrono::nanoseconds(d->nanos));
      } else {
        auto at = parseTime(when);
        ASSERT_TRUE(at.has_value()) << line;
        now_ = *at;
      }
    } else if (verb == "pods") {
      std::string rest;
      std::getline(words, rest);
      for (int64_t i = 0; i < runners(); ++i) {
        pod(i, rest);
      }
    } else if (verb == "pod") {
      int64_t i = 0;
      std::string rest;
      words >> i;
      std::getline(words, rest);
      pod(i, rest);
    } else if (verb == "shards") {
      for (auto& cm : shards_) {
        cm["data"][contract::kReadyKey] = formatTimeMillis(now_);
      }
    } else if (verb == "shard") {
      int64_t i = 0;
      std::string what;
      words >> i >> what;
      Json* cm = shard(i);
      ASSERT_NE(cm, nullptr) << "no shard " << i << ": " << line;
      if (what == "snapshot") {
        (*cm)["data"][contract::kSnapshotKey] = snapshotText(words, i);
      } else if (what == "outcome") {
        std::string phase, why;
        words >> phase >> why;
        (*cm)["data"][contract::kOutcomeKey] = outcomeJson(phase, why);
      } else if (what == "raw") {
        std::string key, rest;
        words >> key;
        std::getline(words, rest);
        (*cm)["data"][key] = rest.empty() ? "" : rest.substr(1);
      } else {
        FAIL() << "unknown shard command: " << line;
      }
    } else if (verb == "job") {
      std::string what, why;
      words >> what >> why;
      ASSERT_TRUE(job_.has_value() || what == "gone") << line;
      if (what == "complete") {
        (*job_)["status"]["conditions"] = Json::array({{{"type", "Complete"}, {"status", "True"}}});
      } else if (what == "failed") {
        (*job_)["status"]["conditions"] = Json::array({{{"type", "Failed"},
                                                        {"status", "True"},
                                                        {"reason", why},
                                                        {"message", "Job has reached " + why}}});
      } else if (what == "gone") {
        job_.reset();
      }
    } else if (verb == "pricing") {
      std::string a, b;
      words >> a;
      if (a == "error") {
        std::getline(words, pricingError_);
        pricingError_ = pricingError_.substr(1);
        pricing_.reset();
      } else {
        words >> b;
        pricing_ = core::Pricing{*core::Decimal::parse(a), *core::Decimal::parse(b), std::nullopt};
        pricingError_.clear();
      }
    } else if (verb == "restart") {
      lastStatusUpdate_.reset();
    } else if (verb == "reconcile") {
      std::string mode;
      words >> mode;
      reconcile(mode != "dry", mode == "lagging");
    } else if (verb == "status") {
      printStatus();
    } else {
      FAIL() << "unknown script line: " << line;
    }
  }

  int64_t runners() const {
    return object_["spec"].value("runners", Json::object()).value("count", int64_t{1});
  }
  std::string name() const { return object_["metadata"]["name"]; }

  void set(const std::string& assignment) {
    auto eq = assignment.find(" = ");
    ASSERT_NE(eq, std::string::npos) << assignment;
    std::string path = assignment.substr(0, eq);
    core::ParsedDocuments parsed = core::parseDocuments(assignment.substr(eq + 3));
    ASSERT_EQ(parsed.documents.size(), 1u) << assignment;
    Json value = core::nodeToJson(parsed.documents[0]);
    Json* at = &object_;
    std::istringstream parts(path);
    std::string part;
    std::vector<std::string> keys;
    while (std::getline(parts, part, '.')) {
      keys.push_back(part);
    }
    for (size_t i = 0; i + 1 < keys.size(); ++i) {
      at = &(*at)[keys[i]];
    }
    (*at)[keys.back()] = value;
    if (keys.front() == "spec") {
      object_["metadata"]["generation"] = object_["metadata"]["generation"].get<int64_t>() + 1;
    }
  }

  Json* shard(int64_t i) {
    for (auto& cm : shards_) {
      if (cm["metadata"]["name"] == shardName(name(), i)) {
        return &cm;
      }
    }
    return nullptr;
  }

  void pod(int64_t i, std::string state) {
    while (!state.empty() && state[0] == ' ') {
      state.erase(0, 1);
    }
    std::string pod_name = jobName(name()) + "-" + std::to_string(i) + "-x7k2p";
    Json p = {{"metadata",
               {{"name", pod_name},
                {"annotations", {{"batch.kubernetes.io/job-completion-index", std::to_string(i)}}},
                {"labels", childLabels(name(), "runner")}}}};
    auto terminated = [](const char* why, int code) {
      return Json::array(
          {{{"name", "runner"}, {"state", {{"terminated", {{"reason", why}, {"exitCode", code}}}}}}});
    };
    auto waiting = [](const char* why, const char* message) {
      return Json::array(
          {{{"name", "runner"}, {"state", {{"waiting", {{"reason", why}, {"message", message}}}}}}});
    };
    if (state == "pending") {
      p["status"] = {{"phase", "Pending"}};
    } else if (state == "running") {
      p["status"] = {{"phase", "Running"},
                     {"conditions", Json::array({{{"type", "Ready"}, {"status", "False"}}})}};
    } else if (state == "ready") {
      p["status"] = {{"phase", "Running"},
                     {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}};
    } else if (state == "succeeded") {
      p["status"] = {{"phase", "Succeeded"}, {"containerStatuses", terminated("Completed", 0)}};
    } else if (state == "oom") {
      p["status"] = {{"phase", "Failed"}, {"containerStatuses", terminated("OOMKilled", 137)}};
    } else if (state.rfind("crash", 0) == 0) {
      p["status"] = {{"phase", "Failed"},
                     {"containerStatuses", terminated("Error", std::stoi(state.substr(6)))}};
    } else if (state == "imagepull") {
      p["status"] = {
          {"phase", "Pending"},
          {"containerStatuses", waiting("ImagePullBackOff", "Back-off pulling image \"tokenstorm:nope\"")}};
    } else if (state == "configerror") {
      p["status"] = {{"phase", "Pending"},
                     {"containerStatuses",
                      waiting("CreateContainerConfigError", "secret \"openai-api-key\" not found")}};
    } else if (state == "evicted") {
      p["status"] = {
          {"phase", "Failed"}, {"reason", "Evicted"}, {"message", "The node was low on resource: memory."}};
    } else if (state == "terminating" || state == "gone") {
      for (auto it = pods_.begin(); it != pods_.end(); ++it) {
        if ((*it)["metadata"]["name"] == pod_name) {
          if (state == "gone") {
            pods_.erase(it);
          } else {
            (*it)["metadata"]["deletionTimestamp"] = formatTime(now_);
          }
          return;
        }
      }
      return;
    } else {
      FAIL() << "unknown pod state: " << state;
    }
    for (auto& existing : pods_) {
      if (existing["metadata"]["name"] == pod_name) {
        existing = p;
        return;
      }
    }
    pods_.push_back(p);
  }

  std::string snapshotText(std::istringstream& words, int64_t index) {
    Traffic t;
    bool final = false;
    std::string kv;
    while (words >> kv) {
      if (kv == "final") {
        final = true;
        continue;
      }
      auto eq = kv.find('=');
      std::string k = kv.substr(0, eq);
      std::string v = kv.substr(eq + 1);
      if (k == "kind") {
        t.kind = v == "connect" ? core::ErrorKind::Connect : core::ErrorKind::Http5xx;
      } else if (k == "ok") {
        t.ok = std::stoi(v);
      } else if (k == "failed") {
        t.failed = std::stoi(v);
      } else if (k == "ttft") {
        t.ttft_ms = std::stoll(v);
      } else if (k == "in") {
        t.in = std::stoll(v);
      } else if (k == "out") {
        t.out = std::stoll(v);
      } else if (k == "first") {
        t.first = std::stoi(v);
      } else {
        ADD_FAILURE() << "unknown snapshot key " << k;
      }
    }
    core::LoadResult r = core::parseLoadTests(object_.dump());
    EXPECT_TRUE(r.errors.empty());
    return core::toJson(snapshot(r.tests.at(0).spec, "runner-" + std::to_string(index), t, final)).dump();
  }

  World world() const {
    World w;
    w.now = now_;
    w.loadTest = object_;
    w.plan = plan_;
    w.shards = shards_;
    w.job = job_;
    w.pods = pods_;
    w.report = report_;
    w.resolvedPricing = pricing_;
    w.pricingError = pricingError_;
    w.lastStatusUpdate = lastStatusUpdate_;
    return w;
  }

  void apply(const Action& a) {
    switch (a.kind) {
      case Action::Kind::Create:
        if (a.resource == "Job") {
          job_ = a.body;
        } else if (a.name == planName(name())) {
          plan_ = a.body;
        } else if (a.name == reportName(name())) {
          report_ = a.body;
        } else {
          shards_.push_back(a.body);
        }
        break;
      case Action::Kind::Patch:
        ASSERT_TRUE(plan_.has_value());
        plan_->merge_patch(a.body);
        break;
      case Action::Kind::Delete:
        if (a.resource == "Job") {
          job_.reset();
          for (auto& p : pods_) {  // the garbage collector deletes the pods: they get SIGTERM
            std::string phase = p["status"].value("phase", "");
            if (phase != "Succeeded" && phase != "Failed") {
              p["metadata"]["deletionTimestamp"] = formatTime(now_);
            }
          }
        } else if (a.name == planName(name())) {
          plan_.reset();
        } else if (a.name == reportName(name())) {
          report_.reset();
        } else {
          std::erase_if(shards_, [&](const Json& cm) { return cm["metadata"]["name"] == a.name; });
        }
        break;
      case Action::Kind::UpdateStatus:
        object_["status"] = a.body["status"];
        lastStatusUpdate_ = now_;
        break;
      case Action::Kind::Event:
        break;
    }
  }

  void reconcile(bool apply_actions, bool lagging = false) {
    Decision d = decide(world(), options_);
    out_.push_back("reconcile at " + formatTime(now_) + (apply_actions ? "" : " (dry)") +
                   (lagging ? " (lagging)" : ""));
    for (const Action& a : d.actions) {
      std::string text = describe(a);
      if (a.kind == Action::Kind::UpdateStatus) {
        text += ": " + std::string(core::enumName(*d.status.phase)) + " " + phaseReason(d.status) + ": " +
                phaseMessage(d.status);
      }
      out_.push_back("  " + text);
      if (apply_actions && !(lagging && a.kind == Action::Kind::Delete)) {
        apply(a);
      }
    }
    out_.push_back(d.requeue.wait ? "  wait" : "  requeue after " + d.requeue.after.str());
  }

  void printStatus() {
    if (!object_.contains("status")) {
      out_.push_back("status: none");
      return;
    }
    const Json& s = object_["status"];
    out_.push_back("phase " + s.value("phase", "") + " observedGeneration " +
                   std::to_string(s.value("observedGeneration", int64_t{0})));
    for (const Json& c : s.value("conditions", Json::array())) {
      out_.push_back("  " + c.value("type", "") + "=" + c.value("status", "") + " " + c.value("reason", "") +
                     " " + Json(c.value("message", "")).dump() + " since " +
                     c.value("lastTransitionTime", "") + " gen " +
                     std::to_string(c.value("observedGeneration", int64_t{0})));
    }
    for (const char* key :
         {"runId", "runners", "stage", "verdict", "startTime", "completionTime", "reportRef"}) {
      if (s.contains(key)) {
        out_.push_back("  " + std::string(key) + " " + s[key].dump());
      }
    }
    if (s.contains("summary")) {
      const Json& m = s["summary"];
      out_.push_back("  summary requests " + m["requests"].dump() + " cost " + m["cost"].dump() +
                     " ttftMs.p95 " + m["ttftMs"]["p95"].dump() + " requestsPerSecond " +
                     m.value("requestsPerSecond", Json()).dump());
    }
    for (const Json& t : s.value("thresholds", Json::array())) {
      out_.push_back("  threshold " + t.value("metric", "") + " " + t.value("limit", "") + " value " +
                     t["value"].dump() + (t.value("passed", false) ? " passed" : " failed"));
    }
  }

  OperatorOptions options_ = [] {
    OperatorOptions o;
    o.image = "ghcr.io/tokenstorm/tokenstorm:test";
    return o;
  }();
  WallTime now_ = *parseTime("2025-01-15T10:00:00Z");
  Json object_;
  std::optional<Json> plan_;
  std::vector<Json> shards_;
  std::optional<Json> job_;
  std::vector<Json> pods_;
  std::optional<Json> report_;
  std::optional<core::Pricing> pricing_;
  std::string pricingError_;
  std::optional<WallTime> lastStatusUpdate_;
  std::vector<std::string> out_;
};

inline std::vector<std::string> runScript(const std::string& input) {
  return WorldScript().run(input);
}

}  // namespace tokenstorm::op::testing
