#include "tokenstorm/core/explain.h"

#include <gtest/gtest.h>

#include "support/fixtures.h"
#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::core {
namespace {

LoadTest minimalWith(std::string_view find, std::string_view replace) {
  std::string text = testing::kMinimalLoadTest;
  text.replace(text.find(find), find.size(), replace);
  LoadResult r = parseLoadTests(text);
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0].str());
  return r.tests.empty() ? LoadTest{} : r.tests[0];
}

TEST(ExplainTest, EstimatesRequestsTokensAndCost) {
  // 10 req/s for 10 s, 100 input + 50 output tokens each: 100 requests, 10k in, 5k out.
  LoadTest t = minimalWith(
      "  load:\n", "  budget: {maxCost: \"1.00\", pricing: {input: \"2.00\", output: \"10.00\"}}\n  load:\n");
  Estimate e = estimate(t.spec);
  EXPECT_DOUBLE_EQ(e.requests, 100);
  EXPECT_DOUBLE_EQ(e.inputTokensMean, 100);
  EXPECT_DOUBLE_EQ(e.outputTokensWorst, 50);
  ASSERT_TRUE(e.expectedCost.has_value());
  EXPECT_EQ(e.expectedCost->money(), "0.07");  // 0.01M × $2 + 0.005M × $10
  EXPECT_EQ(e.worstCaseCost->money(), "0.07");
  std::string text = explain(t);
  EXPECT_NE(text.find("requests: ~100\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cost: expected ~$0.07, worst case $0.07"), std::string::npos) << text;
  EXPECT_NE(text.find("budget: capped at $1.00"), std::string::npos) << text;
}

TEST(ExplainTest, RetriesAndConversationsRaiseTheWorstCase) {
  LoadTest t = minimalWith(
      "maxOutputTokens: {fixed: 50}\n",
      "maxOutputTokens: {fixed: 50}\n        conversation: {turns: {fixed: 3}, thinkTime: {fixed: 1s}}\n");
  t.spec.workload.retry = Retry{};
  t.spec.budget.pricing = Pricing{*Decimal::parse("1"), *Decimal::parse("1"), std::nullopt};
  Estimate e = estimate(t.spec);
  // Turn 3 resends two prompts and two answers: 3×100 + 2×50 = 400 input tokens at worst.
  EXPECT_DOUBLE_EQ(e.inputTokensWorst, 400);
  // On average over turns 1..3: 100×2 + 50×1 = 250.
  EXPECT_DOUBLE_EQ(e.inputTokensMean, 250);
  EXPECT_DOUBLE_EQ(e.maxAttempts, 3);
  // 100 requests × 3 attempts × (400 + 50) tokens × $1/1M = $0.135.
  EXPECT_EQ(e.worstCaseCost->money(), "0.135");
}

TEST(ExplainTest, ShowsStagesAndClosedLoop) {
  LoadTest t = minimalWith(
      "    stages: [{duration: 10s, rate: 10, hold: true}]",
      "    mode: closed\n    stages: [{duration: 1m, users: 4}, {name: hold, duration: 2m, users: 4}]");
  std::string text = explain(t);
  EXPECT_NE(text.find("closed loop"), std::string::npos) << text;
  EXPECT_NE(text.find("stage-1         0s        1m        0 -> 4 (ramp)"), std::string::npos) << text;
  EXPECT_NE(text.find("hold            1m        2m        4"), std::string::npos) << text;
  EXPECT_NE(text.find("total 3m"), std::string::npos) << text;
  EXPECT_DOUBLE_EQ(estimate(t.spec).requests, 0);
}

}  // namespace
}  // namespace tokenstorm::core
