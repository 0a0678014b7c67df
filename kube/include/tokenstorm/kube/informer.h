// An informer: one thread that drives a Watcher (watcher.h) for one resource over the Client, keeps a
// Store (store.h) current and tells handlers what changed. The Watcher decides (list, watch, relist on
// 410, back off); this file only performs its requests:
//   StartList  -> Client::list (the informer's selectors, the watcher's limit/continue) -> onListPage /
//                 onListFailed
//   StartWatch -> Client::watch (streamed; each event -> onWatchEvent, whose cache actions are applied
//                 at once) -> onWatchClosed / onWatchFailed; a StartList or WaitUntil the watcher asks for
//                 mid-stream ends the stream first
//   WaitUntil  -> a timed wait (woken early by stop()) -> onTimer
//   ReplaceAll / Upsert / Delete -> applyToStore(): the Store, then the handlers
// hasSynced() turns true after the first complete list is in the Store (wait for it before reconciling,
// as client-go's WaitForCacheSync).
//
// Handlers run on the informer's thread, after the Store holds the change; they should only enqueue keys
// (a ControllerQueue) and return. A relist reports adds, updates (resourceVersion changed) and deletes
// (gone from the list) by comparing with the Store's previous contents.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/client.h"
#include "tokenstorm/kube/store.h"
#include "tokenstorm/kube/watcher.h"

namespace tokenstorm::kube {

struct InformerHandlers {
  std::function<void(const nlohmann::json& object)> onAdd;
  std::function<void(const nlohmann::json& old_object, const nlohmann::json& object)> onUpdate;
  std::function<void(const nlohmann::json& object)> onDelete;
};

struct InformerOptions {
  ResourceRef resource;
  std::string ns;  // "" : all namespaces
  std::string labelSelector;
  std::string fieldSelector;
  WatcherOptions watcher;
  int64_t watchTimeoutSeconds = 300;  // asked of the server; the watch then restarts from its resourceVersion
  const core::Clock* clock = &core::RealClock::instance();
};

// Applies one cache action to the store and calls the handlers for what changed; returns whether the
// store changed. Requests (StartList, StartWatch, WaitUntil) are ignored. Pure (no threads).
bool applyToStore(Store& store, const WatcherAction& action, const InformerHandlers& handlers);

class Informer {
 public:
  Informer(Client& client, InformerOptions options, InformerHandlers handlers = {});
  ~Informer();  // stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void start();  // starts the thread (once)
  void stop();   // cancels the watch or wait in progress and joins the thread
  bool hasSynced() const { return synced_.load(); }
  // Waits (real time) for hasSynced(); false on timeout or stop.
  bool waitForSync(std::chrono::milliseconds timeout);
  const Store& store() const { return store_; }
  // Test seam for what reads the cache (a controller's reconcile): applies a cache action (ReplaceAll,
  // Upsert, Delete) as the watch would, handlers included, on the caller's thread. Only on an informer
  // that was never started (the store has one writer).
  bool injectForTesting(const WatcherAction& action) { return applyToStore(store_, action, handlers_); }

 private:
  void run();
  WatcherActions list(Watcher& watcher, const StartList& request);
  WatcherActions watch(Watcher& watcher, const StartWatch& request);
  bool waitUntil(core::MonoNanos at);  // false when stopped
  core::MonoNanos now() const { return options_.clock->monotonicNanos(); }

  Client& client_;
  InformerOptions options_;
  InformerHandlers handlers_;
  Store store_;
  std::atomic<bool> synced_{false};
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  Cancellation cancellation_;
  std::thread thread_;
};

}  // namespace tokenstorm::kube
