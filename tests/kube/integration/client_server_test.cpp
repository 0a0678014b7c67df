// The client's operations against the Kubernetes API test server over HTTPS: get/list (selectors,
// pagination), create (generateName), update and conflicts, the three patch types, delete with
// propagation and preconditions, the status and scale subresources, Events, Leases, and the API's errors
// as ApiError values (404, 409, 422 from a CRD's schema).
#include <gtest/gtest.h>

#include "api/yaml_json.h"
#include "kube/integration/server_fixture.h"
#include "support/case_file.h"
#include "tokenstorm/kube/events.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;

class ClientServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    client_ = client();
    ASSERT_TRUE(client_);
  }

  json mustCreate(const ResourceRef& r, const json& object, const std::string& ns = "default") {
    auto created = client_->create(r, ns, object);
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().str());
    return created.ok() ? *created : json();
  }

  static json deployment(const std::string& name) {
    json containers = json::array(
        {{{"name", "main"}, {"image", "busybox:1"}}, {{"name", "sidecar"}, {"image", "envoy:1"}}});
    json pod_template = {{"metadata", {{"labels", {{"app", name}}}}}, {"spec", {{"containers", containers}}}};
    json spec = {
        {"replicas", 1}, {"selector", {{"matchLabels", {{"app", name}}}}}, {"template", pod_template}};
    return {
        {"apiVersion", "apps/v1"}, {"kind", "Deployment"}, {"metadata", {{"name", name}}}, {"spec", spec}};
  }

  std::unique_ptr<Client> client_;
};

TEST_F(ClientServerTest, GetAndListWithLabelAndFieldSelectors) {
  mustCreate(resources::kConfigMaps, configMap("web-1", {{"k", "1"}}, {{"app", "web"}, {"tier", "front"}}));
  mustCreate(resources::kConfigMaps, configMap("web-2", {{"k", "2"}}, {{"app", "web"}, {"tier", "back"}}));
  mustCreate(resources::kConfigMaps, configMap("db-1", {{"k", "3"}}, {{"app", "db"}}));

  auto got = client_->get(resources::kConfigMaps, "default", "web-2");
  ASSERT_TRUE(got.ok()) << got.error().str();
  EXPECT_EQ((*got)["data"]["k"], "2");
  EXPECT_FALSE(rvOf(*got).empty());

  auto web = client_->list(resources::kConfigMaps, "default", selecting("app=web"));
  ASSERT_TRUE(web.ok()) << web.error().str();
  EXPECT_EQ(names(*web), std::vector<std::string>({"web-1", "web-2"}));
  EXPECT_FALSE((*web)["metadata"].value("resourceVersion", "").empty());

  auto set = client_->list(resources::kConfigMaps, "default", selecting("app in (web,db),tier!=back"));
  ASSERT_TRUE(set.ok()) << set.error().str();
  EXPECT_EQ(names(*set), std::vector<std::string>({"db-1", "web-1"}));

  auto by_name = client_->list(resources::kConfigMaps, "", selecting("", "metadata.name=db-1"));
  ASSERT_TRUE(by_name.ok()) << by_name.error().str();
  EXPECT_EQ(names(*by_name), std::vector<std::string>({"db-1"}));

  auto both = client_->list(resources::kConfigMaps, "default", selecting("app=web", "metadata.name!=web-1"));
  ASSERT_TRUE(both.ok()) << both.error().str();
  EXPECT_EQ(names(*both), std::vector<std::string>({"web-2"}));

  auto bad = client_->list(resources::kConfigMaps, "default", selecting("app in (web"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, 400) << bad.error().str();
}

TEST_F(ClientServerTest, PaginationWithLimitAndContinueAndListAll) {
  for (int i = 0; i < 7; ++i) {
    mustCreate(resources::kConfigMaps, configMap("page-" + std::to_string(i), {{"k", "v"}}, {{"set", "p"}}));
  }
  mustCreate(resources::kConfigMaps, configMap("other"));

  std::vector<std::string> seen;
  ListOptions options = selecting("set=p", "", 3);
  int pages = 0;
  while (true) {
    auto page = client_->list(resources::kConfigMaps, "default", options);
    ASSERT_TRUE(page.ok()) << page.error().str();
    ++pages;
    EXPECT_LE((*page)["items"].size(), 3u);
    for (const auto& name : names(*page)) {
      seen.push_back(name);
    }
    std::string next = (*page)["metadata"].value("continue", "");
    if (next.empty()) {
      break;
    }
    options.continueToken = next;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen,
            std::vector<std::string>({"page-0", "page-1", "page-2", "page-3", "page-4", "page-5", "page-6"}));

  auto all = client_->listAll(resources::kConfigMaps, "default", selecting("set=p", "", 2));
  ASSERT_TRUE(all.ok()) << all.error().str();
  EXPECT_EQ(names(*all), seen);
  EXPECT_FALSE((*all)["metadata"].contains("continue"));
  EXPECT_FALSE((*all)["metadata"].value("resourceVersion", "").empty());
}

TEST_F(ClientServerTest, CreateWithGenerateNameAndDuplicates) {
  json object = configMap("");
  object["metadata"].erase("name");
  object["metadata"]["generateName"] = "gen-";
  json first = mustCreate(resources::kConfigMaps, object);
  json second = mustCreate(resources::kConfigMaps, object);
  std::string a = nameOf(first);
  std::string b = nameOf(second);
  EXPECT_EQ(a.rfind("gen-", 0), 0u) << a;
  EXPECT_EQ(a.size(), 9u) << a;  // five random characters, as kube-apiserver
  EXPECT_NE(a, b);
  EXPECT_FALSE(first["metadata"].value("uid", "").empty());
  EXPECT_FALSE(first["metadata"].value("creationTimestamp", "").empty());

  auto again = client_->create(resources::kConfigMaps, "default", configMap(a));
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().alreadyExists()) << again.error().str();
  EXPECT_FALSE(again.error().conflict());
}

