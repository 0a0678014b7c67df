// API adapters: data-driven cases (tests/data/runner/api/*.case) for request bodies and for reading real
// servers' payloads, and round trips against the simulator's own encoder and request parser.
//
// Case input:   line 1  "# what the case checks"
//               line 2  "build API", "events API" or "body API", API one of openai-chat, openai-completions,
//                       anthropic-messages
//               rest    build:  a GenerationRequest as JSON {"model","messages":[{"role","content"}],
//                               "maxTokens","stream","temperature","ignoreEos","selfHosted"} (absent:
//                               defaults)
//                       events: SSE text, as the server sent it; each event goes to parseEvent
//                       body:   a whole response body for parseBody
// Expected:     build:  "POST PATH", "header NAME: VALUE" per API header, "auth NAME: VALUE" for key
//                       "sk-test", and "body JSON"
//                       events: one line per event, "NAME: DELTA" (NAME: the SSE event name, if any)
//                       body:   one line, DELTA
//               DELTA is "content=N reasoning=N tools=N usage(prompt=N,completion=N,cached=N) finish=R
//               done error(TYPE: MESSAGE) protocol(MESSAGE)", each part only when present, or "-".
#include "tokenstorm/runner/api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "support/case_file.h"
#include "tokenstorm/core/text.h"
#include "tokenstorm/sim/protocol.h"

