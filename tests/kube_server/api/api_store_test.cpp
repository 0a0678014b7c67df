// ApiStore: every rule of api_store.h's header comment, against a ManualClock.
#include "api/api_store.h"

#include <gtest/gtest.h>

#include <thread>

#include "api/yaml_json.h"
#include "support/case_file.h"
#include "support/manual_clock.h"

// Options are written as designated initializers ({.propagationPolicy = "Orphan"}); GCC 12 warns about the
// members they leave to their defaults, which is the point of writing them that way.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

constexpr auto kEventWait = std::chrono::seconds(5);  // only where an event is expected

class StoreTest : public ::testing::Test {
 protected:
  tokenstorm::testing::ManualClock clock;
  ApiStore store{clock};

  ResourceType type(const std::string& group, const std::string& plural, const std::string& version = "") {
    for (const auto& t : store.types()) {
      if (t.group == group && t.plural == plural && (version.empty() || t.version == version)) {
        return t;
      }
    }
    ADD_FAILURE() << "no type " << group << "/" << plural;
    return {};
  }
  ResourceType pods() { return type("", "pods"); }
  ResourceType configmaps() { return type("", "configmaps"); }
  ResourceType deployments() { return type("apps", "deployments"); }
  ResourceType namespaces() { return type("", "namespaces"); }

  json create(const ResourceType& t, const std::string& ns, json object) {
    Result r = store.create(t, ns, std::move(object));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error->message);
    return r.object;
  }
  json pod(const std::string& name, json labels = json::object(), const std::string& node = "") {
    json p = {{"metadata", {{"name", name}, {"labels", labels}}},
              {"spec", {{"containers", json::array({{{"name", "c"}, {"image", "busybox"}}})}}}};
    if (!node.empty()) {
      p["spec"]["nodeName"] = node;
    }
    return p;
  }
  json deployment(const std::string& name, int replicas = 1) {
    return {{"metadata", {{"name", name}}},
            {"spec",
             {{"replicas", replicas},
              {"selector", {{"matchLabels", {{"app", name}}}}},
              {"template",
               {{"metadata", {{"labels", {{"app", name}}}}}, {"spec", {{"containers", json::array()}}}}}}}};
  }
  json ownedBy(json object, const json& owner, bool block = false) {
    object["metadata"]["ownerReferences"].push_back({{"apiVersion", owner["apiVersion"]},
                                                     {"kind", owner["kind"]},
                                                     {"name", owner["metadata"]["name"]},
                                                     {"uid", owner["metadata"]["uid"]},
                                                     {"blockOwnerDeletion", block}});
    return object;
  }
  bool exists(const ResourceType& t, const std::string& ns, const std::string& name) {
    return store.get(t, ns, name).ok();
  }
  static std::string rv(const json& object) {
    return object["metadata"]["resourceVersion"].get<std::string>();
  }
  static uint64_t rvNumber(const json& object) { return std::stoull(rv(object)); }
  static std::vector<std::string> names(const json& list) {
    std::vector<std::string> out;
    for (const auto& item : list["items"]) {
      out.push_back(item["metadata"]["name"].get<std::string>());
    }
    return out;
  }
  // Every event queued right now (the store pushes synchronously, so nothing is in flight).
  static std::vector<std::string> drain(WatchSubscription& w) {
    std::vector<std::string> out;
    while (auto e = w.next(std::chrono::steady_clock::now())) {
      out.push_back((*e)["type"].get<std::string>() + " " +
                    (*e)["object"]["metadata"]["name"].get<std::string>());
    }
    return out;
  }
  std::shared_ptr<WatchSubscription> watch(const ResourceType& t, const std::string& ns,
                                           WatchOptions options = {}) {
    ApiError error;
    auto w = store.watch(t, ns, options, &error);
    EXPECT_NE(w, nullptr) << error.message;
    return w;
  }
};

// ---- create ----

TEST_F(StoreTest, InitialNamespacesExist) {
  Result r = store.list(namespaces(), "", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(names(r.object),
            std::vector<std::string>({"default", "kube-node-lease", "kube-public", "kube-system"}));
  EXPECT_EQ(r.object["kind"], "NamespaceList");
  EXPECT_EQ(r.object["apiVersion"], "v1");
  EXPECT_EQ(r.object["items"][0]["kind"], "Namespace");
  EXPECT_EQ(r.object["items"][0]["status"]["phase"], "Active");
}

TEST_F(StoreTest, CreateStampsMetadataFromTheInjectedClock) {
  json p = create(pods(), "default", pod("a"));
  const json& m = p["metadata"];
  EXPECT_EQ(p["apiVersion"], "v1");
  EXPECT_EQ(p["kind"], "Pod");
  EXPECT_EQ(m["namespace"], "default");
  EXPECT_EQ(m["creationTimestamp"], "2026-11-18T11:06:41Z");
  EXPECT_EQ(m["uid"].get<std::string>().size(), 36u);
  EXPECT_EQ(m["generation"], 1);
  EXPECT_EQ(p["status"]["phase"], "Pending");
  EXPECT_EQ(p["spec"]["terminationGracePeriodSeconds"], 30) << "defaulted as kube-apiserver does";
  json cm = create(configmaps(), "default", {{"metadata", {{"name", "c"}}}, {"data", {{"k", "v"}}}});
  EXPECT_FALSE(cm["metadata"].contains("generation")) << "configmaps have no spec and no status subresource";
  EXPECT_NE(cm["metadata"]["uid"], m["uid"]);
  EXPECT_EQ(store.get(pods(), "default", "a").object, p);
}

TEST_F(StoreTest, CreateDropsStatusForTypesWithAStatusSubresource) {
  json body = deployment("d");
  body["status"] = {{"replicas", 7}};
  json d = create(deployments(), "default", body);
  EXPECT_FALSE(d.contains("status"));
}

TEST_F(StoreTest, ResourceVersionIsOneGlobalCounter) {
  uint64_t before = std::stoull(store.resourceVersion());
  json a = create(configmaps(), "default", {{"metadata", {{"name", "a"}}}});
  json b = create(deployments(), "default", deployment("b"));
  EXPECT_EQ(rvNumber(a), before + 1);
  EXPECT_EQ(rvNumber(b), before + 2);
  EXPECT_EQ(store.resourceVersion(), rv(b));
  EXPECT_EQ(store.list(configmaps(), "", {}).object["metadata"]["resourceVersion"], rv(b));
}

TEST_F(StoreTest, GenerateNameAddsFiveCharacters) {
  json p = pod("");
  p["metadata"].erase("name");
  p["metadata"]["generateName"] = "worker-";
  std::string first = create(pods(), "default", p)["metadata"]["name"];
  std::string second = create(pods(), "default", p)["metadata"]["name"];
  EXPECT_EQ(first.size(), 12u);
  EXPECT_EQ(first.rfind("worker-", 0), 0u);
  EXPECT_NE(first, second);
}

TEST_F(StoreTest, DuplicateIsAlreadyExists) {
  create(pods(), "default", pod("a"));
  Result r = store.create(pods(), "default", pod("a"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, 409);
  EXPECT_EQ(r.error->reason, "AlreadyExists");
  EXPECT_EQ(r.error->message, "pods \"a\" already exists");
  json status = r.error->toStatus();
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["code"], 409);
  EXPECT_EQ(status["details"]["name"], "a");
  EXPECT_EQ(status["details"]["kind"], "pods");
}

TEST_F(StoreTest, NamespacedTypesNeedAnExistingNamespace) {
  Result missing = store.create(pods(), "nope", pod("a"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error->code, 404);
  EXPECT_EQ(missing.error->message, "namespaces \"nope\" not found");
  create(namespaces(), "", {{"metadata", {{"name", "team"}}}});
  EXPECT_TRUE(store.create(pods(), "team", pod("a")).ok());
  json in_body = pod("b");
  in_body["metadata"]["namespace"] = "team";
  EXPECT_EQ(create(pods(), "", in_body)["metadata"]["namespace"], "team")
      << "the body may name the namespace";
  Result mismatch = store.create(pods(), "default", in_body);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error->code, 400);
  Result none = store.create(pods(), "", pod("c"));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error->code, 400);
  json ns = create(namespaces(), "ignored", {{"metadata", {{"name", "other"}, {"namespace", "x"}}}});
  EXPECT_FALSE(ns["metadata"].contains("namespace")) << "cluster-scoped objects have no namespace";
}