TEST_F(ClientServerTest, UpdateWithAStaleResourceVersionIsAConflict) {
  json v1 = mustCreate(resources::kConfigMaps, configMap("cm"));
  json v2 = v1;
  v2["data"]["k"] = "second";
  auto updated = client_->update(resources::kConfigMaps, "default", v2);
  ASSERT_TRUE(updated.ok()) << updated.error().str();
  EXPECT_NE(rvOf(*updated), rvOf(v1));

  json stale = v1;  // still carries v1's resourceVersion
  stale["data"]["k"] = "lost update";
  auto conflict = client_->update(resources::kConfigMaps, "default", stale);
  ASSERT_FALSE(conflict.ok());
  const ApiError& e = conflict.error();
  EXPECT_TRUE(e.conflict()) << e.str();
  EXPECT_EQ(e.code, 409);
  EXPECT_EQ(e.reason, "Conflict");
  EXPECT_NE(e.message.find("cm"), std::string::npos) << e.message;
  EXPECT_EQ(e.attempts, 1u) << "a conflict is not retried";
  EXPECT_EQ((*client_->get(resources::kConfigMaps, "default", "cm"))["data"]["k"], "second");

  // A forced 409 from the server's fault injection is the same value.
  server_->faults().conflictNextWrites(1);
  json fresh = *updated;
  fresh["data"]["k"] = "third";
  auto forced = client_->update(resources::kConfigMaps, "default", fresh);
  ASSERT_FALSE(forced.ok());
  EXPECT_TRUE(forced.error().conflict()) << forced.error().str();
  auto retried = client_->update(resources::kConfigMaps, "default", fresh);
  ASSERT_TRUE(retried.ok()) << retried.error().str();
  EXPECT_EQ((*retried)["data"]["k"], "third");
}

