// Lists (selectors, pagination with continue tokens taken at a resourceVersion) and watches (history,
// 410 Expired, selector transitions, bookmarks).
#include <algorithm>
#include <charconv>

#include "api/registry.h"
#include "api/store_impl.h"
#include "tokenstorm/core/base64.h"

namespace tokenstorm::kts {

using nlohmann::json;

namespace {

std::optional<uint64_t> parseRv(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

ApiError expired(const std::string& message) {
  return ApiError{410, "Expired", message, nullptr};
}

// What a watcher with filter `matches` sees of one change (the watch cache's rules): nullopt when nothing.
std::optional<json> translate(const HistoryEvent& e, const std::function<bool(const json&)>& matches,
                              const ResourceType& as) {
  bool now_matches = e.type != "DELETED" && matches(e.object);
  bool was = !e.previous.is_null() && matches(e.previous);
  std::string type;
  json object;
  if (e.type == "ADDED") {
    if (!now_matches) {
      return std::nullopt;
    }
    type = "ADDED", object = e.object;
  } else if (e.type == "DELETED") {
    if (!was) {
      return std::nullopt;
    }
    type = "DELETED", object = e.object;
  } else if (was && now_matches) {
    type = "MODIFIED", object = e.object;
  } else if (was) {
    // Stopped matching: DELETED with the last state that matched, at this change's resourceVersion.
    type = "DELETED", object = e.previous;
    object["metadata"]["resourceVersion"] = e.object["metadata"]["resourceVersion"];
  } else if (now_matches) {
    type = "ADDED", object = e.object;
  } else {
    return std::nullopt;
  }
  return json{{"type", type}, {"object", present(as, std::move(object))}};
}

}  // namespace

// ---- WatchSubscription ----

std::optional<json> WatchSubscription::next(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  ready_.wait_until(lock, deadline, [&] { return closed_ || !events_.empty(); });
  if (closed_ || events_.empty()) {
    return std::nullopt;
  }
  json e = std::move(events_.front());
  events_.pop_front();
  return e;
}

void WatchSubscription::close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  ready_.notify_all();
}

bool WatchSubscription::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

json WatchSubscription::bookmark() const {
  std::lock_guard lock(mutex_);
  std::string rv;
  if (events_.empty()) {
    rv = currentResourceVersion_ ? currentResourceVersion_() : "0";
  } else {
    // Events are still queued: the bookmark must not claim more than what precedes them.
    const json& front = events_.front()["object"]["metadata"]["resourceVersion"];
    auto value = front.is_string() ? parseRv(front.get<std::string>()) : std::nullopt;
    rv = rvString(value && *value > 0 ? *value - 1 : 0);
  }
  return json{{"type", "BOOKMARK"},
              {"object",
               {{"apiVersion", bookmarkApiVersion_},
                {"kind", bookmarkKind_},
                {"metadata", {{"resourceVersion", rv}}}}}};
}

void WatchSubscription::push(json event) {
  std::lock_guard lock(mutex_);
  if (closed_) {
    return;
  }
  if (events_.size() >= kMaxQueuedEvents) {
    closed_ = true;
  } else {
    events_.push_back(std::move(event));
  }
  ready_.notify_all();
}

// ---- Impl ----

void ApiStore::Impl::dispatch(const HistoryEvent& e) {
  for (auto it = watches.begin(); it != watches.end();) {
    auto sub = it->lock();
    if (!sub || sub->closed()) {
      it = watches.erase(it);
      continue;
    }
    ++it;
    if (sub->storageKey_ != e.key) {
      continue;
    }
    if (auto event = translate(e, sub->matches_, sub->typeCopy_)) {
      sub->push(std::move(*event));
    }
  }
}

Bucket ApiStore::Impl::snapshotAt(const std::string& key, uint64_t at) const {
  auto b = objects.find(key);
  Bucket snapshot = b == objects.end() ? Bucket{} : b->second;
  for (auto it = history.rbegin(); it != history.rend() && it->rv > at; ++it) {
    if (it->key != key) {
      continue;
    }
    ObjectName id{stringAt(it->object, "metadata", "namespace"), stringAt(it->object, "metadata", "name")};
    if (it->previous.is_null()) {
      snapshot.erase(id);
    } else {
      snapshot[id] = it->previous;
    }
  }
  return snapshot;
}

// ---- ApiStore ----

Result ApiStore::list(const ResourceType& type, const std::string& ns, const ListOptions& options) const {
  std::lock_guard lock(impl_->mutex);
  const Impl& s = *impl_;
  Result r;
  const ResourceType* t = s.served(type);
  if (t == nullptr) {
    r.error = notFound(type, "");
    return r;
  }
  ApiError error;
  auto filter = makeFilter(*t, ns, options.labelSelector, options.fieldSelector, &error);
  if (!filter) {
    r.error = error;
    return r;
  }
  if (options.limit < 0) {
    r.error = badRequest("limit must be a non-negative integer");
    return r;
  }
  const std::string key = storageKey(*t);
  uint64_t at = s.revision;
  ObjectName start;
  if (!options.continueToken.empty()) {
    auto decoded = core::decodeBase64(options.continueToken);
    json token = decoded ? json::parse(*decoded, nullptr, false) : json();
    if (!token.is_object() || !token.contains("rv") || !token["rv"].is_number_unsigned() ||
        !token.contains("ns") || !token["ns"].is_string() || !token.contains("name") ||
        !token["name"].is_string()) {
      r.error = badRequest(
          "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
      return r;
    }
    at = token["rv"].get<uint64_t>();
    if (at < s.compactedRv || at > s.revision) {
      r.error = expired(
          "The provided continue parameter is too old to display a consistent list result. You can start a "
          "new list "
          "without the continue parameter, or use the continue value from the 410 response.");
      return r;
    }
    start = {token["ns"].get<std::string>(), token["name"].get<std::string>()};
  }
  Bucket snapshot;
  const Bucket* source = &snapshot;
  if (at == s.revision) {
    auto b = s.objects.find(key);
    if (b != s.objects.end()) {
      source = &b->second;
    }
  } else {
    snapshot = s.snapshotAt(key, at);
  }
  json items = json::array();
  std::optional<ObjectName> next;
  int64_t remaining = 0;
  for (auto it = source->lower_bound(start); it != source->end(); ++it) {
    if (!filter->matches(it->second)) {
      continue;
    }
    if (options.limit > 0 && static_cast<int64_t>(items.size()) >= options.limit) {
      if (!next) {
        next = it->first;
      }
      ++remaining;
      continue;
    }
    items.push_back(present(*t, it->second));
  }
  json meta = {{"resourceVersion", rvString(at)}};
  if (next) {
    json token = {{"rv", at}, {"ns", next->first}, {"name", next->second}};
    meta["continue"] = core::encodeBase64(token.dump());
    if (options.labelSelector.empty() && options.fieldSelector.empty()) {
      meta["remainingItemCount"] = remaining;
    }
  }
  r.object =
      json{{"apiVersion", t->apiVersion()}, {"kind", t->listKind}, {"metadata", meta}, {"items", items}};
  return r;
}

std::shared_ptr<WatchSubscription> ApiStore::watch(const ResourceType& type, const std::string& ns,
                                                   const WatchOptions& options, ApiError* error) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  auto fail = [&](ApiError e) -> std::shared_ptr<WatchSubscription> {
    if (error != nullptr) {
      *error = std::move(e);
    }
    return nullptr;
  };
  const ResourceType* t = s.served(type);
  if (t == nullptr) {
    return fail(notFound(type, ""));
  }
  ApiError filter_error;
  auto filter = makeFilter(*t, ns, options.labelSelector, options.fieldSelector, &filter_error);
  if (!filter) {
    return fail(filter_error);
  }
  auto sub = std::make_shared<WatchSubscription>();
  sub->typeCopy_ = *t;
  sub->type_ = &sub->typeCopy_;
  sub->storageKey_ = storageKey(*t);
  sub->namespace_ = t->namespaced ? ns : "";
  sub->bookmarkApiVersion_ = t->apiVersion();
  sub->bookmarkKind_ = t->kind;
  auto dispatched = s.dispatched;
  sub->currentResourceVersion_ = [dispatched] { return rvString(dispatched->load()); };
  sub->matches_ = [f = *filter](const json& object) { return f.matches(object); };
  const std::string& from = options.resourceVersion;
  if (from.empty() || from == "0") {
    auto b = s.objects.find(sub->storageKey_);
    if (b != s.objects.end()) {
      for (const auto& [id, object] : b->second) {
        if (sub->matches_(object)) {
          sub->push(json{{"type", "ADDED"}, {"object", present(*t, object)}});
        }
      }
    }
  } else {
    auto rv = parseRv(from);
    if (!rv) {
      return fail(badRequest("invalid resource version \"" + from + "\""));
    }
    if (*rv < s.compactedRv) {
      return fail(expired("too old resource version: " + from + " (" + rvString(s.compactedRv) + ")"));
    }
    for (const auto& e : s.history) {
      if (e.rv > *rv && e.key == sub->storageKey_) {
        if (auto event = translate(e, sub->matches_, sub->typeCopy_)) {
          sub->push(std::move(*event));
        }
      }
    }
  }
  s.watches.push_back(sub);
  return sub;
}

void ApiStore::expireHistory() {
  std::lock_guard lock(impl_->mutex);
  impl_->history.clear();
  impl_->compactedRv = impl_->revision;
}

void ApiStore::closeAllWatches() {
  std::lock_guard lock(impl_->mutex);
  for (auto& w : impl_->watches) {
    if (auto sub = w.lock()) {
      sub->close();
    }
  }
  impl_->watches.clear();
}

}  // namespace tokenstorm::kts
