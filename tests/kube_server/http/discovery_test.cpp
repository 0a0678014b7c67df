#include "http/discovery.h"

#include <gtest/gtest.h>

#include "http/test_server.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

json findResource(const json& list, const std::string& name) {
  for (const auto& r : list["resources"]) {
    if (r["name"] == name) {
      return r;
    }
  }
  return nullptr;
}

json findGroup(const json& list, const std::string& name) {
  for (const auto& g : list["groups"]) {
    if (g["name"] == name) {
      return g;
    }
  }
  return nullptr;
}

class DiscoveryTest : public ServerTest {};

TEST_F(DiscoveryTest, CoreGroup) {
  int status = 0;
  json versions = callJson("GET", "/api", "", {}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(versions["kind"], "APIVersions");
  EXPECT_EQ(versions["versions"], json::array({"v1"}));

  json list = callJson("GET", "/api/v1", "", {}, &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(list["kind"], "APIResourceList");
  EXPECT_EQ(list["groupVersion"], "v1");
  json pods = findResource(list, "pods");
  ASSERT_TRUE(pods.is_object()) << list.dump();
  EXPECT_EQ(pods["kind"], "Pod");
  EXPECT_EQ(pods["singularName"], "pod");
  EXPECT_EQ(pods["namespaced"], true);
  EXPECT_NE(std::find(pods["verbs"].begin(), pods["verbs"].end(), "watch"), pods["verbs"].end());
  json pod_status = findResource(list, "pods/status");
  ASSERT_TRUE(pod_status.is_object());
  EXPECT_EQ(pod_status["verbs"], json::array({"get", "patch", "update"}));
  json namespaces = findResource(list, "namespaces");
  ASSERT_TRUE(namespaces.is_object());
  EXPECT_EQ(namespaces["namespaced"], false);
  EXPECT_TRUE(findResource(list, "configmaps").is_object());
}

TEST_F(DiscoveryTest, NamedGroups) {
  int status = 0;
  json groups = callJson("GET", "/apis", "", {}, &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(groups["kind"], "APIGroupList");
  json apps = findGroup(groups, "apps");
  ASSERT_TRUE(apps.is_object()) << groups.dump();
  EXPECT_EQ(apps["preferredVersion"]["groupVersion"], "apps/v1");
  EXPECT_TRUE(findGroup(groups, "batch").is_object());
  EXPECT_TRUE(findGroup(groups, "apiextensions.k8s.io").is_object());
  EXPECT_FALSE(findGroup(groups, "").is_object()) << "the core group is listed at /api only";

  json group = callJson("GET", "/apis/apps", "", {}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(group["kind"], "APIGroup");
  EXPECT_EQ(group["name"], "apps");

  json list = callJson("GET", "/apis/apps/v1", "", {}, &status);
  ASSERT_EQ(status, 200);
  json scale = findResource(list, "deployments/scale");
  ASSERT_TRUE(scale.is_object()) << list.dump();
  EXPECT_EQ(scale["group"], "autoscaling");
  EXPECT_EQ(scale["kind"], "Scale");

  EXPECT_EQ(call("GET", "/apis/nope.example.com").status, 404);
  EXPECT_EQ(call("GET", "/apis/apps/v9").status, 404);
}

TEST_F(DiscoveryTest, CustomResourceAppearsAfterItsCrd) {
  EXPECT_EQ(call("GET", "/apis/example.com/v1").status, 404);
  createWidgetCrd();
  int status = 0;
  json list = callJson("GET", "/apis/example.com/v1", "", {}, &status);
  ASSERT_EQ(status, 200);
  json widgets = findResource(list, "widgets");
  ASSERT_TRUE(widgets.is_object()) << list.dump();
  EXPECT_EQ(widgets["kind"], "Widget");
  EXPECT_EQ(widgets["shortNames"], json::array({"wg"}));
  EXPECT_TRUE(findResource(list, "widgets/status").is_object());
  EXPECT_TRUE(findGroup(callJson("GET", "/apis"), "example.com").is_object());
}

TEST_F(DiscoveryTest, VersionAndHealthNeedNoToken) {
  auto version = call("GET", "/version", "", {{"Authorization", ""}});
  EXPECT_EQ(version.status, 200);
  json v = json::parse(version.body);
  EXPECT_EQ(v["major"], "1");
  EXPECT_EQ(v["gitVersion"], "v1.32.0-kts");
  for (const char* path : {"/healthz", "/livez", "/readyz"}) {
    auto r = call("GET", path, "", {{"Authorization", ""}});
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, "ok");
  }
  auto api = call("GET", "/api", "", {{"Authorization", ""}});
  EXPECT_EQ(api.status, 401);
  json s = json::parse(api.body);
  EXPECT_EQ(s["kind"], "Status");
  EXPECT_EQ(s["reason"], "Unauthorized");
}

TEST_F(DiscoveryTest, OpenApiV3ListsFieldValidationForEveryKind) {
  int status = 0;
  json root = callJson("GET", "/openapi/v3", "", {}, &status);
  ASSERT_EQ(status, 200);
  ASSERT_TRUE(root["paths"].contains("api/v1")) << root.dump();
  std::string url = root["paths"]["apis/apps/v1"]["serverRelativeURL"];
  json doc = callJson("GET", url, "", {}, &status);
  ASSERT_EQ(status, 200);
  const json& op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
  EXPECT_EQ(op["x-kubernetes-group-version-kind"]["kind"], "Deployment");
  bool found = false;
  for (const auto& p : op["parameters"]) {
    found = found || p["name"] == "fieldValidation";
  }
  EXPECT_TRUE(found) << op.dump();
}

TEST(VersionOrder, PrefersStableThenNewer) {
  std::vector<std::string> v = {"v1alpha1", "v1beta1", "v2", "v1", "v1beta2", "foo"};
  std::sort(v.begin(), v.end(), versionPreferred);
  EXPECT_EQ(v, (std::vector<std::string>{"v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"}));
}

}  // namespace
}  // namespace tokenstorm::kts