TEST_F(ClientServerTest, MergeJsonAndStrategicPatches) {
  mustCreate(resources::kConfigMaps, configMap("cm", {{"a", "1"}, {"b", "2"}}));
  auto merged = client_->patch(resources::kConfigMaps, "default", "cm", PatchType::kMerge,
                               {{"data", {{"a", nullptr}, {"c", "3"}}}});
  ASSERT_TRUE(merged.ok()) << merged.error().str();
  EXPECT_EQ((*merged)["data"], json({{"b", "2"}, {"c", "3"}}));

  auto patched = client_->patch(resources::kConfigMaps, "default", "cm", PatchType::kJson,
                                json::array({{{"op", "test"}, {"path", "/data/b"}, {"value", "2"}},
                                             {{"op", "replace"}, {"path", "/data/b"}, {"value", "20"}},
                                             {{"op", "add"}, {"path", "/data/d"}, {"value", "4"}}}));
  ASSERT_TRUE(patched.ok()) << patched.error().str();
  EXPECT_EQ((*patched)["data"], json({{"b", "20"}, {"c", "3"}, {"d", "4"}}));

  auto failed_test = client_->patch(resources::kConfigMaps, "default", "cm", PatchType::kJson,
                                    json::array({{{"op", "test"}, {"path", "/data/b"}, {"value", "2"}}}));
  ASSERT_FALSE(failed_test.ok());
  EXPECT_GE(failed_test.error().code, 400) << failed_test.error().str();

  auto strategic = client_->patch(resources::kConfigMaps, "default", "cm", PatchType::kStrategicMerge,
                                  {{"data", {{"e", "5"}}}});
  ASSERT_TRUE(strategic.ok()) << strategic.error().str();
  EXPECT_EQ((*strategic)["data"], json({{"b", "20"}, {"c", "3"}, {"d", "4"}, {"e", "5"}}));

  // On a Deployment, a strategic merge patch merges containers by name; a merge patch replaces the list.
  mustCreate(resources::kDeployments, deployment("web"));
  auto by_name = client_->patch(
      resources::kDeployments, "default", "web", PatchType::kStrategicMerge,
      {{"spec",
        {{"template", {{"spec", {{"containers", {{{"name", "sidecar"}, {"image", "envoy:2"}}}}}}}}}}});
  ASSERT_TRUE(by_name.ok()) << by_name.error().str();
  json containers = (*by_name)["spec"]["template"]["spec"]["containers"];
  ASSERT_EQ(containers.size(), 2u) << containers.dump();
  EXPECT_EQ(containers[0]["image"], "busybox:1");
  EXPECT_EQ(containers[1]["image"], "envoy:2");
  EXPECT_EQ((*by_name)["metadata"]["generation"], 2) << "a spec change bumps generation";

  auto replaced = client_->patch(
      resources::kDeployments, "default", "web", PatchType::kMerge,
      {{"spec", {{"template", {{"spec", {{"containers", {{{"name", "only"}, {"image", "x:1"}}}}}}}}}}});
  ASSERT_TRUE(replaced.ok()) << replaced.error().str();
  EXPECT_EQ((*replaced)["spec"]["template"]["spec"]["containers"].size(), 1u);
}

