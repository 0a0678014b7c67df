#include "tokenstorm/sim/protocol.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "tokenstorm/core/text.h"

namespace tokenstorm::sim {
namespace {

using Json = nlohmann::json;

ProtocolError invalid(std::string message, std::string param) {
  return ProtocolError{400, "invalid_request_error", std::move(message), std::move(param)};
}

// JSON string escaping for text we put into hand-built events (the hot path avoids a JSON library).
void appendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static constexpr char kHex[] = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
}

std::string jsonQuoted(std::string_view s) {
  std::string out = "\"";
  appendEscaped(out, s);
  return out + "\"";
}

// Text of an OpenAI/Anthropic `content`: a string, or a list of parts whose text parts count.
std::variant<std::string, ProtocolError> contentText(const Json& content, const std::string& param) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  if (content.is_null()) {
    return std::string();
  }
  if (!content.is_array()) {
    return invalid(param + " must be a string or a list of content parts", param);
  }
  std::string text;
  for (size_t i = 0; i < content.size(); ++i) {
    const Json& part = content[i];
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
      return invalid(param + "[" + std::to_string(i) + "] must be an object with a type", param);
    }
    if (part["type"] == "text") {
      if (!part.contains("text") || !part["text"].is_string()) {
        return invalid(param + "[" + std::to_string(i) + "].text must be a string", param);
      }
      text += (text.empty() ? "" : " ") + part["text"].get<std::string>();
    }
  }
  return text;
}

std::optional<ProtocolError> readInt(const Json& body, const char* key, int64_t min, int64_t max,
                                     int64_t* out) {
  if (!body.contains(key) || body[key].is_null()) {
    return std::nullopt;
  }
  const Json& v = body[key];
  if (!v.is_number_integer()) {
    return invalid(std::string(key) + " must be an integer", key);
  }
  int64_t n = v.get<int64_t>();
  if (n < min || n > max) {
    return invalid(std::string(key) + " must be between " + std::to_string(min) + " and " +
                       std::to_string(max) + " (got " + std::to_string(n) + ")",
                   key);
  }
  *out = n;
  return std::nullopt;
}

std::optional<ProtocolError> readBool(const Json& body, const char* key, bool* out) {
  if (!body.contains(key) || body[key].is_null()) {
    return std::nullopt;
  }
  if (!body[key].is_boolean()) {
    return invalid(std::string(key) + " must be a boolean", key);
  }
  *out = body[key].get<bool>();
  return std::nullopt;
}

constexpr int64_t kMaxOutputTokens = 1'000'000;

}  // namespace

