#include "tokenstorm/kube/work_queue.h"

#include <algorithm>

namespace tokenstorm::kube {

void WorkQueue::add(const std::string& key) {
  if (shutting_down_ || dirty_.count(key) != 0) {
    return;
  }
  dirty_.insert(key);
  if (processing_.count(key) == 0) {
    queue_.push_back(key);
  }
}

void WorkQueue::addAfter(const std::string& key, core::MonoNanos delay_ns, core::MonoNanos now) {
  if (shutting_down_) {
    return;
  }
  if (delay_ns <= 0) {
    add(key);
    return;
  }
  core::MonoNanos at = now + delay_ns;
  auto existing = waiting_at_.find(key);
  if (existing != waiting_at_.end()) {
    if (existing->second.first <= at) {
      return;  // already due earlier
    }
    waiting_.erase(existing->second);
    waiting_at_.erase(existing);
  }
  std::pair<core::MonoNanos, uint64_t> slot{at, sequence_++};
  waiting_.emplace(slot, key);
  waiting_at_.emplace(key, slot);
}

core::MonoNanos WorkQueue::addRateLimited(const std::string& key, core::MonoNanos now) {
  uint32_t& failures = failures_[key];
  // base * 2^failures, capped; the exponent is bounded first so the shift cannot overflow.
  core::MonoNanos delay = limit_.max_ns;
  if (failures < 62) {
    core::MonoNanos factor = core::MonoNanos{1} << failures;
    if (limit_.base_ns <= limit_.max_ns / factor) {
      delay = limit_.base_ns * factor;
    }
  }
  if (failures < std::numeric_limits<uint32_t>::max()) {
    ++failures;
  }
  addAfter(key, delay, now);
  return delay;
}

void WorkQueue::forget(const std::string& key) {
  failures_.erase(key);
}

uint32_t WorkQueue::requeues(const std::string& key) const {
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

void WorkQueue::promote(core::MonoNanos now) {
  while (!waiting_.empty() && waiting_.begin()->first.first <= now) {
    std::string key = std::move(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
    waiting_at_.erase(key);
    add(key);
  }
}

std::optional<std::string> WorkQueue::get(core::MonoNanos now) {
  promote(now);
  if (queue_.empty()) {
    return std::nullopt;
  }
  std::string key = std::move(queue_.front());
  queue_.pop_front();
  dirty_.erase(key);
  processing_.insert(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  if (processing_.erase(key) == 0) {
    return;
  }
  // Re-added while processing: queue it now. During shutdown too, so a change seen before shutdown is
  // still reconciled by the draining workers.
  if (dirty_.count(key) != 0) {
    queue_.push_back(key);
  }
}

std::optional<core::MonoNanos> WorkQueue::nextDue() const {
  if (!queue_.empty()) {
    return kDueNow;
  }
  if (!waiting_.empty()) {
    return waiting_.begin()->first.first;
  }
  return std::nullopt;
}

void WorkQueue::shutdown() {
  shutting_down_ = true;
  waiting_.clear();
  waiting_at_.clear();
}

}  // namespace tokenstorm::kube
