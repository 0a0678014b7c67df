// The children builder: data-driven cases (tests/data/operator/children/*.case) and the rules that hold
// for every LoadTest (no API key anywhere, the plan round-trips, labels and owners on everything).
//
// Case input:  a LoadTest (YAML); built with OperatorOptions{image "ghcr.io/tokenstorm/tokenstorm:test"}.
// Expected:    every leaf of every object, "KIND/NAME PATH = JSON", objects in creation order (plan,
//              shards, Job). The plan's loadtest.json is shown parsed, without `spec` (the round-trip test
//              checks it) except `spec.budget`, where budget.pricingRef resolution shows.
#include "tokenstorm/operator/children.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "operator_fixtures.h"
#include "support/case_file.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/validate.h"

namespace tokenstorm::op {
namespace {

using nlohmann::json;

OperatorOptions testOptions() {
  OperatorOptions o;
  o.image = "ghcr.io/tokenstorm/tokenstorm:test";
  return o;
}

void render(const json& object, std::vector<std::string>* out) {
  const std::string prefix =
      object["kind"].get<std::string>() + "/" + object["metadata"]["name"].get<std::string>();
  json copy = object;
  if (copy.contains("data") && copy["data"].contains(contract::kPlanKey)) {
    json plan = json::parse(copy["data"][contract::kPlanKey].get<std::string>());
    json budget = plan["spec"].value("budget", json::object());
    plan.erase("spec");
    copy["data"].erase(contract::kPlanKey);
    testing::flatten(plan, prefix + " data[\"loadtest.json\"]", out);
    testing::flatten(budget, prefix + " data[\"loadtest.json\"].spec.budget", out);
  }
  testing::flatten(copy, prefix + " ", out);
}

std::vector<std::string> renderCase(const std::string& input) {
  core::LoadTest test = testing::loadTest(input);
  core::Diagnostics errors;
  EXPECT_TRUE(core::validate(test, &errors)) << (errors.empty() ? "" : errors.front().str());
  std::vector<std::string> out;
  render(buildPlanConfigMap(test), &out);
  for (const json& shard : buildShardConfigMaps(test)) {
    render(shard, &out);
  }
  render(buildRunnerJob(test, testOptions()), &out);
  for (auto& line : out) {
    // flatten() joins with "."; the object prefix ends in a space, so drop the dot after it.
    if (auto at = line.find(" ."); at != std::string::npos) {
      line.erase(at + 1, 1);
    }
  }
  return out;
}

TEST(ChildrenCasesTest, EachLoadTestGivesExactlyItsObjects) {
  tokenstorm::testing::checkCases("operator/children", renderCase);
}

TEST(ChildrenTest, NamesFollowTheContract) {
  EXPECT_EQ(planName("chat-spike"), "chat-spike-plan");
  EXPECT_EQ(shardName("chat-spike", 3), "chat-spike-shard-3");
  EXPECT_EQ(jobName("chat-spike"), "chat-spike-runners");
  EXPECT_EQ(reportName("chat-spike"), "chat-spike-report");
}

TEST(ChildrenTest, EveryChildIsLabelledAndOwnedByTheLoadTest) {
  core::LoadTest test = testing::exampleTest("examples/gpu-node-pool.yaml");
  std::vector<json> objects{buildPlanConfigMap(test), buildRunnerJob(test, testOptions()),
                            buildReportConfigMap(test, "{}", "<testsuites/>")};
  for (const json& shard : buildShardConfigMaps(test)) {
    objects.push_back(shard);
  }
  ASSERT_EQ(objects.size(), 3u + 4u);
  for (const json& o : objects) {
    const json& meta = o["metadata"];
    EXPECT_EQ(meta["namespace"], "ml-serving");
    EXPECT_EQ(meta["labels"][contract::kManagedByLabel], "tokenstorm");
    EXPECT_EQ(meta["labels"][contract::kLoadTestLabel], "gpu-pool-users");
    ASSERT_EQ(meta["ownerReferences"].size(), 1u);
    const json& owner = meta["ownerReferences"][0];
    EXPECT_EQ(owner["apiVersion"], "tokenstorm.dev/v1alpha1");
    EXPECT_EQ(owner["kind"], "LoadTest");
    EXPECT_EQ(owner["name"], "gpu-pool-users");
    EXPECT_EQ(owner["uid"], test.metadata.uid);
    EXPECT_EQ(owner["controller"], true);
    EXPECT_EQ(owner["blockOwnerDeletion"], true);
  }
  // Runner pods carry the loadtest label too: the example's podAntiAffinity selects on it.
  const json job = buildRunnerJob(test, testOptions());
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"][contract::kLoadTestLabel], "gpu-pool-users");
  EXPECT_EQ(job["spec"]["template"]["metadata"]["labels"][contract::kRoleLabel], "runner");
}

TEST(ChildrenTest, ThePlanHoldsTheSpecAsValidated) {
  for (const char* file : {"examples/quickstart.yaml", "examples/gpu-node-pool.yaml", "examples/spike.yaml",
                           "examples/budget-capped-external.yaml", "examples/sweep.yaml"}) {
    core::LoadTest test = testing::exampleTest(file);
    json plan = buildPlanConfigMap(test);
    EXPECT_EQ(plan["data"][contract::kRunnersKey], std::to_string(test.spec.runners.count)) << file;
    EXPECT_FALSE(plan["data"].contains(contract::kStartAtKey)) << file;
    core::LoadResult back = core::parseLoadTests(plan["data"][contract::kPlanKey].get<std::string>());
    ASSERT_TRUE(back.errors.empty()) << file << ": " << back.errors.front().str();
    ASSERT_EQ(back.tests.size(), 1u);
    core::Diagnostics errors;
    EXPECT_TRUE(core::validate(back.tests[0], &errors)) << file;
    EXPECT_EQ(core::toJson(back.tests[0].spec), core::toJson(test.spec)) << file;
    EXPECT_EQ(back.tests[0].metadata.name, test.metadata.name);
    EXPECT_EQ(back.tests[0].metadata.ns, test.metadata.ns);
    EXPECT_EQ(back.tests[0].metadata.uid, test.metadata.uid);
    EXPECT_EQ(back.tests[0].metadata.generation, test.metadata.generation);
  }
}

TEST(ChildrenTest, PricingRefIsResolvedIntoThePlan) {
  core::LoadTest test = testing::exampleTest("examples/quickstart.yaml");
  test.spec.budget.maxCost = core::Decimal::parse("5");
  test.spec.budget.pricingRef = core::ConfigMapKeyRef{"prices", "gpt"};
  core::Pricing prices{*core::Decimal::parse("0.15"), *core::Decimal::parse("0.60"), std::nullopt};
  json doc = json::parse(planDocument(test, prices).dump());
  EXPECT_FALSE(doc["spec"]["budget"].contains("pricingRef"));
  EXPECT_EQ(doc["spec"]["budget"]["pricing"]["input"], "0.15");
  EXPECT_EQ(doc["spec"]["budget"]["pricing"]["output"], "0.60");
  json unresolved = json::parse(planDocument(test).dump());
  EXPECT_EQ(unresolved["spec"]["budget"]["pricingRef"]["name"], "prices");
}

TEST(ChildrenTest, NoApiKeyEverAppearsInAnyChild) {
  // Keys planted where a careless builder could pick them up: the process environment (auth.env) and a
  // file (auth.file). The in-cluster endpoints name only their Secret.
  const std::string planted = "sk-PLANTED-never-copy-0123456789";
  ::setenv("TOKENSTORM_TEST_PLANTED_KEY", planted.c_str(), 1);
  const std::string key_file = ::testing::TempDir() + "/planted-key.txt";
  std::ofstream(key_file) << planted;
  core::LoadTest test = testing::loadTest(R"(apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata: {name: keys, namespace: llm}
spec:
  target:
    allowExternal: true
    routing: {policy: failover}
    endpoints:
      - {name: a, url: "https://api.example.com", model: m, auth: {secretRef: {name: provider-a, key: api-key}}}
      - {name: b, url: "https://api.example.org", model: m, auth: {env: TOKENSTORM_TEST_PLANTED_KEY}}
      - {name: c, url: "https://api.example.net", model: m, auth: {file: )" +
                                          key_file + R"(}}
  workload:
    classes: [{name: chat, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 5}}]
  load: {stages: [{duration: 10s, rate: 1, hold: true}]}
  budget: {maxCost: "1.00", pricing: {input: "1", output: "1"}}
  runners:
    count: 2
    env:
      - {name: EXTRA_TOKEN, valueFrom: {secretKeyRef: {name: extra, key: token}}}
)");
  std::vector<json> objects{buildPlanConfigMap(test), buildRunnerJob(test, testOptions())};
  for (const json& shard : buildShardConfigMaps(test)) {
    objects.push_back(shard);
  }
  for (const json& o : objects) {
    EXPECT_EQ(o.dump().find(planted), std::string::npos) << o["metadata"]["name"];
    EXPECT_EQ(o.dump().find("sk-"), std::string::npos) << o["metadata"]["name"];
  }
  const json& env = objects[1]["spec"]["template"]["spec"]["containers"][0]["env"];
  int secret_refs = 0;
  for (const json& e : env) {
    const std::string name = e["name"];
    if (name.rfind(contract::kApiKeyEnvPrefix, 0) == 0 || name == "EXTRA_TOKEN") {
      EXPECT_FALSE(e.contains("value")) << name << " must come from a secretKeyRef";
      ASSERT_TRUE(e.contains("valueFrom")) << name;
      EXPECT_TRUE(e["valueFrom"].contains("secretKeyRef")) << name;
      ++secret_refs;
    }
  }
  EXPECT_EQ(secret_refs, 2);  // endpoint 0's key and runners.env's token; b and c are local-only auth
  bool found = false;
  for (const json& e : env) {
    if (e["name"] == "TOKENSTORM_API_KEY_0") {
      EXPECT_EQ(e["valueFrom"]["secretKeyRef"], (json{{"name", "provider-a"}, {"key", "api-key"}}));
      found = true;
    }
  }
  EXPECT_TRUE(found);
  ::unsetenv("TOKENSTORM_TEST_PLANTED_KEY");
}

TEST(ChildrenTest, ActiveDeadlineCoversTheRunTheLeadAndTheGrace) {
  OperatorOptions options = testOptions();
  core::LoadTest quick = testing::exampleTest("examples/quickstart.yaml");  // 10 s plan, no maxDuration
  EXPECT_EQ(activeDeadlineSeconds(quick.spec, options), 10 + 2 + 300);
  core::LoadTest gpu = testing::exampleTest("examples/gpu-node-pool.yaml");  // maxDuration 30m
  EXPECT_EQ(activeDeadlineSeconds(gpu.spec, options), 1800 + 2 + 300);
  options.startLead = core::Duration::fromMillis(1500);
  options.deadlineGrace = core::Duration::fromSeconds(0);
  EXPECT_EQ(activeDeadlineSeconds(gpu.spec, options), 1802);  // rounded up, never short
}

TEST(ChildrenTest, ReportConfigMapHoldsReportAndJunit) {
  core::LoadTest test = testing::exampleTest("examples/quickstart.yaml");
  json cm = buildReportConfigMap(test, "{\"verdict\":\"Pass\"}", "<testsuites/>");
  EXPECT_EQ(cm["metadata"]["name"], "quickstart-report");
  EXPECT_EQ(cm["metadata"]["labels"][contract::kRoleLabel], "report");
  EXPECT_EQ(cm["data"][contract::kReportKey], "{\"verdict\":\"Pass\"}");
  EXPECT_EQ(cm["data"][contract::kJunitKey], "<testsuites/>");
}

// budget.pricingRef's ConfigMap value.
TEST(ParsePricing, ReadsYamlAndJson) {
  std::string error;
  auto yaml = parsePricing("input: 0.15\noutput: 0.6\ncachedInput: 0.075\n", &error);
  ASSERT_TRUE(yaml) << error;
  EXPECT_EQ(yaml->input.str(), "0.15");
  EXPECT_EQ(yaml->output.str(), "0.6");
  ASSERT_TRUE(yaml->cachedInput);
  EXPECT_EQ(yaml->cachedInput->str(), "0.075");
  auto from_json = parsePricing(R"({"input": "3", "output": "15"})", &error);
  ASSERT_TRUE(from_json) << error;
  EXPECT_EQ(from_json->output.str(), "15");
  EXPECT_FALSE(from_json->cachedInput);
}

TEST(ParsePricing, NamesTheFieldOfABadDocument) {
  std::string error;
  EXPECT_FALSE(parsePricing("output: 1\n", &error));
  EXPECT_EQ(error, "input: required");
  EXPECT_FALSE(parsePricing("input: cheap\noutput: 1\n", &error));
  EXPECT_EQ(error.rfind("input: not a price", 0), 0u) << error;
  EXPECT_FALSE(parsePricing("input: 1\noutput: -2\n", &error));
  EXPECT_EQ(error.rfind("output: not a price", 0), 0u) << error;
  EXPECT_FALSE(parsePricing("input: 1\noutput: 2\ncachedInput: [1]\n", &error));
  EXPECT_EQ(error.rfind("cachedInput: not a price", 0), 0u) << error;
  EXPECT_FALSE(parsePricing("- a list", &error));
  EXPECT_FALSE(parsePricing("{unclosed", &error));
  EXPECT_EQ(error.rfind("not YAML", 0), 0u) << error;
}

}  // namespace
}  // namespace tokenstorm::op
