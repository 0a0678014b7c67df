// The work queue on explicit times: dedupe, delay, rate-limited requeue, one reconcile per key at a time.
#include "tokenstorm/kube/work_queue.h"

#include <gtest/gtest.h>

namespace tokenstorm::kube {
namespace {

constexpr core::MonoNanos kMs = 1'000'000;
constexpr core::MonoNanos kSec = 1'000 * kMs;
constexpr core::MonoNanos kT0 = 100 * kSec;  // an arbitrary start instant

TEST(WorkQueueTest, AddDeduplicatesAndKeepsFifoOrder) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.add("a");
  EXPECT_EQ(q.ready(), 2u);
  EXPECT_EQ(q.get(kT0), "a");
  EXPECT_EQ(q.get(kT0), "b");
  EXPECT_EQ(q.get(kT0), std::nullopt);
}

TEST(WorkQueueTest, KeyReAddedWhileProcessingIsQueuedOnlyAfterDone) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(kT0), "a");
  q.add("a");
  q.add("a");
  EXPECT_EQ(q.get(kT0), std::nullopt) << "one reconcile per key at a time";
  EXPECT_EQ(q.nextDue(), std::nullopt);
  q.done("a");
  EXPECT_EQ(q.nextDue(), WorkQueue::kDueNow);
  EXPECT_EQ(q.get(kT0), "a");
  q.done("a");
  EXPECT_EQ(q.get(kT0), std::nullopt) << "re-added twice while processing gives one more reconcile";
  EXPECT_TRUE(q.drained());
}

TEST(WorkQueueTest, DoneWithoutReAddDoesNotRequeue) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(kT0), "a");
  q.done("a");
  q.done("a");  // a second done is harmless
  EXPECT_EQ(q.get(kT0), std::nullopt);
}

TEST(WorkQueueTest, AddAfterWaitsUntilItsInstantAndKeepsTheEarliest) {
  WorkQueue q;
  q.addAfter("a", 50 * kMs, kT0);
  q.addAfter("b", 20 * kMs, kT0);
  q.addAfter("a", 80 * kMs, kT0);  // later than the pending 50 ms: ignored
  q.addAfter("b", 10 * kMs, kT0);  // earlier: wins
  EXPECT_EQ(q.waiting(), 2u);
  EXPECT_EQ(q.nextDue(), kT0 + 10 * kMs);
  EXPECT_EQ(q.get(kT0 + 10 * kMs - 1), std::nullopt);
  EXPECT_EQ(q.get(kT0 + 10 * kMs), "b");
  EXPECT_EQ(q.nextDue(), kT0 + 50 * kMs);
  EXPECT_EQ(q.get(kT0 + 49 * kMs), std::nullopt);
  EXPECT_EQ(q.get(kT0 + 50 * kMs), "a");
  EXPECT_EQ(q.nextDue(), std::nullopt);
}

TEST(WorkQueueTest, DelayedKeysBecomeReadyInOrderOfTheirInstants) {
  WorkQueue q;
  q.addAfter("late", 30 * kMs, kT0);
  q.addAfter("early", 10 * kMs, kT0);
  q.addAfter("tie1", 20 * kMs, kT0);
  q.addAfter("tie2", 20 * kMs, kT0);
  EXPECT_EQ(q.get(kT0 + kSec), "early");
  EXPECT_EQ(q.get(kT0 + kSec), "tie1");
  EXPECT_EQ(q.get(kT0 + kSec), "tie2");
  EXPECT_EQ(q.get(kT0 + kSec), "late");
}

TEST(WorkQueueTest, DelayedKeyAlreadyQueuedIsNotDuplicated) {
  WorkQueue q;
  q.add("a");
  q.addAfter("a", 5 * kMs, kT0);
  EXPECT_EQ(q.get(kT0 + 10 * kMs), "a");
  EXPECT_EQ(q.get(kT0 + 10 * kMs), std::nullopt);
  q.done("a");
  EXPECT_EQ(q.get(kT0 + 10 * kMs), std::nullopt);
}

