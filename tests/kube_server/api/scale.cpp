// The scale subresource (autoscaling/v1 Scale) of deployments, statefulsets and custom resources whose CRD
// declares one: read from the object's replicas and selector; a write sets spec.replicas and nothing else.
#include "api/registry.h"
#include "api/store_impl.h"

namespace tokenstorm::kts {

using nlohmann::json;

namespace {

std::string labelSelectorString(const json& selector) {
  if (selector.is_string()) {
    return selector.get<std::string>();
  }
  if (!selector.is_object()) {
    return "";
  }
  std::vector<std::string> parts;
  if (selector.contains("matchLabels") && selector["matchLabels"].is_object()) {
    for (const auto& [k, v] : selector["matchLabels"].items()) {
      parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
  }
  if (selector.contains("matchExpressions") && selector["matchExpressions"].is_array()) {
    for (const auto& e : selector["matchExpressions"]) {
      std::string key = e.value("key", "");
      std::string op = e.value("operator", "");
      std::string values;
      for (const auto& v : e.value("values", json::array())) {
        values += (values.empty() ? "" : ",") + (v.is_string() ? v.get<std::string>() : v.dump());
      }
      if (op == "In") {
        parts.push_back(key + " in (" + values + ")");
      } else if (op == "NotIn") {
        parts.push_back(key + " notin (" + values + ")");
      } else if (op == "Exists") {
        parts.push_back(key);
      } else if (op == "DoesNotExist") {
        parts.push_back("!" + key);
      }
    }
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : ",") + p;
  }
  return out;
}

json valueAt(const json& object, const std::string& pointer) {
  if (pointer.empty()) {
    return nullptr;
  }
  try {
    json::json_pointer p(pointer);
    return object.contains(p) ? object.at(p) : json();
  } catch (const json::exception&) {
    return nullptr;
  }
}

}  // namespace

json toScale(const ResourceType& type, const json& object) {
  const json& meta = object["metadata"];
  json scale = {{"apiVersion", "autoscaling/v1"}, {"kind", "Scale"}};
  json m = json::object();
  for (const char* k : {"name", "namespace", "resourceVersion", "uid", "creationTimestamp"}) {
    if (meta.contains(k)) {
      m[k] = meta[k];
    }
  }
  scale["metadata"] = m;
  json spec_replicas = valueAt(object, type.specReplicasPointer);
  json status_replicas = valueAt(object, type.statusReplicasPointer);
  scale["spec"] = {{"replicas", spec_replicas.is_number_integer() ? spec_replicas : json(0)}};
  scale["status"] = {{"replicas", status_replicas.is_number_integer() ? status_replicas : json(0)}};
  std::string selector = labelSelectorString(valueAt(object, type.labelSelectorPointer));
  if (!selector.empty()) {
    scale["status"]["selector"] = selector;
  }
  return scale;
}

Result ApiStore::Impl::updateScale(const ResourceType& type, const std::string& ns, const std::string& name,
                                   const json& old, const json& body) {
  Result r;
  const std::string key = storageKey(type);
  if (!type.scaleSubresource) {
    r.error = ApiError{404, "NotFound", "the server could not find the requested resource", nullptr};
    return r;
  }
  const json& replicas =
      body.contains("spec") && body["spec"].is_object() && body["spec"].contains("replicas")
          ? body["spec"]["replicas"]
          : json();
  if (!replicas.is_number_integer() || replicas.get<int64_t>() < 0) {
    ApiError e = invalid(type, name, "spec.replicas", "FieldValueInvalid",
                         "Invalid value: " + replicas.dump() + ": must be greater than or equal to 0");
    e.message = "Scale.autoscaling \"" + name +
                "\" is invalid: spec.replicas: " + e.details["causes"][0]["message"].get<std::string>();
    e.details["kind"] = "Scale";
    e.details["group"] = "autoscaling";
    r.error = e;
    return r;
  }
  json updated = old;
  try {
    updated[json::json_pointer(type.specReplicasPointer)] = replicas;
  } catch (const json::exception&) {
    r.error =
        ApiError{500, "InternalError", "the scale subresource's specReplicasPath cannot be written", nullptr};
    return r;
  }
  if (auto e = validateCustom(type, &updated)) {
    r.error = e;
    return r;
  }
  Result done = commit(type, old, updated, true);
  if (done.ok()) {
    json* now_obj = find(key, ns, name);
    done.object = toScale(type, now_obj != nullptr ? *now_obj : done.object);
  }
  return done;
}

}  // namespace tokenstorm::kts
