#include "tokenstorm/runner/api.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace tokenstorm::runner {
namespace {

using Json = nlohmann::json;
// Request bodies keep their keys in the order written, so a body reads like the API's documentation.
using OrderedJson = nlohmann::ordered_json;

// Token counts above 2^53 - 1 cannot be exact in JSON's usual double reading (RFC 7493 I-JSON); a server
// that sends one is broken, and the number would poison sums downstream.
constexpr int64_t kMaxCount = (int64_t{1} << 53) - 1;
// How much of an unparseable payload a protocol error quotes.
constexpr size_t kSnippetBytes = 60;

constexpr const char* kAnthropicVersion = "2023-06-01";

std::string_view trim(std::string_view s) {
  const char* space = " \t\r\n";
  size_t first = s.find_first_not_of(space);
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// The start of an untrusted payload, safe to print anywhere: bytes outside printable ASCII become \xNN, so
// a cut multi-byte character never makes the message itself invalid UTF-8.
std::string snippet(std::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kSnippetBytes; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7F) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += text.size() > kSnippetBytes ? "\"..." : "\"";
  return out;
}

std::string dumpJson(const OrderedJson& j) {
  // Prompts come from user datasets; invalid UTF-8 in them is replaced rather than thrown about.
  return j.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

// Reads untrusted JSON by path: typed lookups record the first problem (naming the field) instead of
// throwing, and a value of the wrong type reads as absent. JSON null reads as absent everywhere: servers
// send `"usage": null` or `"content": null` to mean "not in this chunk".
class Reader {
 public:
  explicit Reader(AnswerText text = AnswerText::kCountOnly) : text_(text) {}
  bool keepText() const { return text_ == AnswerText::kKeep; }

  const Json* member(const Json& object, const char* key) const {
    auto it = object.find(key);
    return it == object.end() || it->is_null() ? nullptr : &*it;
  }

  const std::string* string(const Json& object, const char* key, std::string_view where) {
    const Json* v = typed(object, key, where, Json::value_t::string, "a string");
    return v == nullptr ? nullptr : &v->get_ref<const std::string&>();
  }
  const Json* object(const Json& parent, const char* key, std::string_view where) {
    return typed(parent, key, where, Json::value_t::object, "an object");
  }
  const Json* array(const Json& parent, const char* key, std::string_view where) {
    return typed(parent, key, where, Json::value_t::array, "an array");
  }

  // The same, for fields the payload cannot do without.
  const std::string* requiredString(const Json& object, const char* key, std::string_view where) {
    return required(string(object, key, where), object, key, where);
  }
  const Json* requiredObject(const Json& parent, const char* key, std::string_view where) {
    return required(object(parent, key, where), parent, key, where);
  }
  const Json* requiredArray(const Json& parent, const char* key, std::string_view where) {
    return required(array(parent, key, where), parent, key, where);
  }

  // A token count: an integer in [0, 2^53 - 1].
  std::optional<int64_t> count(const Json& object, const char* key, std::string_view where) {
    const Json* v = member(object, key);
    if (v == nullptr) {
      return std::nullopt;
    }
    if (v->is_number_unsigned()) {
      auto n = v->get<uint64_t>();
      if (n <= static_cast<uint64_t>(kMaxCount)) {
        return static_cast<int64_t>(n);
      }
      problem(path(where, key) + " is out of range (" + v->dump() + ")");
    } else if (v->is_number_integer()) {
      problem(path(where, key) + " must not be negative (" + v->dump() + ")");
    } else if (v->is_number_float()) {
      problem(path(where, key) + " must be an integer (" + v->dump() + ")");
    } else {
      problem(path(where, key) + " must be a number, got " + v->type_name());
    }
    return std::nullopt;
  }

  void problem(std::string message) {
    if (!problem_) {
      problem_ = std::move(message);
    }
  }
  const std::optional<std::string>& firstProblem() const { return problem_; }

  static std::string path(std::string_view where, std::string_view key) {
    std::string p(where);
    if (!p.empty()) {
      p += '.';
    }
    return p.append(key);
  }

 private:
  const Json* typed(const Json& object, const char* key, std::string_view where, Json::value_t type,
                    const char* type_words) {
    const Json* v = member(object, key);
    if (v == nullptr || v->type() == type) {
      return v;
    }
    problem(path(where, key) + " must be " + type_words + ", got " + v->type_name());
    return nullptr;
  }

  template <typename T>
  T* required(T* found, const Json& object, const char* key, std::string_view where) {
    if (found == nullptr && member(object, key) == nullptr) {
      problem(path(where, key) + " is required");
    }
    return found;
  }

  std::optional<std::string> problem_;
  AnswerText text_;
};

std::string indexed(std::string_view where, size_t i) {
  return std::string(where) + "[" + std::to_string(i) + "]";
}

int64_t chars(const std::string* s) {
  return s == nullptr ? 0 : static_cast<int64_t>(s->size());
}

// Answer text: counted, and kept when asked for (conversations replay it as the next turn's history; the
// copy costs ~10% of the event rate, so nobody else pays for it).
void addContent(Delta& d, const std::string* s, const Reader& r) {
  if (s != nullptr) {
    d.contentChars += static_cast<int64_t>(s->size());
    if (r.keepText()) {
      d.content += *s;
    }
  }
}

// One vocabulary for why generation stopped (OpenAI's); values we do not know pass through unchanged.
std::string normalFinish(std::string_view reason) {
  if (reason == "stop" || reason == "end_turn" || reason == "stop_sequence" || reason == "eos_token") {
    return "stop";
  }
  if (reason == "length" || reason == "max_tokens") {
    return "length";
  }
  if (reason == "tool_calls" || reason == "tool_use" || reason == "function_call") {
    return "tool_calls";
  }
  if (reason == "content_filter" || reason == "refusal") {
    return "content_filter";
  }
  return std::string(reason);
}

// An error object as the servers write it: OpenAI {"error":{"message","type","code",...}}, Anthropic
// {"type":"error","error":{"type","message"}}, vLLM before 0.9 {"object":"error","message","type","code"}
// at the top level, TGI {"error":"...","error_type":"..."}. Lenient on types: it is an error either way.
ApiError errorFrom(const Json& e, const Json* sibling_type = nullptr) {
  ApiError out;
  if (e.is_string()) {
    out.message = e.get<std::string>();
    if (sibling_type != nullptr && sibling_type->is_string()) {
      out.type = sibling_type->get<std::string>();
    }
    return out;
  }
  if (!e.is_object()) {
    out.message = e.dump();
    return out;
  }
  auto text = [&e](const char* key) -> std::string {
    auto it = e.find(key);
    if (it == e.end() || it->is_null()) {
      return "";
    }
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  out.type = text("type");
  if (out.type.empty()) {
    out.type = text("code");
  }
  out.message = text("message");
  return out;
}

std::optional<ApiError> errorIn(const Json& object) {
  auto it = object.find("error");
  if (it != object.end() && !it->is_null()) {
    auto type = object.find("error_type");
    return errorFrom(*it, type == object.end() ? nullptr : &*type);
  }
  auto kind = object.find("object");
  if (kind != object.end() && *kind == "error") {
    return errorFrom(object);
  }
  return std::nullopt;
}

// A parsed payload that must be a JSON object, or the protocol error saying why it is not.
std::optional<Json> parseObject(std::string_view text, const char* what, Delta* d) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    d->protocolError = std::string(what) + " is not valid JSON: " + snippet(text);
    return std::nullopt;
  }
  if (!j.is_object()) {
    d->protocolError = std::string(what) + " must be a JSON object, got " + j.type_name();
    return std::nullopt;
  }
  return j;
}

Delta errorDelta(ApiError e) {
  Delta d;
  d.error = std::move(e);
  return d;
}

// A delta whose problem, if any, replaces everything else it would have said.
Delta settle(Delta d, const Reader& r) {
  if (r.firstProblem()) {
    Delta bad;
    bad.protocolError = *r.firstProblem();
    return bad;
  }
  return d;
}

// --- OpenAI -------------------------------------------------------------------------------------------

Usage openaiUsage(const Json& u, Reader& r) {
  Usage out;
  out.promptTokens = r.count(u, "prompt_tokens", "usage");
  out.completionTokens = r.count(u, "completion_tokens", "usage");
  if (const Json* details = r.object(u, "prompt_tokens_details", "usage")) {
    out.cachedTokens = r.count(*details, "cached_tokens", "usage.prompt_tokens_details");
  }
  return out;
}

// A chat message or delta: answer text, reasoning and tool calls. `reasoning_content` (DeepSeek, vLLM before
// 0.10) and `reasoning` (vLLM since, OpenRouter, Ollama) are two names for one thing; some servers send both
// with the same text, so they are never added together. A refusal is answer text.
void readChatMessage(const Json& m, const std::string& where, Delta& d, Reader& r) {
  addContent(d, r.string(m, "content", where), r);
  addContent(d, r.string(m, "refusal", where), r);
  const std::string* reasoning_content = r.string(m, "reasoning_content", where);
  const std::string* reasoning = r.string(m, "reasoning", where);
  d.reasoningChars += reasoning_content != nullptr && !reasoning_content->empty() ? chars(reasoning_content)
                                                                                  : chars(reasoning);
  auto function_chars = [&](const Json& f, const std::string& at) {
    d.toolCallChars += chars(r.string(f, "name", at)) + chars(r.string(f, "arguments", at));
  };
  if (const Json* calls = r.array(m, "tool_calls", where)) {
    for (size_t i = 0; i < calls->size(); ++i) {
      const Json& call = (*calls)[i];
      std::string at = indexed(Reader::path(where, "tool_calls"), i);
      if (!call.is_object()) {
        r.problem(at + " must be an object, got " + call.type_name());
        continue;
      }
      if (const Json* f = r.object(call, "function", at)) {
        function_chars(*f, Reader::path(at, "function"));
      }
    }
  }
  if (const Json* f = r.object(m, "function_call", where)) {  // the pre-tools API, still sent by some servers
    function_chars(*f, Reader::path(where, "function_call"));
  }
}

// Choices of a chat or completions payload; `message_key` is "delta" (stream) or "message" (body).
void readChoices(const Json& j, bool chat, const char* message_key, bool required, Delta& d, Reader& r) {
  const Json* choices = required ? r.requiredArray(j, "choices", "") : r.array(j, "choices", "");
  if (choices == nullptr) {
    return;
  }
  for (size_t i = 0; i < choices->size(); ++i) {
    const Json& c = (*choices)[i];
    std::string where = indexed("choices", i);
    if (!c.is_object()) {
      r.problem(where + " must be an object, got " + c.type_name());
      continue;
    }
    if (chat) {
      const Json* m = required ? r.requiredObject(c, message_key, where) : r.object(c, message_key, where);
      if (m != nullptr) {
        readChatMessage(*m, Reader::path(where, message_key), d, r);
      }
    } else {
      addContent(d, required ? r.requiredString(c, "text", where) : r.string(c, "text", where), r);
    }
    if (const std::string* finish = r.string(c, "finish_reason", where); finish && !d.finishReason) {
      d.finishReason = normalFinish(*finish);
    }
  }
}

Delta openaiEvent(const SseEvent& event, bool chat, AnswerText text) {
  Delta d;
  std::string_view data = trim(event.data);
  if (data == "[DONE]") {
    d.done = true;
    return d;
  }
  if (data.empty()) {
    return d;  // `data:` alone: the spec dispatches it, but it says nothing
  }
  auto j = parseObject(data, "event data", &d);
  if (!j) {
    if (event.event == "error") {  // an SSE error event whose payload is plain text
      return errorDelta(ApiError{"", snippet(data)});
    }
    return d;
  }
  if (auto e = errorIn(*j)) {
    d.error = std::move(e);
    return d;
  }
  if (event.event == "error") {
    d.error = errorFrom(*j);
    return d;
  }
  Reader r(text);
  readChoices(*j, chat, "delta", /*required=*/false, d, r);
  if (const Json* u = r.object(*j, "usage", "")) {
    d.usage = openaiUsage(*u, r);
  }
  return settle(std::move(d), r);
}

// An error body, or nullopt when `j` is not one. FastAPI's own errors (404 for an unknown path, 422) are
// {"detail": ...}; they come from servers such as vLLM before the request reaches the model.
std::optional<ApiError> errorBody(const Json& j) {
  if (auto e = errorIn(j)) {
    return e;
  }
  auto detail = j.find("detail");
  if (detail != j.end() && !j.contains("choices") && !j.contains("content")) {
    return ApiError{"", detail->is_string() ? detail->get<std::string>() : detail->dump()};
  }
  return std::nullopt;
}

// The body as a JSON object, or the protocol error saying why it is not one.
std::optional<Json> parseBodyObject(std::string_view body, Delta* d) {
  std::string_view text = trim(body);
  if (text.empty()) {
    d->protocolError = "response body is empty";
    return std::nullopt;
  }
  return parseObject(text, "response body", d);
}

Delta openaiBody(std::string_view body, bool chat, AnswerText text) {
  Delta d;
  auto j = parseBodyObject(body, &d);
  if (!j) {
    return d;
  }
  if (auto e = errorBody(*j)) {
    d.error = std::move(e);
    return d;
  }
  Reader r(text);
  readChoices(*j, chat, "message", /*required=*/true, d, r);
  if (const Json* u = r.object(*j, "usage", "")) {
    d.usage = openaiUsage(*u, r);
  }
  d.done = true;
  return settle(std::move(d), r);
}

OrderedJson openaiMessages(const GenerationRequest& request) {
  OrderedJson messages = OrderedJson::array();
  for (const auto& m : request.messages) {
    messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  return messages;
}

// The fields after the prompt, shared by both OpenAI APIs.
void openaiTail(const GenerationRequest& request, OrderedJson& body, bool chat) {
  // max_tokens for every self-hosted OpenAI-compatible server (vLLM, SGLang, TGI, llama.cpp, the simulator)
  // and for the completions API; OpenAI's chat API wants max_completion_tokens (its reasoning models refuse
  // max_tokens).
  body[chat && !request.selfHosted ? "max_completion_tokens" : "max_tokens"] = request.maxTokens;
  if (request.temperature) {
    body["temperature"] = *request.temperature;
  }
  body["stream"] = request.stream;
  if (request.stream) {
    // Usage is the source of truth for token counts (docs/metrics.md); continuous_usage_stats (a vLLM
    // extension) puts it on every chunk where the server supports it (vLLM, SGLang, the simulator).
    body["stream_options"] = {{"include_usage", true}};
    if (request.selfHosted) {
      body["stream_options"]["continuous_usage_stats"] = true;
    }
  }
  if (request.ignoreEos && request.selfHosted) {
    body["ignore_eos"] = true;
  }
}

// Chat completions (`messages`) and the legacy completions API (one `prompt`) differ only in the request's
// prompt field, the path, and where an answer's text sits.
class OpenAIAdapter final : public ApiAdapter {
 public:
  explicit OpenAIAdapter(bool chat) : chat_(chat) {}

  // ApiAdapter
  core::Api api() const override { return chat_ ? core::Api::OpenAIChat : core::Api::OpenAICompletions; }
  HttpRequestParts build(const GenerationRequest& request) const override {
    OrderedJson body;
    body["model"] = request.model;
    if (chat_) {
      body["messages"] = openaiMessages(request);
    } else {
      // One prompt: the messages' contents, in order, one per line (the simulator joins them the same way).
      std::string prompt;
      for (const auto& m : request.messages) {
        if (!m.content.empty()) {
          prompt += (prompt.empty() ? "" : "\n") + m.content;
        }
      }
      body["prompt"] = prompt;
    }
    openaiTail(request, body, chat_);
    return {chat_ ? "/v1/chat/completions" : "/v1/completions", dumpJson(body), {}};
  }
  Delta parseEvent(const SseEvent& event, AnswerText text) const override {
    return openaiEvent(event, chat_, text);
  }
  Delta parseBody(std::string_view body, AnswerText text) const override {
    return openaiBody(body, chat_, text);
  }
  std::pair<std::string, std::string> authHeader(std::string_view key) const override {
    return {"Authorization", "Bearer " + std::string(key)};
  }

 private:
  bool chat_;
};

// --- Anthropic ----------------------------------------------------------------------------------------

// Anthropic's input_tokens excludes the tokens read from and written to the prompt cache; promptTokens is
// the whole prompt, as OpenAI counts it, so that cache hit rate = cached / prompt means the same for both.
Usage anthropicUsage(const Json& u, const std::string& where, Reader& r) {
  Usage out;
  std::optional<int64_t> input = r.count(u, "input_tokens", where);
  std::optional<int64_t> written = r.count(u, "cache_creation_input_tokens", where);
  std::optional<int64_t> read = r.count(u, "cache_read_input_tokens", where);
  if (input) {
    out.promptTokens = *input + written.value_or(0) + read.value_or(0);  // each ≤ 2^53, no overflow
    out.cachedTokens = read.value_or(0);
  } else {
    out.cachedTokens = read;
  }
  out.completionTokens = r.count(u, "output_tokens", where);
  return out;
}

// A content block (in content_block_start, or in a whole message). A tool call's name counts as it does for
// OpenAI; its input only in a whole message (a streamed block starts with an empty input, filled by
// input_json_delta events). Redacted thinking is opaque bytes, not text, and does not count.
void readBlock(const Json& block, const std::string& where, bool whole, Delta& d, Reader& r) {
  const std::string* type = r.requiredString(block, "type", where);
  if (type == nullptr) {
    return;
  }
  if (*type == "text") {
    addContent(d, whole ? r.requiredString(block, "text", where) : r.string(block, "text", where), r);
  } else if (*type == "thinking") {
    d.reasoningChars +=
        chars(whole ? r.requiredString(block, "thinking", where) : r.string(block, "thinking", where));
  } else if (*type == "tool_use" || *type == "server_tool_use") {
    d.toolCallChars += chars(r.string(block, "name", where));
    if (const Json* input = whole ? r.member(block, "input") : nullptr) {
      d.toolCallChars += static_cast<int64_t>(input->dump().size());
    }
  }
}

Delta anthropicEvent(const SseEvent& event, AnswerText text) {
  Delta d;
  std::string_view data = trim(event.data);
  if (data.empty()) {
    return d;
  }
  auto j = parseObject(data, "event data", &d);
  if (!j) {
    if (event.event == "error") {
      return errorDelta(ApiError{"", snippet(data)});
    }
    return d;
  }
  Reader r(text);
  // The data's own type is authoritative; the SSE event name (always the same in practice) stands in for a
  // payload that has none.
  const std::string* type_field = r.string(*j, "type", "");
  if (r.firstProblem()) {
    return settle(std::move(d), r);
  }
  std::string_view type = type_field != nullptr ? std::string_view(*type_field) : event.event;
  if (auto e = errorIn(*j)) {
    return errorDelta(std::move(*e));
  }
  if (type == "error" || event.event == "error") {
    return errorDelta(ApiError{"", snippet(data)});  // an error event without an error object
  }
  if (type == "message_start") {
    if (const Json* message = r.requiredObject(*j, "message", "")) {
      if (const Json* u = r.object(*message, "usage", "message")) {
        d.usage = anthropicUsage(*u, "message.usage", r);
      }
    }
  } else if (type == "content_block_start") {
    if (const Json* block = r.requiredObject(*j, "content_block", "")) {
      readBlock(*block, "content_block", /*whole=*/false, d, r);
    }
  } else if (type == "content_block_delta") {
    if (const Json* delta = r.requiredObject(*j, "delta", "")) {
      const std::string* kind = r.requiredString(*delta, "type", "delta");
      if (kind == nullptr) {
        // reported
      } else if (*kind == "text_delta") {
        addContent(d, r.requiredString(*delta, "text", "delta"), r);
      } else if (*kind == "thinking_delta") {
        d.reasoningChars += chars(r.requiredString(*delta, "thinking", "delta"));
      } else if (*kind == "input_json_delta") {
        d.toolCallChars += chars(r.requiredString(*delta, "partial_json", "delta"));
      }
      // signature_delta, citations_delta and delta types yet to come carry no output text.
    }
  } else if (type == "message_delta") {
    if (const Json* delta = r.object(*j, "delta", "")) {
      if (const std::string* stop = r.string(*delta, "stop_reason", "delta")) {
        d.finishReason = normalFinish(*stop);
      }
    }
    if (const Json* u = r.object(*j, "usage", "")) {
      d.usage = anthropicUsage(*u, "usage", r);  // cumulative, as Anthropic documents
    }
  } else if (type == "message_stop") {
    d.done = true;
  }
  // ping, content_block_stop, and event types added later (Anthropic's versioning policy says to expect
  // them) carry nothing.
  return settle(std::move(d), r);
}

Delta anthropicBody(std::string_view body, AnswerText text) {
  Delta d;
  auto j = parseBodyObject(body, &d);
  if (!j) {
    return d;
  }
  if (auto e = errorBody(*j)) {
    d.error = std::move(e);
    return d;
  }
  Reader r(text);
  if (const Json* content = r.requiredArray(*j, "content", "")) {
    for (size_t i = 0; i < content->size(); ++i) {
      const Json& block = (*content)[i];
      std::string where = indexed("content", i);
      if (!block.is_object()) {
        r.problem(where + " must be an object, got " + block.type_name());
        continue;
      }
      readBlock(block, where, /*whole=*/true, d, r);
    }
  }
  if (const std::string* stop = r.string(*j, "stop_reason", "")) {
    d.finishReason = normalFinish(*stop);
  }
  if (const Json* u = r.object(*j, "usage", "")) {
    d.usage = anthropicUsage(*u, "usage", r);
  }
  d.done = true;
  return settle(std::move(d), r);
}

// Anthropic has no ignore_eos: GenerationRequest::ignoreEos is not sent, and the model may stop early.
class AnthropicMessagesAdapter final : public ApiAdapter {
 public:
  // ApiAdapter
  core::Api api() const override { return core::Api::AnthropicMessages; }
  HttpRequestParts build(const GenerationRequest& request) const override {
    // System messages go to the top-level `system` (the Messages API has no system role), joined by lines.
    std::string system;
    OrderedJson messages = OrderedJson::array();
    for (const auto& m : request.messages) {
      if (m.role == "system") {
        system += (system.empty() ? "" : "\n") + m.content;
      } else {
        messages.push_back({{"role", m.role}, {"content", m.content}});
      }
    }
    OrderedJson body;
    body["model"] = request.model;
    if (!system.empty()) {
      body["system"] = system;
    }
    body["messages"] = std::move(messages);
    body["max_tokens"] = request.maxTokens;  // required by the Messages API
    if (request.temperature) {
      body["temperature"] = *request.temperature;
    }
    body["stream"] = request.stream;
    return {"/v1/messages", dumpJson(body), {{"anthropic-version", kAnthropicVersion}}};
  }
  Delta parseEvent(const SseEvent& event, AnswerText text) const override {
    return anthropicEvent(event, text);
  }
  Delta parseBody(std::string_view body, AnswerText text) const override { return anthropicBody(body, text); }
  std::pair<std::string, std::string> authHeader(std::string_view key) const override {
    return {"x-api-key", std::string(key)};
  }
};

}  // namespace

const ApiAdapter& adapterFor(core::Api api) {
  static const OpenAIAdapter chat(/*chat=*/true);
  static const OpenAIAdapter completions(/*chat=*/false);
  static const AnthropicMessagesAdapter messages;
  switch (api) {
    case core::Api::OpenAIChat:
      return chat;
    case core::Api::OpenAICompletions:
      return completions;
    case core::Api::AnthropicMessages:
      return messages;
  }
  return chat;  // unreachable for valid enum values; never null as promised
}

}  // namespace tokenstorm::runner
