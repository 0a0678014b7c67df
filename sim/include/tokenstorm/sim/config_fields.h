// Field descriptions of the simulator config (see core/field.h): the decoder reads them for config files
// and for POST /admin/config.
#pragma once

#include "tokenstorm/core/field.h"
#include "tokenstorm/core/loadtest_fields.h"
#include "tokenstorm/sim/config.h"

namespace tokenstorm::core {
template <>
struct EnumTable<sim::OutageMode> {
  static constexpr auto kValues = std::to_array<std::pair<sim::OutageMode, std::string_view>>(
      {{sim::OutageMode::Unavailable, "503"}, {sim::OutageMode::Refuse, "refuse"}});
};
}  // namespace tokenstorm::core

namespace tokenstorm::sim {

using core::F;

template <class V>
void describe(V& v, ServingConfig& s) {
  v.field(s.prefillOverhead, F("prefillOverhead", "Fixed cost of a prefill.").nonNegative());
  v.field(s.prefillTokensPerSecond,
          F("prefillTokensPerSecond", "Prefill speed for uncached prompt tokens.").positive());
  v.field(s.decodeStepBase, F("decodeStepBase", "Decode step time with one running sequence.").positive());
  v.field(s.decodeStepPerSequence,
          F("decodeStepPerSequence", "Added to a step per running sequence.").nonNegative());
  v.field(s.maxBatch, F("maxBatch", "Most sequences decoded together.").min(1).max(100'000));
  v.field(s.kvCacheTokens, F("kvCacheTokens", "KV cache capacity in tokens (prompt + generated).").min(1));
  v.field(s.tokensPerChunk, F("tokensPerChunk", "Tokens per streamed chunk.").min(1).max(1000));
  v.field(s.outputTokens, F("outputTokens", "Natural output length before end-of-sequence."));
  v.field(s.reasoningTokens,
          F("reasoningTokens", "Reasoning tokens streamed before the content.").nonNegative());
}
template <class V>
void describe(V& v, ReplicasConfig& r) {
  v.field(r.count, F("count", "Replicas at start.").nonNegative().max(1000));
  v.field(r.warmup, F("warmup", "Time before a replica added at run time serves.").nonNegative());
  v.field(r.scaleToZero, F("scaleToZero", "Start with no replica; the first request starts one."));
  v.field(r.idleTimeout, F("idleTimeout", "Idle time after which a scale-to-zero replica stops.").positive());
  v.field(r.coldStart, F("coldStart", "Cold start of the first replica after scale-to-zero.").nonNegative());
}
template <class V>
void describe(V& v, RateLimitConfig& r) {
  v.field(r.requestsPerMinute,
          F("requestsPerMinute", "Requests per minute per API key (0: unlimited).").nonNegative());
  v.field(r.tokensPerMinute,
          F("tokensPerMinute", "Tokens per minute per API key (0: unlimited).").nonNegative());
}
template <class V>
void describe(V& v, OutageWindow& o) {
  v.field(o.at, F("at", "Start, since the simulator started.").required().nonNegative());
  v.field(o.duration, F("duration", "Length.").required().positive());
  v.field(o.mode, F("mode", "503 (answer Service Unavailable) or refuse (close connections)."));
}
template <class V>
void describe(V& v, FaultsConfig& f) {
  v.field(f.errorRates, F("errorRates", "Status code to probability per request.").min(0).max(1));
  v.field(f.latencySpikeProbability,
          F("latencySpikeProbability", "Chance of a latency spike.").min(0).max(1));
  v.field(f.latencySpike,
          F("latencySpike", "Delay added before the first token of a spiked request.").nonNegative());
  v.field(f.cutStreamProbability, F("cutStreamProbability", "Chance a stream is cut mid-way.").min(0).max(1));
  v.field(f.streamErrorProbability,
          F("streamErrorProbability", "Chance of an error object inside a 200 stream.").min(0).max(1));
  v.field(f.outages, F("outages", "Outage windows."));
}
template <class V>
void describe(V& v, PrefixCacheConfig& p) {
  v.field(p.enabled, F("enabled", "Report repeated prompt prefixes as cached and skip their prefill."));
  v.field(p.blockTokens, F("blockTokens", "Cache block size in tokens.").min(1).max(4096));
  v.field(p.capacityBlocks, F("capacityBlocks", "Blocks remembered per replica.").min(1));
}
template <class V>
void describe(V& v, SimConfig& c) {
  v.field(c.models, F("models", "Model names served (empty: any)."));
  v.field(c.seed, F("seed", "Seed of every random stream."));
  v.field(c.serving, F("serving", "Batching and queueing model."));
  v.field(c.replicas, F("replicas", "Replicas and warm-up."));
  v.field(c.rateLimits, F("rateLimits", "Provider-like rate limits."));
  v.field(c.faults, F("faults", "Injected faults."));
  v.field(c.prefixCache, F("prefixCache", "Prefix cache."));
  v.field(c.maxBodyBytes, F("maxBodyBytes", "Largest request body accepted.").min(1024).max(1 << 30));
}

}  // namespace tokenstorm::sim
