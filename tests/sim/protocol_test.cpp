// Wire-format conformance as data: tests/data/sim/*.case hold a request and a token script, and the exact
// bytes the simulator must produce for them (see the case format in tests/support/case_file.h).
//
// Input block:   line 1  "# what the case checks"
//                line 2  "POST /v1/chat/completions" (or /v1/completions, /v1/messages)
//                line 3  "script: r2 c1 c3 length" — chunks of reasoning (r) / content (c) tokens, then
//                        "length", "stop" or "error" (an error object inside the stream)
//                rest    the JSON request body
// Expected:      the response body, line by line (a parse error gives "status N" and the error body).
#include "tokenstorm/sim/protocol.h"

#include <gtest/gtest.h>

#include <sstream>

#include "support/case_file.h"
#include "tokenstorm/core/text.h"

namespace tokenstorm::sim {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      out.push_back(line);
    }
  }
  return out;
}

std::vector<std::string> render(const std::string& input) {
  std::istringstream in(input);
  std::string title;
  std::string request_line;
  std::string script_line;
  std::getline(in, title);
  std::getline(in, request_line);
  std::getline(in, script_line);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ApiKind api = ApiKind::OpenAIChat;
  if (request_line == "POST /v1/completions") {
    api = ApiKind::OpenAICompletions;
  } else if (request_line == "POST /v1/messages") {
    api = ApiKind::AnthropicMessages;
  } else if (request_line != "POST /v1/chat/completions") {
    ADD_FAILURE() << "unknown request line: " << request_line;
  }
  SimConfig config;
  auto parsed = parseRequest(api, body, config);
  if (auto* e = std::get_if<ProtocolError>(&parsed)) {
    return {"status " + std::to_string(e->status), errorBody(api, *e)};
  }
  const SimRequest& r = std::get<SimRequest>(parsed);
  std::istringstream script(script_line.substr(script_line.find(':') + 1));
  StreamEncoder encoder(r, "1", 0);
  Usage usage{r.promptTokens, 0, 0, 0};
  std::string out = r.stream ? encoder.start(usage) : "";
  std::string text;
  std::string reasoning;
  Finish finish = Finish::Stop;
  for (std::string step; script >> step;) {
    if (step == "length" || step == "stop") {
      finish = step == "length" ? Finish::Length : Finish::Stop;
      continue;
    }
    if (step == "error") {
      out += encoder.errorEvent("injected fault: error in stream");
      return lines(out);
    }
    bool is_reasoning = step[0] == 'r';
    int64_t n = std::stoll(step.substr(1));
    std::string words = core::corpusText(static_cast<uint64_t>(usage.completionTokens), n,
                                         is_reasoning ? !reasoning.empty() : !text.empty());
    usage.completionTokens += n;
    usage.reasoningTokens += is_reasoning ? n : 0;
    (is_reasoning ? reasoning : text) += words;
    if (r.stream) {
      out += encoder.delta(words, is_reasoning, usage);
    }
  }
  if (r.stream) {
    out += encoder.finish(finish, usage);
  } else {
    out = fullResponse(r, "1", 0, text, reasoning, finish, usage);
  }
  return lines(out);
}

TEST(ProtocolCasesTest, EachRequestProducesExactlyItsEvents) {
  testing::checkCases("sim", render);
}

}  // namespace
}  // namespace tokenstorm::sim
