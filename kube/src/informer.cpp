#include "tokenstorm/kube/informer.h"

#include <deque>
#include <map>

namespace tokenstorm::kube {

namespace {

std::string resourceVersionOf(const nlohmann::json& object) {
  auto md = object.find("metadata");
  if (md == object.end() || !md->is_object()) {
    return "";
  }
  return md->value("resourceVersion", "");
}

RequestFailure failureOf(const ApiError& e) {
  return RequestFailure{e.code, e.retry_after_ns};
}

}  // namespace

bool applyToStore(Store& store, const WatcherAction& action, const InformerHandlers& handlers) {
  if (const auto* replace = std::get_if<ReplaceAll>(&action)) {
    std::map<std::string, nlohmann::json> before;
    for (auto& object : store.list()) {
      before.emplace(objectKey(object), std::move(object));
    }
    bool changed = store.apply(action);
    for (const auto& object : replace->objects) {
      std::string key = objectKey(object);
      auto it = before.find(key);
      if (it == before.end()) {
        if (handlers.onAdd) {
          handlers.onAdd(object);
        }
      } else {
        if (resourceVersionOf(it->second) != resourceVersionOf(object) && handlers.onUpdate) {
          handlers.onUpdate(it->second, object);
        }
        before.erase(it);
      }
    }
    for (const auto& [key, object] : before) {
      if (handlers.onDelete) {
        handlers.onDelete(object);
      }
    }
    return changed;
  }
  if (const auto* upsert = std::get_if<Upsert>(&action)) {
    auto old = store.get(objectKey(upsert->object));
    if (!store.apply(action)) {
      return false;  // stale: the store holds something newer
    }
    if (!old) {
      if (handlers.onAdd) {
        handlers.onAdd(upsert->object);
      }
    } else if (handlers.onUpdate) {
      handlers.onUpdate(*old, upsert->object);
    }
    return true;
  }
  if (const auto* del = std::get_if<Delete>(&action)) {
    auto old = store.get(objectKey(del->object));
    if (!store.apply(action)) {
      return false;
    }
    if (handlers.onDelete) {
      handlers.onDelete(old ? *old : del->object);
    }
    return true;
  }
  return false;
}

Informer::Informer(Client& client, InformerOptions options, InformerHandlers handlers)
    : client_(client), options_(std::move(options)), handlers_(std::move(handlers)) {}

Informer::~Informer() {
  stop();
}

void Informer::start() {
  if (thread_.joinable() || stopping_) {
    return;
  }
  thread_ = std::thread([this] { run(); });
}

void Informer::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  cancellation_.cancel();
  if (thread_.joinable()) {
    thread_.join();
  }
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return wake_.wait_for(lock, timeout, [this] { return synced_.load() || stopping_.load(); }) && synced_;
}

bool Informer::waitUntil(core::MonoNanos at) {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    core::MonoNanos left = at - now();
    if (left <= 0) {
      return true;
    }
    wake_.wait_for(lock, std::chrono::nanoseconds(left));
  }
  return false;
}

WatcherActions Informer::list(Watcher& watcher, const StartList& request) {
  ListOptions o;
  o.labelSelector = options_.labelSelector;
  o.fieldSelector = options_.fieldSelector;
  o.limit = request.limit;
  o.continueToken = request.continueToken;
  auto page = client_.list(options_.resource, options_.ns, o);
  if (!page) {
    return watcher.onListFailed(failureOf(page.error()), now());
  }
  std::vector<nlohmann::json> items;
  if (auto it = page->find("items"); it != page->end() && it->is_array()) {
    items.reserve(it->size());
    for (auto& item : *it) {
      items.push_back(std::move(item));
    }
  }
  std::string rv;
  std::string next;
  if (auto md = page->find("metadata"); md != page->end() && md->is_object()) {
    rv = md->value("resourceVersion", "");
    next = md->value("continue", "");
  }
  return watcher.onListPage(std::move(items), rv, next, now());
}

WatcherActions Informer::watch(Watcher& watcher, const StartWatch& request) {
  WatchOptions o;
  o.labelSelector = options_.labelSelector;
  o.fieldSelector = options_.fieldSelector;
  o.resourceVersion = request.resourceVersion;
  o.allowWatchBookmarks = request.allowWatchBookmarks;
  o.timeoutSeconds = options_.watchTimeoutSeconds;
  WatcherActions next;  // a request the watcher made mid-stream: the stream ends, then it runs
  auto result = client_.watch(
      options_.resource, options_.ns, o,
      [&](const WatchEvent& event) {
        for (auto& action : watcher.onWatchEvent(event, now())) {
          if (std::holds_alternative<StartList>(action) || std::holds_alternative<StartWatch>(action) ||
              std::holds_alternative<WaitUntil>(action)) {
            next.push_back(std::move(action));
          } else {
            applyToStore(store_, action, handlers_);
          }
        }
        return next.empty() && !stopping_;
      },
      cancellation_);
  if (!next.empty() || stopping_) {
    return next;
  }
  if (!result) {
    return watcher.onWatchFailed(failureOf(result.error()), now());
  }
  return watcher.onWatchClosed(now());
}

void Informer::run() {
  Watcher watcher(options_.watcher);
  std::deque<WatcherAction> pending;
  auto enqueue = [&pending](WatcherActions actions) {
    for (auto& a : actions) {
      pending.push_back(std::move(a));
    }
  };
  enqueue(watcher.start(now()));
  while (!stopping_ && !pending.empty()) {
    WatcherAction action = std::move(pending.front());
    pending.pop_front();
    if (const auto* l = std::get_if<StartList>(&action)) {
      enqueue(list(watcher, *l));
    } else if (const auto* w = std::get_if<StartWatch>(&action)) {
      enqueue(watch(watcher, *w));
    } else if (const auto* u = std::get_if<WaitUntil>(&action)) {
      if (waitUntil(u->at)) {
        enqueue(watcher.onTimer(now()));
      }
    } else {
      applyToStore(store_, action, handlers_);
      if (std::holds_alternative<ReplaceAll>(action) && !synced_) {
        {
          std::lock_guard<std::mutex> lock(mutex_);
          synced_ = true;
        }
        wake_.notify_all();
      }
    }
  }
}

}  // namespace tokenstorm::kube
