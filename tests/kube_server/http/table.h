// Server-side printing: the meta.k8s.io Table that kubectl asks for with
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. Custom resources print Name and their CRD's
// additionalPrinterColumns (a CRD without any prints Age), evaluated with the JSONPath subset CRDs use;
// built-ins print kube-apiserver's columns for pods, jobs, events, namespaces, configmaps, secrets,
// deployments, CRDs and leases, and Name + Age for the rest. `date` cells are rendered server-side as an
// age ("5m10s"), as kube-apiserver does, so kubectl prints them as they come.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_store.h"

namespace tokenstorm::kts {

struct TableOptions {
  std::string apiVersion = "meta.k8s.io/v1";  // or meta.k8s.io/v1beta1
  std::string includeObject = "Metadata";     // None, Metadata (PartialObjectMetadata) or Object
  bool withColumns = true;                    // watch events after the first carry rows only
};

// `object` is a single object or a list (kind ending in "List" with items).
nlohmann::json toTable(const ResourceType& type, const nlohmann::json& object,
                       std::chrono::system_clock::time_point now, const TableOptions& options);

// The JSONPath subset of additionalPrinterColumns: `.a.b`, `.a[0].b`, `.a[?(@.k=="v")].b`, optionally
// wrapped in `{...}`. nullopt when the path finds nothing or cannot be parsed.
std::optional<nlohmann::json> evalJsonPath(const nlohmann::json& object, const std::string& path);

// kubectl's age format (k8s.io/apimachinery/pkg/util/duration.HumanDuration): "45s", "3m20s", "5h", "4d".
std::string humanDuration(std::chrono::seconds d);
// RFC 3339 (UTC, "Z" or numeric offset) → time; nullopt when unparsable.
std::optional<std::chrono::system_clock::time_point> parseRfc3339(const std::string& text);

}  // namespace tokenstorm::kts
