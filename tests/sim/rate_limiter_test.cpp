// Rate-limit buckets on explicit time: refill, per-key isolation, token limits, retry-after.
#include "tokenstorm/sim/rate_limiter.h"

#include <gtest/gtest.h>

namespace tokenstorm::sim {
namespace {

constexpr core::MonoNanos kSecond = 1'000'000'000;

TEST(RateLimiterTest, RequestBucketRefillsContinuously) {
  RateLimiter limiter(RateLimitConfig{60, 0});  // one request per second on average, burst 60
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(limiter.check("k", 10, 0).allowed) << i;
  }
  RateDecision refused = limiter.check("k", 10, 0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_NEAR(refused.retryAfterSeconds, 1.0, 1e-9);
  EXPECT_EQ(refused.remainingRequests, 0);
  EXPECT_EQ(refused.limitRequests, 60);
  EXPECT_NEAR(refused.resetRequestsSeconds, 60.0, 1e-9);
  EXPECT_FALSE(limiter.check("k", 10, kSecond / 2).allowed);  // half a token refilled
  EXPECT_TRUE(limiter.check("k", 10, kSecond).allowed);       // one whole token
  EXPECT_FALSE(limiter.check("k", 10, kSecond).allowed);
}

TEST(RateLimiterTest, KeysAreIsolated) {
  RateLimiter limiter(RateLimitConfig{1, 0});
  EXPECT_TRUE(limiter.check("a", 1, 0).allowed);
  EXPECT_FALSE(limiter.check("a", 1, 0).allowed);
  EXPECT_TRUE(limiter.check("b", 1, 0).allowed);
}

TEST(RateLimiterTest, TokenBucketLimitsBigRequests) {
  RateLimiter limiter(RateLimitConfig{0, 1000});
  EXPECT_TRUE(limiter.check("k", 600, 0).allowed);
  RateDecision refused = limiter.check("k", 600, 0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remainingTokens, 400);
  EXPECT_NEAR(refused.retryAfterSeconds, 200.0 / 1000 * 60, 1e-9);  // 200 tokens short at 1000/min
  EXPECT_TRUE(limiter.check("k", 600, 12 * kSecond).allowed);
  // A request bigger than a whole minute's tokens waits for a full bucket instead of never passing.
  EXPECT_TRUE(limiter.check("big", 5000, 0).allowed);
}

TEST(RateLimiterTest, OffWhenBothLimitsAreZero) {
  RateLimiter limiter(RateLimitConfig{});
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.check("k", 1'000'000, 0).allowed);
  }
}

}  // namespace
}  // namespace tokenstorm::sim
