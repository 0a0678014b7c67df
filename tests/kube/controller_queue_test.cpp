// The threaded controller queue: real threads, real (short) delays, assertions on counts and order, not
// on timings beyond "at least the delay".
#include "tokenstorm/kube/controller_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>

namespace tokenstorm::kube {
namespace {

constexpr core::MonoNanos kMs = 1'000'000;

bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 500; ++i) {
    if (condition()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

TEST(ControllerQueueTest, OneReconcilePerKeyAtATimeAcrossWorkers) {
  ControllerQueue queue;
  std::mutex mutex;
  std::map<std::string, int> running;
  std::map<std::string, int> runs;
  std::atomic<int> overlaps{0};
  std::atomic<int> total{0};
  queue.start(4, [&](const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (++running[key] > 1) {
        ++overlaps;
      }
      ++runs[key];
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    {
      std::lock_guard<std::mutex> lock(mutex);
      --running[key];
    }
    ++total;
    return ReconcileOutcome::done();
  });
  for (int round = 0; round < 50; ++round) {
    for (const char* key : {"a/x", "a/y", "b/z"}) {
      queue.add(key);
    }
  }
  ASSERT_TRUE(eventually([&] { return queue.ready() == 0 && queue.processing() == 0; }));
  queue.shutdown();
  EXPECT_EQ(overlaps.load(), 0);
  std::lock_guard<std::mutex> lock(mutex);
  for (const char* key : {"a/x", "a/y", "b/z"}) {
    EXPECT_GE(runs[key], 1) << key;
    EXPECT_LE(runs[key], 50) << key << ": adds while queued are deduplicated";
  }
}

TEST(ControllerQueueTest, RequeueAfterAndErrorBackoff) {
  ControllerQueue queue(core::RealClock::instance(), RateLimit{5 * kMs, 1000 * kMs});
  std::mutex mutex;
  std::vector<std::pair<std::string, core::MonoNanos>> calls;
  std::atomic<int> failing_calls{0};
  queue.start(2, [&](const std::string& key) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      calls.emplace_back(key, core::RealClock::instance().monotonicNanos());
    }
    if (key == "requeue") {
      std::lock_guard<std::mutex> lock(mutex);
      return calls.size() < 10 && std::count_if(calls.begin(), calls.end(),
                                                [](auto& c) { return c.first == "requeue"; }) < 2
                 ? ReconcileOutcome::requeueAfter(50 * kMs)
                 : ReconcileOutcome::done();
    }
    return ++failing_calls < 3 ? ReconcileOutcome::error() : ReconcileOutcome::done();
  });
  queue.add("requeue");
  queue.add("flaky");
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> lock(mutex);
    return calls.size() >= 5;
  }));
  queue.shutdown();
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<core::MonoNanos> requeue;
  std::vector<core::MonoNanos> flaky;
  for (const auto& [key, at] : calls) {
    (key == "requeue" ? requeue : flaky).push_back(at);
  }
  ASSERT_EQ(requeue.size(), 2u);
  EXPECT_GE(requeue[1] - requeue[0], 50 * kMs);
  ASSERT_EQ(flaky.size(), 3u) << "two errors, then success";
  EXPECT_GE(flaky[1] - flaky[0], 5 * kMs);
  EXPECT_GE(flaky[2] - flaky[1], 10 * kMs) << "the backoff doubles";
}

TEST(ControllerQueueTest, ShutdownDrainsReadyKeysAndUnblocksGet) {
  ControllerQueue queue;
  queue.add("a");
  queue.add("b");
  queue.addAfter("later", 60'000 * kMs);
  std::thread getter([&] {
    auto first = queue.get();
    ASSERT_TRUE(first);
    EXPECT_EQ(*first, "a");
    queue.done(*first);
  });
  getter.join();
  queue.shutdown();
  auto second = queue.get();
  ASSERT_TRUE(second) << "ready keys are still handed out after shutdown";
  EXPECT_EQ(*second, "b");
  queue.done(*second);
  EXPECT_FALSE(queue.get()) << "the delayed key was dropped; get() returns at once";

  ControllerQueue idle;
  std::thread blocked([&] { EXPECT_FALSE(idle.get()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  idle.shutdown();
  blocked.join();
}

}  // namespace
}  // namespace tokenstorm::kube
