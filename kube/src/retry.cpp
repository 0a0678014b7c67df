#include "tokenstorm/kube/retry.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>

namespace tokenstorm::kube {

namespace {
constexpr double kNanosPerSecond = 1e9;
}

TokenBucket::TokenBucket(double qps, double burst, core::MonoNanos now)
    : qps_(qps), burst_(std::max(burst, 1.0)), tokens_(std::max(burst, 1.0)), last_(now) {}

void TokenBucket::refill(core::MonoNanos now) {
  if (now <= last_) {
    return;
  }
  tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - last_) / kNanosPerSecond * qps_);
  last_ = now;
}

core::MonoNanos TokenBucket::reserve(core::MonoNanos now) {
  if (unlimited()) {
    return 0;
  }
  refill(now);
  tokens_ -= 1.0;
  if (tokens_ >= 0) {
    return 0;
  }
  return static_cast<core::MonoNanos>(std::ceil(-tokens_ / qps_ * kNanosPerSecond));
}

double TokenBucket::tokens(core::MonoNanos now) const {
  if (now <= last_ || unlimited()) {
    return tokens_;
  }
  return std::min(burst_, tokens_ + static_cast<double>(now - last_) / kNanosPerSecond * qps_);
}

bool RetryPolicy::retryable(std::string_view method, int32_t status, bool has_retry_after) {
  bool idempotent = method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE";
  if (status == 429) {
    return true;
  }
  if (status == 500 || status == 502 || status == 503 || status == 504) {
    return idempotent || has_retry_after;
  }
  if (status == 0) {
    return idempotent;
  }
  return false;
}

core::MonoNanos RetryPolicy::wait(uint32_t attempt, core::MonoNanos retry_after_ns, double random01) const {
  core::MonoNanos w = max_wait_ns;
  uint32_t doublings = attempt == 0 ? 0 : attempt - 1;
  if (doublings < 62) {
    core::MonoNanos factor = core::MonoNanos{1} << doublings;
    if (base_ns <= max_wait_ns / factor) {
      w = base_ns * factor;
    }
  }
  double r = std::clamp(random01, 0.0, 1.0);
  w -= static_cast<core::MonoNanos>(r * static_cast<double>(w) / 4.0);
  return std::max(w, retry_after_ns);
}

std::optional<core::MonoNanos> parseRetryAfter(std::string_view value,
                                               std::chrono::system_clock::time_point wall_now) {
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.front()))) {
    value.remove_prefix(1);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) {
    value.remove_suffix(1);
  }
  if (value.empty()) {
    return std::nullopt;
  }
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) {
      return std::nullopt;  // beyond 31 years: not a delay anyone means
    }
    return static_cast<core::MonoNanos>(std::stoll(std::string(value))) * 1'000'000'000;
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') {
    return std::nullopt;
  }
  auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
  auto delta = std::chrono::duration_cast<std::chrono::nanoseconds>(at - wall_now).count();
  return std::max<core::MonoNanos>(delta, 0);
}

}  // namespace tokenstorm::kube
