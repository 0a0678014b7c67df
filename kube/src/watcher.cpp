#include "tokenstorm/kube/watcher.h"

#include <algorithm>
#include <memory>
#include <random>

namespace tokenstorm::kube {

Watcher::Watcher(WatcherOptions options, std::function<double()> random01)
    : options_(options), random01_(std::move(random01)) {
  if (!random01_) {
    auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
    random01_ = [rng] { return std::uniform_real_distribution<double>(0.0, 1.0)(*rng); };
  }
}

WatcherActions Watcher::start(core::MonoNanos /*now*/) {
  if (state_ != State::kIdle) {
    return {};
  }
  return list();
}

WatcherActions Watcher::list() {
  state_ = State::kListing;
  pages_.clear();
  continuing_ = false;
  return {StartList{options_.page_limit, ""}};
}

WatcherActions Watcher::watch(core::MonoNanos now) {
  state_ = State::kWatching;
  watch_started_at_ = now;
  watch_saw_event_ = false;
  return {StartWatch{resource_version_, true}};
}

void Watcher::healthy(core::MonoNanos since) {
  if (!healthy_since_) {
    healthy_since_ = since;
  }
}

WatcherActions Watcher::backoff(bool relist, RequestFailure failure, core::MonoNanos now) {
  if (healthy_since_ && now - *healthy_since_ >= options_.healthy_reset_ns) {
    failures_ = 0;
  }
  healthy_since_.reset();
  // base * 2^failures, capped; the exponent is bounded first so the shift cannot overflow.
  core::MonoNanos base = options_.backoff_max_ns;
  if (failures_ < 62) {
    core::MonoNanos factor = core::MonoNanos{1} << failures_;
    if (options_.backoff_base_ns <= options_.backoff_max_ns / factor) {
      base = options_.backoff_base_ns * factor;
    }
  }
  if (failures_ < UINT32_MAX) {
    ++failures_;
  }
  double r = std::clamp(random01_(), 0.0, 1.0);
  core::MonoNanos wait = base - static_cast<core::MonoNanos>(r * static_cast<double>(base) / 4.0);
  wait = std::max(wait, failure.retry_after_ns);
  state_ = State::kBackoff;
  retry_is_list_ = relist;
  pages_.clear();
  wake_at_ = now + wait;
  return {WaitUntil{wake_at_}};
}

WatcherActions Watcher::onListPage(std::vector<nlohmann::json> items, const std::string& resource_version,
                                   const std::string& continue_token, core::MonoNanos now) {
  if (state_ != State::kListing) {
    return {};
  }
  for (auto& item : items) {
    pages_.push_back(std::move(item));
  }
  if (!continue_token.empty()) {
    continuing_ = true;
    return {StartList{options_.page_limit, continue_token}};
  }
  if (resource_version.empty()) {
    return backoff(true, {}, now);
  }
  resource_version_ = resource_version;
  healthy(now);
  WatcherActions actions{ReplaceAll{std::move(pages_)}};
  pages_.clear();
  actions.push_back(watch(now).front());
  return actions;
}

WatcherActions Watcher::onListFailed(RequestFailure failure, core::MonoNanos now) {
  if (state_ != State::kListing) {
    return {};
  }
  if (failure.code == 410 && continuing_) {
    return list();  // the continue token expired: start the list again, no server trouble to back off from
  }
  return backoff(true, failure, now);
}

WatcherActions Watcher::onWatchEvent(const WatchEvent& event, core::MonoNanos now) {
  if (state_ != State::kWatching) {
    return {};
  }
  watch_saw_event_ = true;
  healthy(now);
  if (event.type != WatchEventType::kError && !event.resourceVersion.empty()) {
    resource_version_ = event.resourceVersion;
  }
  switch (event.type) {
    case WatchEventType::kAdded:
    case WatchEventType::kModified:
      return {Upsert{event.object}};
    case WatchEventType::kDeleted:
      return {Delete{event.object}};
    case WatchEventType::kBookmark:
      return {};
    case WatchEventType::kError:
      if (event.status.gone()) {
        return list();
      }
      return backoff(false, {event.status.code, 0}, now);
  }
  return {};
}

WatcherActions Watcher::onWatchClosed(core::MonoNanos now) {
  if (state_ != State::kWatching) {
    return {};
  }
  if (!watch_saw_event_ && now - watch_started_at_ < options_.min_watch_ns) {
    return backoff(false, {}, now);
  }
  healthy(watch_started_at_);
  return watch(now);
}

WatcherActions Watcher::onWatchFailed(RequestFailure failure, core::MonoNanos now) {
  if (state_ != State::kWatching) {
    return {};
  }
  if (failure.code == 410) {
    return list();
  }
  return backoff(false, failure, now);
}

WatcherActions Watcher::onTimer(core::MonoNanos now) {
  if (state_ != State::kBackoff || now < wake_at_) {
    return {};
  }
  return retry_is_list_ ? list() : watch(now);
}

}  // namespace tokenstorm::kube