TEST_F(StoreTest, NamesAreValidated) {
  Result empty = store.create(configmaps(), "default", json::object());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error->code, 422);
  EXPECT_EQ(empty.error->message,
            "ConfigMap \"\" is invalid: metadata.name: Required value: name or generateName is required");
  Result upper = store.create(configmaps(), "default", {{"metadata", {{"name", "Bad_Name"}}}});
  ASSERT_FALSE(upper.ok());
  EXPECT_EQ(upper.error->details["causes"][0]["field"], "metadata.name");
  Result labels =
      store.create(configmaps(), "default", {{"metadata", {{"name", "a"}, {"labels", {{"x", 1}}}}}});
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.error->code, 422);
  Result kind = store.create(configmaps(), "default", {{"kind", "Secret"}, {"metadata", {{"name", "a"}}}});
  ASSERT_FALSE(kind.ok());
  EXPECT_EQ(kind.error->code, 400);
  Result not_object = store.create(configmaps(), "default", json::array());
  ASSERT_FALSE(not_object.ok());
  EXPECT_EQ(not_object.error->code, 400);
}

// ---- update ----

TEST_F(StoreTest, StaleResourceVersionIsConflictAndEmptyIsUnconditional) {
  json d = create(deployments(), "default", deployment("d"));
  json stale = d;
  d["spec"]["replicas"] = 2;
  json updated = store.update(deployments(), "default", "d", d).object;
  EXPECT_GT(rvNumber(updated), rvNumber(stale));
  stale["spec"]["replicas"] = 5;
  Result conflict = store.update(deployments(), "default", "d", stale);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error->code, 409);
  EXPECT_EQ(conflict.error->reason, "Conflict");
  EXPECT_EQ(conflict.error->message,
            "Operation cannot be fulfilled on deployments.apps \"d\": the object has been modified; please "
            "apply your "
            "changes to the latest version and try again");
  stale["metadata"].erase("resourceVersion");
  Result unconditional = store.update(deployments(), "default", "d", stale);
  ASSERT_TRUE(unconditional.ok());
  EXPECT_EQ(unconditional.object["spec"]["replicas"], 5);
}

