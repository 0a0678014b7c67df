// Workload generation: synthetic prompts of exact length with shared prefixes, class weights, answer caps,
// cancellation plans, conversations, and datasets in each format (with the line of a bad entry named).
#include "tokenstorm/runner/workload.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/text.h"

namespace tokenstorm::runner {
namespace {

core::LoadTestSpec specOf(const std::string& workload_yaml) {
  std::string yaml =
      "apiVersion: tokenstorm.dev/v1alpha1\nkind: LoadTest\nmetadata: {name: t}\nspec:\n"
      "  target: {endpoints: [{name: s, url: \"sim://\", model: m}]}\n"
      "  load: {stages: [{duration: 1s, rate: 1}]}\n" +
      workload_yaml;
  auto loaded = core::parseLoadTests(yaml);
  EXPECT_TRUE(loaded.errors.empty()) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
  return loaded.tests.empty() ? core::LoadTestSpec{} : loaded.tests[0].spec;
}

std::filesystem::path dataDir() {
  return std::filesystem::path(TOKENSTORM_SOURCE_DIR) / "tests/data/runner/datasets";
}

TEST(WorkloadTest, SyntheticPromptsHaveTheDrawnLengthAndShareTheirPrefix) {
  auto spec = specOf(R"(  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 300}, sharedPrefixTokens: 200}}, maxOutputTokens: {fixed: 7}}]
)");
  core::Diagnostics errors;
  auto w = Workload::create(spec, dataDir(), 1.0, &errors);
  ASSERT_TRUE(w);
  core::Rng rng(1);
  PlannedRequest a = w->next(rng);
  PlannedRequest b = w->next(rng);
  ASSERT_EQ(a.request.messages.size(), 1u);
  const std::string& ta = a.request.messages[0].content;
  const std::string& tb = b.request.messages[0].content;
  EXPECT_EQ(core::countWords(ta), 300);
  EXPECT_EQ(a.promptTokensEstimate, 300);
  EXPECT_EQ(a.request.maxTokens, 7);
  std::string prefix = core::corpusText(0, 200, false);
  EXPECT_EQ(ta.substr(0, prefix.size()), prefix);
  EXPECT_EQ(tb.substr(0, prefix.size()), prefix);
  EXPECT_NE(ta, tb);  // the rest differs
}

TEST(WorkloadTest, RealEndpointsGetThreeQuartersOfAWordPerToken) {
  auto spec = specOf(R"(  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 400}}}, maxOutputTokens: {fixed: 7}}]
)");
  core::Diagnostics errors;
  auto w = Workload::create(spec, dataDir(), 0.75, &errors);
  ASSERT_TRUE(w);
  core::Rng rng(1);
  EXPECT_EQ(core::countWords(w->next(rng).request.messages[0].content), 300);
}

TEST(WorkloadTest, ClassesFollowTheirWeightsAndCancellationItsFraction) {
  auto spec = specOf(R"(  workload:
    classes:
      - {name: a, weight: 3, prompt: {synthetic: {inputTokens: {fixed: 5}}}, maxOutputTokens: {fixed: 1}}
      - {name: b, weight: 1, prompt: {synthetic: {inputTokens: {fixed: 5}}}, maxOutputTokens: {fixed: 1}}
    cancellation: {fraction: 0.2, afterTokens: {fixed: 4}}
)");
  core::Diagnostics errors;
  auto w = Workload::create(spec, dataDir(), 1.0, &errors);
  ASSERT_TRUE(w);
  core::Rng rng(5);
  int a = 0;
  int cancelled = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    PlannedRequest p = w->next(rng);
    a += p.cls == 0 ? 1 : 0;
    if (p.cancel) {
      ++cancelled;
      EXPECT_EQ(p.cancel->afterTokens.value_or(-1), 4);
    }
  }
  // Binomial bounds, 4 standard deviations.
  EXPECT_NEAR(a, 0.75 * n, 4 * std::sqrt(n * 0.75 * 0.25));
  EXPECT_NEAR(cancelled, 0.2 * n, 4 * std::sqrt(n * 0.2 * 0.8));
}

TEST(WorkloadTest, ConversationTurnsGrowTheContext) {
  auto spec = specOf(R"(  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 5},
               conversation: {turns: {fixed: 3}, thinkTime: {fixed: 1s}}}]
)");
  core::Diagnostics errors;
  auto w = Workload::create(spec, dataDir(), 1.0, &errors);
  ASSERT_TRUE(w);
  core::Rng rng(1);
  PlannedRequest p = w->next(rng);
  EXPECT_EQ(p.turns, 3);
  w->nextTurn(p, "", 5, rng);  // no text kept: corpus words of the answer's length
  ASSERT_EQ(p.request.messages.size(), 3u);
  EXPECT_EQ(p.request.messages[1].role, "assistant");
  EXPECT_EQ(p.promptTokensEstimate, 25);
  w->nextTurn(p, "the answer itself", 3, rng);  // the server's own answer goes back verbatim
  ASSERT_EQ(p.request.messages.size(), 5u);
  EXPECT_EQ(p.request.messages[3].content, "the answer itself");
  EXPECT_EQ(p.promptTokensEstimate, 25 + 3 + 10);
}

