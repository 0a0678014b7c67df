// Deletion: preconditions, finalizers and deletionTimestamp, graceful pod deletion, namespace and CRD
// deletion, and garbage collection by ownerReferences (Background, Foreground, Orphan).
#include <algorithm>

#include "api/registry.h"
#include "api/store_impl.h"

namespace tokenstorm::kts {

using nlohmann::json;

namespace {

constexpr int64_t kDefaultPodGraceSeconds = 30;
const char* const kForeground = "foregroundDeletion";
const char* const kCrdKey = "apiextensions.k8s.io/customresourcedefinitions";

bool ownedBy(const json& object, const std::string& uid) {
  const json& meta = object["metadata"];
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) {
    return false;
  }
  for (const auto& ref : meta["ownerReferences"]) {
    if (ref.is_object() && ref.value("uid", "") == uid) {
      return true;
    }
  }
  return false;
}

bool hasFinalizer(const json& meta, const std::string& f) {
  if (!meta.contains("finalizers") || !meta["finalizers"].is_array()) {
    return false;
  }
  const json& list = meta["finalizers"];
  return std::find(list.begin(), list.end(), f) != list.end();
}

ApiError conflict(const std::string& message) {
  return ApiError{409, "Conflict", message, nullptr};
}

}  // namespace

// The type whose form a storage key's objects are kept in: the one the key is named after (core/v1 Event
// for "/events", not events.k8s.io/v1 Event, which shares it).
const ResourceType* ApiStore::Impl::typeForKey(const std::string& key) const {
  for (const auto& t : types) {
    if (t.group + "/" + t.plural == key) {
      return &t;
    }
  }
  return nullptr;
}

std::vector<ObjectRef> ApiStore::Impl::dependentsOf(const std::string& owner_uid) const {
  std::vector<ObjectRef> out;
  for (const auto& [key, bucket] : objects) {
    for (const auto& [id, object] : bucket) {
      if (ownedBy(object, owner_uid)) {
        out.push_back({key, id.first, id.second});
      }
    }
  }
  return out;
}

void ApiStore::Impl::orphanDependents(const std::string& owner_uid) {
  for (const auto& ref : dependentsOf(owner_uid)) {
    json* dep = find(ref.key, ref.ns, ref.name);
    json updated = *dep;
    json& refs = updated["metadata"]["ownerReferences"];
    refs.erase(
        std::remove_if(refs.begin(), refs.end(),
                       [&](const json& r) { return r.is_object() && r.value("uid", "") == owner_uid; }),
        refs.end());
    if (refs.empty()) {
      updated["metadata"].erase("ownerReferences");
    }
    json previous = *dep;
    put(ref.key, std::move(updated), "MODIFIED", std::move(previous));
  }
}

void ApiStore::Impl::collectDependents(const std::string& owner_uid, bool foreground) {
  for (const auto& ref : dependentsOf(owner_uid)) {
    json* dep = find(ref.key, ref.ns, ref.name);
    if (dep == nullptr) {
      continue;  // deleted by an earlier step of this collection
    }
    const json& refs = (*dep)["metadata"]["ownerReferences"];
    bool other_owner_alive = false;
    for (const auto& r : refs) {
      std::string uid = r.is_object() ? r.value("uid", "") : "";
      if (uid != owner_uid && byUid.count(uid) != 0) {
        other_owner_alive = true;
      }
    }
    if (other_owner_alive) {
      // The garbage collector drops the dangling reference and keeps the object for its other owners.
      json updated = *dep;
      json& list = updated["metadata"]["ownerReferences"];
      list.erase(std::remove_if(
                     list.begin(), list.end(),
                     [&](const json& r) { return r.is_object() && byUid.count(r.value("uid", "")) == 0; }),
                 list.end());
      if (foreground) {
        continue;  // the owner is still there (waiting for us); it drops its reference when it goes
      }
      json previous = *dep;
      put(ref.key, std::move(updated), "MODIFIED", std::move(previous));
      continue;
    }
    if ((*dep)["metadata"].contains("deletionTimestamp")) {
      continue;
    }
    DeleteOptions options;
    options.propagationPolicy = foreground ? "Foreground" : "Background";
    deleteLocked(ref.key, ref.ns, ref.name, options);
  }
}