std::variant<SimRequest, ProtocolError> parseRequest(ApiKind api, std::string_view text,
                                                     const SimConfig& config) {
  Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    return invalid("request body is not valid JSON", "");
  }
  if (!body.is_object()) {
    return invalid("request body must be a JSON object", "");
  }
  SimRequest r;
  r.api = api;
  if (!body.contains("model") || !body["model"].is_string()) {
    return invalid("model is required and must be a string", "model");
  }
  r.model = body["model"].get<std::string>();
  if (!config.models.empty() &&
      std::find(config.models.begin(), config.models.end(), r.model) == config.models.end()) {
    ProtocolError e{404, "not_found_error", "The model `" + r.model + "` does not exist.", "model"};
    if (api != ApiKind::AnthropicMessages) {
      e.type = "invalid_request_error";
    }
    return e;
  }
  if (auto e = readBool(body, "stream", &r.stream)) {
    return *e;
  }
  if (api == ApiKind::AnthropicMessages) {
    if (!body.contains("max_tokens")) {
      return invalid("max_tokens: Field required", "max_tokens");
    }
  } else {
    r.maxTokens = api == ApiKind::OpenAIChat ? 4096 : 16;  // OpenAI's defaults when max_tokens is absent
  }
  if (auto e = readInt(body, "max_tokens", 1, kMaxOutputTokens, &r.maxTokens)) {
    return *e;
  }
  if (auto e = readInt(body, "max_completion_tokens", 1, kMaxOutputTokens, &r.maxTokens)) {
    return *e;
  }
  if (auto e = readInt(body, "min_tokens", 0, kMaxOutputTokens, &r.minTokens)) {
    return *e;
  }
  if (auto e = readBool(body, "ignore_eos", &r.ignoreEos)) {
    return *e;
  }
  int64_t n = 1;
  if (auto e = readInt(body, "n", 1, 128, &n)) {
    return *e;
  }
  if (n != 1) {
    return invalid("the simulator supports n=1 only", "n");
  }
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const Json& so = body["stream_options"];
    if (!so.is_object()) {
      return invalid("stream_options must be an object", "stream_options");
    }
    if (!r.stream) {
      return invalid("stream_options is only allowed when stream is true", "stream_options");
    }
    if (auto e = readBool(so, "include_usage", &r.includeUsage)) {
      return *e;
    }
    if (auto e = readBool(so, "continuous_usage_stats", &r.continuousUsage)) {
      return *e;
    }
  }
  if (api == ApiKind::OpenAICompletions) {
    if (!body.contains("prompt") || !body["prompt"].is_string()) {
      return invalid("prompt is required and must be a string", "prompt");
    }
    r.prompt = body["prompt"].get<std::string>();
  } else {
    if (api == ApiKind::AnthropicMessages && body.contains("system")) {
      auto sys = contentText(body["system"], "system");
      if (auto* e = std::get_if<ProtocolError>(&sys)) {
        return *e;
      }
      r.prompt = std::get<std::string>(sys);
    }
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty()) {
      return invalid("messages is required and must be a non-empty list", "messages");
    }
    const Json& messages = body["messages"];
    for (size_t i = 0; i < messages.size(); ++i) {
      std::string param = "messages[" + std::to_string(i) + "]";
      const Json& m = messages[i];
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
        return invalid(param + ".role is required", param + ".role");
      }
      auto content = contentText(m.contains("content") ? m["content"] : Json(), param + ".content");
      if (auto* e = std::get_if<ProtocolError>(&content)) {
        return *e;
      }
      const auto& t = std::get<std::string>(content);
      if (!t.empty()) {
        r.prompt += (r.prompt.empty() ? "" : "\n") + t;
      }
    }
  }
  r.promptTokens = core::countWords(r.prompt);
  r.minTokens = std::min(r.minTokens, r.maxTokens);
  return r;
}

std::string errorBody(ApiKind api, const ProtocolError& e) {
  Json j;
  if (api == ApiKind::AnthropicMessages) {
    j = {{"type", "error"}, {"error", {{"type", e.type}, {"message", e.message}}}};
  } else {
    j = {{"error",
          {{"message", e.message},
           {"type", e.type},
           {"param", e.param.empty() ? Json(nullptr) : Json(e.param)},
           {"code", e.status == 404 && e.param == "model" ? Json("model_not_found") : Json(nullptr)}}}};
  }
  return j.dump();
}

StreamEncoder::StreamEncoder(const SimRequest& request, std::string id, int64_t created)
    : request_(request), id_(std::move(id)), created_(created) {}

std::string StreamEncoder::chunk(const std::string& json) const {
  return "data: " + json + "\n\n";
}

namespace {

std::string usageJson(const Usage& u, bool details) {
  std::string s = "{\"prompt_tokens\":" + std::to_string(u.promptTokens) +
                  ",\"total_tokens\":" + std::to_string(u.promptTokens + u.completionTokens) +
                  ",\"completion_tokens\":" + std::to_string(u.completionTokens);
  if (details) {
    s += ",\"prompt_tokens_details\":{\"cached_tokens\":" + std::to_string(u.cachedTokens) + "}";
    if (u.reasoningTokens > 0) {
      s += ",\"completion_tokens_details\":{\"reasoning_tokens\":" + std::to_string(u.reasoningTokens) + "}";
    }
  }
  return s + "}";
}

const char* finishName(Finish f, bool anthropic) {
  if (anthropic) {
    return f == Finish::Length ? "max_tokens" : "end_turn";
  }
  return f == Finish::Length ? "length" : "stop";
}

std::string anthropicEvent(const char* name, const std::string& json) {
  return std::string("event: ") + name + "\ndata: " + json + "\n\n";
}

}  // namespace

