// Rate limit and retry pacing on explicit times (no clock, no sleeping).
#include "tokenstorm/kube/retry.h"

#include <gtest/gtest.h>

namespace tokenstorm::kube {
namespace {

constexpr core::MonoNanos kMs = 1'000'000;
constexpr core::MonoNanos kSecond = 1'000 * kMs;

TEST(TokenBucketTest, BurstThenQps) {
  TokenBucket bucket(5, 2, 0);
  EXPECT_EQ(bucket.reserve(0), 0);
  EXPECT_EQ(bucket.reserve(0), 0);
  EXPECT_EQ(bucket.reserve(0), 200 * kMs) << "third request waits one token at 5 QPS";
  EXPECT_EQ(bucket.reserve(0), 400 * kMs) << "waiting callers queue up in order";
  EXPECT_DOUBLE_EQ(bucket.tokens(0), -2.0);
  EXPECT_EQ(bucket.reserve(400 * kMs), 200 * kMs);
  // Long idle refills to the burst, not beyond.
  EXPECT_DOUBLE_EQ(bucket.tokens(100 * kSecond), 2.0);
  EXPECT_EQ(bucket.reserve(100 * kSecond), 0);
}

TEST(TokenBucketTest, ZeroQpsIsUnlimited) {
  TokenBucket bucket(0, 1, 0);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(bucket.reserve(0), 0);
  }
}

TEST(RetryPolicyTest, WhatIsRetried) {
  EXPECT_TRUE(RetryPolicy::retryable("POST", 429, false));
  EXPECT_TRUE(RetryPolicy::retryable("GET", 503, false));
  EXPECT_TRUE(RetryPolicy::retryable("PUT", 500, false));
  EXPECT_TRUE(RetryPolicy::retryable("DELETE", 504, false));
  EXPECT_FALSE(RetryPolicy::retryable("POST", 500, false)) << "a POST may have been applied";
  EXPECT_TRUE(RetryPolicy::retryable("PATCH", 503, true)) << "unless the server asks with Retry-After";
  EXPECT_TRUE(RetryPolicy::retryable("GET", 0, false));
  EXPECT_FALSE(RetryPolicy::retryable("POST", 0, false));
  EXPECT_FALSE(RetryPolicy::retryable("GET", 404, false));
  EXPECT_FALSE(RetryPolicy::retryable("GET", 409, false));
  EXPECT_FALSE(RetryPolicy::retryable("GET", 501, false));
}

TEST(RetryPolicyTest, WaitDoublesWithJitterAndHonoursRetryAfter) {
  RetryPolicy p;
  EXPECT_EQ(p.wait(1, 0, 0.0), 250 * kMs);
  EXPECT_EQ(p.wait(2, 0, 0.0), 500 * kMs);
  EXPECT_EQ(p.wait(3, 0, 0.0), 1000 * kMs);
  EXPECT_EQ(p.wait(2, 0, 0.5), 437'500'000) << "jitter takes off up to a quarter";
  EXPECT_GT(p.wait(2, 0, 0.999999), 375 * kMs);
  EXPECT_EQ(p.wait(10, 0, 0.0), 10 * kSecond) << "capped";
  EXPECT_EQ(p.wait(200, 0, 0.0), 10 * kSecond) << "no overflow";
  EXPECT_EQ(p.wait(1, 3 * kSecond, 0.0), 3 * kSecond);
}

TEST(RetryAfterTest, SecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parseRetryAfter("3", now), 3 * kSecond);
  EXPECT_EQ(parseRetryAfter(" 0 ", now), 0);
  EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:47 GMT", now), 10 * kSecond);
  EXPECT_EQ(parseRetryAfter("Sun, 06 Nov 1994 08:49:27 GMT", now), 0) << "a date in the past";
  EXPECT_FALSE(parseRetryAfter("", now));
  EXPECT_FALSE(parseRetryAfter("soon", now));
  EXPECT_FALSE(parseRetryAfter("-1", now));
  EXPECT_FALSE(parseRetryAfter("99999999999", now));
}

}  // namespace
}  // namespace tokenstorm::kube
