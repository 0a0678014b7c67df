#include "tokenstorm/kube/controller_queue.h"

#include <chrono>

namespace tokenstorm::kube {

ControllerQueue::ControllerQueue(const core::Clock& clock, RateLimit limit) : clock_(clock), queue_(limit) {}

ControllerQueue::~ControllerQueue() {
  shutdown();
}

void ControllerQueue::add(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.add(key);
  }
  changed_.notify_one();
}

void ControllerQueue::addAfter(const std::string& key, core::MonoNanos delay_ns) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.addAfter(key, delay_ns, clock_.monotonicNanos());
  }
  changed_.notify_all();  // a waiter may need an earlier deadline
}

core::MonoNanos ControllerQueue::addRateLimited(const std::string& key) {
  core::MonoNanos delay = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    delay = queue_.addRateLimited(key, clock_.monotonicNanos());
  }
  changed_.notify_all();
  return delay;
}

void ControllerQueue::forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.forget(key);
}

std::optional<std::string> ControllerQueue::get() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    core::MonoNanos now = clock_.monotonicNanos();
    if (auto key = queue_.get(now)) {
      return key;
    }
    if (queue_.shuttingDown()) {
      return std::nullopt;  // shutdown dropped the delayed keys and nothing is ready
    }
    auto due = queue_.nextDue();
    if (due && *due <= now) {
      continue;  // a delayed key fell due between get() and here
    }
    if (due) {
      changed_.wait_for(lock, std::chrono::nanoseconds(*due - now));
    } else {
      changed_.wait(lock);
    }
  }
}

void ControllerQueue::done(const std::string& key) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.done(key);
  }
  changed_.notify_one();  // the key may be ready again (it was added while processing)
}

void ControllerQueue::start(size_t workers, Reconcile reconcile) {
  reconcile_ = std::move(reconcile);
  for (size_t i = 0; i < workers; ++i) {
    workers_.emplace_back([this] { work(); });
  }
}

void ControllerQueue::work() {
  while (auto key = get()) {
    ReconcileOutcome outcome = reconcile_(*key);
    switch (outcome.kind) {
      case ReconcileOutcome::Kind::kDone:
        forget(*key);
        break;
      case ReconcileOutcome::Kind::kRequeueAfter:
        forget(*key);
        addAfter(*key, outcome.after_ns);
        break;
      case ReconcileOutcome::Kind::kError:
        addRateLimited(*key);
        break;
    }
    done(*key);
  }
}

void ControllerQueue::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.shutdown();
  }
  changed_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) {
      worker.join();
    }
  }
  workers_.clear();
}

size_t ControllerQueue::ready() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.ready();
}

size_t ControllerQueue::waiting() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.waiting();
}

size_t ControllerQueue::processing() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.processing();
}

}  // namespace tokenstorm::kube
