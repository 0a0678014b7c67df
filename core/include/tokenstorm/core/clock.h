// Time, injected. Only RealClock reads the system clocks; tests use a ManualClock (tests/support).
//
// Two readings: monotonic (intervals, deadlines, every latency measurement) and wall (display, and instants
// shared between pods). Monotonic time is CLOCK_MONOTONIC in nanoseconds, so two processes on one machine
// (a runner and the simulator) read the same timeline and their logs can be joined exactly.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>

namespace tokenstorm::core {

// Nanoseconds on the monotonic clock (CLOCK_MONOTONIC); only differences are meaningful across machines.
using MonoNanos = int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoNanos monotonicNanos() const = 0;
  virtual std::chrono::system_clock::time_point wallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  // Clock
  MonoNanos monotonicNanos() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::chrono::system_clock::time_point wallNow() const override { return std::chrono::system_clock::now(); }

  static const RealClock& instance() {
    static const RealClock clock;
    return clock;
  }
};

// CPU time used by the calling thread (CLOCK_THREAD_CPUTIME_ID), in nanoseconds: how busy an event loop
// was. Not a clock of the timeline, so it is not part of Clock.
inline int64_t threadCpuNanos() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace tokenstorm::core
