// Enumerations of the LoadTest API with their wire spellings, in one table per enum.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace tokenstorm::core {

enum class Api : uint8_t { OpenAIChat, OpenAICompletions, AnthropicMessages };
enum class RoutingPolicy : uint8_t { Single, Failover, Weighted };
enum class LoadMode : uint8_t { Open, Closed };
enum class Arrival : uint8_t { Poisson, Constant };
enum class DatasetFormat : uint8_t { JsonlPrompts, OpenAIChatJsonl, ShareGpt };
enum class Sampling : uint8_t { Random, Sequential };
enum class TokenizerType : uint8_t { Estimate, HuggingFace };
enum class RetryOn : uint8_t { Http429, Http4xx, Http5xx, Timeout, Connect };
enum class RateLimitUntil : uint8_t { First429, ErrorRate };
enum class PullPolicy : uint8_t { Always, IfNotPresent, Never };
enum class Metric : uint8_t {
  Ttft,
  TtftSched,
  Ttfo,
  E2e,
  E2eSched,
  Tpot,
  Ntpot,
  Itl,
  InterChunk,
  SchedLag,
  ErrorRate,
  RequestsPerSecond,
  InputTokensPerSecond,
  OutputTokensPerSecond,
  Goodput,
  GoodputFraction,
  CacheHitRate,
  RetryAmplification,
};
enum class Stat : uint8_t { P50, P90, P95, P99, P999, Min, Max, Mean };
enum class Phase : uint8_t { Pending, Provisioning, WarmingUp, Running, Succeeded, Failed, Aborted };
enum class Verdict : uint8_t { Pass, Fail };

// EnumTable<E>::kValues lists every value of E with its spelling in YAML/JSON.
template <class E>
struct EnumTable;

#define TOKENSTORM_ENUM_TABLE(E, ...)                                                             \
  template <>                                                                                     \
  struct EnumTable<E> {                                                                           \
    static constexpr auto kValues = std::to_array<std::pair<E, std::string_view>>({__VA_ARGS__}); \
  }

TOKENSTORM_ENUM_TABLE(Api, {Api::OpenAIChat, "openai-chat"}, {Api::OpenAICompletions, "openai-completions"},
                      {Api::AnthropicMessages, "anthropic-messages"});
TOKENSTORM_ENUM_TABLE(RoutingPolicy, {RoutingPolicy::Single, "single"}, {RoutingPolicy::Failover, "failover"},
                      {RoutingPolicy::Weighted, "weighted"});
TOKENSTORM_ENUM_TABLE(LoadMode, {LoadMode::Open, "open"}, {LoadMode::Closed, "closed"});
TOKENSTORM_ENUM_TABLE(Arrival, {Arrival::Poisson, "poisson"}, {Arrival::Constant, "constant"});
TOKENSTORM_ENUM_TABLE(DatasetFormat, {DatasetFormat::JsonlPrompts, "jsonl-prompts"},
                      {DatasetFormat::OpenAIChatJsonl, "openai-chat-jsonl"},
                      {DatasetFormat::ShareGpt, "sharegpt"});
TOKENSTORM_ENUM_TABLE(Sampling, {Sampling::Random, "random"}, {Sampling::Sequential, "sequential"});
TOKENSTORM_ENUM_TABLE(TokenizerType, {TokenizerType::Estimate, "estimate"},
                      {TokenizerType::HuggingFace, "huggingface"});
TOKENSTORM_ENUM_TABLE(RetryOn, {RetryOn::Http429, "429"}, {RetryOn::Http4xx, "4xx"},
                      {RetryOn::Http5xx, "5xx"}, {RetryOn::Timeout, "timeout"},
                      {RetryOn::Connect, "connect"});
TOKENSTORM_ENUM_TABLE(RateLimitUntil, {RateLimitUntil::First429, "first429"},
                      {RateLimitUntil::ErrorRate, "errorRate"});
TOKENSTORM_ENUM_TABLE(PullPolicy, {PullPolicy::Always, "Always"}, {PullPolicy::IfNotPresent, "IfNotPresent"},
                      {PullPolicy::Never, "Never"});
TOKENSTORM_ENUM_TABLE(Metric, {Metric::Ttft, "ttft"}, {Metric::TtftSched, "ttftSched"},
                      {Metric::Ttfo, "ttfo"}, {Metric::E2e, "e2e"}, {Metric::E2eSched, "e2eSched"},
                      {Metric::Tpot, "tpot"}, {Metric::Ntpot, "ntpot"}, {Metric::Itl, "itl"},
                      {Metric::InterChunk, "interChunk"}, {Metric::SchedLag, "schedLag"},
                      {Metric::ErrorRate, "errorRate"}, {Metric::RequestsPerSecond, "requestsPerSecond"},
                      {Metric::InputTokensPerSecond, "inputTokensPerSecond"},
                      {Metric::OutputTokensPerSecond, "outputTokensPerSecond"}, {Metric::Goodput, "goodput"},
                      {Metric::GoodputFraction, "goodputFraction"}, {Metric::CacheHitRate, "cacheHitRate"},
                      {Metric::RetryAmplification, "retryAmplification"});
TOKENSTORM_ENUM_TABLE(Stat, {Stat::P50, "p50"}, {Stat::P90, "p90"}, {Stat::P95, "p95"}, {Stat::P99, "p99"},
                      {Stat::P999, "p999"}, {Stat::Min, "min"}, {Stat::Max, "max"}, {Stat::Mean, "mean"});
TOKENSTORM_ENUM_TABLE(Phase, {Phase::Pending, "Pending"}, {Phase::Provisioning, "Provisioning"},
                      {Phase::WarmingUp, "WarmingUp"}, {Phase::Running, "Running"},
                      {Phase::Succeeded, "Succeeded"}, {Phase::Failed, "Failed"},
                      {Phase::Aborted, "Aborted"});
TOKENSTORM_ENUM_TABLE(Verdict, {Verdict::Pass, "Pass"}, {Verdict::Fail, "Fail"});

#undef TOKENSTORM_ENUM_TABLE

template <class E>
constexpr std::string_view enumName(E value) {
  for (const auto& [v, name] : EnumTable<E>::kValues) {
    if (v == value) {
      return name;
    }
  }
  return "?";
}

template <class E>
constexpr std::optional<E> enumFromName(std::string_view name) {
  for (const auto& [v, n] : EnumTable<E>::kValues) {
    if (n == name) {
      return v;
    }
  }
  return std::nullopt;
}

// "a, b or c": the allowed spellings, for error messages and docs.
template <class E>
std::string enumChoices() {
  std::string out;
  const auto& values = EnumTable<E>::kValues;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out += i + 1 == values.size() ? " or " : ", ";
    }
    out += values[i].second;
  }
  return out;
}

// Latency metrics take a duration limit and a statistic; the rest take a plain number.
constexpr bool isLatencyMetric(Metric m) {
  switch (m) {
    case Metric::Ttft:
    case Metric::TtftSched:
    case Metric::Ttfo:
    case Metric::E2e:
    case Metric::E2eSched:
    case Metric::Tpot:
    case Metric::Ntpot:
    case Metric::Itl:
    case Metric::InterChunk:
    case Metric::SchedLag:
      return true;
    default:
      return false;
  }
}

}  // namespace tokenstorm::core