TEST(WorkloadTest, DatasetsInEveryFormat) {
  core::Diagnostics errors;
  std::string prompts = R"("a b c"
{"prompt": "d e"}
)";
  auto p = parseDataset(prompts, core::DatasetFormat::JsonlPrompts, "x", &errors);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->size(), 2u);
  EXPECT_EQ((*p)[1][0].content, "d e");

  auto spec = specOf(R"(  workload:
    classes:
      - {name: p, prompt: {dataset: {file: prompts.jsonl, sample: sequential}}, maxOutputTokens: {fixed: 1}}
      - {name: c, prompt: {dataset: {file: chat.jsonl, format: openai-chat-jsonl}}, maxOutputTokens: {fixed: 1}}
      - {name: s, prompt: {dataset: {file: sharegpt.json, format: sharegpt}}, maxOutputTokens: {fixed: 1}}
      - {name: i, prompt: {dataset: {inline: ["one", "two"]}}, maxOutputTokens: {fixed: 1}}
)");
  auto w = Workload::create(spec, dataDir(), 1.0, &errors);
  ASSERT_TRUE(w) << (errors.empty() ? "" : errors[0].str());
  core::Rng rng(3);
  std::set<std::string> seen;
  for (int i = 0; i < 400; ++i) {
    PlannedRequest r = w->next(rng);
    std::string all;
    for (const auto& m : r.request.messages) {
      all += m.role + ":" + m.content + "|";
      EXPECT_NE(m.role, "assistant") << "a dataset's own answer is not sent";
    }
    seen.insert(all);
  }
  EXPECT_TRUE(seen.count("user:Explain continuous batching in one paragraph.|"));
  EXPECT_TRUE(seen.count("user:Summarise the plot of Hamlet.|"));
  EXPECT_TRUE(seen.count("system:Be brief.|user:What is TTFT?|"));
  EXPECT_TRUE(seen.count("user:Hello there|"));
  EXPECT_TRUE(seen.count("system:You are terse.|user:Why is the sky blue?|"));
  EXPECT_TRUE(seen.count("user:two|"));
  EXPECT_EQ(seen.size(), 3u + 2 + 2 + 2);  // the ShareGPT record without a human turn is skipped
}

TEST(WorkloadTest, BadDatasetsNameTheFieldAndLine) {
  struct Case {
    const char* text;
    core::DatasetFormat format;
    const char* want;
  };
  for (const Case& c :
       {Case{"\"ok\"\n{not json\n", core::DatasetFormat::JsonlPrompts, "line 2: not valid JSON"},
        Case{"42\n", core::DatasetFormat::JsonlPrompts, "line 1: expected a JSON string"},
        Case{"{\"messages\": [{\"role\": 1}]}\n", core::DatasetFormat::OpenAIChatJsonl, "line 1"},
        Case{"{\"messages\": [{\"role\": \"assistant\", \"content\": \"x\"}]}\n",
             core::DatasetFormat::OpenAIChatJsonl, "no user message"},
        Case{"{\"a\": 1}", core::DatasetFormat::ShareGpt, "JSON array"},
        Case{"[]", core::DatasetFormat::ShareGpt, "no usable prompt"},
        Case{"\n\n", core::DatasetFormat::JsonlPrompts, "no usable prompt"}}) {
    core::Diagnostics errors;
    EXPECT_FALSE(parseDataset(c.text, c.format, "spec.workload.classes[0].prompt.dataset.file", &errors))
        << c.want;
    ASSERT_FALSE(errors.empty()) << c.want;
    EXPECT_NE(errors[0].str().find(c.want), std::string::npos) << errors[0].str();
    EXPECT_NE(errors[0].str().find("spec.workload.classes[0].prompt.dataset.file"), std::string::npos);
  }
  auto spec = specOf(R"(  workload:
    classes: [{name: p, prompt: {dataset: {file: missing.jsonl}}, maxOutputTokens: {fixed: 1}}]
)");
  core::Diagnostics errors;
  EXPECT_FALSE(Workload::create(spec, dataDir(), 1.0, &errors));
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].path, "spec.workload.classes[0].prompt.dataset.file");
}

}  // namespace
}  // namespace tokenstorm::runner