TEST_F(StoreTest, UpdateOfAMissingObjectOrAnotherNameFails) {
  Result missing = store.update(configmaps(), "default", "x", {{"metadata", {{"name", "x"}}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error->code, 404);
  EXPECT_EQ(missing.error->message, "configmaps \"x\" not found");
  create(configmaps(), "default", {{"metadata", {{"name", "a"}}}});
  Result renamed = store.update(configmaps(), "default", "a", {{"metadata", {{"name", "b"}}}});
  ASSERT_FALSE(renamed.ok());
  EXPECT_EQ(renamed.error->code, 400);
}

TEST_F(StoreTest, NoOpUpdateKeepsResourceVersionAndSendsNoEvent) {
  json cm = create(configmaps(), "default", {{"metadata", {{"name", "a"}}}, {"data", {{"k", "v"}}}});
  auto w = watch(configmaps(), "default", {.resourceVersion = rv(cm)});
  Result same = store.update(configmaps(), "default", "a", cm);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(rv(same.object), rv(cm));
  EXPECT_EQ(store.resourceVersion(), rv(cm));
  EXPECT_TRUE(drain(*w).empty());
  cm["data"]["k"] = "w";
  EXPECT_GT(rvNumber(store.update(configmaps(), "default", "a", cm).object), rvNumber(same.object));
  EXPECT_EQ(drain(*w), std::vector<std::string>({"MODIFIED a"}));
}

TEST_F(StoreTest, GenerationIsBumpedOnSpecChangesOnly) {
  json d = create(deployments(), "default", deployment("d"));
  d["metadata"]["labels"] = {{"x", "y"}};
  d = store.update(deployments(), "default", "d", d).object;
  EXPECT_EQ(d["metadata"]["generation"], 1) << "metadata change";
  d["spec"]["replicas"] = 3;
  d = store.update(deployments(), "default", "d", d).object;
  EXPECT_EQ(d["metadata"]["generation"], 2);
  d["status"] = {{"replicas", 3}};
  d = store.update(deployments(), "default", "d", d, Subresource::kStatus).object;
  EXPECT_EQ(d["metadata"]["generation"], 2) << "status change";
  d["metadata"]["generation"] = 40;
  d = store.update(deployments(), "default", "d", d).object;
  EXPECT_EQ(d["metadata"]["generation"], 2) << "clients cannot set it";
}

TEST_F(StoreTest, StatusIsIsolatedBothWays) {
  json d = create(deployments(), "default", deployment("d"));
  json main = d;
  main["status"] = {{"replicas", 9}};
  main["spec"]["replicas"] = 2;
  d = store.update(deployments(), "default", "d", main).object;
  EXPECT_FALSE(d.contains("status")) << "the main resource ignores status";
  EXPECT_EQ(d["spec"]["replicas"], 2);
  json status = d;
  status["status"] = {{"replicas", 2}};
  status["spec"]["replicas"] = 100;
  status["metadata"]["labels"] = {{"sneaky", "yes"}};
  d = store.update(deployments(), "default", "d", status, Subresource::kStatus).object;
  EXPECT_EQ(d["status"]["replicas"], 2);
  EXPECT_EQ(d["spec"]["replicas"], 2) << "the status subresource ignores spec";
  EXPECT_FALSE(d["metadata"].contains("labels")) << "and metadata";
  Result patched =
      store.patch(deployments(), "default", "d", PatchType::kMerge, R"({"status":{"replicas":5}})");
  ASSERT_TRUE(patched.ok());
  EXPECT_EQ(patched.object["status"]["replicas"], 2) << "patching the main resource ignores status";
  patched = store.patch(deployments(), "default", "d", PatchType::kMerge,
                        R"({"status":{"replicas":5},"spec":{"replicas":9}})", Subresource::kStatus);
  EXPECT_EQ(patched.object["status"]["replicas"], 5);
  EXPECT_EQ(patched.object["spec"]["replicas"], 2);
}

// ---- patch ----

TEST_F(StoreTest, PatchesGoThroughTheUpdatePath) {
  create(configmaps(), "default", {{"metadata", {{"name", "a"}}}, {"data", {{"k", "v"}}}});
  Result merged =
      store.patch(configmaps(), "default", "a", PatchType::kMerge, R"({"data":{"k":null,"n":"1"}})");
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged.object["data"], json({{"n", "1"}}));
  Result tested = store.patch(
      configmaps(), "default", "a", PatchType::kJson,
      R"([{"op":"replace","path":"/data/n","value":"2"},{"op":"test","path":"/data/n","value":"1"}])");
  ASSERT_FALSE(tested.ok());
  EXPECT_EQ(tested.error->code, 422);
  EXPECT_EQ(store.get(configmaps(), "default", "a").object["data"]["n"], "1") << "nothing half-applied";
  Result stale = store.patch(configmaps(), "default", "a", PatchType::kMerge,
                             R"({"metadata":{"resourceVersion":"1"},"data":{"n":"3"}})");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error->code, 409) << "a resourceVersion in the patch is a precondition";
  Result bad = store.patch(configmaps(), "default", "a", PatchType::kMerge, "{");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error->code, 400);
  Result missing = store.patch(configmaps(), "default", "zz", PatchType::kMerge, "{}");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error->code, 404);
  Result rename =
      store.patch(configmaps(), "default", "a", PatchType::kMerge, R"({"metadata":{"name":"b"}})");
  ASSERT_FALSE(rename.ok());
  EXPECT_EQ(rename.error->code, 400);
}

TEST_F(StoreTest, StrategicMergePatchOnBuiltinKinds) {
  json p = pod("a");
  p["spec"]["containers"].push_back({{"name", "side"}, {"image", "s:1"}});
  create(pods(), "default", p);
  Result r = store.patch(
      pods(), "default", "a", PatchType::kStrategic,
      R"({"metadata":{"labels":{"x":"1"}},"spec":{"containers":[{"name":"side","image":"s:2"}]}})");
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(r.object["spec"]["containers"].size(), 2u);
  EXPECT_EQ(r.object["spec"]["containers"][0]["image"], "busybox");
  EXPECT_EQ(r.object["spec"]["containers"][1]["image"], "s:2");
  EXPECT_EQ(r.object["metadata"]["labels"]["x"], "1");
}

// ---- delete ----

TEST_F(StoreTest, DeleteReturnsTheObjectAndPreconditionsConflict) {
  json cm = create(configmaps(), "default", {{"metadata", {{"name", "a"}}}});
  Result wrong_uid = store.remove(configmaps(), "default", "a", {.preconditionUid = "nope"});
  ASSERT_FALSE(wrong_uid.ok());
  EXPECT_EQ(wrong_uid.error->code, 409);
  EXPECT_EQ(wrong_uid.error->message, "Precondition failed: UID in precondition: nope, UID in object meta: " +
                                          cm["metadata"]["uid"].get<std::string>());
  Result wrong_rv = store.remove(configmaps(), "default", "a", {.preconditionResourceVersion = "1"});
  ASSERT_FALSE(wrong_rv.ok());
  EXPECT_EQ(wrong_rv.error->code, 409);
  Result ok = store.remove(configmaps(), "default", "a",
                           {.preconditionUid = cm["metadata"]["uid"], .preconditionResourceVersion = rv(cm)});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok.object["metadata"]["name"], "a");
  EXPECT_GT(rvNumber(ok.object), rvNumber(cm)) << "the deletion has its own resourceVersion";
  EXPECT_FALSE(exists(configmaps(), "default", "a"));
  Result again = store.remove(configmaps(), "default", "a", {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error->code, 404);
  Result policy = store.remove(namespaces(), "", "kube-public", {.propagationPolicy = "Sideways"});
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.error->code, 400);
}