TEST(WorkQueueTest, DelayedKeyDueWhileProcessingWaitsForDone) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(kT0), "a");
  q.addAfter("a", 5 * kMs, kT0);
  EXPECT_EQ(q.get(kT0 + 10 * kMs), std::nullopt);
  q.done("a");
  EXPECT_EQ(q.get(kT0 + 10 * kMs), "a");
}

TEST(WorkQueueTest, NonPositiveDelayIsAnAdd) {
  WorkQueue q;
  q.addAfter("a", 0, kT0);
  q.addAfter("b", -5, kT0);
  EXPECT_EQ(q.ready(), 2u);
  EXPECT_EQ(q.waiting(), 0u);
}

TEST(WorkQueueTest, RateLimitedBackoffDoublesPerKeyUpToTheCapAndForgetResets) {
  WorkQueue q;
  EXPECT_EQ(q.addRateLimited("a", kT0), 5 * kMs);
  EXPECT_EQ(q.addRateLimited("a", kT0), 10 * kMs);
  EXPECT_EQ(q.addRateLimited("a", kT0), 20 * kMs);
  EXPECT_EQ(q.addRateLimited("b", kT0), 5 * kMs) << "backoff is per key";
  EXPECT_EQ(q.requeues("a"), 3u);
  for (int i = 0; i < 100; ++i) {
    q.addRateLimited("a", kT0);
  }
  EXPECT_EQ(q.addRateLimited("a", kT0), 1000 * kSec);
  q.forget("a");
  EXPECT_EQ(q.requeues("a"), 0u);
  EXPECT_EQ(q.addRateLimited("a", kT0), 5 * kMs);
}

TEST(WorkQueueTest, RateLimitedKeyComesBackAtItsBackoff) {
  WorkQueue q;
  q.add("a");
  ASSERT_EQ(q.get(kT0), "a");
  // The reconcile failed: requeue with backoff, then done.
  q.addRateLimited("a", kT0);
  q.done("a");
  EXPECT_EQ(q.nextDue(), kT0 + 5 * kMs);
  EXPECT_EQ(q.get(kT0 + 4 * kMs), std::nullopt);
  ASSERT_EQ(q.get(kT0 + 5 * kMs), "a");
  q.addRateLimited("a", kT0 + 5 * kMs);
  q.done("a");
  EXPECT_EQ(q.nextDue(), kT0 + 15 * kMs);
}

TEST(WorkQueueTest, CustomRateLimitCapIsExact) {
  WorkQueue q(RateLimit{3 * kMs, 10 * kMs});
  EXPECT_EQ(q.addRateLimited("a", kT0), 3 * kMs);
  EXPECT_EQ(q.addRateLimited("a", kT0), 6 * kMs);
  EXPECT_EQ(q.addRateLimited("a", kT0), 10 * kMs);
  EXPECT_EQ(q.addRateLimited("a", kT0), 10 * kMs);
}

TEST(WorkQueueTest, ShutdownDrainsReadyKeysAndDropsDelayedOnes) {
  WorkQueue q;
  q.add("a");
  q.add("b");
  q.addAfter("c", kMs, kT0);
  ASSERT_EQ(q.get(kT0), "a");
  q.add("a");  // changed while processing, before shutdown
  q.shutdown();
  EXPECT_TRUE(q.shuttingDown());
  q.add("d");
  q.addAfter("e", kMs, kT0);
  EXPECT_EQ(q.nextDue(), WorkQueue::kDueNow);
  EXPECT_EQ(q.get(kT0 + kSec), "b");
  q.done("b");
  EXPECT_FALSE(q.drained());
  q.done("a");
  EXPECT_EQ(q.get(kT0 + kSec), "a") << "a change seen before shutdown is still reconciled";
  q.done("a");
  EXPECT_EQ(q.get(kT0 + kSec), std::nullopt);
  EXPECT_TRUE(q.drained());
  EXPECT_EQ(q.nextDue(), std::nullopt);
}

}  // namespace
}  // namespace tokenstorm::kube