void ApiStore::Impl::releaseForegroundOwners(const json& dependent) {
  const json& meta = dependent["metadata"];
  if (!meta.contains("ownerReferences") || !meta["ownerReferences"].is_array()) {
    return;
  }
  for (const auto& r : meta["ownerReferences"]) {
    auto owner_ref = byUid.find(r.is_object() ? r.value("uid", "") : "");
    if (owner_ref == byUid.end()) {
      continue;
    }
    ObjectRef where = owner_ref->second;
    json* owner = find(where.key, where.ns, where.name);
    if (owner == nullptr || !hasFinalizer((*owner)["metadata"], kForeground)) {
      continue;
    }
    const std::string owner_uid = owner_ref->first;
    bool blocked = false;
    for (const auto& d : dependentsOf(owner_uid)) {
      const json& dm = (*find(d.key, d.ns, d.name))["metadata"];
      for (const auto& ref : dm["ownerReferences"]) {
        if (ref.is_object() && ref.value("uid", "") == owner_uid && ref.value("blockOwnerDeletion", false)) {
          blocked = true;
        }
      }
    }
    if (blocked) {
      continue;
    }
    json updated = *owner;
    json& finalizers = updated["metadata"]["finalizers"];
    finalizers.erase(std::remove(finalizers.begin(), finalizers.end(), json(kForeground)), finalizers.end());
    if (finalizers.empty()) {
      updated["metadata"].erase("finalizers");
    }
    if (const ResourceType* type = typeForKey(where.key)) {
      json previous = *owner;
      commit(*type, previous, std::move(updated), false);
    }
  }
}

void ApiStore::Impl::finishDeletion(const std::string& key, const json& gone) {
  const std::string uid = stringAt(gone, "metadata", "uid");
  const std::string name = stringAt(gone, "metadata", "name");
  if (key == "/namespaces") {
    // Simplified namespace lifecycle: the namespace's objects go at once (no Terminating phase).
    std::vector<ObjectRef> content;
    for (const auto& [k, bucket] : objects) {
      for (const auto& [id, object] : bucket) {
        if (id.first == name) {
          content.push_back({k, id.first, id.second});
        }
      }
    }
    for (const auto& ref : content) {
      if (find(ref.key, ref.ns, ref.name) != nullptr) {
        json child = erase(ref.key, ref.ns, ref.name);
        finishDeletion(ref.key, child);
      }
    }
  }
  if (key == kCrdKey && gone.contains("spec")) {
    const std::string served_key =
        stringAt(gone, "spec", "group") + "/" + stringAt(gone["spec"], "names", "plural");
    unregisterCrd(gone);
    std::vector<ObjectName> names;
    for (const auto& [id, object] : objects[served_key]) {
      names.push_back(id);
    }
    for (const auto& id : names) {
      if (find(served_key, id.first, id.second) != nullptr) {
        json child = erase(served_key, id.first, id.second);
        finishDeletion(served_key, child);
      }
    }
    for (auto& w : watches) {
      if (auto sub = w.lock(); sub && sub->storageKey_ == served_key) {
        sub->close();
      }
    }
  }
  releaseForegroundOwners(gone);
  collectDependents(uid, false);
}