namespace tokenstorm::runner {
namespace {

using Json = nlohmann::json;

std::optional<core::Api> apiNamed(std::string_view name) {
  if (name == "openai-chat") {
    return core::Api::OpenAIChat;
  }
  if (name == "openai-completions") {
    return core::Api::OpenAICompletions;
  }
  if (name == "anthropic-messages") {
    return core::Api::AnthropicMessages;
  }
  return std::nullopt;
}

std::string render(const Delta& d) {
  std::string out;
  auto add = [&out](const std::string& part) { out += (out.empty() ? "" : " ") + part; };
  if (d.contentChars != 0) {
    add("content=" + std::to_string(d.contentChars));
  }
  if (d.reasoningChars != 0) {
    add("reasoning=" + std::to_string(d.reasoningChars));
  }
  if (d.toolCallChars != 0) {
    add("tools=" + std::to_string(d.toolCallChars));
  }
  if (d.usage) {
    std::string u;
    auto field = [&u](const char* name, const std::optional<int64_t>& v) {
      if (v) {
        u += (u.empty() ? "" : ",") + std::string(name) + "=" + std::to_string(*v);
      }
    };
    field("prompt", d.usage->promptTokens);
    field("completion", d.usage->completionTokens);
    field("cached", d.usage->cachedTokens);
    add("usage(" + u + ")");
  }
  if (d.finishReason) {
    add("finish=" + *d.finishReason);
  }
  if (d.done) {
    add("done");
  }
  if (d.error) {
    add("error(" + d.error->type + ": " + d.error->message + ")");
  }
  if (d.protocolError) {
    add("protocol(" + *d.protocolError + ")");
  }
  return out.empty() ? "-" : out;
}

GenerationRequest requestFrom(const std::string& text) {
  GenerationRequest r;
  Json j = Json::parse(text);
  r.model = j.value("model", "");
  for (const auto& m : j.value("messages", Json::array())) {
    r.messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
  }
  r.maxTokens = j.value("maxTokens", r.maxTokens);
  r.stream = j.value("stream", r.stream);
  if (j.contains("temperature")) {
    r.temperature = j["temperature"].get<double>();
  }
  r.ignoreEos = j.value("ignoreEos", r.ignoreEos);
  r.selfHosted = j.value("selfHosted", r.selfHosted);
  return r;
}

std::vector<std::string> run(const std::string& input) {
  std::istringstream in(input);
  std::string title;
  std::string verb;
  std::string api_name;
  std::getline(in, title);
  in >> verb >> api_name;
  std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  rest.erase(0, rest.find('\n') + 1);  // the remainder of line 2
  auto api = apiNamed(api_name);
  if (!api) {
    ADD_FAILURE() << "unknown API: " << api_name;
    return {};
  }
  const ApiAdapter& adapter = adapterFor(*api);
  std::vector<std::string> got;
  if (verb == "build") {
    HttpRequestParts parts = adapter.build(requestFrom(rest));
    got.push_back("POST " + parts.path);
    for (const auto& [name, value] : parts.headers) {
      got.push_back("header " + name + ": " + value);
    }
    auto [auth_name, auth_value] = adapter.authHeader("sk-test");
    got.push_back("auth " + auth_name + ": " + auth_value);
    got.push_back("body " + parts.body);
  } else if (verb == "events") {
    SseParser parser([&](SseEvent& e) {
      got.push_back((e.event.empty() ? "" : e.event + ": ") +
                    render(adapter.parseEvent(e, AnswerText::kCountOnly)));
    });
    std::string error;
    if (!parser.feed(rest, 1, &error)) {
      got.push_back("sse error " + error);
    }
    if (parser.finish()) {
      got.push_back("cut");
    }
  } else if (verb == "body") {
    got.push_back(render(adapter.parseBody(rest, AnswerText::kCountOnly)));
  } else {
    ADD_FAILURE() << "unknown verb: " << verb;
  }
  return got;
}

TEST(ApiCasesTest, EachPayloadReadsAsExpected) {
  testing::checkCases("runner/api", run);
}

// --- Round trips with the simulator ------------------------------------------------------------------

sim::ApiKind simKind(core::Api api) {
  switch (api) {
    case core::Api::OpenAIChat:
      return sim::ApiKind::OpenAIChat;
    case core::Api::OpenAICompletions:
      return sim::ApiKind::OpenAICompletions;
    case core::Api::AnthropicMessages:
      return sim::ApiKind::AnthropicMessages;
  }
  return sim::ApiKind::OpenAIChat;
}

constexpr core::Api kApis[] = {core::Api::OpenAIChat, core::Api::OpenAICompletions,
                               core::Api::AnthropicMessages};

GenerationRequest sampleRequest(bool stream) {
  GenerationRequest r;
  r.model = "sim-llama-8b";
  r.messages = {{"system", "be brief"}, {"user", "say \"hi\"\n\tplease \\ é"}};
  r.maxTokens = 7;
  r.stream = stream;
  r.temperature = 0.5;
  r.ignoreEos = true;
  return r;
}

TEST(ApiSimulatorTest, TheSimulatorAcceptsEveryBuiltRequestAndReadsTheSameFields) {
  for (core::Api api : kApis) {
    for (bool stream : {true, false}) {
      SCOPED_TRACE(std::to_string(static_cast<int>(api)) + (stream ? " stream" : " whole"));
      const GenerationRequest request = sampleRequest(stream);
      HttpRequestParts parts = adapterFor(api).build(request);
      auto parsed = sim::parseRequest(simKind(api), parts.body, sim::SimConfig{});
      ASSERT_TRUE(std::holds_alternative<sim::SimRequest>(parsed))
          << std::get<sim::ProtocolError>(parsed).message << "\n"
          << parts.body;
      const auto& r = std::get<sim::SimRequest>(parsed);
      EXPECT_EQ(r.model, request.model);
      EXPECT_EQ(r.maxTokens, request.maxTokens);
      EXPECT_EQ(r.stream, stream);
      bool openai = api != core::Api::AnthropicMessages;
      EXPECT_EQ(r.includeUsage, stream && openai);
      EXPECT_EQ(r.continuousUsage, stream && openai);
      EXPECT_EQ(r.ignoreEos, openai);  // Anthropic has no ignore_eos
      EXPECT_EQ(r.prompt, "be brief\nsay \"hi\"\n\tplease \\ é");
    }
  }
}

struct Totals {
  int64_t content = 0;
  int64_t reasoning = 0;
  int64_t outputEvents = 0;
  std::optional<int64_t> prompt, completion, cached;
  std::optional<std::string> finish;
  bool done = false;
  std::optional<ApiError> error;
  std::vector<std::string> problems;

