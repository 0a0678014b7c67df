// Discovery documents built from the store's registry, in the legacy (unaggregated) format that kubectl and
// client-go fall back to when the server does not answer the aggregated apidiscovery.k8s.io/v2 form:
// /api (APIVersions), /apis (APIGroupList), /apis/{g} (APIGroup), /api/v1 and /apis/{g}/{v}
// (APIResourceList with verbs, short names, categories and subresource entries such as "pods/status").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"

namespace tokenstorm::kts {

nlohmann::json apiVersions(const std::string& server_address);
nlohmann::json apiGroupList(const std::vector<ResourceType>& types);
// nullopt when no type is served in `group`.
std::optional<nlohmann::json> apiGroup(const std::vector<ResourceType>& types, const std::string& group);
std::optional<nlohmann::json> apiResourceList(const std::vector<ResourceType>& types,
                                              const std::string& group, const std::string& version);

// Kubernetes version ordering (v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else): true when a sorts
// before b, i.e. a is preferred.
bool versionPreferred(const std::string& a, const std::string& b);

}  // namespace tokenstorm::kts