TEST_F(StoreTest, FinalizersHoldTheObjectWithADeletionTimestamp) {
  json cm =
      create(configmaps(), "default", {{"metadata", {{"name", "a"}, {"finalizers", {"example.com/x"}}}}});
  auto w = watch(configmaps(), "default", {.resourceVersion = rv(cm)});
  Result pending = store.remove(configmaps(), "default", "a", {});
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(pending.object["metadata"]["deletionTimestamp"], "2026-11-18T11:06:41Z");
  EXPECT_EQ(pending.object["metadata"]["deletionGracePeriodSeconds"], 0);
  EXPECT_TRUE(exists(configmaps(), "default", "a"));
  json more = pending.object;
  more["metadata"]["finalizers"].push_back("example.com/y");
  Result added = store.update(configmaps(), "default", "a", more);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error->code, 422) << "no new finalizers once deleting";
  Result again = store.remove(configmaps(), "default", "a", {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(rv(again.object), rv(pending.object)) << "deleting again changes nothing";
  json done = pending.object;
  done["metadata"]["finalizers"] = json::array();
  done["metadata"]["deletionTimestamp"] = "2000-01-01T00:00:00Z";
  Result finished = store.update(configmaps(), "default", "a", done);
  ASSERT_TRUE(finished.ok());
  EXPECT_FALSE(exists(configmaps(), "default", "a")) << "the last finalizer removed deletes it";
  EXPECT_EQ(drain(*w), std::vector<std::string>({"MODIFIED a", "DELETED a"}));
}

TEST_F(StoreTest, PodsOnANodeAreDeletedGracefully) {
  create(pods(), "default", pod("bound", json::object(), "node-1"));
  create(pods(), "default", pod("unbound"));
  json p = pod("quick", json::object(), "node-1");
  p["spec"]["terminationGracePeriodSeconds"] = 5;
  create(pods(), "default", p);
  Result graceful = store.remove(pods(), "default", "bound", {});
  ASSERT_TRUE(graceful.ok());
  EXPECT_EQ(graceful.object["metadata"]["deletionGracePeriodSeconds"], 30);
  EXPECT_EQ(graceful.object["metadata"]["deletionTimestamp"], "2026-11-18T11:07:11Z");
  EXPECT_TRUE(exists(pods(), "default", "bound"));
  Result longer = store.remove(pods(), "default", "bound", {.gracePeriodSeconds = 60});
  EXPECT_EQ(longer.object["metadata"]["deletionGracePeriodSeconds"], 30) << "grace only shortens";
  Result kubelet = store.remove(pods(), "default", "bound", {.gracePeriodSeconds = 0});
  ASSERT_TRUE(kubelet.ok());
  EXPECT_FALSE(exists(pods(), "default", "bound")) << "the kubelet finishes with grace 0";
  ASSERT_TRUE(store.remove(pods(), "default", "unbound", {}).ok());
  EXPECT_FALSE(exists(pods(), "default", "unbound")) << "no kubelet to wait for";
  EXPECT_EQ(store.remove(pods(), "default", "quick", {}).object["metadata"]["deletionGracePeriodSeconds"], 5);
}

TEST_F(StoreTest, BackgroundDeletionCollectsDependents) {
  json owner = create(deployments(), "default", deployment("d"));
  json other = create(configmaps(), "default", {{"metadata", {{"name", "other-owner"}}}});
  create(pods(), "default", ownedBy(pod("p1"), owner));
  create(pods(), "default", ownedBy(ownedBy(pod("p2"), owner), other));
  create(pods(), "default", ownedBy(pod("p3", json::object(), "node-1"), owner));
  ASSERT_TRUE(store.remove(deployments(), "default", "d", {}).ok());
  EXPECT_FALSE(exists(deployments(), "default", "d"));
  EXPECT_FALSE(exists(pods(), "default", "p1"));
  Result p2 = store.get(pods(), "default", "p2");
  ASSERT_TRUE(p2.ok()) << "another owner is alive";
  ASSERT_EQ(p2.object["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(p2.object["metadata"]["ownerReferences"][0]["name"], "other-owner");
  Result p3 = store.get(pods(), "default", "p3");
  ASSERT_TRUE(p3.ok()) << "a bound pod terminates gracefully";
  EXPECT_TRUE(p3.object["metadata"].contains("deletionTimestamp"));
}

TEST_F(StoreTest, ForegroundDeletionWaitsForBlockingDependents) {
  json owner = create(deployments(), "default", deployment("d"));
  json blocker = ownedBy(pod("blocker"), owner, true);
  blocker["metadata"]["finalizers"] = {"example.com/hold"};
  create(pods(), "default", blocker);
  create(pods(), "default", ownedBy(pod("free"), owner));
  Result r = store.remove(deployments(), "default", "d", {.propagationPolicy = "Foreground"});
  ASSERT_TRUE(r.ok());
  Result d = store.get(deployments(), "default", "d");
  ASSERT_TRUE(d.ok()) << "the owner waits";
  EXPECT_EQ(d.object["metadata"]["finalizers"], json({"foregroundDeletion"}));
  EXPECT_TRUE(d.object["metadata"].contains("deletionTimestamp"));
  EXPECT_FALSE(exists(pods(), "default", "free"));
  json held = store.get(pods(), "default", "blocker").object;
  EXPECT_TRUE(held["metadata"].contains("deletionTimestamp"));
  held["metadata"].erase("finalizers");
  ASSERT_TRUE(store.update(pods(), "default", "blocker", held).ok());
  EXPECT_FALSE(exists(pods(), "default", "blocker"));
  EXPECT_FALSE(exists(deployments(), "default", "d")) << "released once the blocking dependent is gone";
}

TEST_F(StoreTest, ForegroundWithoutDependentsDeletesAtOnce) {
  create(deployments(), "default", deployment("d"));
  ASSERT_TRUE(store.remove(deployments(), "default", "d", {.propagationPolicy = "Foreground"}).ok());
  EXPECT_FALSE(exists(deployments(), "default", "d"));
}

TEST_F(StoreTest, OrphanDeletionLeavesDependentsWithoutTheReference) {
  json owner = create(deployments(), "default", deployment("d"));
  create(pods(), "default", ownedBy(pod("p"), owner));
  ASSERT_TRUE(store.remove(deployments(), "default", "d", {.propagationPolicy = "Orphan"}).ok());
  Result p = store.get(pods(), "default", "p");
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p.object["metadata"].contains("ownerReferences"));
}

TEST_F(StoreTest, JobsOrphanByDefaultAndCollectWhenAsked) {
  ResourceType jobs = type("batch", "jobs");
  json job = {{"metadata", {{"name", "j"}}},
              {"spec", {{"template", {{"spec", {{"containers", json::array()}}}}}}}};
  json j = create(jobs, "default", job);
  EXPECT_EQ(j["spec"]["parallelism"], 1);
  EXPECT_EQ(j["spec"]["backoffLimit"], 6);
  EXPECT_EQ(j["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"], j["metadata"]["uid"]);
  EXPECT_EQ(j["spec"]["template"]["metadata"]["labels"]["job-name"], "j");
  create(pods(), "default", ownedBy(pod("jp"), j));
  ASSERT_TRUE(store.remove(jobs, "default", "j", {}).ok());
  EXPECT_TRUE(exists(pods(), "default", "jp")) << "batch/v1's legacy default is Orphan";
  json j2 = create(jobs, "default", job);
  create(pods(), "default", ownedBy(pod("jp2"), j2));
  ASSERT_TRUE(store.remove(jobs, "default", "j", {.propagationPolicy = "Background"}).ok());
  EXPECT_FALSE(exists(pods(), "default", "jp2"));
}

TEST_F(StoreTest, DeletingANamespaceDeletesItsObjects) {
  create(namespaces(), "", {{"metadata", {{"name", "team"}}}});
  create(pods(), "team", pod("a"));
  create(configmaps(), "team", {{"metadata", {{"name", "c"}, {"finalizers", {"x/y"}}}}});
  create(pods(), "default", pod("keep"));
  ASSERT_TRUE(store.remove(namespaces(), "", "team", {}).ok());
  EXPECT_FALSE(exists(namespaces(), "", "team"));
  EXPECT_FALSE(exists(pods(), "team", "a"));
  EXPECT_FALSE(exists(configmaps(), "team", "c"));
  EXPECT_TRUE(exists(pods(), "default", "keep"));
  Result forbidden = store.remove(namespaces(), "", "default", {});
  ASSERT_FALSE(forbidden.ok());
  EXPECT_EQ(forbidden.error->code, 403);
}

// ---- list ----

TEST_F(StoreTest, ListsFilterByNamespaceAndSelectors) {
  create(namespaces(), "", {{"metadata", {{"name", "team"}}}});
  create(pods(), "default", pod("a", {{"app", "web"}, {"tier", "front"}}, "node-1"));
  create(pods(), "default", pod("b", {{"app", "db"}}, "node-2"));
  create(pods(), "team", pod("c", {{"app", "web"}}));
  auto list = [&](const std::string& ns, ListOptions o) {
    Result r = store.list(pods(), ns, o);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error->message);
    return names(r.object);
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(list("", {}), V({"a", "b", "c"}));
  EXPECT_EQ(list("default", {}), V({"a", "b"}));
  EXPECT_EQ(list("", {.labelSelector = "app=web"}), V({"a", "c"}));
  EXPECT_EQ(list("", {.labelSelector = "app in (web,db),!tier"}), V({"b", "c"}));
  EXPECT_EQ(list("", {.fieldSelector = "spec.nodeName=node-1"}), V({"a"}));
  EXPECT_EQ(list("", {.fieldSelector = "spec.nodeName="}), V({"c"}));
  EXPECT_EQ(list("", {.fieldSelector = "status.phase=Pending,metadata.name!=a"}), V({"b", "c"}));
  EXPECT_EQ(list("", {.fieldSelector = "metadata.namespace=team"}), V({"c"}));
  Result bad_label = store.list(pods(), "", {.labelSelector = "app in (web"});
  ASSERT_FALSE(bad_label.ok());
  EXPECT_EQ(bad_label.error->code, 400);
  Result bad_field = store.list(configmaps(), "", {.fieldSelector = "spec.nodeName=x"});
  ASSERT_FALSE(bad_field.ok());
  EXPECT_EQ(bad_field.error->code, 400);
  EXPECT_EQ(bad_field.error->message, "field label not supported: spec.nodeName");
  Result garbage = store.list(pods(), "", {.fieldSelector = "nonsense"});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error->code, 400);
}

TEST_F(StoreTest, PaginationIsConsistentAtTheFirstPagesResourceVersion) {
  for (const char* n : {"a", "b", "c", "d", "e"}) {
    create(configmaps(), "default", {{"metadata", {{"name", n}}}});
  }
  Result first = store.list(configmaps(), "default", {.limit = 2});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(names(first.object), std::vector<std::string>({"a", "b"}));
  EXPECT_EQ(first.object["metadata"]["remainingItemCount"], 3);
  std::string token = first.object["metadata"]["continue"];
  // Changes after the first page do not show on the next ones.
  ASSERT_TRUE(store.remove(configmaps(), "default", "c", {}).ok());
  create(configmaps(), "default", {{"metadata", {{"name", "cc"}}}});
  Result second = store.list(configmaps(), "default", {.limit = 2, .continueToken = token});
  ASSERT_TRUE(second.ok()) << second.error->message;
  EXPECT_EQ(names(second.object), std::vector<std::string>({"c", "d"}));
  EXPECT_EQ(second.object["metadata"]["resourceVersion"], first.object["metadata"]["resourceVersion"]);
  Result third = store.list(configmaps(), "default",
                            {.limit = 2, .continueToken = second.object["metadata"]["continue"]});
  EXPECT_EQ(names(third.object), std::vector<std::string>({"e"}));
  EXPECT_FALSE(third.object["metadata"].contains("continue"));
  Result bad = store.list(configmaps(), "default", {.continueToken = "!!"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error->code, 400);
  store.expireHistory();
  Result expired = store.list(configmaps(), "default", {.limit = 2, .continueToken = token});
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error->code, 410);
  EXPECT_EQ(expired.error->reason, "Expired");
}

TEST_F(StoreTest, ContinueTokenExpiresWhenItsVersionLeavesTheBoundedHistory) {
  ApiStore small(clock, {.historyEvents = 3});
  ResourceType cms = configmaps();
  for (const char* n : {"a", "b", "c"}) {
    ASSERT_TRUE(small.create(cms, "default", {{"metadata", {{"name", n}}}}).ok());
  }
  Result first = small.list(cms, "default", {.limit = 1});
  std::string token = first.object["metadata"]["continue"];
  ASSERT_TRUE(small.list(cms, "default", {.limit = 1, .continueToken = token}).ok());
  for (const char* n : {"x", "y", "z"}) {
    ASSERT_TRUE(small.create(cms, "default", {{"metadata", {{"name", n}}}}).ok());
  }
  EXPECT_TRUE(small.list(cms, "default", {.limit = 1, .continueToken = token}).ok())
      << "three events after the token's version: all still in the history of three";
  ASSERT_TRUE(small.create(cms, "default", {{"metadata", {{"name", "w"}}}}).ok());
  Result expired = small.list(cms, "default", {.limit = 1, .continueToken = token});
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error->code, 410);
}

