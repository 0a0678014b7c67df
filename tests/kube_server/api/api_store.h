// The Kubernetes API test server's state: a registry of resource types and an object store that follows
// kube-apiserver's documented semantics where our operator, our client and kubectl depend on them. This is
// test support (namespace tokenstorm::kts), not product, but its fidelity decides whether the end-to-end
// tests mean anything; each rule below names the API behaviour it copies.
//
// Used in-process by the HTTP front (tests/kube_server/http) and by the controllers that make it a small
// cluster (tests/kube_server/controllers: the Job controller and the process kubelet). Thread-safe: one
// mutex guards everything; watch subscriptions are fed under it and read from other threads.
//
// Semantics (all of them tested in tests/kube_server/api/*_test.cpp):
// - One global resourceVersion counter (like etcd's revision), as a decimal string. Every write bumps it and
//   stamps the object. Lists carry the current counter.
// - create: metadata.name or metadata.generateName (a 5-character random suffix, retried on collision);
//   uid (a random UUID), creationTimestamp (RFC 3339, from the injected clock's wall time), generation 1
//   for types with a status subresource or a spec; namespaced types need an existing namespace (404
//   otherwise, except that creating in "default" always works: "default" exists from the start, as do
//   kube-system and kube-public). Status in a create body is dropped for types with a status subresource.
//   409 AlreadyExists for a duplicate. 422 Invalid for schema violations of custom resources (types and
//   required fields from the CRD's openAPIV3Schema), with causes naming the field path.
// - update (PUT): a non-empty metadata.resourceVersion that is not the current one is 409 Conflict; an
//   empty one is an unconditional update. On the main resource, status changes are ignored (the old status
//   is kept) for types with a status subresource; on the status subresource, only status changes are kept.
//   metadata.generation is bumped when anything other than metadata and status changed. An update that
//   changes nothing does not bump resourceVersion and sends no event (kube-apiserver's no-op write).
// - patch: application/merge-patch+json (RFC 7386), application/json-patch+json (RFC 6902, including
//   test), application/strategic-merge-patch+json for built-in kinds only (415 for custom resources, as the
//   real server does), merging lists of known keyed fields by their merge key (containers/initContainers/
//   volumes/env by name, ports by containerPort, conditions by type, ownerReferences by uid, tolerations
//   replaced) and honouring `$patch: delete|replace` and `$retainKeys` enough for kubectl apply. A patch
//   is applied to the current object and then goes through the same path as update (with its resourceVersion
//   precondition only if the patch sets one).
// - delete: preconditions (uid, resourceVersion) → 409 on mismatch. An object with finalizers gets
//   deletionTimestamp (+ deletionGracePeriodSeconds) and stays until an update removes the last finalizer.
//   Pods bound to a node (spec.nodeName set) with a grace period > 0 (default
//   spec.terminationGracePeriodSeconds, else 30) are deleted gracefully: deletionTimestamp set, the kubelet
//   finishes the deletion with gracePeriodSeconds 0. propagationPolicy: Background (default for most kinds)
//   deletes the owner now and its dependents (objects whose ownerReferences name its uid) right after;
//   Foreground adds the foregroundDeletion finalizer and deletes the owner once dependents with
//   blockOwnerDeletion are gone; Orphan removes the ownerReference from dependents. Jobs default to
//   Background when the policy is given by the client and Orphan when not (batch/v1's legacy default), as
//   kube-apiserver does.
// - list: label and field selectors (metadata.name, metadata.namespace, and the per-kind fields of
//   selectors.h, e.g. spec.nodeName and status.phase for pods, involvedObject.name for events),
//   namespace or all namespaces, pagination with limit and an opaque continue token that expires (410)
//   when the resourceVersion it was taken at has left the history.
// - watch: from a resourceVersion (events after it), from "" or "0" (synthetic ADDED for current objects,
//   then changes); events for the type, namespace and selectors; an object that stops matching a selector
//   is sent as DELETED and one that starts matching as ADDED (as the watch cache does). A resourceVersion
//   older than the bounded history gives 410 Expired. Bookmarks on request.
// - Events: core/v1 and events.k8s.io/v1 Events are one resource in one storage (core/v1's form), as in
//   kube-apiserver. Bodies are converted to the storage form on create/update/patch (a patch applies to
//   the object as the requested version shows it); every output (get, list items, watch events, the
//   results of writes) is converted to the requested version; field selectors of either group work on
//   the shared storage. Field mapping in conversion.h.
// - custom resources: creating a CustomResourceDefinition (apiextensions.k8s.io/v1) registers its served
//   versions as new types (with status/scale subresources and additionalPrinterColumns) and sets the CRD's
//   status conditions Established and NamesAccepted; deleting it unregisters the type and deletes its
//   objects.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenstorm/core/clock.h"

