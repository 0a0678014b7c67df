// Provider-like rate limits: a requests-per-minute and a tokens-per-minute bucket per API key, refilled
// continuously. A request is admitted when both buckets hold enough; otherwise the decision says how long
// to wait (retry-after) and what the x-ratelimit-* headers report.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/sim/config.h"

namespace tokenstorm::sim {

struct RateDecision {
  bool allowed = true;
  double retryAfterSeconds = 0;
  int64_t limitRequests = 0;  // 0: that limit is off
  int64_t remainingRequests = 0;
  double resetRequestsSeconds = 0;
  int64_t limitTokens = 0;
  int64_t remainingTokens = 0;
  double resetTokensSeconds = 0;
};

class RateLimiter {
 public:
  explicit RateLimiter(const RateLimitConfig& config) : config_(config) {}
  void reconfigure(const RateLimitConfig& config) { config_ = config; }
  bool enabled() const { return config_.requestsPerMinute > 0 || config_.tokensPerMinute > 0; }

  // Checks (and on success, charges) one request of `tokens` tokens for `key` at `now`.
  RateDecision check(const std::string& key, int64_t tokens, core::MonoNanos now);

 private:
  struct Buckets {
    double requests = 0;
    double tokens = 0;
    core::MonoNanos updated = 0;
  };
  RateLimitConfig config_;
  std::unordered_map<std::string, Buckets> keys_;
};

}  // namespace tokenstorm::sim
