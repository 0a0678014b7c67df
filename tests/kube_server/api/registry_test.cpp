// The built-in types (names, scope, subresources as kube-apiserver publishes them) and CRD → types.
#include "api/registry.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "api/yaml_json.h"
#include "support/case_file.h"

namespace tokenstorm::kts {
namespace {

const ResourceType* byPlural(const std::vector<ResourceType>& types, const std::string& group,
                             const std::string& plural) {
  for (const auto& t : types) {
    if (t.group == group && t.plural == plural) {
      return &t;
    }
  }
  return nullptr;
}

bool has(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

TEST(Registry, BuiltinsCarryKubeNamesScopeAndSubresources) {
  auto types = builtinTypes();
  struct Want {
    std::string group, plural, kind, shortName;
    bool namespaced, status, scale, all;
  };
  const std::vector<Want> wants = {
      {"", "namespaces", "Namespace", "ns", false, true, false, false},
      {"", "pods", "Pod", "po", true, true, false, true},
      {"", "configmaps", "ConfigMap", "cm", true, false, false, false},
      {"", "secrets", "Secret", "", true, false, false, false},
      {"", "serviceaccounts", "ServiceAccount", "sa", true, false, false, false},
      {"", "events", "Event", "ev", true, false, false, false},
      {"", "nodes", "Node", "no", false, true, false, false},
      {"", "services", "Service", "svc", true, true, false, true},
      {"events.k8s.io", "events", "Event", "ev", true, false, false, false},
      {"batch", "jobs", "Job", "", true, true, false, true},
      {"apps", "deployments", "Deployment", "deploy", true, true, true, true},
      {"apps", "statefulsets", "StatefulSet", "sts", true, true, true, true},
      {"autoscaling", "horizontalpodautoscalers", "HorizontalPodAutoscaler", "hpa", true, true, false, true},
      {"coordination.k8s.io", "leases", "Lease", "", true, false, false, false},
      {"apiextensions.k8s.io", "customresourcedefinitions", "CustomResourceDefinition", "crd", false, true,
       false, false},
  };
  ASSERT_EQ(types.size(), wants.size());
  for (const auto& w : wants) {
    const ResourceType* t = byPlural(types, w.group, w.plural);
    ASSERT_NE(t, nullptr) << w.group << "/" << w.plural;
    EXPECT_EQ(t->kind, w.kind);
    EXPECT_EQ(t->listKind, w.kind + "List");
    EXPECT_EQ(t->namespaced, w.namespaced) << w.plural;
    EXPECT_EQ(t->statusSubresource, w.status) << w.plural;
    EXPECT_EQ(t->scaleSubresource, w.scale) << w.plural;
    EXPECT_EQ(has(t->categories, "all"), w.all) << w.plural;
    if (!w.shortName.empty()) {
      EXPECT_TRUE(has(t->shortNames, w.shortName)) << w.plural;
    }
    EXPECT_TRUE(t->builtin);
  }
  EXPECT_TRUE(has(byPlural(types, "apiextensions.k8s.io", "customresourcedefinitions")->shortNames, "crds"));
  EXPECT_EQ(byPlural(types, "autoscaling", "horizontalpodautoscalers")->version, "v2");
  EXPECT_EQ(byPlural(types, "apps", "deployments")->apiVersion(), "apps/v1");
  EXPECT_EQ(byPlural(types, "", "pods")->apiVersion(), "v1");
  EXPECT_EQ(byPlural(types, "", "pods")->singular, "pod");
}

TEST(Registry, JsonPathsBecomePointers) {
  EXPECT_EQ(jsonPathToPointer(".spec.replicas"), "/spec/replicas");
  EXPECT_EQ(jsonPathToPointer("status.selector"), "/status/selector");
  EXPECT_EQ(jsonPathToPointer(".a/b.c~d"), "/a~1b/c~0d");
  EXPECT_EQ(jsonPathToPointer(""), "");
}

TEST(Registry, NamesForErrors) {
  auto types = builtinTypes();
  EXPECT_EQ(qualifiedResource(*byPlural(types, "", "pods")), "pods");
  EXPECT_EQ(qualifiedResource(*byPlural(types, "apps", "deployments")), "deployments.apps");
  EXPECT_EQ(qualifiedKind(*byPlural(types, "apps", "deployments")), "Deployment.apps");
  EXPECT_EQ(storageKey(*byPlural(types, "", "events")), "/events");
  EXPECT_EQ(storageKey(*byPlural(types, "events.k8s.io", "events")), "/events") << "one resource, two groups";
}

TEST(Registry, TheLoadTestCrdServesItsVersionWithStatusSchemaAndColumns) {
  auto docs = tokenstorm::testing::yamlDocuments(
      tokenstorm::testing::readFile(tokenstorm::testing::sourcePath("crds/loadtests.tokenstorm.dev.yaml")));
  ASSERT_EQ(docs.size(), 1u);
  std::string error;
  auto types = typesFromCrd(docs[0], &error);
  ASSERT_TRUE(types) << error;
  ASSERT_EQ(types->size(), 1u);
  const ResourceType& t = (*types)[0];
  EXPECT_EQ(t.apiVersion(), "tokenstorm.dev/v1alpha1");
  EXPECT_EQ(t.kind, "LoadTest");
  EXPECT_EQ(t.listKind, "LoadTestList");
  EXPECT_EQ(t.singular, "loadtest");
  EXPECT_TRUE(has(t.shortNames, "lt"));
  EXPECT_TRUE(has(t.categories, "tokenstorm"));
  EXPECT_TRUE(t.namespaced);
  EXPECT_TRUE(t.statusSubresource);
  EXPECT_FALSE(t.scaleSubresource);
  EXPECT_FALSE(t.builtin);
  EXPECT_EQ(t.schema["type"], "object");
  ASSERT_TRUE(t.printerColumns.is_array());
  EXPECT_EQ(t.printerColumns[0]["name"], "Phase");
}

TEST(Registry, CrdScaleSubresourceAndDefaultsOfNames) {
  nlohmann::json crd = nlohmann::json::parse(R"({
    "metadata": {"name": "widgets.example.com"},
    "spec": {"group": "example.com", "scope": "Cluster",
             "names": {"plural": "widgets", "kind": "Widget"},
             "versions": [
               {"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.size",
                                 "statusReplicasPath": ".status.size", "labelSelectorPath": ".status.selector"}}},
               {"name": "v0", "served": false, "storage": false}]}})");
  std::string error;
  auto types = typesFromCrd(crd, &error);
  ASSERT_TRUE(types) << error;
  ASSERT_EQ(types->size(), 1u) << "unserved versions are not types";
  const ResourceType& t = (*types)[0];
  EXPECT_FALSE(t.namespaced);
  EXPECT_EQ(t.singular, "widget");
  EXPECT_EQ(t.listKind, "WidgetList");
  EXPECT_TRUE(t.scaleSubresource);
  EXPECT_EQ(t.specReplicasPointer, "/spec/size");
  EXPECT_EQ(t.statusReplicasPointer, "/status/size");
  EXPECT_EQ(t.labelSelectorPointer, "/status/selector");
  EXPECT_TRUE(t.schema.is_null());
}

TEST(Registry, BrokenCrdsNameTheField) {
  std::string error;
  EXPECT_FALSE(typesFromCrd(nlohmann::json::parse(R"({"spec": {}})"), &error));
  EXPECT_EQ(error, "spec.group: Required value");
  EXPECT_FALSE(typesFromCrd(nlohmann::json::parse(R"({"spec": {"group": "a.b", "names": {"plural": "xs"}}})"),
                            &error));
  EXPECT_EQ(error, "spec.names.kind: Required value");
  EXPECT_FALSE(typesFromCrd(
      nlohmann::json::parse(
          R"({"spec": {"group": "a.b", "scope": "Nope", "names": {"plural": "xs", "kind": "X"}}})"),
      &error));
  EXPECT_NE(error.find("spec.scope: Unsupported value: \"Nope\""), std::string::npos);
  EXPECT_FALSE(typesFromCrd(nlohmann::json::array(), &error));
}

}  // namespace
}  // namespace tokenstorm::kts
