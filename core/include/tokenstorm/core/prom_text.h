// Prometheus text exposition format (version 0.0.4), read from a model server's /metrics: vLLM, TGI or the
// simulator. Only what spec.target.serverMetrics needs: samples `name{labels} value [timestamp]`, with
// `#` comments (HELP and TYPE included) skipped.
//
// The body is untrusted (any endpoint the user names): lines and the body are size-limited, a bad line is
// skipped with a message ("line 3: unterminated label value") and never stops the others, and nothing
// crashes or allocates without bound.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenstorm/core/autoscaling.h"

namespace tokenstorm::core {

struct PromSample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;  // may be NaN or ±Inf, as the format allows
  std::optional<int64_t> timestampMs;
};

struct PromLimits {
  size_t maxBodyBytes = 16 * 1024 * 1024;  // the rest of a longer body is ignored, with a message
  size_t maxLineBytes = 64 * 1024;
  size_t maxSamples = 200'000;
  size_t maxLabels = 64;  // per sample
  size_t maxErrors = 20;  // messages kept; errorCount counts them all
};

struct PromParse {
  std::vector<PromSample> samples;
  std::vector<std::string> errors;  // "line 7: value \"abc\" is not a number"
  int64_t errorCount = 0;
};

// Parses a body. Never fails as a whole: bad lines are skipped and reported.
PromParse parsePromText(std::string_view body, const PromLimits& limits = {});

// Server metric names Tokenstorm picks by default: queue depth, running requests and KV-cache use of vLLM
// (both the older gpu_ and the newer kv_ cache gauge) and TGI, and the simulator's replica gauges.
const std::vector<std::string>& defaultServerMetricNames();
inline constexpr const char* kSimReplicas = "tokenstorm_sim_replicas";
inline constexpr const char* kSimReplicasReady = "tokenstorm_sim_replicas_ready";

// The sum over label sets of each wanted name that appears with a finite value (NaN and ±Inf samples are
// left out of the sum). A name that does not appear is absent from the map.
std::map<std::string, double> sumByName(const std::vector<PromSample>& samples,
                                        const std::vector<std::string>& names);

// One scrape at `tS` as server metric samples (sorted by name).
std::vector<ServerMetricSample> serverMetricSamples(double tS, const std::map<std::string, double>& sums);

// The simulator's replica gauges as a replica sample: desired = tokenstorm_sim_replicas (warming up
// included), ready = tokenstorm_sim_replicas_ready; nullopt when neither is present. Values are rounded
// to integers; negative ones read as absent.
std::optional<ReplicaSample> simReplicaSample(double tS, const std::map<std::string, double>& sums);

}  // namespace tokenstorm::core
