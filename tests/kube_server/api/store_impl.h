// ApiStore's state and the helpers its .cpp files share (private to the library). Every member function
// here is called with `mutex` held.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"
#include "api/conversion.h"
#include "api/selectors.h"

namespace tokenstorm::kts {

// One change, as etcd's watch would report it. `object` is the state after (for DELETED, the last state
// stamped with the deletion's resourceVersion); `previous` the state before (null for ADDED).
struct HistoryEvent {
  uint64_t rv = 0;
  std::string key;  // storage key
  std::string ns;
  std::string type;  // ADDED, MODIFIED, DELETED
  nlohmann::json object;
  nlohmann::json previous;
};

using ObjectName = std::pair<std::string, std::string>;  // namespace, name: the list order
using Bucket = std::map<ObjectName, nlohmann::json>;

struct ObjectRef {
  std::string key;
  std::string ns;
  std::string name;
};

struct ApiStore::Impl {
  Impl(const core::Clock& c, StoreOptions o);

  const core::Clock& clock;
  StoreOptions config;
  mutable std::mutex mutex;
  std::vector<ResourceType> types;
  std::map<std::string, Bucket> objects;  // by storage key
  std::map<std::string, ObjectRef> byUid;
  uint64_t revision = 0;
  // The last resourceVersion whose events every watch has been given (read by bookmarks, without the lock).
  std::shared_ptr<std::atomic<uint64_t>> dispatched = std::make_shared<std::atomic<uint64_t>>(0);
  std::deque<HistoryEvent> history;
  uint64_t compactedRv = 0;  // every event with rv > compactedRv is in `history`
  std::vector<std::weak_ptr<WatchSubscription>> watches;
  std::mt19937_64 random;

  // registry
  const ResourceType* served(const ResourceType& type) const;
  const ResourceType* typeForKey(const std::string& key) const;
  std::string newUid();
  std::string randomSuffix();
  std::string now(int64_t plus_seconds = 0) const;

  // writes: stamp a new resourceVersion, keep it, record and dispatch the event
  nlohmann::json* find(const std::string& key, const std::string& ns, const std::string& name);
  void put(const std::string& key, nlohmann::json object, const char* event, nlohmann::json previous);
  // `last_state`: what the DELETED event carries when it is not the stored object (an update that finishes
  // a deletion).
  nlohmann::json erase(const std::string& key, const std::string& ns, const std::string& name,
                       const nlohmann::json* last_state = nullptr);
  void dispatch(const HistoryEvent& e);

  // the write paths shared by update, patch and delete; `body` is in the storage form (conversion.h),
  // or a Scale for the scale subresource
  Result updateLocked(const ResourceType& type, const std::string& ns, const std::string& name,
                      nlohmann::json body, Subresource sub);
  // updateLocked's scale subresource: `old` is the stored object, `body` the Scale
  Result updateScale(const ResourceType& type, const std::string& ns, const std::string& name,
                     const nlohmann::json& old, const nlohmann::json& body);
  Result commit(const ResourceType& type, const nlohmann::json& old, nlohmann::json updated,
                bool bump_generation);
  Result deleteLocked(const std::string& key, const std::string& ns, const std::string& name,
                      const DeleteOptions& options);
  void finishDeletion(const std::string& key, const nlohmann::json& gone);
  void collectDependents(const std::string& owner_uid, bool foreground);
  void releaseForegroundOwners(const nlohmann::json& dependent);
  void orphanDependents(const std::string& owner_uid);
  std::vector<ObjectRef> dependentsOf(const std::string& owner_uid) const;

  // custom resources
  std::optional<ApiError> registerCrd(const nlohmann::json& crd);
  void unregisterCrd(const nlohmann::json& crd);
  nlohmann::json crdStatus(const nlohmann::json& crd) const;
  std::optional<ApiError> validateCustom(const ResourceType& type, nlohmann::json* object) const;

  // lists
  Bucket snapshotAt(const std::string& key, uint64_t at) const;
};

// Helpers for objects and errors (objects.cpp). present() and toStorage() are in conversion.h.
ApiError notFound(const ResourceType& type, const std::string& name);
ApiError badRequest(const std::string& message);
ApiError invalid(const ResourceType& type, const std::string& name, const std::string& field,
                 const std::string& reason, const std::string& message);
std::string stringAt(const nlohmann::json& object, const char* a, const char* b = nullptr);
std::string rvString(uint64_t rv);
// Why metadata's `field` (labels, annotations) is not a map of strings; nullopt when it is or is absent.
std::optional<std::string> checkStringMap(const nlohmann::json& meta, const char* field);

// The fields kube-apiserver defaults on create that our controllers and kubectl rely on (create.cpp).
void applyDefaults(const std::string& key, nlohmann::json& object, const std::string& uid);
// The object's autoscaling/v1 Scale (scale.cpp).
nlohmann::json toScale(const ResourceType& type, const nlohmann::json& object);

}  // namespace tokenstorm::kts
