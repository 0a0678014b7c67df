// API adapters: how one generation request is written for each wire API, and how its answer is read.
//
// openai-chat (POST /v1/chat/completions), openai-completions (POST /v1/completions) and
// anthropic-messages (POST /v1/messages). Adapters are pure functions over bytes and JSON: no sockets, no
// clocks, so every wire case is a data-driven test (tests/data/runner/api/*.case).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenstorm/core/enums.h"
#include "tokenstorm/runner/sse.h"

namespace tokenstorm::runner {

struct Message {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct GenerationRequest {
  std::string model;
  std::vector<Message> messages;  // chat and messages APIs; the completions API joins them into one prompt
  int64_t maxTokens = 128;
  bool stream = true;
  std::optional<double> temperature;
  bool ignoreEos = false;  // vLLM / the simulator: generate exactly maxTokens. OpenAI APIs only: the
                           // Messages API has no such field, so Anthropic requests go without it
  // A self-hosted server (an internal URL: vLLM, SGLang, TGI, the simulator) gets the extensions those
  // servers read: stream_options.continuous_usage_stats and ignore_eos. A provider (an external URL) gets
  // only its documented fields, and chat requests carry max_completion_tokens instead of max_tokens,
  // which OpenAI's reasoning models refuse.
  bool selfHosted = true;
};

struct HttpRequestParts {
  std::string path;  // e.g. "/v1/chat/completions", appended to the endpoint's base path
  std::string body;  // JSON
  std::vector<std::pair<std::string, std::string>> headers;  // API-specific (anthropic-version, ...)
};

// As the server counted. promptTokens is the whole prompt, cached tokens included, for every API (for
// Anthropic: input_tokens + cache_creation_input_tokens + cache_read_input_tokens); cachedTokens are prompt
// tokens read from the cache (OpenAI prompt_tokens_details.cached_tokens, Anthropic cache_read_input_tokens).
struct Usage {
  std::optional<int64_t> promptTokens;
  std::optional<int64_t> completionTokens;
  std::optional<int64_t> cachedTokens;
};

struct ApiError {
  std::string type;  // the error object's type/code, e.g. "server_error", "overloaded_error"
  std::string message;
};

// What one SSE event (or a whole non-streamed body) said.
struct Delta {
  int64_t contentChars = 0;                  // bytes of answer text in this event
  std::string content;                       // the answer text itself, only with AnswerText::kKeep
  int64_t reasoningChars = 0;                // bytes of reasoning text
  int64_t toolCallChars = 0;                 // bytes of tool-call arguments/names
  std::optional<Usage> usage;                // cumulative, when the server sent usage in this event
  std::optional<std::string> finishReason;   // normalised: "stop", "length", "tool_calls", "content_filter"
  std::optional<ApiError> error;             // an error object inside a 200 stream (or an error body)
  bool done = false;                         // "[DONE]" or message_stop: the answer is complete
  std::optional<std::string> protocolError;  // the event could not be understood (names what was wrong)

  bool carriesOutput() const { return contentChars > 0 || reasoningChars > 0 || toolCallChars > 0; }
};

// Whether a parse keeps the answer text in Delta::content (conversations send it back as the next turn's
// history) or only counts it (everything else: the copy is ~10% of the event rate).
enum class AnswerText { kCountOnly, kKeep };

class ApiAdapter {
 public:
  virtual ~ApiAdapter() = default;
  virtual core::Api api() const = 0;
  // The request, with stream_options.include_usage (and continuous_usage_stats) when streaming.
  virtual HttpRequestParts build(const GenerationRequest& request) const = 0;
  // One streamed event.
  virtual Delta parseEvent(const SseEvent& event, AnswerText text) const = 0;
  // A whole non-streamed response body (status 200), or an error body (any status).
  virtual Delta parseBody(std::string_view body, AnswerText text) const = 0;
  // The header that carries the API key, and how its value is formed from the key.
  virtual std::pair<std::string, std::string> authHeader(std::string_view key) const = 0;
};

// The adapter for an API (a static instance; never null).
const ApiAdapter& adapterFor(core::Api api);

}  // namespace tokenstorm::runner
