// CRUD over HTTP: status codes, Status bodies, patches by Content-Type, subresources, selectors.
#include <gtest/gtest.h>

#include "http/test_server.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

constexpr const char* kConfigMaps = "/api/v1/namespaces/default/configmaps";

json configMap(const std::string& name, const json& data = {{"a", "1"}}) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", {{"app", "x"}}}}},
          {"data", data}};
}

std::string urlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

class ResourcesTest : public ServerTest {};

TEST_F(ResourcesTest, ConfigMapRoundTrip) {
  int status = 0;
  json created = callJson("POST", kConfigMaps, configMap("one").dump(), {}, &status);
  ASSERT_EQ(status, 201) << created.dump();
  EXPECT_EQ(created["metadata"]["namespace"], "default");
  EXPECT_FALSE(created["metadata"]["uid"].get<std::string>().empty());
  std::string rv = created["metadata"]["resourceVersion"];

  json got = callJson("GET", std::string(kConfigMaps) + "/one", "", {}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(got["data"]["a"], "1");

  json dup = callJson("POST", kConfigMaps, configMap("one").dump(), {}, &status);
  EXPECT_EQ(status, 409);
  EXPECT_EQ(dup["kind"], "Status");
  EXPECT_EQ(dup["reason"], "AlreadyExists");

  json updated = got;
  updated["data"]["a"] = "2";
  json put = callJson("PUT", std::string(kConfigMaps) + "/one", updated.dump(), {}, &status);
  EXPECT_EQ(status, 200) << put.dump();
  EXPECT_EQ(put["data"]["a"], "2");
  json stale = callJson("PUT", std::string(kConfigMaps) + "/one", updated.dump(), {}, &status);
  EXPECT_EQ(status, 409) << "the second PUT carries the old resourceVersion " << rv;
  EXPECT_EQ(stale["reason"], "Conflict");

  json merged = callJson("PATCH", std::string(kConfigMaps) + "/one", R"({"data":{"b":"3"}})",
                         {{"Content-Type", "application/merge-patch+json"}}, &status);
  EXPECT_EQ(status, 200) << merged.dump();
  EXPECT_EQ(merged["data"], json({{"a", "2"}, {"b", "3"}}));
  json patched = callJson("PATCH", std::string(kConfigMaps) + "/one", R"([{"op":"remove","path":"/data/a"}])",
                          {{"Content-Type", "application/json-patch+json"}}, &status);
  EXPECT_EQ(status, 200) << patched.dump();
  EXPECT_EQ(patched["data"], json({{"b", "3"}}));
  json strategic = callJson("PATCH", std::string(kConfigMaps) + "/one", R"({"data":{"c":"4"}})",
                            {{"Content-Type", "application/strategic-merge-patch+json"}}, &status);
  EXPECT_EQ(status, 200) << strategic.dump();
  EXPECT_EQ(strategic["data"], json({{"b", "3"}, {"c", "4"}}));

  json list = callJson("GET", std::string(kConfigMaps) + "?labelSelector=app%3Dx", "", {}, &status);
  EXPECT_EQ(status, 200);
  EXPECT_EQ(list["kind"], "ConfigMapList");
  ASSERT_EQ(list["items"].size(), 1u);
  list = callJson("GET", std::string(kConfigMaps) + "?labelSelector=app%3Dy");
  EXPECT_EQ(list["items"].size(), 0u);

  callJson("DELETE", std::string(kConfigMaps) + "/one", R"({"kind":"DeleteOptions","apiVersion":"v1"})", {},
           &status);
  EXPECT_EQ(status, 200);
  json missing = callJson("GET", std::string(kConfigMaps) + "/one", "", {}, &status);
  EXPECT_EQ(status, 404);
  EXPECT_EQ(missing["reason"], "NotFound");
  EXPECT_EQ(missing["code"], 404);
}

TEST_F(ResourcesTest, RequestsThatDisagreeWithTheUrlAreRefused) {
  int status = 0;
  json cm = configMap("two");
  cm["metadata"]["namespace"] = "other";
  json s = callJson("POST", kConfigMaps, cm.dump(), {}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(s["message"].get<std::string>().find("namespace"), std::string::npos) << s.dump();

  cm = configMap("two");
  cm["kind"] = "Secret";
  EXPECT_EQ(call("POST", kConfigMaps, cm.dump()).status, 400);

  EXPECT_EQ(call("POST", std::string(kConfigMaps) + "/two", configMap("two").dump()).status, 405);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/nopes").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/default/configmaps/x/nope").status, 404);
  EXPECT_EQ(call("POST", std::string(kConfigMaps) + "?dryRun=All", configMap("two").dump()).status, 400);

  ASSERT_EQ(call("POST", kConfigMaps, configMap("two").dump()).status, 201);
  auto apply = call("PATCH", std::string(kConfigMaps) + "/two", "{}",
                    {{"Content-Type", "application/apply-patch+yaml"}});
  EXPECT_EQ(apply.status, 415);
  EXPECT_NE(apply.body.find("server-side apply"), std::string::npos) << apply.body;
  auto bad_patch = call("PATCH", std::string(kConfigMaps) + "/two", "{not json",
                        {{"Content-Type", "application/merge-patch+json"}});
  EXPECT_EQ(bad_patch.status, 400);
  EXPECT_NE(bad_patch.body.find("not valid JSON"), std::string::npos) << bad_patch.body;
}