std::string StreamEncoder::start(const Usage& usage) {
  const std::string model = jsonQuoted(request_.model);
  switch (request_.api) {
    case ApiKind::OpenAIChat:
      return chunk(
          "{\"id\":\"chatcmpl-" + id_ + "\",\"object\":\"chat.completion.chunk\",\"created\":" +
          std::to_string(created_) + ",\"model\":" + model +
          ",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
          "\"finish_reason\":null}]" +
          (request_.continuousUsage ? ",\"usage\":" + usageJson(usage, false) : std::string()) + "}");
    case ApiKind::OpenAICompletions:
      return "";  // the completions API has no role chunk
    case ApiKind::AnthropicMessages:
      return anthropicEvent("message_start",
                            "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_" + id_ +
                                "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":" + model +
                                ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{"
                                "\"input_tokens\":" +
                                std::to_string(usage.promptTokens - usage.cachedTokens) +
                                ",\"cache_read_input_tokens\":" + std::to_string(usage.cachedTokens) +
                                ",\"output_tokens\":1}}}") +
             anthropicEvent("ping", "{\"type\":\"ping\"}");
  }
  return "";
}

std::string StreamEncoder::delta(std::string_view text, bool reasoning, const Usage& usage) {
  std::string out;
  switch (request_.api) {
    case ApiKind::OpenAIChat:
      out = "data: {\"id\":\"chatcmpl-" + id_ +
            "\",\"object\":\"chat.completion.chunk\",\"created\":" + std::to_string(created_) +
            ",\"model\":" + jsonQuoted(request_.model) + ",\"choices\":[{\"index\":0,\"delta\":{\"" +
            (reasoning ? "reasoning_content" : "content") + "\":\"";
      appendEscaped(out, text);
      out += "\"},\"logprobs\":null,\"finish_reason\":null}]";
      break;
    case ApiKind::OpenAICompletions:
      out = "data: {\"id\":\"cmpl-" + id_ +
            "\",\"object\":\"text_completion\",\"created\":" + std::to_string(created_) +
            ",\"model\":" + jsonQuoted(request_.model) + ",\"choices\":[{\"index\":0,\"text\":\"";
      appendEscaped(out, text);
      out += "\",\"logprobs\":null,\"finish_reason\":null}]";
      break;
    case ApiKind::AnthropicMessages: {
      std::string events;
      if (reasoning && !inThinkingBlock_) {
        events +=
            anthropicEvent("content_block_start",
                           "{\"type\":\"content_block_start\",\"index\":" + std::to_string(blockIndex_) +
                               ",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}");
        inThinkingBlock_ = true;
      }
      if (!reasoning && !inTextBlock_) {
        if (inThinkingBlock_) {
          events += anthropicEvent("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" +
                                                             std::to_string(blockIndex_++) + "}");
          inThinkingBlock_ = false;
        }
        events +=
            anthropicEvent("content_block_start",
                           "{\"type\":\"content_block_start\",\"index\":" + std::to_string(blockIndex_) +
                               ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
        inTextBlock_ = true;
      }
      std::string data = "{\"type\":\"content_block_delta\",\"index\":" + std::to_string(blockIndex_) +
                         ",\"delta\":{\"type\":\"" +
                         (reasoning ? "thinking_delta\",\"thinking\":\"" : "text_delta\",\"text\":\"");
      appendEscaped(data, text);
      data += "\"}}";
      return events + anthropicEvent("content_block_delta", data);
    }
  }
  if (request_.continuousUsage) {
    out += ",\"usage\":" + usageJson(usage, false);
  }
  out += "}\n\n";
  return out;
}

std::string StreamEncoder::finish(Finish finish, const Usage& usage) {
  const std::string model = jsonQuoted(request_.model);
  const std::string created = std::to_string(created_);
  std::string out;
  switch (request_.api) {
    case ApiKind::OpenAIChat:
    case ApiKind::OpenAICompletions: {
      bool chat = request_.api == ApiKind::OpenAIChat;
      std::string head = chat ? "{\"id\":\"chatcmpl-" + id_ + "\",\"object\":\"chat.completion.chunk\""
                              : "{\"id\":\"cmpl-" + id_ + "\",\"object\":\"text_completion\"";
      head += ",\"created\":" + created + ",\"model\":" + model;
      out +=
          chunk(head + ",\"choices\":[{\"index\":0," + (chat ? "\"delta\":{}" : "\"text\":\"\"") +
                ",\"logprobs\":null,\"finish_reason\":\"" + finishName(finish, false) + "\"}]" +
                (request_.continuousUsage ? ",\"usage\":" + usageJson(usage, false) : std::string()) + "}");
      if (request_.includeUsage) {
        out += chunk(head + ",\"choices\":[],\"usage\":" + usageJson(usage, true) + "}");
      }
      out += "data: [DONE]\n\n";
      return out;
    }
    case ApiKind::AnthropicMessages:
      if (!inTextBlock_ && !inThinkingBlock_) {
        out += anthropicEvent("content_block_start",
                              "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
                              "{\"type\":\"text\",\"text\":\"\"}}");
      }
      out +=
          anthropicEvent("content_block_stop",
                         "{\"type\":\"content_block_stop\",\"index\":" + std::to_string(blockIndex_) + "}");
      out += anthropicEvent("message_delta",
                            std::string("{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"") +
                                finishName(finish, true) +
                                "\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":" +
                                std::to_string(usage.completionTokens) + "}}");
      out += anthropicEvent("message_stop", "{\"type\":\"message_stop\"}");
      return out;
  }
  return out;
}

std::string StreamEncoder::errorEvent(std::string_view message) {
  if (request_.api == ApiKind::AnthropicMessages) {
    return anthropicEvent("error",
                          "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":" +
                              jsonQuoted(message) + "}}");
  }
  return chunk("{\"error\":{\"message\":" + jsonQuoted(message) +
               ",\"type\":\"server_error\",\"param\":null,\"code\":null}}");
}

std::string fullResponse(const SimRequest& r, const std::string& id, int64_t created, std::string_view text,
                         std::string_view reasoning, Finish finish, const Usage& usage) {
  Json j;
  Json usage_json = Json::parse(usageJson(usage, true));
  switch (r.api) {
    case ApiKind::OpenAIChat: {
      Json message = {{"role", "assistant"}, {"content", text}};
      if (!reasoning.empty()) {
        message["reasoning_content"] = reasoning;
      }
      j = {{"id", "chatcmpl-" + id},
           {"object", "chat.completion"},
           {"created", created},
           {"model", r.model},
           {"choices", Json::array({{{"index", 0},
                                     {"message", message},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finishName(finish, false)}}})},
           {"usage", usage_json}};
      break;
    }
    case ApiKind::OpenAICompletions:
      j = {{"id", "cmpl-" + id},
           {"object", "text_completion"},
           {"created", created},
           {"model", r.model},
           {"choices", Json::array({{{"index", 0},
                                     {"text", text},
                                     {"logprobs", nullptr},
                                     {"finish_reason", finishName(finish, false)}}})},
           {"usage", usage_json}};
      break;
    case ApiKind::AnthropicMessages: {
      Json content = Json::array();
      if (!reasoning.empty()) {
        content.push_back({{"type", "thinking"}, {"thinking", reasoning}});
      }
      content.push_back({{"type", "text"}, {"text", text}});
      j = {{"id", "msg_" + id},
           {"type", "message"},
           {"role", "assistant"},
           {"model", r.model},
           {"content", content},
           {"stop_reason", finishName(finish, true)},
           {"stop_sequence", nullptr},
           {"usage",
            {{"input_tokens", usage.promptTokens - usage.cachedTokens},
             {"cache_read_input_tokens", usage.cachedTokens},
             {"output_tokens", usage.completionTokens}}}};
      break;
    }
  }
  return j.dump();
}

std::string modelsBody(const SimConfig& config, int64_t created) {
  Json data = Json::array();
  for (const auto& m : config.models.empty() ? std::vector<std::string>{"sim-llama-8b"} : config.models) {
    data.push_back({{"id", m}, {"object", "model"}, {"created", created}, {"owned_by", "tokenstorm-sim"}});
  }
  return Json{{"object", "list"}, {"data", data}}.dump();
}

}  // namespace tokenstorm::sim