  void add(const Delta& d) {
    content += d.contentChars;
    reasoning += d.reasoningChars;
    outputEvents += d.carriesOutput() ? 1 : 0;
    if (d.usage) {
      prompt = d.usage->promptTokens ? d.usage->promptTokens : prompt;
      completion = d.usage->completionTokens ? d.usage->completionTokens : completion;
      cached = d.usage->cachedTokens ? d.usage->cachedTokens : cached;
    }
    finish = d.finishReason ? d.finishReason : finish;
    done = done || d.done;
    error = d.error ? d.error : error;
    if (d.protocolError) {
      problems.push_back(*d.protocolError);
    }
  }
};

// A script of (tokens, is_reasoning) chunks; the simulator writes the stream and the adapter reads it back.
TEST(ApiSimulatorTest, StreamsReadBackToTheTextAndUsageTheSimulatorSent) {
  const std::vector<std::vector<std::pair<int64_t, bool>>> scripts = {
      {}, {{1, false}}, {{3, true}, {1, true}, {2, false}, {5, false}}, {{4, false}, {1, false}}};
  for (core::Api api : kApis) {
    for (const auto& script : scripts) {
      for (sim::Finish finish : {sim::Finish::Stop, sim::Finish::Length}) {
        SCOPED_TRACE(std::to_string(static_cast<int>(api)) + " chunks " + std::to_string(script.size()));
        const ApiAdapter& adapter = adapterFor(api);
        auto parsed = sim::parseRequest(simKind(api), adapter.build(sampleRequest(true)).body, {});
        ASSERT_TRUE(std::holds_alternative<sim::SimRequest>(parsed));
        const auto& request = std::get<sim::SimRequest>(parsed);
        sim::StreamEncoder encoder(request, "1", 0);
        sim::Usage usage{request.promptTokens, 0, 2, 0};
        std::string wire = encoder.start(usage);
        std::string text;
        std::string reasoning;
        for (auto [n, is_reasoning] : script) {
          std::string words = core::corpusText(static_cast<uint64_t>(usage.completionTokens), n,
                                               is_reasoning ? !reasoning.empty() : !text.empty());
          usage.completionTokens += n;
          (is_reasoning ? reasoning : text) += words;
          wire += encoder.delta(words, is_reasoning, usage);
        }
        wire += encoder.finish(finish, usage);

        Totals totals;
        SseParser parser([&](SseEvent& e) { totals.add(adapter.parseEvent(e, AnswerText::kCountOnly)); });
        std::string error;
        ASSERT_TRUE(parser.feed(wire, 1, &error)) << error;
        EXPECT_FALSE(parser.finish());
        EXPECT_EQ(totals.problems, std::vector<std::string>{});
        // The completions API has no reasoning field: the simulator streams reasoning there as text.
        EXPECT_EQ(
            totals.content,
            static_cast<int64_t>(text.size() + (api == core::Api::OpenAICompletions ? reasoning.size() : 0)));
        EXPECT_EQ(totals.reasoning,
                  api == core::Api::OpenAICompletions ? int64_t{0} : static_cast<int64_t>(reasoning.size()));
        EXPECT_EQ(totals.outputEvents, static_cast<int64_t>(script.size()));
        EXPECT_EQ(totals.prompt, request.promptTokens);
        EXPECT_EQ(totals.completion, usage.completionTokens);
        EXPECT_EQ(totals.cached, 2);
        EXPECT_EQ(totals.finish, finish == sim::Finish::Stop ? "stop" : "length");
        EXPECT_TRUE(totals.done);
        EXPECT_FALSE(totals.error.has_value());
      }
    }
  }
}

TEST(ApiSimulatorTest, AnErrorInsideTheStreamIsAnApiError) {
  for (core::Api api : kApis) {
    const ApiAdapter& adapter = adapterFor(api);
    auto parsed = sim::parseRequest(simKind(api), adapter.build(sampleRequest(true)).body, {});
    ASSERT_TRUE(std::holds_alternative<sim::SimRequest>(parsed));
    sim::StreamEncoder encoder(std::get<sim::SimRequest>(parsed), "1", 0);
    std::string wire = encoder.start({}) + encoder.delta("a", false, {}) + encoder.errorEvent("boom \"x\"");
    Totals totals;
    SseParser parser([&](SseEvent& e) { totals.add(adapter.parseEvent(e, AnswerText::kCountOnly)); });
    ASSERT_TRUE(parser.feed(wire, 1, nullptr));
    ASSERT_TRUE(totals.error.has_value());
    EXPECT_EQ(totals.error->message, "boom \"x\"");
    EXPECT_EQ(totals.error->type, api == core::Api::AnthropicMessages ? "overloaded_error" : "server_error");
    EXPECT_FALSE(totals.done);
  }
}

TEST(ApiSimulatorTest, WholeBodiesReadBackToTheTextAndUsageTheSimulatorSent) {
  for (core::Api api : kApis) {
    const ApiAdapter& adapter = adapterFor(api);
    auto parsed = sim::parseRequest(simKind(api), adapter.build(sampleRequest(false)).body, {});
    ASSERT_TRUE(std::holds_alternative<sim::SimRequest>(parsed));
    const auto& request = std::get<sim::SimRequest>(parsed);
    sim::Usage usage{request.promptTokens, 6, 1, 2};
    std::string body =
        sim::fullResponse(request, "1", 0, "four words of text", "some thought", sim::Finish::Length, usage);
    Delta d = adapter.parseBody(body, AnswerText::kKeep);
    EXPECT_FALSE(d.protocolError.has_value()) << *d.protocolError;
    EXPECT_EQ(d.contentChars, 18);
    EXPECT_EQ(d.content, "four words of text");
    // Counting only: the same figures, without the copy of the text.
    Delta counted = adapter.parseBody(body, AnswerText::kCountOnly);
    EXPECT_EQ(counted.contentChars, 18);
    EXPECT_EQ(counted.content, "");
    EXPECT_EQ(d.reasoningChars, api == core::Api::OpenAICompletions ? 0 : 12);
    ASSERT_TRUE(d.usage.has_value());
    EXPECT_EQ(d.usage->promptTokens, request.promptTokens);
    EXPECT_EQ(d.usage->completionTokens, 6);
    EXPECT_EQ(d.usage->cachedTokens, 1);
    EXPECT_EQ(d.finishReason, "length");
    EXPECT_TRUE(d.done);

    sim::ProtocolError e{429, "rate_limit_error", "slow down", ""};
    Delta err = adapter.parseBody(sim::errorBody(simKind(api), e), AnswerText::kCountOnly);
    ASSERT_TRUE(err.error.has_value());
    EXPECT_EQ(err.error->type, "rate_limit_error");
    EXPECT_EQ(err.error->message, "slow down");
  }
}

// --- Properties of the adapters themselves --------------------------------------------------------------

TEST(ApiAdapterTest, AdapterForGivesTheAdapterOfThatApi) {
  for (core::Api api : kApis) {
    EXPECT_EQ(adapterFor(api).api(), api);
  }
}

TEST(ApiAdapterTest, BodiesEscapeEveryStringAndSurviveInvalidUtf8) {
  GenerationRequest r;
  r.model = "m\"odel";
  std::string tricky =
      std::string("quote\" backslash\\ nl\n cr\r tab\t nul") + '\0' + " ctl\x01 é 😀 </script>";
  r.messages = {{"user", tricky}};
  for (core::Api api : kApis) {
    Json body = Json::parse(adapterFor(api).build(r).body);
    EXPECT_EQ(body["model"], "m\"odel");
    if (api == core::Api::OpenAICompletions) {
      EXPECT_EQ(body["prompt"], tricky);
    } else {
      EXPECT_EQ(body["messages"][0]["content"], tricky);
    }
  }
  r.messages = {{"user", "bad \xff\xfe utf-8 \xc3"}};
  for (core::Api api : kApis) {
    std::string body;
    ASSERT_NO_THROW(body = adapterFor(api).build(r).body);
    EXPECT_NE(body.find("bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8 \xEF\xBF\xBD"), std::string::npos) << body;
  }
}

TEST(ApiAdapterTest, HostilePayloadsGiveProtocolErrorsNotCrashes) {
  std::string deep(100000, '[');
  std::string deep_object;
  for (int i = 0; i < 20000; ++i) {
    deep_object += "{\"a\":";
  }
  const std::vector<std::string> payloads = {
      deep,        deep + std::string(100000, ']'),
      deep_object, "{\"choices\":" + deep + "}",
      "\xff\xfe",  "{\"choices\":[{\"delta\":{\"content\":\"\\ud800\"}}]}",
      "1e999999",  "{",
      "[DONE",     std::string("{\"a\":\"\0\"}", 10)};
  for (core::Api api : kApis) {
    for (const auto& p : payloads) {
      SseEvent e;
      e.data = p;
      Delta d;
      ASSERT_NO_THROW(d = adapterFor(api).parseEvent(e, AnswerText::kKeep));
      EXPECT_TRUE(d.protocolError.has_value()) << p.substr(0, 40);
      EXPECT_FALSE(d.carriesOutput());
      ASSERT_NO_THROW(d = adapterFor(api).parseBody(p, AnswerText::kKeep));
      EXPECT_TRUE(d.protocolError.has_value()) << p.substr(0, 40);
    }
  }
}

}  // namespace
}  // namespace tokenstorm::runner