// ---- watch ----

TEST_F(StoreTest, WatchFromZeroStartsWithTheCurrentObjects) {
  create(configmaps(), "default", {{"metadata", {{"name", "a"}}}});
  auto w = watch(configmaps(), "", {.resourceVersion = "0"});
  create(configmaps(), "default", {{"metadata", {{"name", "b"}}}});
  ASSERT_TRUE(store.remove(configmaps(), "default", "a", {}).ok());
  EXPECT_EQ(drain(*w), std::vector<std::string>({"ADDED a", "ADDED b", "DELETED a"}));
}

TEST_F(StoreTest, WatchFromAResourceVersionReplaysWhatFollowed) {
  json a = create(configmaps(), "default", {{"metadata", {{"name", "a"}}}});
  create(configmaps(), "default", {{"metadata", {{"name", "b"}}}});
  create(pods(), "default", pod("other-type"));
  auto w = watch(configmaps(), "default", {.resourceVersion = rv(a)});
  auto e = w->next(std::chrono::steady_clock::now() + kEventWait);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "ADDED");
  EXPECT_EQ((*e)["object"]["metadata"]["name"], "b");
  EXPECT_EQ((*e)["object"]["kind"], "ConfigMap");
  EXPECT_EQ((*e)["object"]["apiVersion"], "v1");
  EXPECT_TRUE(drain(*w).empty());
}