TEST_F(ClientServerTest, DeleteBackgroundRemovesDependents) {
  json owner = mustCreate(resources::kConfigMaps, configMap("owner"));
  json owner_ref = {
      {"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"name", "owner"}, {"uid", owner["metadata"]["uid"]}};
  for (const char* name : {"dep-1", "dep-2"}) {
    json dep = configMap(name);
    dep["metadata"]["ownerReferences"] = json::array({owner_ref});
    mustCreate(resources::kConfigMaps, dep);
  }
  mustCreate(resources::kConfigMaps, configMap("bystander"));

  auto deleted = client_->remove(resources::kConfigMaps, "default", "owner", propagation("Background"));
  ASSERT_TRUE(deleted.ok()) << deleted.error().str();
  auto gone = client_->get(resources::kConfigMaps, "default", "owner");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.error().notFound()) << gone.error().str();
  EXPECT_TRUE(waitFor([&] {
    auto left = client_->list(resources::kConfigMaps, "default");
    return left.ok() && names(*left) == std::vector<std::string>({"bystander"});
  }));
}

TEST_F(ClientServerTest, DeleteForegroundWaitsForBlockingDependents) {
  json owner = mustCreate(resources::kConfigMaps, configMap("owner"));
  json dep = configMap("dep");
  dep["metadata"]["ownerReferences"] = json::array({{{"apiVersion", "v1"},
                                                     {"kind", "ConfigMap"},
                                                     {"name", "owner"},
                                                     {"uid", owner["metadata"]["uid"]},
                                                     {"blockOwnerDeletion", true}}});
  dep["metadata"]["finalizers"] = json::array({"example.com/hold"});
  mustCreate(resources::kConfigMaps, dep);

  auto deleted = client_->remove(resources::kConfigMaps, "default", "owner", propagation("Foreground"));
  ASSERT_TRUE(deleted.ok()) << deleted.error().str();
  // The dependent's own finalizer holds it, so the owner waits with deletionTimestamp and
  // foregroundDeletion.
  auto waiting = client_->get(resources::kConfigMaps, "default", "owner");
  ASSERT_TRUE(waiting.ok()) << waiting.error().str();
  EXPECT_TRUE(waiting->at("metadata").contains("deletionTimestamp")) << waiting->dump();
  EXPECT_EQ(waiting->at("metadata").value("finalizers", json::array()), json::array({"foregroundDeletion"}));
  auto held = client_->get(resources::kConfigMaps, "default", "dep");
  ASSERT_TRUE(held.ok()) << held.error().str();
  EXPECT_TRUE(held->at("metadata").contains("deletionTimestamp"));

  auto released = client_->patch(resources::kConfigMaps, "default", "dep", PatchType::kMerge,
                                 {{"metadata", {{"finalizers", nullptr}}}});
  ASSERT_TRUE(released.ok()) << released.error().str();
  EXPECT_TRUE(waitFor([&] {
    auto o = client_->get(resources::kConfigMaps, "default", "owner");
    auto d = client_->get(resources::kConfigMaps, "default", "dep");
    return !o.ok() && o.error().notFound() && !d.ok() && d.error().notFound();
  }));
}

TEST_F(ClientServerTest, DeletePreconditions) {
  json cm = mustCreate(resources::kConfigMaps, configMap("cm"));
  auto wrong_uid = client_->remove(resources::kConfigMaps, "default", "cm", preconditions("not-the-uid", ""));
  ASSERT_FALSE(wrong_uid.ok());
  EXPECT_TRUE(wrong_uid.error().conflict()) << wrong_uid.error().str();
  EXPECT_EQ(wrong_uid.error().code, 409);

  auto wrong_rv = client_->remove(resources::kConfigMaps, "default", "cm", preconditions("", "1"));
  ASSERT_FALSE(wrong_rv.ok());
  EXPECT_TRUE(wrong_rv.error().conflict()) << wrong_rv.error().str();
  ASSERT_TRUE(client_->get(resources::kConfigMaps, "default", "cm").ok()) << "still there";

  auto right = client_->remove(resources::kConfigMaps, "default", "cm",
                               preconditions(cm["metadata"]["uid"].get<std::string>(), rvOf(cm)));
  ASSERT_TRUE(right.ok()) << right.error().str();
  auto gone = client_->get(resources::kConfigMaps, "default", "cm");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.error().notFound());

  auto missing = client_->remove(resources::kConfigMaps, "default", "cm");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().notFound()) << missing.error().str();
}

