// The resource types the test server serves: the built-in ones (core/v1, events.k8s.io/v1, batch/v1,
// apps/v1, autoscaling/v2, coordination.k8s.io/v1, apiextensions.k8s.io/v1) with the short names and
// categories kube-apiserver publishes, and the types a CustomResourceDefinition adds (one per served
// version). Pure functions; the store owns the registry.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"

namespace tokenstorm::kts {

// Every built-in type, in discovery order.
std::vector<ResourceType> builtinTypes();

// The types a CRD serves (one per version with served: true). On a CRD that cannot be served (missing
// group, names or versions) returns nullopt and fills *error with "field: message".
std::optional<std::vector<ResourceType>> typesFromCrd(const nlohmann::json& crd, std::string* error);

// A CRD's simple JSON path (".spec.replicas") as a JSON pointer ("/spec/replicas"); "" stays "".
std::string jsonPathToPointer(std::string_view path);

// Where objects of a type are kept: "group/plural". All versions of a group's resource share it, as they
// share one etcd key prefix, and so do events.k8s.io Events with core Events ("/events"): one resource
// served in two groups, stored in core/v1's form (conversion.h).
std::string storageKey(const ResourceType& type);

// "pods", "deployments.apps", "loadtests.tokenstorm.dev": how errors name a resource.
std::string qualifiedResource(const ResourceType& type);
// "Pod", "Deployment.apps", "LoadTest.tokenstorm.dev": how Invalid errors name a kind.
std::string qualifiedKind(const ResourceType& type);

}  // namespace tokenstorm::kts
