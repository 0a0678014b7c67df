// Updates (PUT) of an object and of its status subresource, patches (applied to the object as the
// requested version shows it, then taking the update path), and the commit every write of an existing
// object ends in. Writes through the scale subresource are in scale.cpp.
#include <algorithm>

#include "api/patch.h"
#include "api/registry.h"
#include "api/store_impl.h"

namespace tokenstorm::kts {

using nlohmann::json;

namespace {

json withoutVersion(json object) {
  if (object.contains("metadata") && object["metadata"].is_object()) {
    object["metadata"].erase("resourceVersion");
    object["metadata"].erase("managedFields");
  }
  return object;
}

bool specChanged(const json& a, const json& b) {
  json x = a;
  json y = b;
  for (json* o : {&x, &y}) {
    o->erase("metadata");
    o->erase("status");
    o->erase("apiVersion");
    o->erase("kind");
  }
  return x != y;
}

}  // namespace

Result ApiStore::Impl::commit(const ResourceType& type, const json& old, json updated, bool bump_generation) {
  const std::string key = storageKey(type);
  Result r;
  if (withoutVersion(updated) == withoutVersion(old)) {
    r.object = present(type, old);  // kube-apiserver's no-op write: same resourceVersion, no event
    return r;
  }
  if (bump_generation && old["metadata"].contains("generation") &&
      old["metadata"]["generation"].is_number()) {
    updated["metadata"]["generation"] = old["metadata"]["generation"].get<int64_t>() + 1;
  }
  const json& meta = updated["metadata"];
  bool finalizers_left =
      meta.contains("finalizers") && meta["finalizers"].is_array() && !meta["finalizers"].empty();
  bool grace_pending = meta.contains("deletionGracePeriodSeconds") &&
                       meta["deletionGracePeriodSeconds"].is_number() &&
                       meta["deletionGracePeriodSeconds"].get<int64_t>() > 0;
  if (meta.contains("deletionTimestamp") && !finalizers_left && !grace_pending) {
    // Like kube-apiserver's deleteWithoutFinalizers: the update that removes the last finalizer is not
    // written; the object is deleted (one DELETED event carrying the updated state).
    const std::string ns = stringAt(updated, "metadata", "namespace");
    const std::string name = stringAt(updated, "metadata", "name");
    json gone = erase(key, ns, name, &updated);
    finishDeletion(key, gone);
    r.object = present(type, gone);
    return r;
  }
  put(key, updated, "MODIFIED", old);
  r.object = present(
      type, *find(key, stringAt(updated, "metadata", "namespace"), stringAt(updated, "metadata", "name")));
  return r;
}

Result ApiStore::Impl::updateLocked(const ResourceType& type, const std::string& ns, const std::string& name,
                                    json body, Subresource sub) {
  Result r;
  const std::string key = storageKey(type);
  const std::string where = type.namespaced ? ns : "";
  json* current = find(key, where, name);
  if (current == nullptr) {
    r.error = notFound(type, name);
    return r;
  }
  const json old = *current;
  if (!body.is_object()) {
    r.error = badRequest("the request body must be a JSON object");
    return r;
  }
  if (!body.contains("metadata") || !body["metadata"].is_object()) {
    body["metadata"] = json::object();
  }
  json& meta = body["metadata"];
  std::string body_name = stringAt(body, "metadata", "name");
  if (!body_name.empty() && body_name != name) {
    r.error = badRequest("the name of the object (" + body_name + ") does not match the name on the URL (" +
                         name + ")");
    return r;
  }
  std::string body_rv = stringAt(body, "metadata", "resourceVersion");
  const std::string& old_rv = old["metadata"]["resourceVersion"].get_ref<const std::string&>();
  if (!body_rv.empty() && body_rv != old_rv) {
    r.error =
        ApiError{409, "Conflict",
                 "Operation cannot be fulfilled on " + qualifiedResource(type) + " \"" + name +
                     "\": the object has been modified; please apply your changes to the latest version and "
                     "try again",
                 json{{"name", name}, {"group", type.group}, {"kind", type.plural}}};
    return r;
  }
  if (sub == Subresource::kScale) {
    return updateScale(type, where, name, old, body);
  }
  json updated;
  if (sub == Subresource::kStatus) {
    updated = old;
    if (body.contains("status")) {
      updated["status"] = body["status"];
    } else {
      updated.erase("status");
    }
  } else {
    if (auto e = checkStringMap(meta, "labels")) {
      r.error = invalid(type, name, "metadata.labels", "FieldValueInvalid", "Invalid value: " + *e);
      return r;
    }
    if (auto e = checkStringMap(meta, "annotations")) {
      r.error = invalid(type, name, "metadata.annotations", "FieldValueInvalid", "Invalid value: " + *e);
      return r;
    }
    updated = std::move(body);
    if (type.statusSubresource) {
      if (old.contains("status")) {
        updated["status"] = old["status"];
      } else {
        updated.erase("status");
      }
    }
    json& m = updated["metadata"];
    for (const char* k : {"name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp",
                          "deletionGracePeriodSeconds"}) {
      if (old["metadata"].contains(k)) {
        m[k] = old["metadata"][k];
      } else {
        m.erase(k);
      }
    }
    if (old["metadata"].contains("deletionTimestamp") && m.contains("finalizers") &&
        m["finalizers"].is_array()) {
      json old_finalizers = old["metadata"].value("finalizers", json::array());
      for (const auto& f : m["finalizers"]) {
        if (std::find(old_finalizers.begin(), old_finalizers.end(), f) == old_finalizers.end()) {
          r.error =
              invalid(type, name, "metadata.finalizers", "FieldValueForbidden",
                      "Forbidden: no new finalizers can be added if the object is being deleted, found new "
                      "finalizers " +
                          f.dump());
          return r;
        }
      }
    }
  }
  updated["apiVersion"] = old.value("apiVersion", type.apiVersion());
  updated["kind"] = type.kind;
  updated["metadata"]["resourceVersion"] = old_rv;
  if (auto e = validateCustom(type, &updated)) {
    r.error = e;
    return r;
  }
  bool bump = sub == Subresource::kMain && specChanged(old, updated);
  if (key == "apiextensions.k8s.io/customresourcedefinitions" && sub == Subresource::kMain && bump) {
    if (auto e = registerCrd(updated)) {
      r.error = e;
      return r;
    }
  }
  return commit(type, old, std::move(updated), bump);
}

Result ApiStore::update(const ResourceType& type, const std::string& ns, const std::string& name, json object,
                        Subresource sub) {
  std::lock_guard lock(impl_->mutex);
  const ResourceType* t = impl_->served(type);
  if (t == nullptr) {
    return Result{nullptr, notFound(type, name)};
  }
  if (sub != Subresource::kScale) {
    object = toStorage(*t, std::move(object));
  }
  Result r = impl_->updateLocked(*t, ns, name, std::move(object), sub);
  impl_->dispatched->store(impl_->revision);
  return r;
}

Result ApiStore::patch(const ResourceType& type, const std::string& ns, const std::string& name,
                       PatchType patch_type, const std::string& patch, Subresource sub) {
  std::lock_guard lock(impl_->mutex);
  const ResourceType* t = impl_->served(type);
  if (t == nullptr) {
    return Result{nullptr, notFound(type, name)};
  }
  if (patch_type == PatchType::kStrategic && !t->builtin) {
    return Result{nullptr, ApiError{415, "UnsupportedMediaType",
                                    "the body of the request was in an unknown format - accepted media types "
                                    "include: application/json-patch+json, application/merge-patch+json, "
                                    "application/apply-patch+yaml",
                                    nullptr}};
  }
  json* current = impl_->find(storageKey(*t), t->namespaced ? ns : "", name);
  if (current == nullptr) {
    return Result{nullptr, notFound(*t, name)};
  }
  if (sub == Subresource::kScale && !t->scaleSubresource) {
    return Result{nullptr,
                  ApiError{404, "NotFound", "the server could not find the requested resource", nullptr}};
  }
  json base = sub == Subresource::kScale ? toScale(*t, *current) : present(*t, *current);
  Result patched = applyPatch(patch_type, base, patch);
  if (!patched.ok()) {
    return patched;
  }
  json body =
      sub == Subresource::kScale ? std::move(patched.object) : toStorage(*t, std::move(patched.object));
  Result r = impl_->updateLocked(*t, ns, name, std::move(body), sub);
  impl_->dispatched->store(impl_->revision);
  return r;
}

}  // namespace tokenstorm::kts
