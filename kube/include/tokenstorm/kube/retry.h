// The Kubernetes client's pacing: a client-side token bucket (QPS and burst), the retry policy for
// failed calls (which answers are retried, how long to wait), and Retry-After parsing. Pure logic: time
// comes in as arguments, randomness as a function, so the tests run on a ManualClock without sleeping.
//
// Rate limit (TokenBucket): `qps` tokens per second accrue up to `burst`; each request takes one. When
// none is left the request is not refused but told how long to wait: the bucket goes into debt, so
// waiting callers are served in order at exactly `qps` (golang.org/x/time/rate's reservations, which
// client-go uses). Defaults 20 QPS, burst 30: controller-runtime's numbers, not client-go's 5/10, since
// one operator serves every LoadTest in the cluster and a status write per shard change would queue
// behind 5 QPS. qps <= 0 turns the limit off.
//
// Retries (RetryPolicy), as client-go does for its own `Retry-After` answers and kube-rs's retry layer:
//   answer                                   | retried?
//   -----------------------------------------+------------------------------------------------
//   429 Too Many Requests                    | yes, any verb (the server did not act)
//   500, 502, 503, 504                       | GET, HEAD, PUT, DELETE (idempotent); POST and PATCH
//                                            | only when the server sent Retry-After (it asks)
//   network error (no response)              | idempotent verbs only: a POST may have been applied
//   anything else (4xx, 2xx, 501, ...)       | no
// The wait before attempt n+1 is base * 2^(n-1), capped, minus up to a quarter of it at random (jitter
// in (0.75 w, w]); a Retry-After longer than that is honoured. No retry starts when it would end past
// `max_total_ns` from the first attempt, or after `max_attempts` attempts (the first included).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tokenstorm/core/clock.h"

namespace tokenstorm::kube {

class TokenBucket {
 public:
  TokenBucket(double qps, double burst, core::MonoNanos now);

  // Takes a token; returns how long the caller must wait before using it (0: go now).
  core::MonoNanos reserve(core::MonoNanos now);
  double tokens(core::MonoNanos now) const;  // may be negative (debt) while callers wait
  bool unlimited() const { return qps_ <= 0; }

 private:
  void refill(core::MonoNanos now);

  double qps_;
  double burst_;
  double tokens_;
  core::MonoNanos last_;
};

struct RetryPolicy {
  uint32_t max_attempts = 5;                      // the first attempt included; 1 turns retries off
  core::MonoNanos base_ns = 250'000'000;          // 250 ms before the second attempt
  core::MonoNanos max_wait_ns = 10'000'000'000;   // one wait at most 10 s (Retry-After beyond: give up)
  core::MonoNanos max_total_ns = 60'000'000'000;  // no retry would end later than 60 s after the start

  // Whether a call with this method that got `status` (0: network error) may be sent again.
  static bool retryable(std::string_view method, int32_t status, bool has_retry_after);
  // The wait before attempt `attempt + 1` (attempt >= 1 has just failed); random01 in [0, 1).
  core::MonoNanos wait(uint32_t attempt, core::MonoNanos retry_after_ns, double random01) const;
};

// Retry-After: delay-seconds, or an HTTP date (compared with `wall_now`). nullopt when absent or
// unreadable; a date in the past is 0.
std::optional<core::MonoNanos> parseRetryAfter(std::string_view value,
                                               std::chrono::system_clock::time_point wall_now);

}  // namespace tokenstorm::kube