TEST_F(ResourcesTest, CustomResourceWithStatusSubresource) {
  createWidgetCrd();
  const std::string base = "/apis/example.com/v1/namespaces/default/widgets";
  json w = {{"apiVersion", "example.com/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", "w1"}}},
            {"spec", {{"size", 3}}},
            {"status", {{"phase", "Ignored"}}}};
  int status = 0;
  json created = callJson("POST", base, w.dump(), {}, &status);
  ASSERT_EQ(status, 201) << created.dump();
  EXPECT_FALSE(created.contains("status") && created["status"].contains("phase"))
      << "status in a create body is dropped for types with a status subresource";

  json patched = callJson("PATCH", base + "/w1/status", R"({"status":{"phase":"Running"}})",
                          {{"Content-Type", "application/merge-patch+json"}}, &status);
  EXPECT_EQ(status, 200) << patched.dump();
  EXPECT_EQ(patched["status"]["phase"], "Running");
  json got = callJson("GET", base + "/w1/status");
  EXPECT_EQ(got["status"]["phase"], "Running");

  json wrong = w;
  wrong["metadata"]["name"] = "w2";
  wrong["spec"]["size"] = "big";
  json invalid = callJson("POST", base, wrong.dump(), {}, &status);
  EXPECT_EQ(status, 422) << invalid.dump();
  EXPECT_EQ(invalid["reason"], "Invalid");

  EXPECT_EQ(call("DELETE", base + "/w1").status, 200);
  EXPECT_EQ(call("GET", base + "/w1").status, 404);
}

TEST_F(ResourcesTest, ClusterScopedAndDeleteCollection) {
  int status = 0;
  json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "team-a"}}}};
  callJson("POST", "/api/v1/namespaces", ns.dump(), {}, &status);
  ASSERT_EQ(status, 201);
  EXPECT_EQ(call("GET", "/api/v1/namespaces/team-a").status, 200);
  const std::string base = "/api/v1/namespaces/team-a/configmaps";
  for (const char* name : {"a", "b", "c"}) {
    ASSERT_EQ(call("POST", base, configMap(name).dump()).status, 201);
  }
  json all = callJson("GET", "/api/v1/configmaps");
  EXPECT_EQ(all["items"].size(), 3u) << "a list across namespaces";
  json page = callJson("GET", base + "?limit=2");
  EXPECT_EQ(page["items"].size(), 2u);
  std::string token = page["metadata"]["continue"];
  json rest = callJson("GET", base + "?limit=2&continue=" + urlEncode(token));
  EXPECT_EQ(rest["items"].size(), 1u);
  EXPECT_EQ(call("DELETE", base + "?labelSelector=app%3Dx").status, 200);
  EXPECT_EQ(callJson("GET", base)["items"].size(), 0u);
}

}  // namespace
}  // namespace tokenstorm::kts
