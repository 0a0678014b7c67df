#include "http/discovery.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <tuple>

namespace tokenstorm::kts {

namespace {

using nlohmann::json;

// (stability rank, major, minor): GA 3, beta 2, alpha 1, unparsable 0.
std::tuple<int, int, int> versionKey(const std::string& v) {
  if (v.size() < 2 || v[0] != 'v' || !std::isdigit(static_cast<unsigned char>(v[1]))) {
    return {0, 0, 0};
  }
  size_t i = 1;
  int major = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
    major = major * 10 + (v[i++] - '0');
  }
  if (i == v.size()) {
    return {3, major, 0};
  }
  int rank = 0;
  if (v.compare(i, 4, "beta") == 0) {
    rank = 2;
    i += 4;
  } else if (v.compare(i, 5, "alpha") == 0) {
    rank = 1;
    i += 5;
  } else {
    return {0, 0, 0};
  }
  int minor = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) {
    minor = minor * 10 + (v[i++] - '0');
  }
  return {rank, major, minor};
}

// group → versions in preference order.
std::map<std::string, std::vector<std::string>> groupVersions(const std::vector<ResourceType>& types) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& t : types) {
    auto& versions = out[t.group];
    if (std::find(versions.begin(), versions.end(), t.version) == versions.end()) {
      versions.push_back(t.version);
    }
  }
  for (auto& [group, versions] : out) {
    std::sort(versions.begin(), versions.end(), versionPreferred);
  }
  return out;
}

json groupJson(const std::string& group, const std::vector<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) {
    vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  }
  return {{"name", group}, {"versions", vs}, {"preferredVersion", vs.at(0)}};
}

json verbsFor(const ResourceType& t) {
  if (t.group.empty() && t.plural == "namespaces") {
    return {"create", "delete", "get", "list", "patch", "update", "watch"};
  }
  return {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"};
}

}  // namespace

bool versionPreferred(const std::string& a, const std::string& b) {
  auto ka = versionKey(a);
  auto kb = versionKey(b);
  if (ka != kb) {
    return ka > kb;
  }
  return a < b;
}

json apiVersions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", {"v1"}},
          {"serverAddressByClientCIDRs", {{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}}}};
}

json apiGroupList(const std::vector<ResourceType>& types) {
  json groups = json::array();
  for (const auto& [group, versions] : groupVersions(types)) {
    if (!group.empty()) {
      groups.push_back(groupJson(group, versions));
    }
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

std::optional<json> apiGroup(const std::vector<ResourceType>& types, const std::string& group) {
  auto all = groupVersions(types);
  auto it = all.find(group);
  if (group.empty() || it == all.end()) {
    return std::nullopt;
  }
  json out = groupJson(group, it->second);
  out["kind"] = "APIGroup";
  out["apiVersion"] = "v1";
  return out;
}

std::optional<json> apiResourceList(const std::vector<ResourceType>& types, const std::string& group,
                                    const std::string& version) {
  json resources = json::array();
  for (const auto& t : types) {
    if (t.group != group || t.version != version) {
      continue;
    }
    json r = {{"name", t.plural},
              {"singularName", t.singular},
              {"namespaced", t.namespaced},
              {"kind", t.kind},
              {"verbs", verbsFor(t)}};
    if (!t.shortNames.empty()) {
      r["shortNames"] = t.shortNames;
    }
    if (!t.categories.empty()) {
      r["categories"] = t.categories;
    }
    resources.push_back(r);
    if (t.statusSubresource) {
      resources.push_back({{"name", t.plural + "/status"},
                           {"singularName", ""},
                           {"namespaced", t.namespaced},
                           {"kind", t.kind},
                           {"verbs", {"get", "patch", "update"}}});
    }
    if (t.scaleSubresource) {
      resources.push_back({{"name", t.plural + "/scale"},
                           {"singularName", ""},
                           {"namespaced", t.namespaced},
                           {"group", "autoscaling"},
                           {"version", "v1"},
                           {"kind", "Scale"},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (resources.empty()) {
    return std::nullopt;
  }
  return json{{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", group.empty() ? version : group + "/" + version},
              {"resources", resources}};
}

}  // namespace tokenstorm::kts
