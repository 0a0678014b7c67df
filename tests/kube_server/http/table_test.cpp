// Server-side printing: JSONPath subset, kubectl's age format, Tables for CRD printer columns and pods.
#include "http/table.h"

#include <gtest/gtest.h>

#include "http/test_server.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

constexpr const char* kTableAccept =
    "application/json;as=Table;v=v1;g=meta.k8s.io,application/"
    "json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

TEST(JsonPath, Subset) {
  json obj = json::parse(R"({"spec":{"a":{"b":1},"list":[{"x":"first"},{"x":"second"}]},
    "status":{"conditions":[{"type":"Progressing","status":"True"},{"type":"Ready","status":"False"}]}})");
  EXPECT_EQ(evalJsonPath(obj, ".spec.a.b"), json(1));
  EXPECT_EQ(evalJsonPath(obj, "{.spec.a.b}"), json(1));
  EXPECT_EQ(evalJsonPath(obj, ".spec.list[1].x"), json("second"));
  EXPECT_EQ(evalJsonPath(obj, ".spec.list[-1].x"), json("second"));
  EXPECT_EQ(evalJsonPath(obj, R"(.status.conditions[?(@.type=="Ready")].status)"), json("False"));
  EXPECT_EQ(evalJsonPath(obj, R"(.status.conditions[?(@.type=='Progressing')].status)"), json("True"));
  EXPECT_FALSE(evalJsonPath(obj, R"(.status.conditions[?(@.type=="Gone")].status)"));
  EXPECT_FALSE(evalJsonPath(obj, ".spec.missing"));
  EXPECT_FALSE(evalJsonPath(obj, ".spec.list[5]"));
  EXPECT_FALSE(evalJsonPath(obj, ".spec.list[x]"));
  EXPECT_FALSE(evalJsonPath(obj, ".spec.list[?(@.x)]"));
  EXPECT_FALSE(evalJsonPath(obj, ".spec.a[0"));
}

TEST(HumanDuration, MatchesKubectl) {
  using std::chrono::seconds;
  EXPECT_EQ(humanDuration(seconds(-5)), "<invalid>");
  EXPECT_EQ(humanDuration(seconds(0)), "0s");
  EXPECT_EQ(humanDuration(seconds(119)), "119s");
  EXPECT_EQ(humanDuration(seconds(125)), "2m5s");
  EXPECT_EQ(humanDuration(seconds(600)), "10m");
  EXPECT_EQ(humanDuration(seconds(3 * 3600 + 60)), "3h1m");
  EXPECT_EQ(humanDuration(seconds(20 * 3600)), "20h");
  EXPECT_EQ(humanDuration(seconds(3 * 86400 + 3600)), "3d1h");
  EXPECT_EQ(humanDuration(seconds(100 * 86400)), "100d");
  EXPECT_EQ(humanDuration(seconds(3 * 365 * 86400 + 86400)), "3y1d");
}

TEST(Rfc3339, Parses) {
  auto t = parseRfc3339("2024-01-02T03:04:05Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(std::chrono::system_clock::to_time_t(*t), 1704164645);
  EXPECT_EQ(parseRfc3339("2024-01-02T04:04:05.123+01:00"), t);
  EXPECT_FALSE(parseRfc3339("yesterday"));
}

class TableTest : public ServerTest {};

TEST_F(TableTest, CustomResourcePrinterColumns) {
  createWidgetCrd();
  const std::string base = "/apis/example.com/v1/namespaces/default/widgets";
  json w = {{"apiVersion", "example.com/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", "w1"}}},
            {"spec", {{"size", 3}}}};
  ASSERT_EQ(call("POST", base, w.dump()).status, 201);
  ASSERT_EQ(call("PATCH", base + "/w1/status",
                 R"({"status":{"phase":"Running","conditions":[{"type":"Ready","status":"True"}]}})",
                 {{"Content-Type", "application/merge-patch+json"}})
                .status,
            200);
  auto r = call("GET", base + "?includeObject=Metadata", "", {{"Accept", kTableAccept}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.headers["content-type"].find("as=Table"), std::string::npos);
  json table = json::parse(r.body);
  EXPECT_EQ(table["kind"], "Table");
  EXPECT_EQ(table["apiVersion"], "meta.k8s.io/v1");
  std::vector<std::string> names;
  for (const auto& c : table["columnDefinitions"]) {
    names.push_back(c["name"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Phase", "Ready", "Size", "Age"}));
  ASSERT_EQ(table["rows"].size(), 1u);
  const json& cells = table["rows"][0]["cells"];
  EXPECT_EQ(cells[0], "w1");
  EXPECT_EQ(cells[1], "Running");
  EXPECT_EQ(cells[2], "True");
  EXPECT_EQ(cells[3], 3);
  EXPECT_TRUE(cells[4].is_string() && cells[4].get<std::string>().back() == 's') << cells[4];
  EXPECT_EQ(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
  EXPECT_EQ(table["rows"][0]["object"]["metadata"]["name"], "w1");

  json one = json::parse(call("GET", base + "/w1", "", {{"Accept", kTableAccept}}).body);
  EXPECT_EQ(one["kind"], "Table");
  EXPECT_EQ(one["rows"].size(), 1u);
  json plain = json::parse(call("GET", base + "/w1").body);
  EXPECT_EQ(plain["kind"], "Widget") << "no Table unless asked for";
}

TEST_F(TableTest, PodColumns) {
  json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata", {{"name", "p"}}},
              {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/default/pods", pod.dump()).status, 201);
  json table =
      json::parse(call("GET", "/api/v1/namespaces/default/pods", "", {{"Accept", kTableAccept}}).body);
  std::vector<std::string> names;
  for (const auto& c : table["columnDefinitions"]) {
    names.push_back(c["name"]);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node"}));
  ASSERT_EQ(table["rows"].size(), 1u);
  EXPECT_EQ(table["rows"][0]["cells"][1], "0/1");
  EXPECT_EQ(table["rows"][0]["cells"][2], "Pending");

  // As kubectl prints them: a finished container's reason over the phase.
  json stored = json::parse(call("GET", "/api/v1/namespaces/default/pods/p").body);
  for (auto [phase, reason, exit_code] :
       {std::tuple{"Succeeded", "Completed", 0}, std::tuple{"Failed", "OOMKilled", 137}}) {
    stored = json::parse(call("GET", "/api/v1/namespaces/default/pods/p").body);
    stored["status"]["phase"] = phase;
    stored["status"]["containerStatuses"] = {
        {{"name", "c"},
         {"ready", false},
         {"restartCount", 0},
         {"state", {{"terminated", {{"reason", reason}, {"exitCode", exit_code}}}}}}};
    ASSERT_EQ(call("PUT", "/api/v1/namespaces/default/pods/p/status", stored.dump()).status, 200);
    table = json::parse(call("GET", "/api/v1/namespaces/default/pods", "", {{"Accept", kTableAccept}}).body);
    EXPECT_EQ(table["rows"][0]["cells"][2], reason) << phase;
  }
}

}  // namespace
}  // namespace tokenstorm::kts
