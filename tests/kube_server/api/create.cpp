// Creating objects: the name (or generateName), the namespace, the metadata the server sets, the defaults
// kube-apiserver fills in, and the storage form (conversion.h).
#include "api/registry.h"
#include "api/store_impl.h"

namespace tokenstorm::kts {

using nlohmann::json;

namespace {

constexpr size_t kMaxNameChars = 253;
constexpr int kGenerateNameAttempts = 8;

std::optional<std::string> checkName(const std::string& name) {
  if (name.empty()) {
    return "name or generateName is required";
  }
  if (name.size() > kMaxNameChars) {
    return "must be no more than 253 characters";
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
    if (!ok) {
      return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
             "and must start and end with an alphanumeric character";
    }
  }
  if (name.front() == '-' || name.front() == '.' || name.back() == '-' || name.back() == '.') {
    return "a lowercase RFC 1123 subdomain must start and end with an alphanumeric character";
  }
  return std::nullopt;
}

}  // namespace

// Fields kube-apiserver defaults that our controllers and kubectl rely on.
void applyDefaults(const std::string& key, json& object, const std::string& uid) {
  json& spec = object["spec"];
  if (key == "/pods") {
    if (!spec.contains("restartPolicy")) {
      spec["restartPolicy"] = "Always";
    }
    if (!spec.contains("terminationGracePeriodSeconds")) {
      spec["terminationGracePeriodSeconds"] = 30;
    }
    object["status"] = {{"phase", "Pending"}};
  } else if (key == "/namespaces") {
    spec["finalizers"] = json::array({"kubernetes"});
    object["status"] = {{"phase", "Active"}};
  } else if (key == "apps/deployments" || key == "apps/statefulsets") {
    if (!spec.contains("replicas")) {
      spec["replicas"] = 1;
    }
  } else if (key == "batch/jobs") {
    if (!spec.contains("parallelism")) {
      spec["parallelism"] = 1;
    }
    if (!spec.contains("backoffLimit")) {
      spec["backoffLimit"] = 6;
    }
    if (!spec.contains("completionMode")) {
      spec["completionMode"] = "NonIndexed";
    }
    if (!spec.value("manualSelector", false)) {
      const std::string name = object["metadata"].value("name", "");
      json& labels = spec["template"]["metadata"]["labels"];
      labels["batch.kubernetes.io/controller-uid"] = uid;
      labels["controller-uid"] = uid;
      labels["batch.kubernetes.io/job-name"] = name;
      labels["job-name"] = name;
      spec["selector"] = {{"matchLabels", {{"batch.kubernetes.io/controller-uid", uid}}}};
    }
  } else if (spec.is_null()) {
    object.erase("spec");
  }
}

Result ApiStore::create(const ResourceType& type, const std::string& ns_in, json object) {
  std::lock_guard lock(impl_->mutex);
  Impl& s = *impl_;
  Result r;
  const ResourceType* t = s.served(type);
  if (t == nullptr) {
    r.error = notFound(type, "");
    return r;
  }
  if (!object.is_object()) {
    r.error = badRequest("the request body must be a JSON object");
    return r;
  }
  if (object.contains("kind") && object["kind"].is_string() && object["kind"] != t->kind) {
    r.error = badRequest("the kind of the object (" + object["kind"].get<std::string>() +
                         ") does not match the resource (" + t->kind + ")");
    return r;
  }
  if (!object.contains("metadata") || !object["metadata"].is_object()) {
    object["metadata"] = json::object();
  }
  // From here on the object is in the storage form; the result is presented in the requested version.
  object = toStorage(*t, std::move(object));
  json& meta = object["metadata"];
  const std::string key = storageKey(*t);
  std::string ns;
  if (t->namespaced) {
    std::string body_ns = stringAt(object, "metadata", "namespace");
    ns = ns_in.empty() ? body_ns : ns_in;
    if (!body_ns.empty() && body_ns != ns) {
      r.error =
          badRequest("the namespace of the provided object does not match the namespace sent on the request");
      return r;
    }
    if (ns.empty()) {
      r.error = badRequest("the namespace of the object is required");
      return r;
    }
    if (ns != "default" && s.find("/namespaces", "", ns) == nullptr) {
      ApiError e = notFound(builtinTypes()[0], ns);
      r.error = e;
      return r;
    }
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  std::string name = stringAt(object, "metadata", "name");
  if (name.empty() && !stringAt(object, "metadata", "generateName").empty()) {
    const std::string prefix = stringAt(object, "metadata", "generateName");
    for (int attempt = 0; attempt < kGenerateNameAttempts; ++attempt) {
      name = prefix + s.randomSuffix();
      if (s.find(key, ns, name) == nullptr) {
        break;
      }
    }
  }
  if (auto why = checkName(name)) {
    r.error = invalid(*t, name, "metadata.name", name.empty() ? "FieldValueRequired" : "FieldValueInvalid",
                      name.empty() ? "Required value: " + *why : "Invalid value: \"" + name + "\": " + *why);
    return r;
  }
  meta["name"] = name;
  if (auto e = checkStringMap(meta, "labels")) {
    r.error = invalid(*t, name, "metadata.labels", "FieldValueInvalid", "Invalid value: " + *e);
    return r;
  }
  if (auto e = checkStringMap(meta, "annotations")) {
    r.error = invalid(*t, name, "metadata.annotations", "FieldValueInvalid", "Invalid value: " + *e);
    return r;
  }
  if (s.find(key, ns, name) != nullptr) {
    r.error = ApiError{409, "AlreadyExists", qualifiedResource(*t) + " \"" + name + "\" already exists",
                       json{{"name", name}, {"group", t->group}, {"kind", t->plural}}};
    return r;
  }
  if (t->statusSubresource) {
    object.erase("status");
  }
  const std::string uid = s.newUid();
  for (const char* k : {"resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"}) {
    meta.erase(k);
  }
  meta["uid"] = uid;
  meta["creationTimestamp"] = s.now();
  if (t->statusSubresource || object.contains("spec") || !t->builtin) {
    meta["generation"] = 1;
  } else {
    meta.erase("generation");
  }
  if (t->builtin) {
    applyDefaults(key, object, uid);
  }
  if (key == "/namespaces") {
    object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
  }
  if (auto e = s.validateCustom(*t, &object)) {
    r.error = e;
    return r;
  }
  if (key == "apiextensions.k8s.io/customresourcedefinitions") {
    if (auto e = s.registerCrd(object)) {
      r.error = e;
      return r;
    }
    object["status"] = s.crdStatus(object);
  }
  s.put(key, object, "ADDED", nullptr);
  s.dispatched->store(s.revision);
  r.object = present(*t, *s.find(key, ns, name));
  return r;
}

}  // namespace tokenstorm::kts
