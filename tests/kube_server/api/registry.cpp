#include "api/registry.h"

#include <algorithm>
#include <cctype>

namespace tokenstorm::kts {
namespace {

struct Builtin {
  const char* group;
  const char* version;
  const char* kind;
  const char* plural;
  std::vector<std::string> shortNames;
  std::vector<std::string> categories;
  bool namespaced;
  bool status;
  bool scale;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::vector<std::string> stringList(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (!j.is_array()) {
    return out;
  }
  for (const auto& v : j) {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    }
  }
  return out;
}

std::string stringAt(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) {
    return "";
  }
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::vector<ResourceType> builtinTypes() {
  const std::vector<std::string> all = {"all"};
  const std::vector<Builtin> table = {
      {"", "v1", "Namespace", "namespaces", {"ns"}, {}, false, true, false},
      {"", "v1", "Pod", "pods", {"po"}, all, true, true, false},
      {"", "v1", "ConfigMap", "configmaps", {"cm"}, {}, true, false, false},
      {"", "v1", "Secret", "secrets", {}, {}, true, false, false},
      {"", "v1", "ServiceAccount", "serviceaccounts", {"sa"}, {}, true, false, false},
      {"", "v1", "Event", "events", {"ev"}, {}, true, false, false},
      {"", "v1", "Node", "nodes", {"no"}, {}, false, true, false},
      {"", "v1", "Service", "services", {"svc"}, all, true, true, false},
      {"events.k8s.io", "v1", "Event", "events", {"ev"}, {}, true, false, false},
      {"batch", "v1", "Job", "jobs", {}, all, true, true, false},
      {"apps", "v1", "Deployment", "deployments", {"deploy"}, all, true, true, true},
      {"apps", "v1", "StatefulSet", "statefulsets", {"sts"}, all, true, true, true},
      {"autoscaling",
       "v2",
       "HorizontalPodAutoscaler",
       "horizontalpodautoscalers",
       {"hpa"},
       all,
       true,
       true,
       false},
      {"coordination.k8s.io", "v1", "Lease", "leases", {}, {}, true, false, false},
      {"apiextensions.k8s.io",
       "v1",
       "CustomResourceDefinition",
       "customresourcedefinitions",
       {"crd", "crds"},
       {"api-extensions"},
       false,
       true,
       false},
  };
  std::vector<ResourceType> out;
  for (const auto& b : table) {
    ResourceType t;
    t.group = b.group;
    t.version = b.version;
    t.kind = b.kind;
    t.plural = b.plural;
    t.singular = lower(b.kind);
    t.listKind = t.kind + "List";
    t.shortNames = b.shortNames;
    t.categories = b.categories;
    t.namespaced = b.namespaced;
    t.statusSubresource = b.status;
    t.scaleSubresource = b.scale;
    if (b.scale) {
      t.labelSelectorPointer = "/spec/selector";
    }
    t.builtin = true;
    out.push_back(std::move(t));
  }
  return out;
}

std::string jsonPathToPointer(std::string_view path) {
  std::string out;
  size_t i = 0;
  if (!path.empty() && path[0] == '.') {
    i = 1;
  }
  if (i >= path.size()) {
    return "";
  }
  out += '/';
  for (; i < path.size(); ++i) {
    char c = path[i];
    if (c == '.') {
      out += '/';
    } else if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string storageKey(const ResourceType& type) {
  if (type.builtin && type.group == "events.k8s.io" && type.plural == "events") {
    return "/events";
  }
  return type.group + "/" + type.plural;
}

std::string qualifiedResource(const ResourceType& type) {
  return type.group.empty() ? type.plural : type.plural + "." + type.group;
}

std::string qualifiedKind(const ResourceType& type) {
  return type.group.empty() ? type.kind : type.kind + "." + type.group;
}

std::optional<std::vector<ResourceType>> typesFromCrd(const nlohmann::json& crd, std::string* error) {
  auto fail = [&](const std::string& message) -> std::optional<std::vector<ResourceType>> {
    if (error != nullptr) {
      *error = message;
    }
    return std::nullopt;
  };
  if (!crd.is_object() || !crd.contains("spec") || !crd["spec"].is_object()) {
    return fail("spec: Required value");
  }
  const nlohmann::json& spec = crd["spec"];
  std::string group = stringAt(spec, "group");
  if (group.empty()) {
    return fail("spec.group: Required value");
  }
  const nlohmann::json names = spec.value("names", nlohmann::json::object());
  std::string plural = stringAt(names, "plural");
  std::string kind = stringAt(names, "kind");
  if (plural.empty()) {
    return fail("spec.names.plural: Required value");
  }
  if (kind.empty()) {
    return fail("spec.names.kind: Required value");
  }
  std::string scope = stringAt(spec, "scope");
  if (scope != "Namespaced" && scope != "Cluster") {
    return fail("spec.scope: Unsupported value: \"" + scope +
                "\": supported values: \"Cluster\", \"Namespaced\"");
  }
  if (!spec.contains("versions") || !spec["versions"].is_array() || spec["versions"].empty()) {
    return fail("spec.versions: Invalid value: must have exactly one version marked as storage version");
  }
  std::vector<ResourceType> out;
  size_t index = 0;
  for (const auto& v : spec["versions"]) {
    std::string vname = stringAt(v, "name");
    if (vname.empty()) {
      return fail("spec.versions[" + std::to_string(index) + "].name: Required value");
    }
    ++index;
    if (!v.value("served", false)) {
      continue;
    }
    ResourceType t;
    t.group = group;
    t.version = vname;
    t.kind = kind;
    t.plural = plural;
    t.singular = stringAt(names, "singular");
    if (t.singular.empty()) {
      t.singular = lower(kind);
    }
    t.listKind = stringAt(names, "listKind");
    if (t.listKind.empty()) {
      t.listKind = kind + "List";
    }
    t.shortNames = stringList(names.value("shortNames", nlohmann::json()));
    t.categories = stringList(names.value("categories", nlohmann::json()));
    t.namespaced = scope == "Namespaced";
    t.builtin = false;
    const nlohmann::json sub = v.value("subresources", nlohmann::json::object());
    t.statusSubresource = sub.is_object() && sub.contains("status");
    if (sub.is_object() && sub.contains("scale") && sub["scale"].is_object()) {
      const nlohmann::json& scale = sub["scale"];
      t.scaleSubresource = true;
      t.specReplicasPointer = jsonPathToPointer(stringAt(scale, "specReplicasPath"));
      t.statusReplicasPointer = jsonPathToPointer(stringAt(scale, "statusReplicasPath"));
      t.labelSelectorPointer = jsonPathToPointer(stringAt(scale, "labelSelectorPath"));
    }
    if (v.contains("schema") && v["schema"].is_object() && v["schema"].contains("openAPIV3Schema")) {
      t.schema = v["schema"]["openAPIV3Schema"];
    }
    if (v.contains("additionalPrinterColumns") && v["additionalPrinterColumns"].is_array()) {
      t.printerColumns = v["additionalPrinterColumns"];
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace tokenstorm::kts