TEST_F(ClientServerTest, StatusSubresourceIsIsolated) {
  json d = mustCreate(resources::kDeployments, deployment("web"));
  ASSERT_EQ(d["metadata"]["generation"], 1);

  json with_status = d;
  with_status["status"] = {{"replicas", 1}, {"readyReplicas", 1}, {"observedGeneration", 1}};
  with_status["spec"]["replicas"] = 5;  // ignored by the status subresource
  auto status_written = client_->updateStatus(resources::kDeployments, "default", with_status);
  ASSERT_TRUE(status_written.ok()) << status_written.error().str();
  EXPECT_EQ((*status_written)["status"]["readyReplicas"], 1);
  EXPECT_EQ((*status_written)["spec"]["replicas"], 1);
  EXPECT_EQ((*status_written)["metadata"]["generation"], 1) << "status writes do not bump generation";

  json spec_change = *status_written;
  spec_change["spec"]["replicas"] = 3;
  spec_change["status"]["readyReplicas"] = 99;  // ignored by the main resource
  auto updated = client_->update(resources::kDeployments, "default", spec_change);
  ASSERT_TRUE(updated.ok()) << updated.error().str();
  EXPECT_EQ((*updated)["spec"]["replicas"], 3);
  EXPECT_EQ((*updated)["status"]["readyReplicas"], 1);
  EXPECT_EQ((*updated)["metadata"]["generation"], 2);

  auto status = client_->getStatus(resources::kDeployments, "default", "web");
  ASSERT_TRUE(status.ok()) << status.error().str();
  EXPECT_EQ((*status)["status"]["readyReplicas"], 1);

  auto patched = client_->patchStatus(resources::kDeployments, "default", "web", PatchType::kMerge,
                                      {{"status", {{"readyReplicas", 3}}}, {"spec", {{"replicas", 7}}}});
  ASSERT_TRUE(patched.ok()) << patched.error().str();
  EXPECT_EQ((*patched)["status"]["readyReplicas"], 3);
  EXPECT_EQ((*patched)["spec"]["replicas"], 3);
}

TEST_F(ClientServerTest, ScaleSubresourceOfADeployment) {
  mustCreate(resources::kDeployments, deployment("web"));
  auto scale = client_->getScale(resources::kDeployments, "default", "web");
  ASSERT_TRUE(scale.ok()) << scale.error().str();
  EXPECT_EQ((*scale)["kind"], "Scale");
  EXPECT_EQ((*scale)["spec"]["replicas"], 1);

  auto scaled = client_->patchScale(resources::kDeployments, "default", "web", 4);
  ASSERT_TRUE(scaled.ok()) << scaled.error().str();
  EXPECT_EQ((*scaled)["spec"]["replicas"], 4);
  auto d = client_->get(resources::kDeployments, "default", "web");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["spec"]["replicas"], 4);

  auto no_scale = client_->getScale(resources::kConfigMaps, "default", "web");
  ASSERT_FALSE(no_scale.ok());
  EXPECT_TRUE(no_scale.error().notFound()) << no_scale.error().str();
}

TEST_F(ClientServerTest, EventsCreatedAreReadBackThroughCoreV1WithAFieldSelector) {
  json cm = mustCreate(resources::kConfigMaps, configMap("subject"));
  EventRecord record;
  record.regarding = objectReference(cm);
  record.reason = "BudgetExceeded";
  record.action = "Abort";
  record.note = "spent 12.5 of 10 USD";
  record.reportingInstance = "operator-0";
  auto created = client_->createEvent(record);
  ASSERT_TRUE(created.ok()) << created.error().str();
  EXPECT_EQ((*created)["apiVersion"], "events.k8s.io/v1");
  record.regarding = objectReference(mustCreate(resources::kConfigMaps, configMap("other")));
  ASSERT_TRUE(client_->createEvent(record).ok());

  const ResourceRef core_events{"", "v1", "events", true};
  auto listed = client_->list(core_events, "default", selecting("", "involvedObject.name=subject"));
  ASSERT_TRUE(listed.ok()) << listed.error().str();
  ASSERT_EQ((*listed)["items"].size(), 1u) << listed->dump();
  const json& event = (*listed)["items"][0];
  EXPECT_EQ(event["reason"], "BudgetExceeded");
  EXPECT_EQ(event["message"], "spent 12.5 of 10 USD");
  EXPECT_EQ(event["type"], "Normal");
  EXPECT_EQ(event["involvedObject"]["kind"], "ConfigMap");
  EXPECT_EQ(event["involvedObject"]["uid"], cm["metadata"]["uid"]);

  auto v1 = client_->list(resources::kEvents, "default", selecting("", "regarding.name=subject"));
  ASSERT_TRUE(v1.ok()) << v1.error().str();
  ASSERT_EQ((*v1)["items"].size(), 1u);
  EXPECT_EQ((*v1)["items"][0]["note"], "spent 12.5 of 10 USD");
}

