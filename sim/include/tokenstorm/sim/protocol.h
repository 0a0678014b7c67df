// Wire formats of the simulated APIs, as pure functions: parse a request body, and produce the exact bytes
// of responses and SSE events. No sockets here, so every byte is testable (tests/data/sim/*.case).
//
// OpenAI chat/completions streams: a role chunk first, content (or reasoning_content) deltas, a final chunk
// with finish_reason, an optional usage chunk (stream_options.include_usage), then `data: [DONE]`;
// stream_options.continuous_usage_stats adds usage to every chunk (vLLM's extension).
// Anthropic messages streams: message_start, ping, content_block_start, content_block_delta...,
// content_block_stop, message_delta (stop_reason, usage), message_stop. Reasoning is a `thinking` block.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "tokenstorm/sim/config.h"

namespace tokenstorm::sim {

enum class ApiKind : uint8_t { OpenAIChat, OpenAICompletions, AnthropicMessages };

struct SimRequest {
  ApiKind api = ApiKind::OpenAIChat;
  std::string model;
  bool stream = false;
  bool includeUsage = false;
  bool continuousUsage = false;
  int64_t maxTokens = 16;
  int64_t minTokens = 0;
  bool ignoreEos = false;
  std::string prompt;  // all prompt text, in order (for token counting and the prefix cache)
  int64_t promptTokens = 0;
};

struct ProtocolError {
  int status = 400;
  std::string type = "invalid_request_error";
  std::string message;
  std::string param;
};

// Parses and checks a request body for `api`. Errors name the field (`messages[2].content`).
std::variant<SimRequest, ProtocolError> parseRequest(ApiKind api, std::string_view body,
                                                     const SimConfig& config);

// The error body in the API's shape.
std::string errorBody(ApiKind api, const ProtocolError& error);

struct Usage {
  int64_t promptTokens = 0;
  int64_t completionTokens = 0;
  int64_t cachedTokens = 0;
  int64_t reasoningTokens = 0;
};

enum class Finish : uint8_t { Stop, Length };

// Produces the SSE events of one streamed response.
class StreamEncoder {
 public:
  StreamEncoder(const SimRequest& request, std::string id, int64_t created);

  std::string start(const Usage& usage);  // role chunk / message_start...
  std::string delta(std::string_view text, bool reasoning, const Usage& usage_so_far);
  std::string finish(Finish finish, const Usage& usage);  // final events, [DONE] / message_stop
  std::string errorEvent(std::string_view message);       // an error object inside a 200 stream

 private:
  std::string chunk(const std::string& json) const;
  const SimRequest& request_;
  std::string id_;
  int64_t created_;
  bool inThinkingBlock_ = false;
  bool inTextBlock_ = false;
  int blockIndex_ = 0;
};

// The whole non-streamed response body.
std::string fullResponse(const SimRequest& request, const std::string& id, int64_t created,
                         std::string_view text, std::string_view reasoning, Finish finish,
                         const Usage& usage);

// Model list (GET /v1/models).
std::string modelsBody(const SimConfig& config, int64_t created);

}  // namespace tokenstorm::sim
