#include "tokenstorm/core/loadtest_io.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/case_file.h"
#include "support/fixtures.h"

namespace tokenstorm::core {
namespace {

LoadTest decodeOk(std::string_view text) {
  LoadResult r = parseLoadTests(text);
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].str());
  EXPECT_EQ(r.tests.size(), 1u);
  return r.tests.empty() ? LoadTest{} : r.tests[0];
}

std::vector<std::string> decodeErrors(std::string_view text) {
  LoadResult r = parseLoadTests(text);
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    out.push_back(e.str());
  }
  return out;
}

std::string withSpecLine(std::string_view find, std::string_view replace) {
  std::string text = testing::kMinimalLoadTest;
  size_t pos = text.find(find);
  EXPECT_NE(pos, std::string::npos) << find;
  return text.replace(pos, find.size(), replace);
}

TEST(LoadTestIoTest, DecodesTheMinimalTestWithDefaults) {
  LoadTest t = decodeOk(testing::kMinimalLoadTest);
  EXPECT_EQ(t.metadata.name, "minimal");
  ASSERT_EQ(t.spec.target.endpoints.size(), 1u);
  EXPECT_EQ(t.spec.target.endpoints[0].api, Api::OpenAIChat);
  EXPECT_EQ(t.spec.target.endpoints[0].timeout, Duration::fromSeconds(120));
  EXPECT_EQ(t.spec.workload.classes[0].prompt.synthetic->inputTokens.fixed, 100);
  EXPECT_TRUE(t.spec.workload.classes[0].stream);
  EXPECT_EQ(t.spec.load.mode, LoadMode::Open);
  EXPECT_EQ(t.spec.load.stages[0].rate, 10);
  EXPECT_TRUE(t.spec.load.stages[0].hold);
  EXPECT_EQ(t.spec.report.interval, Duration::fromSeconds(5));
}

TEST(LoadTestIoTest, JsonAndYamlDecodeToTheSameTest) {
  LoadTest from_yaml = decodeOk(testing::kMinimalLoadTest);
  std::string json = toJson(from_yaml).dump(2);
  LoadTest from_json = decodeOk(json);
  EXPECT_EQ(toJson(from_json), toJson(from_yaml));
}

TEST(LoadTestIoTest, EveryExampleRoundTripsThroughJson) {
  namespace fs = std::filesystem;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(testing::sourcePath("examples"))) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    LoadTest t = decodeOk(testing::readFile(entry.path().string()));
    nlohmann::ordered_json once = toJson(t);
    LoadTest again = decodeOk(once.dump());
    EXPECT_EQ(toJson(again), once) << entry.path();
    ++count;
  }
  EXPECT_GE(count, 13);
}

TEST(LoadTestIoTest, KeepsMoneyExact) {
  LoadTest t = decodeOk(withSpecLine(
      "  load:\n",
      "  budget: {maxCost: \"40.10\", pricing: {input: \"0.20\", output: \"0.60\"}}\n  load:\n"));
  EXPECT_EQ(t.spec.budget.maxCost->nanos, 40'100'000'000);
  EXPECT_EQ(toJson(t)["spec"]["budget"]["maxCost"], "40.10");
}

TEST(LoadTestIoTest, UnknownFieldsAreErrorsWithSuggestions) {
  auto errors = decodeErrors(withSpecLine("model: sim-llama", "model: sim-llama, urll: x"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "spec.target.endpoints[0].urll: unknown field (did you mean \"url\"?)");
}

TEST(LoadTestIoTest, MetadataFromTheApiServerIsAccepted) {
  LoadTest t = decodeOk(withSpecLine("  name: minimal\n",
                                     "  name: minimal\n  uid: abc\n  managedFields: []\n  generation: 3\n"));
  EXPECT_EQ(t.metadata.generation, 3);
  EXPECT_EQ(t.metadata.uid, "abc");
}

TEST(LoadTestIoTest, TypeErrorsNameTheFieldAndTheValue) {
  auto errors = decodeErrors(withSpecLine("rate: 10", "rate: ten"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], "spec.load.stages[0].rate: must be a number (got \"ten\")");
  errors = decodeErrors(withSpecLine("duration: 10s", "duration: 10"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0],
            "spec.load.stages[0].duration: must be a duration string such as \"10s\" (got number 10)");
  errors = decodeErrors(withSpecLine("model: sim-llama", "model: yes"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("quote it: YAML 1.1 readers such as kubectl read yes as a boolean"),
            std::string::npos);
}

TEST(LoadTestIoTest, StatusRoundTrips) {
  LoadTestStatus s;
  s.phase = Phase::Running;
  s.observedGeneration = 2;
  s.conditions.push_back(
      Condition{"Reconciling", "True", "Running", "stage 1 of 3", "2026-11-22T05:00:00Z", 2});
  s.summary = Summary{};
  s.summary->requests.total = 10;
  s.summary->ttftMs.p95 = 412.5;
  s.summary->cost.spentUsd = *Decimal::parse("1.25");
  s.verdict = Verdict::Pass;
  nlohmann::ordered_json j = toJson(s);
  EXPECT_EQ(j["summary"]["ttftMs"]["p95"], 412.5);
  EXPECT_EQ(j["summary"]["cost"]["spentUsd"], "1.25");
  Diagnostics errors;
  auto back = decodeStatus(nodeFromJson(nlohmann::json::parse(j.dump())), &errors);
  ASSERT_TRUE(back.has_value()) << (errors.empty() ? "" : errors[0].str());
  EXPECT_EQ(toJson(*back), j);
}

TEST(LoadTestIoTest, NodeJsonConversionKeepsTypes) {
  auto j = nlohmann::json::parse(R"({"a": 1, "b": 2.5, "c": "x", "d": [true, null], "e": {"f": -3}})");
  EXPECT_EQ(nodeToJson(nodeFromJson(j)).dump(), nlohmann::ordered_json(j).dump());
}

TEST(LoadTestIoTest, EmptyInputSaysSo) {
  auto errors = decodeErrors("# just a comment\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("no LoadTest found"), std::string::npos);
}

}  // namespace
}  // namespace tokenstorm::core
