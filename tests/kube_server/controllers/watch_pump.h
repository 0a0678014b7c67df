// The two pieces of plumbing both controllers run on: a WatchPump (a thread that reads one ApiStore watch
// and hands each event to a callback, starting a new watch from "" whenever the store ends one, which is
// also the resync after a 410 or closeAllWatches) and a KeyQueue (deduplicated keys a worker thread waits
// on, with a deadline for its periodic tick).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"

namespace tokenstorm::kts {

class WatchPump {
 public:
  using Callback = std::function<void(const nlohmann::json& event)>;

  WatchPump(ApiStore& store, ResourceType type, Callback on_event);
  ~WatchPump();
  WatchPump(const WatchPump&) = delete;
  WatchPump& operator=(const WatchPump&) = delete;

  void start();
  void stop();

 private:
  void run();

  ApiStore& store_;
  ResourceType type_;
  Callback onEvent_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;  // guards subscription_
  std::shared_ptr<WatchSubscription> subscription_;
  std::thread thread_;
};

class KeyQueue {
 public:
  void add(const std::string& key);
  // Waits until a key is queued, wake() is called or `until` passes; returns (and clears) the queued keys.
  std::vector<std::string> take(std::chrono::steady_clock::time_point until);
  void wake();

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::set<std::string> keys_;
  bool woken_ = false;
};

// "ns/name" and back.
std::string objectKey(const std::string& ns, const std::string& name);
std::pair<std::string, std::string> splitKey(const std::string& key);

}  // namespace tokenstorm::kts