Result ApiStore::Impl::deleteLocked(const std::string& key, const std::string& ns, const std::string& name,
                                    const DeleteOptions& options) {
  Result r;
  const ResourceType* type = typeForKey(key);
  json* current = find(key, ns, name);
  if (type == nullptr || current == nullptr) {
    ResourceType unknown;
    size_t slash = key.find('/');
    unknown.group = key.substr(0, slash);
    unknown.plural = key.substr(slash + 1);
    r.error = notFound(type != nullptr ? *type : unknown, name);
    return r;
  }
  const json old = *current;
  const json& meta = old["metadata"];
  const std::string uid = stringAt(old, "metadata", "uid");
  const std::string rv = stringAt(old, "metadata", "resourceVersion");
  if (options.preconditionUid && *options.preconditionUid != uid) {
    r.error = conflict("Precondition failed: UID in precondition: " + *options.preconditionUid +
                       ", UID in object meta: " + uid);
    return r;
  }
  if (options.preconditionResourceVersion && *options.preconditionResourceVersion != rv) {
    r.error = conflict("Precondition failed: ResourceVersion in precondition: " +
                       *options.preconditionResourceVersion + ", ResourceVersion in object meta: " + rv);
    return r;
  }
  std::string policy = options.propagationPolicy.value_or(key == "batch/jobs" ? "Orphan" : "Background");
  if (policy != "Background" && policy != "Foreground" && policy != "Orphan") {
    r.error = badRequest("Unsupported value: \"" + policy +
                         "\": supported values: \"Foreground\", \"Background\", \"Orphan\"");
    return r;
  }
  if (key == "/namespaces" && (name == "default" || name == "kube-system" || name == "kube-public")) {
    r.error = ApiError{403, "Forbidden",
                       "namespaces \"" + name + "\" is forbidden: this namespace may not be deleted",
                       json{{"name", name}, {"group", ""}, {"kind", "namespaces"}}};
    return r;
  }
  int64_t grace = 0;
  if (key == "/pods") {
    const std::string phase = stringAt(old, "status", "phase");
    if (!stringAt(old, "spec", "nodeName").empty() && phase != "Succeeded" && phase != "Failed") {
      const json& spec_grace =
          old["spec"].value("terminationGracePeriodSeconds", json(kDefaultPodGraceSeconds));
      grace = options.gracePeriodSeconds.value_or(spec_grace.is_number_integer() ? spec_grace.get<int64_t>()
                                                                                 : kDefaultPodGraceSeconds);
      grace = std::max<int64_t>(grace, 0);
    }
  }
  if (meta.contains("deletionTimestamp")) {
    // Already being deleted: a pod's grace period may only shorten (the kubelet ends it with 0).
    int64_t pending = meta.value("deletionGracePeriodSeconds", json(0)).is_number_integer()
                          ? meta["deletionGracePeriodSeconds"].get<int64_t>()
                          : 0;
    if (key == "/pods" && grace < pending) {
      json updated = old;
      updated["metadata"]["deletionGracePeriodSeconds"] = grace;
      updated["metadata"]["deletionTimestamp"] = now(grace);
      return commit(*type, old, std::move(updated), false);
    }
    r.object = present(*type, old);
    return r;
  }
  if (policy == "Orphan") {
    orphanDependents(uid);
  }
  bool foreground = policy == "Foreground" && !dependentsOf(uid).empty();
  json finalizers =
      meta.contains("finalizers") && meta["finalizers"].is_array() ? meta["finalizers"] : json::array();
  if (foreground && std::find(finalizers.begin(), finalizers.end(), json(kForeground)) == finalizers.end()) {
    finalizers.push_back(kForeground);
  }
  if (!finalizers.empty() || grace > 0) {
    json updated = old;
    json& m = updated["metadata"];
    m["finalizers"] = finalizers;
    if (finalizers.empty()) {
      m.erase("finalizers");
    }
    m["deletionTimestamp"] = now(grace);
    m["deletionGracePeriodSeconds"] = grace;
    if (m.contains("generation") && m["generation"].is_number_integer()) {
      m["generation"] = m["generation"].get<int64_t>() + 1;
    }
    put(key, std::move(updated), "MODIFIED", old);
    if (foreground) {
      collectDependents(uid, true);
      // Dependents that went at once may have released us; the owner may even be gone now.
      json probe = json{{"metadata", {{"ownerReferences", json::array({{{"uid", uid}}})}}}};
      releaseForegroundOwners(probe);
    }
    json* now_obj = find(key, ns, name);
    r.object = present(*type, now_obj != nullptr ? *now_obj : old);
    return r;
  }
  json gone = erase(key, ns, name);
  finishDeletion(key, gone);
  r.object = present(*type, gone);
  return r;
}

Result ApiStore::remove(const ResourceType& type, const std::string& ns, const std::string& name,
                        const DeleteOptions& options) {
  std::lock_guard lock(impl_->mutex);
  const ResourceType* t = impl_->served(type);
  if (t == nullptr) {
    return Result{nullptr, notFound(type, name)};
  }
  Result r = impl_->deleteLocked(storageKey(*t), t->namespaced ? ns : "", name, options);
  if (r.ok()) {
    r.object = present(*t, std::move(r.object));
  }
  impl_->dispatched->store(impl_->revision);
  return r;
}

}  // namespace tokenstorm::kts
