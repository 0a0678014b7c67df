// The informer's cache: the objects of one resource as the watcher last saw them, keyed by namespace and
// name. One writer (the goroutine-equivalent that drives the Watcher applies its cache actions) and many
// readers (reconcilers), guarded by a shared mutex; readers get copies, never references into the map.
//
// ReplaceAll swaps the whole content (after a relist, so objects deleted while nobody watched disappear);
// Upsert keeps an object only if it is not older than the one held (resourceVersions compared as
// numbers when both are, which is what kube-apiserver and etcd give, though the API calls them opaque);
// Delete removes it. The actions that are requests (StartList, StartWatch, WaitUntil) are not for the
// store and are ignored.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "tokenstorm/kube/selector.h"
#include "tokenstorm/kube/watcher.h"

namespace tokenstorm::kube {

// "namespace/name", or "name" for cluster-scoped objects; empty when the object has no metadata.name.
std::string objectKey(const nlohmann::json& object);

class Store {
 public:
  // Applies one watcher action; returns whether the cache changed.
  bool apply(const WatcherAction& action);

  std::optional<nlohmann::json> get(const std::string& key) const;
  // Objects in key order, optionally only one namespace ("" for all) and only those whose labels match.
  std::vector<nlohmann::json> list(const std::string& ns = "", const LabelSelector& selector = {}) const;
  std::vector<std::string> keys() const;
  size_t size() const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, nlohmann::json> objects_;
};

}  // namespace tokenstorm::kube
