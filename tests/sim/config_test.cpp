#include "tokenstorm/sim/config.h"

#include "tokenstorm/core/decoder.h"
#include "tokenstorm/sim/config_fields.h"

#include <gtest/gtest.h>

namespace tokenstorm::sim {
namespace {

std::vector<std::string> errorsOf(std::string_view text) {
  core::Diagnostics errors;
  EXPECT_FALSE(parseSimConfig(text, &errors).has_value());
  std::vector<std::string> out;
  for (const auto& e : errors) {
    out.push_back(e.str());
  }
  return out;
}

TEST(SimConfigTest, EmptyMeansDefaults) {
  core::Diagnostics errors;
  auto c = parseSimConfig("", &errors);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->replicas.count, 1);
  EXPECT_EQ(c->serving.maxBatch, 128);
}

TEST(SimConfigTest, ReadsEveryBlock) {
  core::Diagnostics errors;
  auto c = parseSimConfig(R"(
models: [m1]
seed: 7
serving: {prefillOverhead: 5ms, decodeStepBase: 12ms, maxBatch: 32, tokensPerChunk: 2, outputTokens: {fixed: 50},
          reasoningTokens: 10}
replicas: {count: 2, warmup: 45s, scaleToZero: true, coldStart: 30s}
rateLimits: {requestsPerMinute: 600, tokensPerMinute: 90000}
faults:
  errorRates: {"500": 0.01, "429": 0.02}
  cutStreamProbability: 0.001
  outages: [{at: 1m, duration: 30s, mode: refuse}]
prefixCache: {enabled: false}
)",
                          &errors);
  ASSERT_TRUE(c.has_value()) << errors[0].str();
  EXPECT_EQ(c->models, std::vector<std::string>{"m1"});
  EXPECT_EQ(c->serving.decodeStepBase, core::Duration::fromMillis(12));
  EXPECT_EQ(c->replicas.warmup, core::Duration::fromSeconds(45));
  EXPECT_DOUBLE_EQ(c->faults.errorRates.at("429"), 0.02);
  ASSERT_EQ(c->faults.outages.size(), 1u);
  EXPECT_EQ(c->faults.outages[0].mode, OutageMode::Refuse);
  EXPECT_FALSE(c->prefixCache.enabled);
}

TEST(SimConfigTest, ErrorsNameTheField) {
  EXPECT_EQ(errorsOf("serving: {maxBtach: 3}"),
            std::vector<std::string>{"serving.maxBtach: unknown field (did you mean \"maxBatch\"?)"});
  EXPECT_EQ(errorsOf("faults: {errorRates: {\"200\": 0.5}}"),
            std::vector<std::string>{"faults.errorRates.200: must be an HTTP status code 400-599"});
  EXPECT_EQ(errorsOf("faults: {errorRates: {\"500\": 2}}"),
            std::vector<std::string>{"faults.errorRates.500: must be at most 1 (got 2)"});
  EXPECT_EQ(
      errorsOf("replicas: {warmup: 30}"),
      std::vector<std::string>{"replicas.warmup: must be a duration string such as \"30s\" (got number 30)"});
  EXPECT_EQ(errorsOf("faults: {outages: [{at: 1m, duration: 1s, mode: off}]}").size(), 1u);
  EXPECT_EQ(errorsOf("[1, 2]"), std::vector<std::string>{"the document must be a mapping (got a list)"});
}

}  // namespace
}  // namespace tokenstorm::sim

namespace tokenstorm::sim {
namespace {

// POST /admin/config decodes a partial document onto the running config: objects merge field by field,
// but a union such as a distribution is replaced, or `fixed` would survive a switch to `uniform`.
TEST(SimConfigTest, PartialUpdatesMergeObjectsAndReplaceUnions) {
  core::Diagnostics errors;
  SimConfig c = *parseSimConfig("serving: {maxBatch: 7, outputTokens: {fixed: 6}}", &errors);
  core::ParsedDocuments update =
      core::parseDocuments("serving: {outputTokens: {uniform: {min: 20, max: 20}}}");
  ASSERT_TRUE(core::decodeInto(update.documents[0], c, &errors));
  EXPECT_EQ(c.serving.maxBatch, 7);  // merged: untouched
  EXPECT_FALSE(c.serving.outputTokens.fixed.has_value());
  ASSERT_TRUE(c.serving.outputTokens.uniform.has_value());
  EXPECT_EQ(c.serving.outputTokens.uniform->min, 20);
}

}  // namespace
}  // namespace tokenstorm::sim
