#include "http/openapi.h"

#include <functional>
#include <map>

namespace tokenstorm::kts {

namespace {

using nlohmann::json;

std::string gvPath(const ResourceType& t) {
  return t.group.empty() ? "api/" + t.version : "apis/" + t.group + "/" + t.version;
}

json parameter(const std::string& name) {
  return {{"name", name}, {"in", "query"}, {"schema", {{"type", "string"}}}, {"uniqueItems", true}};
}

}  // namespace

json openApiV3Root(const std::vector<ResourceType>& types) {
  std::map<std::string, std::string> paths;  // gv path → a hash of the kinds served there
  for (const auto& t : types) {
    paths[gvPath(t)] += t.kind + ",";
  }
  json out = {{"paths", json::object()}};
  for (const auto& [path, kinds] : paths) {
    // The hash changes when the served kinds change, so clients that cache by URL refetch after a CRD.
    out["paths"][path] = {{"serverRelativeURL", "/openapi/v3/" + path + "?hash=" +
                                                    std::to_string(std::hash<std::string>{}(kinds))}};
  }
  return out;
}

std::optional<json> openApiV3GroupVersion(const std::vector<ResourceType>& types,
                                          const std::string& gv_path) {
  json paths = json::object();
  for (const auto& t : types) {
    if (gvPath(t) != gv_path) {
      continue;
    }
    std::string base =
        "/" + gv_path + "/" + (t.namespaced ? "namespaces/{namespace}/" : "") + t.plural + "/{name}";
    json gvk = {{"group", t.group}, {"version", t.version}, {"kind", t.kind}};
    json params = json::array(
        {parameter("dryRun"), parameter("fieldManager"), parameter("fieldValidation"), parameter("force")});
    paths[base] = {{"patch",
                    {{"operationId", "patch" + t.kind},
                     {"x-kubernetes-action", "patch"},
                     {"x-kubernetes-group-version-kind", gvk},
                     {"parameters", params},
                     {"responses", {{"200", {{"description", "OK"}}}}}}}};
    if (t.statusSubresource) {
      paths[base + "/status"] = {{"patch",
                                  {{"operationId", "patch" + t.kind + "Status"},
                                   {"x-kubernetes-action", "patch"},
                                   {"x-kubernetes-group-version-kind", gvk},
                                   {"parameters", params},
                                   {"responses", {{"200", {{"description", "OK"}}}}}}}};
    }
  }
  if (paths.empty()) {
    return std::nullopt;
  }
  return json{{"openapi", "3.0.0"},
              {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0-kts"}}},
              {"paths", paths},
              {"components", {{"schemas", json::object()}}}};
}

}  // namespace tokenstorm::kts