TEST_F(ClientServerTest, LeaseCreateAndUpdate) {
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "lock"}}},
                {"spec",
                 {{"holderIdentity", "a"},
                  {"leaseDurationSeconds", 15},
                  {"renewTime", formatMicroTime(std::chrono::system_clock::now())}}}};
  json created = mustCreate(resources::kLeases, lease);
  EXPECT_EQ(created["spec"]["holderIdentity"], "a");
  json renewed = created;
  renewed["spec"]["holderIdentity"] = "b";
  renewed["spec"]["leaseTransitions"] = 1;
  auto updated = client_->update(resources::kLeases, "default", renewed);
  ASSERT_TRUE(updated.ok()) << updated.error().str();
  EXPECT_EQ((*updated)["spec"]["holderIdentity"], "b");
  auto stale = client_->update(resources::kLeases, "default", created);
  ASSERT_FALSE(stale.ok());
  EXPECT_TRUE(stale.error().conflict());
}

TEST_F(ClientServerTest, NotFoundIsAValue) {
  auto missing = client_->get(resources::kConfigMaps, "default", "nothing-here");
  ASSERT_FALSE(missing.ok());
  const ApiError& e = missing.error();
  EXPECT_TRUE(e.notFound());
  EXPECT_EQ(e.reason, "NotFound");
  EXPECT_NE(e.message.find("nothing-here"), std::string::npos) << e.message;
  EXPECT_EQ(e.method, "GET");
  EXPECT_EQ(e.target, "/api/v1/namespaces/default/configmaps/nothing-here");
  EXPECT_EQ(e.attempts, 1u);
  auto no_ns = client_->create(resources::kConfigMaps, "no-such-namespace", configMap("x"));
  ASSERT_FALSE(no_ns.ok());
  EXPECT_TRUE(no_ns.error().notFound()) << no_ns.error().str();
}

TEST_F(ClientServerTest, AnInvalidLoadTestIs422NamingTheField) {
  auto crd =
      testing::yamlDocuments(testing::readFile(testing::sourcePath("crds/loadtests.tokenstorm.dev.yaml")))
          .at(0);
  auto registered = client_->create(resources::kCustomResourceDefinitions, "", crd);
  ASSERT_TRUE(registered.ok()) << registered.error().str();
  json lt = testing::yamlDocuments(testing::readFile(testing::sourcePath("examples/quickstart.yaml"))).at(0);

  json broken = lt;
  broken["spec"]["target"]["endpoints"][0].erase("url");
  auto invalid = client_->create(resources::kLoadTests, "default", broken);
  ASSERT_FALSE(invalid.ok());
  const ApiError& e = invalid.error();
  EXPECT_TRUE(e.invalid()) << e.str();
  EXPECT_EQ(e.reason, "Invalid");
  EXPECT_NE(e.message.find("spec.target.endpoints[0].url"), std::string::npos) << e.message;
  ASSERT_TRUE(e.details.contains("causes")) << e.details.dump();
  EXPECT_EQ(e.details["causes"][0]["field"], "spec.target.endpoints[0].url");

  auto valid = client_->create(resources::kLoadTests, "default", lt);
  ASSERT_TRUE(valid.ok()) << valid.error().str();
  EXPECT_EQ((*valid)["kind"], "LoadTest");
  auto status = client_->patchStatus(resources::kLoadTests, "default", "quickstart", PatchType::kMerge,
                                     {{"status", {{"phase", "Running"}}}});
  ASSERT_TRUE(status.ok()) << status.error().str();
  EXPECT_EQ((*status)["status"]["phase"], "Running");
  auto strategic = client_->patch(resources::kLoadTests, "default", "quickstart", PatchType::kStrategicMerge,
                                  {{"metadata", {{"labels", {{"a", "b"}}}}}});
  ASSERT_FALSE(strategic.ok());
  EXPECT_EQ(strategic.error().code, 415) << "custom resources take no strategic merge patch";
}

}  // namespace
}  // namespace tokenstorm::kube
