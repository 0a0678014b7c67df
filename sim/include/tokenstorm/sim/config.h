// The simulator's configuration: behaviour model, replicas, rate limits, faults. Read from YAML with the
// same strict decoder as LoadTests (unknown fields are errors with their path); every field has a default
// so `tokenstorm sim` runs with no file at all. Documented in docs/simulator.md.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::sim {

using core::Duration;

struct ServingConfig {
  Duration prefillOverhead = Duration::fromMillis(15);
  double prefillTokensPerSecond = 20'000;
  Duration decodeStepBase = Duration::fromMillis(8);
  Duration decodeStepPerSequence = Duration::fromNanos(150'000);  // 0.15 ms per running sequence
  int64_t maxBatch = 128;
  int64_t kvCacheTokens = 400'000;
  int64_t tokensPerChunk = 1;
  core::Dist outputTokens = core::Dist{std::nullopt, std::nullopt, std::nullopt,
                                       core::Spread{180, 120, 1.0, 4096.0}};  // natural length before EOS
  int64_t reasoningTokens = 0;  // emitted as reasoning deltas before the content (TTFT vs TTFO)
};

struct ReplicasConfig {
  int64_t count = 1;
  Duration warmup = Duration::fromSeconds(0);  // a replica added at run time serves after this
  bool scaleToZero = false;
  Duration idleTimeout = Duration::fromSeconds(300);
  Duration coldStart = Duration::fromSeconds(20);
};

struct RateLimitConfig {
  int64_t requestsPerMinute = 0;  // per API key; 0 = unlimited
  int64_t tokensPerMinute = 0;    // prompt + max_tokens, per API key; 0 = unlimited
};

enum class OutageMode : uint8_t { Unavailable, Refuse };  // answer 503, or close connections at once

struct OutageWindow {
  Duration at;  // since the simulator started
  Duration duration;
  OutageMode mode = OutageMode::Unavailable;
};

struct FaultsConfig {
  std::map<std::string, double> errorRates;  // status code ("500", "503", "429") → probability per request
  double latencySpikeProbability = 0;
  Duration latencySpike = Duration::fromSeconds(2);
  double cutStreamProbability = 0;    // close the connection mid-stream
  double streamErrorProbability = 0;  // an error object inside a 200 stream
  std::vector<OutageWindow> outages;
};

struct PrefixCacheConfig {
  bool enabled = true;
  int64_t blockTokens = 16;
  int64_t capacityBlocks = 50'000;
};

struct SimConfig {
  // Model names served; empty (the default) accepts any name, so a LoadTest written for a real server runs
  // against the simulator unchanged.
  std::vector<std::string> models;
  int64_t seed = 42;
  ServingConfig serving;
  ReplicasConfig replicas;
  RateLimitConfig rateLimits;
  FaultsConfig faults;
  PrefixCacheConfig prefixCache;
  int64_t maxBodyBytes = 16 << 20;  // a 100K-token prompt is ~600 KB
};

// Rules that span fields (status codes of errorRates). Appends to *errors; true when valid.
bool validateSimConfig(const SimConfig& config, core::Diagnostics* errors);

// Parses a simulator config (YAML or JSON). On error returns nullopt and fills *errors.
std::optional<SimConfig> parseSimConfig(std::string_view text, core::Diagnostics* errors);

}  // namespace tokenstorm::sim
