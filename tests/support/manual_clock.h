// A clock that moves only when a test says so.
#pragma once

#include "tokenstorm/core/clock.h"

namespace tokenstorm::testing {

class ManualClock final : public core::Clock {
 public:
  explicit ManualClock(core::MonoNanos start = 1'000'000'000) : now_(start) {}

  // Clock
  core::MonoNanos monotonicNanos() const override { return now_; }
  std::chrono::system_clock::time_point wallNow() const override {
    return std::chrono::system_clock::time_point(std::chrono::nanoseconds(wall_epoch_ + now_));
  }

  void advance(core::MonoNanos by) { now_ += by; }
  void set(core::MonoNanos to) { now_ = to; }

 private:
  core::MonoNanos now_;
  int64_t wall_epoch_ = 1'795'000'000'000'000'000;  // a fixed day in 2026, so wall times are stable
};

}  // namespace tokenstorm::testing
