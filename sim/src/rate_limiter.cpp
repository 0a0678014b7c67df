#include "tokenstorm/sim/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace tokenstorm::sim {

RateDecision RateLimiter::check(const std::string& key, int64_t tokens, core::MonoNanos now) {
  const auto rpm = static_cast<double>(config_.requestsPerMinute);
  const auto tpm = static_cast<double>(config_.tokensPerMinute);
  auto [it, inserted] = keys_.try_emplace(key);
  Buckets& b = it->second;
  if (inserted) {
    b.requests = rpm;  // a new key starts with full buckets
    b.tokens = tpm;
    b.updated = now;
  }
  double elapsed_min = static_cast<double>(now - b.updated) / 60e9;  // minutes
  b.requests = std::min(rpm, b.requests + rpm * elapsed_min);
  b.tokens = std::min(tpm, b.tokens + tpm * elapsed_min);
  b.updated = now;

  bool requests_ok = rpm <= 0 || b.requests >= 1;
  // A request larger than a whole minute's tokens waits for a full bucket rather than forever.
  double need = std::min(static_cast<double>(tokens), tpm);
  bool tokens_ok = tpm <= 0 || b.tokens >= need;
  RateDecision d;
  d.allowed = requests_ok && tokens_ok;
  if (d.allowed) {
    if (rpm > 0) {
      b.requests -= 1;
    }
    if (tpm > 0) {
      b.tokens = std::max(0.0, b.tokens - need);
    }
  } else {
    double wait_req = requests_ok ? 0 : (1 - b.requests) / rpm * 60;
    double wait_tok = tokens_ok ? 0 : (need - b.tokens) / tpm * 60;
    d.retryAfterSeconds = std::max(wait_req, wait_tok);
  }
  if (rpm > 0) {
    d.limitRequests = config_.requestsPerMinute;
    d.remainingRequests = static_cast<int64_t>(std::floor(b.requests));
    d.resetRequestsSeconds = (rpm - b.requests) / rpm * 60;
  }
  if (tpm > 0) {
    d.limitTokens = config_.tokensPerMinute;
    d.remainingTokens = static_cast<int64_t>(std::floor(b.tokens));
    d.resetTokensSeconds = (tpm - b.tokens) / tpm * 60;
  }
  return d;
}

}  // namespace tokenstorm::sim
