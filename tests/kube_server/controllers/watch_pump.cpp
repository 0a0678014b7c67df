#include "watch_pump.h"

namespace tokenstorm::kts {

namespace {
// How long a pump blocks in next() before looking at its stop flag again.
constexpr std::chrono::milliseconds kPollInterval_ms{200};
// Pause before re-watching after the store refused a watch, so a broken store does not spin a core.
constexpr std::chrono::milliseconds kRewatchDelay_ms{100};
}  // namespace

WatchPump::WatchPump(ApiStore& store, ResourceType type, Callback on_event)
    : store_(store), type_(std::move(type)), onEvent_(std::move(on_event)) {}

WatchPump::~WatchPump() {
  stop();
}

void WatchPump::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void WatchPump::stop() {
  stopping_ = true;
  {
    std::lock_guard lock(mutex_);
    if (subscription_) {
      subscription_->close();
    }
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void WatchPump::run() {
  while (!stopping_) {
    std::shared_ptr<WatchSubscription> subscription;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        return;
      }
      ApiError error;
      subscription_ = store_.watch(type_, "", WatchOptions{}, &error);
      subscription = subscription_;
    }
    if (!subscription) {
      std::this_thread::sleep_for(kRewatchDelay_ms);
      continue;
    }
    while (!stopping_) {
      auto event = subscription->next(std::chrono::steady_clock::now() + kPollInterval_ms);
      if (event) {
        onEvent_(*event);
        continue;
      }
      if (subscription->closed()) {
        break;  // the store ended it: watch again from "" (synthetic ADDED for everything)
      }
    }
    subscription->close();
  }
}

void KeyQueue::add(const std::string& key) {
  {
    std::lock_guard lock(mutex_);
    keys_.insert(key);
  }
  ready_.notify_one();
}

void KeyQueue::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  ready_.notify_one();
}

std::vector<std::string> KeyQueue::take(std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mutex_);
  ready_.wait_until(lock, until, [this] { return !keys_.empty() || woken_; });
  woken_ = false;
  std::vector<std::string> keys(keys_.begin(), keys_.end());
  keys_.clear();
  return keys;
}

std::string objectKey(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

std::pair<std::string, std::string> splitKey(const std::string& key) {
  const size_t slash = key.find('/');
  if (slash == std::string::npos) {
    return {"", key};
  }
  return {key.substr(0, slash), key.substr(slash + 1)};
}

}  // namespace tokenstorm::kts