TEST_F(StoreTest, WatchBeyondTheBoundedHistoryIsGone) {
  ApiStore small(clock, {.historyEvents = 2});
  ResourceType cms = configmaps();
  json first = small.create(cms, "default", {{"metadata", {{"name", "a"}}}}).object;
  for (const char* n : {"b", "c", "d"}) {
    ASSERT_TRUE(small.create(cms, "default", {{"metadata", {{"name", n}}}}).ok());
  }
  ApiError error;
  EXPECT_EQ(small.watch(cms, "", {.resourceVersion = rv(first)}, &error), nullptr);
  EXPECT_EQ(error.code, 410);
  EXPECT_EQ(error.reason, "Expired");
  EXPECT_EQ(error.message.rfind("too old resource version: " + rv(first) + " (", 0), 0u) << error.message;
  EXPECT_NE(small.watch(cms, "", {.resourceVersion = small.resourceVersion()}, &error), nullptr);
  small.expireHistory();
  json e = small.create(cms, "default", {{"metadata", {{"name", "e"}}}}).object;
  EXPECT_EQ(small.watch(cms, "", {.resourceVersion = std::to_string(rvNumber(e) - 2)}, &error), nullptr);
  EXPECT_EQ(error.code, 410);
  EXPECT_EQ(small.watch(cms, "", {.resourceVersion = "abc"}, &error), nullptr);
  EXPECT_EQ(error.code, 400);
}

TEST_F(StoreTest, SelectorTransitionsAreAddedAndDeleted) {
  json p = create(pods(), "default", pod("a", {{"app", "web"}}));
  auto w = watch(pods(), "default", {.labelSelector = "app=web", .resourceVersion = rv(p)});
  p["metadata"]["labels"]["app"] = "db";
  json moved = store.update(pods(), "default", "a", p).object;
  p = moved;
  p["metadata"]["labels"]["app"] = "web";
  store.update(pods(), "default", "a", p);
  p = store.get(pods(), "default", "a").object;
  p["metadata"]["labels"]["v"] = "2";
  store.update(pods(), "default", "a", p);
  create(pods(), "default", pod("b", {{"app", "db"}}));
  EXPECT_EQ(drain(*w), std::vector<std::string>({"DELETED a", "ADDED a", "MODIFIED a"}));
  // The DELETED for a selector change carries the last matching state at the change's resourceVersion.
  auto again = watch(pods(), "default",
                     {.labelSelector = "app=web", .resourceVersion = std::to_string(rvNumber(moved) - 1)});
  auto e = again->next(std::chrono::steady_clock::now() + kEventWait);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["type"], "DELETED");
  EXPECT_EQ((*e)["object"]["metadata"]["labels"]["app"], "web");
  EXPECT_EQ((*e)["object"]["metadata"]["resourceVersion"], rv(moved));
}

TEST_F(StoreTest, WatchFiltersByFieldAndNamespace) {
  create(namespaces(), "", {{"metadata", {{"name", "team"}}}});
  auto w = watch(pods(), "", {.fieldSelector = "spec.nodeName=node-1"});
  create(pods(), "team", pod("a", json::object(), "node-1"));
  create(pods(), "default", pod("b", json::object(), "node-2"));
  auto team = watch(pods(), "team");
  create(pods(), "team", pod("c"));
  EXPECT_EQ(drain(*w), std::vector<std::string>({"ADDED a"}));
  EXPECT_EQ(drain(*team), std::vector<std::string>({"ADDED a", "ADDED c"}));
  ApiError error;
  EXPECT_EQ(store.watch(configmaps(), "", {.fieldSelector = "status.phase=x"}, &error), nullptr);
  EXPECT_EQ(error.code, 400);
}

TEST_F(StoreTest, BookmarksCarryTheResourceVersionOfWhatWasDelivered) {
  auto w = watch(configmaps(), "", {.resourceVersion = store.resourceVersion(), .allowBookmarks = true});
  json before = w->bookmark();
  EXPECT_EQ(before["type"], "BOOKMARK");
  EXPECT_EQ(before["object"]["kind"], "ConfigMap");
  EXPECT_EQ(before["object"]["apiVersion"], "v1");
  EXPECT_EQ(before["object"]["metadata"]["resourceVersion"], store.resourceVersion());
  json a = create(configmaps(), "default", {{"metadata", {{"name", "a"}}}});
  EXPECT_EQ(w->bookmark()["object"]["metadata"]["resourceVersion"], std::to_string(rvNumber(a) - 1))
      << "an undelivered event is not skipped";
  ASSERT_TRUE(w->next(std::chrono::steady_clock::now() + kEventWait));
  EXPECT_EQ(w->bookmark()["object"]["metadata"]["resourceVersion"], rv(a));
}