namespace tokenstorm::kts {

// One served resource: a group/version/plural and what the discovery document says about it.
struct ResourceType {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string kind;      // "Pod"
  std::string plural;    // "pods"
  std::string singular;  // "pod"
  std::string listKind;  // "PodList"
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;  // e.g. {"all"}
  bool namespaced = true;
  bool statusSubresource = false;
  bool scaleSubresource = false;  // deployments, statefulsets, or a CRD with subresources.scale
  // For the scale subresource: JSON pointers into the object (CRDs give them as .spec.replicas paths).
  std::string specReplicasPointer = "/spec/replicas";
  std::string statusReplicasPointer = "/status/replicas";
  std::string labelSelectorPointer;  // "" when none
  bool builtin = true;               // strategic merge patch is allowed only for built-in kinds
  nlohmann::json schema;             // custom resources: the version's openAPIV3Schema; null otherwise
  nlohmann::json printerColumns;     // custom resources: additionalPrinterColumns; null otherwise

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  bool operator==(const ResourceType&) const = default;
};

// An API error as the server reports it: an HTTP code and a metav1.Status reason and message (details
// carry the name/kind and, for 422, the causes). toStatus() renders the Status object.
struct ApiError {
  int code = 500;
  std::string reason;  // "NotFound", "AlreadyExists", "Conflict", "Invalid", "Gone"/"Expired", ...
  std::string message;
  nlohmann::json details;  // {"name","group","kind","causes":[{"reason","message","field"}]} or null

  nlohmann::json toStatus() const;
};

// A result: the object (or list, or Status for a delete) when ok, otherwise the error.
struct Result {
  nlohmann::json object;
  std::optional<ApiError> error;

  bool ok() const { return !error.has_value(); }
};

enum class Subresource { kMain, kStatus, kScale };
enum class PatchType { kMerge, kJson, kStrategic };

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  int64_t limit = 0;  // 0: everything
  std::string continueToken;
};

struct WatchOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;  // "" or "0": start with the current objects as ADDED
  bool allowBookmarks = false;
};

struct DeleteOptions {
  std::optional<std::string> propagationPolicy;  // "Background", "Foreground", "Orphan"
  std::optional<int64_t> gracePeriodSeconds;
  std::optional<std::string> preconditionUid;
  std::optional<std::string> preconditionResourceVersion;
};

// One watch: the store pushes matching events into it; a reader thread takes them with next(). Events are
// complete watch lines' JSON ({"type":"ADDED","object":{...}}).
class WatchSubscription {
 public:
  // The next event, waiting until `deadline`; nullopt on timeout or once closed (then closed() is true).
  std::optional<nlohmann::json> next(std::chrono::steady_clock::time_point deadline);
  // Ends the watch: next() returns nullopt from now on. The store drops it from its list.
  void close();
  bool closed() const;
  // A BOOKMARK carrying the store's current resourceVersion (the HTTP front sends one when a watch that
  // allows bookmarks has been idle for a while).
  nlohmann::json bookmark() const;

 private:
  friend class ApiStore;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<nlohmann::json> events_;
  bool closed_ = false;
  // filled by the store
  std::string bookmarkApiVersion_, bookmarkKind_;
  std::function<std::string()> currentResourceVersion_;
  std::function<bool(const nlohmann::json&)> matches_;
  std::string namespace_;
  const ResourceType* type_ = nullptr;
  // The store's side: the storage key it watches, the type it renders objects as (type_ points here), and
  // the queue's bound (a reader that falls this far behind is closed, as kube-apiserver ends slow watches).
  void push(nlohmann::json event);
  std::string storageKey_;
  ResourceType typeCopy_;
  static constexpr size_t kMaxQueuedEvents = 100'000;
};

struct StoreOptions {
  size_t historyEvents = 10'000;  // watch history kept; older resourceVersions get 410
};

class ApiStore {
 public:
  ApiStore(const core::Clock& clock, StoreOptions options = {});
  ~ApiStore();
  ApiStore(const ApiStore&) = delete;
  ApiStore& operator=(const ApiStore&) = delete;

  // Registry (built-in types are registered by the constructor; CRDs add more).
  std::vector<ResourceType> types() const;
  std::optional<ResourceType> findType(const std::string& group, const std::string& version,
                                       const std::string& plural) const;
  std::optional<ResourceType> findKind(const std::string& apiVersion, const std::string& kind) const;

  // `ns` is "" for cluster-scoped types and for lists/watches across all namespaces.
  Result get(const ResourceType& type, const std::string& ns, const std::string& name,
             Subresource sub = Subresource::kMain) const;
  Result list(const ResourceType& type, const std::string& ns, const ListOptions& options) const;
  Result create(const ResourceType& type, const std::string& ns, nlohmann::json object);
  Result update(const ResourceType& type, const std::string& ns, const std::string& name,
                nlohmann::json object, Subresource sub = Subresource::kMain);
  // `patch` is the request body as received (JSON text).
  Result patch(const ResourceType& type, const std::string& ns, const std::string& name, PatchType patch_type,
               const std::string& patch, Subresource sub = Subresource::kMain);
  // Returns the deleted object (or, when deletion is pending on finalizers or grace, the object as updated).
  Result remove(const ResourceType& type, const std::string& ns, const std::string& name,
                const DeleteOptions& options);

  // Starts a watch; on error (bad selector, 410) returns nullptr and fills *error.
  std::shared_ptr<WatchSubscription> watch(const ResourceType& type, const std::string& ns,
                                           const WatchOptions& options, ApiError* error);

  std::string resourceVersion() const;  // the current global counter

  // Fault injection: forget the whole watch history, so every resourceVersion older than now gets 410;
  // close every open watch (clients see the server end the stream).
  void expireHistory();
  void closeAllWatches();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokenstorm::kts