TEST_F(StoreTest, ClosingEndsWatches) {
  auto w = watch(configmaps(), "");
  auto other = watch(pods(), "");
  store.closeAllWatches();
  EXPECT_TRUE(w->closed());
  EXPECT_FALSE(w->next(std::chrono::steady_clock::now() + kEventWait).has_value());
  EXPECT_TRUE(other->closed());
  auto mine = watch(configmaps(), "");
  mine->close();
  create(configmaps(), "default", {{"metadata", {{"name", "a"}}}});
  EXPECT_FALSE(mine->next(std::chrono::steady_clock::now()).has_value());
}

TEST_F(StoreTest, AWatchIsReadFromAnotherThread) {
  auto w = watch(configmaps(), "default");
  std::vector<std::string> got;
  std::thread reader([&] {
    for (int i = 0; i < 50; ++i) {
      auto e = w->next(std::chrono::steady_clock::now() + kEventWait);
      if (!e) {
        return;
      }
      got.push_back((*e)["object"]["metadata"]["name"]);
    }
  });
  for (int i = 0; i < 50; ++i) {
    create(configmaps(), "default", {{"metadata", {{"name", "c" + std::to_string(i)}}}});
  }
  reader.join();
  ASSERT_EQ(got.size(), 50u);
  EXPECT_EQ(got[49], "c49");
}

// ---- scale ----

TEST_F(StoreTest, ScaleSubresourceMapsToReplicas) {
  json d = deployment("d", 2);
  create(deployments(), "default", d);
  json status = store.get(deployments(), "default", "d").object;
  status["status"] = {{"replicas", 2}};
  store.update(deployments(), "default", "d", status, Subresource::kStatus);
  Result scale = store.get(deployments(), "default", "d", Subresource::kScale);
  ASSERT_TRUE(scale.ok());
  EXPECT_EQ(scale.object["apiVersion"], "autoscaling/v1");
  EXPECT_EQ(scale.object["kind"], "Scale");
  EXPECT_EQ(scale.object["spec"]["replicas"], 2);
  EXPECT_EQ(scale.object["status"]["replicas"], 2);
  EXPECT_EQ(scale.object["status"]["selector"], "app=d");
  EXPECT_EQ(scale.object["metadata"]["name"], "d");
  json s = scale.object;
  s["spec"]["replicas"] = 4;
  Result updated = store.update(deployments(), "default", "d", s, Subresource::kScale);
  ASSERT_TRUE(updated.ok()) << updated.error->message;
  EXPECT_EQ(updated.object["kind"], "Scale");
  EXPECT_EQ(updated.object["spec"]["replicas"], 4);
  json now = store.get(deployments(), "default", "d").object;
  EXPECT_EQ(now["spec"]["replicas"], 4);
  EXPECT_EQ(now["metadata"]["generation"], 2);
  Result stale = store.update(deployments(), "default", "d", s, Subresource::kScale);
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.error->code, 409);
  Result patched = store.patch(deployments(), "default", "d", PatchType::kMerge, R"({"spec":{"replicas":1}})",
                               Subresource::kScale);
  ASSERT_TRUE(patched.ok());
  EXPECT_EQ(store.get(deployments(), "default", "d").object["spec"]["replicas"], 1);
  Result negative = store.patch(deployments(), "default", "d", PatchType::kMerge,
                                R"({"spec":{"replicas":-1}})", Subresource::kScale);
  ASSERT_FALSE(negative.ok());
  EXPECT_EQ(negative.error->code, 422);
  EXPECT_EQ(negative.error->message,
            "Scale.autoscaling \"d\" is invalid: spec.replicas: Invalid value: -1: must be "
            "greater than or equal to 0");
  create(configmaps(), "default", {{"metadata", {{"name", "c"}}}});
  EXPECT_EQ(store.get(configmaps(), "default", "c", Subresource::kScale).error->code, 404);
}

// ---- custom resources ----

class CrdTest : public StoreTest {
 protected:
  json crd() {
    auto docs = tokenstorm::testing::yamlDocuments(
        tokenstorm::testing::readFile(tokenstorm::testing::sourcePath("crds/loadtests.tokenstorm.dev.yaml")));
    return docs.at(0);
  }
  json quickstart() {
    return tokenstorm::testing::yamlDocuments(
               tokenstorm::testing::readFile(tokenstorm::testing::sourcePath("examples/quickstart.yaml")))
        .at(0);
  }
  ResourceType crds() { return type("apiextensions.k8s.io", "customresourcedefinitions"); }
  ResourceType loadtests() {
    auto t = store.findType("tokenstorm.dev", "v1alpha1", "loadtests");
    EXPECT_TRUE(t.has_value());
    return t.value_or(ResourceType{});
  }
};

TEST_F(CrdTest, CreatingTheCrdServesLoadTests) {
  EXPECT_FALSE(store.findType("tokenstorm.dev", "v1alpha1", "loadtests"));
  Result r = store.create(crds(), "", crd());
  ASSERT_TRUE(r.ok()) << r.error->message;
  json conditions = r.object["status"]["conditions"];
  ASSERT_EQ(conditions.size(), 2u);
  EXPECT_EQ(conditions[0]["type"], "NamesAccepted");
  EXPECT_EQ(conditions[1]["type"], "Established");
  EXPECT_EQ(conditions[1]["status"], "True");
  EXPECT_EQ(r.object["status"]["acceptedNames"]["kind"], "LoadTest");
  EXPECT_EQ(r.object["status"]["storedVersions"], json({"v1alpha1"}));
  ResourceType lt = loadtests();
  EXPECT_FALSE(lt.builtin);
  EXPECT_TRUE(lt.statusSubresource);
  EXPECT_EQ(store.findKind("tokenstorm.dev/v1alpha1", "LoadTest"), lt);
}

TEST_F(CrdTest, TheQuickstartIsAValidLoadTest) {
  ASSERT_TRUE(store.create(crds(), "", crd()).ok());
  Result r = store.create(loadtests(), "default", quickstart());
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(r.object["kind"], "LoadTest");
  EXPECT_EQ(r.object["metadata"]["generation"], 1);
  EXPECT_EQ(r.object["spec"]["target"]["endpoints"][0]["url"], "sim://");
  EXPECT_EQ(names(store.list(loadtests(), "", {}).object), std::vector<std::string>({"quickstart"}));
}

TEST_F(CrdTest, ABrokenLoadTestIsInvalidNamingTheField) {
  ASSERT_TRUE(store.create(crds(), "", crd()).ok());
  json lt = quickstart();
  lt["spec"]["target"]["endpoints"][0].erase("url");
  Result missing = store.create(loadtests(), "default", lt);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error->code, 422);
  EXPECT_EQ(missing.error->reason, "Invalid");
  EXPECT_EQ(
      missing.error->message,
      "LoadTest.tokenstorm.dev \"quickstart\" is invalid: spec.target.endpoints[0].url: Required value");
  EXPECT_EQ(missing.error->details["causes"][0]["reason"], "FieldValueRequired");
  EXPECT_EQ(missing.error->details["causes"][0]["field"], "spec.target.endpoints[0].url");
  EXPECT_EQ(missing.error->details["kind"], "LoadTest");
  EXPECT_EQ(missing.error->details["group"], "tokenstorm.dev");
  lt = quickstart();
  lt["spec"]["load"]["stages"] = "fast";
  Result wrong_type = store.create(loadtests(), "default", lt);
  ASSERT_FALSE(wrong_type.ok());
  EXPECT_NE(wrong_type.error->message.find("spec.load.stages: Invalid value: \"string\""), std::string::npos)
      << wrong_type.error->message;
}

TEST_F(CrdTest, CustomResourcesPruneUnknownFieldsAndIsolateStatus) {
  ASSERT_TRUE(store.create(crds(), "", crd()).ok());
  json lt = quickstart();
  lt["spec"]["notAField"] = 1;
  lt["status"] = {{"phase", "Done"}};
  json created = create(loadtests(), "default", lt);
  EXPECT_FALSE(created["spec"].contains("notAField"));
  EXPECT_FALSE(created.contains("status"));
  json status = created;
  status["status"] = {{"phase", "Running"}};
  Result r = store.update(loadtests(), "default", "quickstart", status, Subresource::kStatus);
  ASSERT_TRUE(r.ok()) << r.error->message;
  EXPECT_EQ(r.object["status"]["phase"], "Running");
  EXPECT_EQ(r.object["metadata"]["generation"], 1);
  Result merge = store.patch(loadtests(), "default", "quickstart", PatchType::kMerge,
                             R"({"metadata":{"labels":{"team":"a"}}})");
  ASSERT_TRUE(merge.ok());
  EXPECT_EQ(merge.object["status"]["phase"], "Running");
  Result strategic = store.patch(loadtests(), "default", "quickstart", PatchType::kStrategic, "{}");
  ASSERT_FALSE(strategic.ok());
  EXPECT_EQ(strategic.error->code, 415);
}

TEST_F(CrdTest, DeletingTheCrdRemovesTheTypeAndItsObjects) {
  ASSERT_TRUE(store.create(crds(), "", crd()).ok());
  ResourceType lt = loadtests();
  create(lt, "default", quickstart());
  auto w = watch(lt, "");
  ASSERT_TRUE(store.remove(crds(), "", "loadtests.tokenstorm.dev", {}).ok());
  EXPECT_FALSE(store.findType("tokenstorm.dev", "v1alpha1", "loadtests"));
  EXPECT_TRUE(w->closed());
  Result gone = store.get(lt, "default", "quickstart");
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error->code, 404);
  ASSERT_TRUE(store.create(crds(), "", crd()).ok());
  EXPECT_TRUE(store.list(loadtests(), "", {}).object["items"].empty()) << "objects went with the CRD";
}

TEST_F(CrdTest, CrdNameMustBePluralDotGroup) {
  json c = crd();
  c["metadata"]["name"] = "wrong.tokenstorm.dev";
  Result r = store.create(crds(), "", c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error->code, 422);
  EXPECT_EQ(r.error->details["causes"][0]["field"], "metadata.name");
  c = crd();
  c["spec"].erase("group");
  EXPECT_EQ(store.create(crds(), "", c).error->details["causes"][0]["field"], "spec.group");
}

TEST_F(CrdTest, ACrdWithAScaleSubresource) {
  json c = json::parse(R"({"metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "widgets", "kind": "Widget"},
      "versions": [{"name": "v1", "served": true, "storage": true,
        "schema": {"openAPIV3Schema": {"type": "object", "properties": {
          "spec": {"type": "object", "properties": {"size": {"type": "integer"}}},
          "status": {"type": "object", "properties": {"size": {"type": "integer"}, "selector": {"type": "string"}}}}}},
        "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size",
          "statusReplicasPath": ".status.size", "labelSelectorPath": ".status.selector"}}}]}})");
  ASSERT_TRUE(store.create(crds(), "", c).ok());
  ResourceType widgets = *store.findType("example.com", "v1", "widgets");
  create(widgets, "default", {{"metadata", {{"name", "w"}}}, {"spec", {{"size", 1}}}});
  ASSERT_TRUE(store
                  .patch(widgets, "default", "w", PatchType::kMerge,
                         R"({"status":{"size":1,"selector":"a=b"}})", Subresource::kStatus)
                  .ok());
  Result scale = store.get(widgets, "default", "w", Subresource::kScale);
  ASSERT_TRUE(scale.ok());
  EXPECT_EQ(scale.object["spec"]["replicas"], 1);
  EXPECT_EQ(scale.object["status"]["selector"], "a=b");
  ASSERT_TRUE(store
                  .patch(widgets, "default", "w", PatchType::kMerge, R"({"spec":{"replicas":3}})",
                         Subresource::kScale)
                  .ok());
  EXPECT_EQ(store.get(widgets, "default", "w").object["spec"]["size"], 3);
}

}  // namespace
}  // namespace tokenstorm::kts
