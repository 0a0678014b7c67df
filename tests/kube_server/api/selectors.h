// Which objects a list or watch returns: namespace, label selector (kube::LabelSelector) and field
// selector. kube::FieldSelector knows only metadata.name and metadata.namespace; the server also takes the
// per-kind fields kube-apiserver indexes (pods: spec.nodeName, status.phase, spec.restartPolicy,
// spec.schedulerName, spec.serviceAccountName, status.podIP; events: involvedObject.*, reason, type,
// source, reportingComponent; events.k8s.io events: regarding.*, reason, type, source,
// reportingController; secrets: type; namespaces: status.phase; jobs: status.successful; nodes:
// spec.unschedulable), so this parser reads the same grammar (`=`, `==`, `!=`, comma-separated, `\,` `\=`
// `\\` escapes) and checks the field against the type. Unsupported fields are 400 "field label not
// supported", as upstream.
//
// Filters run on stored objects, so a field names the stored path it reads: both event groups are stored
// as core/v1 Events (conversion.h), and events.k8s.io's labels map to core's as upstream's field label
// conversion does (regarding.* → involvedObject.*, reportingController → reportingComponent). `source` is
// source.component, or reportingComponent when that is empty (upstream's selectable field).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"
#include "tokenstorm/kube/selector.h"

namespace tokenstorm::kts {

struct FieldTerm {
  std::string field;  // "spec.nodeName", as the client wrote it
  bool equals = true;
  std::string value;
  // Where the stored object holds the field's value: the first non-empty of these dotted paths (makeFilter
  // fills them in; none means `field` itself).
  std::vector<std::string> paths;
};

struct ObjectFilter {
  std::string ns;  // "" for all namespaces
  kube::LabelSelector labels;
  std::vector<FieldTerm> fields;

  bool matches(const nlohmann::json& object) const;
};

// Parses the selectors for `type`; on failure returns nullopt and fills *error (400 BadRequest).
std::optional<ObjectFilter> makeFilter(const ResourceType& type, const std::string& ns,
                                       const std::string& label_selector, const std::string& field_selector,
                                       ApiError* error);

// A field selector's terms, unchecked against any type; nullopt and *why when malformed.
std::optional<std::vector<FieldTerm>> parseFieldSelector(const std::string& text, std::string* why);

// The value a field selector sees: the dotted path's string (numbers and booleans as JSON text), "" when
// absent.
std::string fieldValue(const nlohmann::json& object, const std::string& field);

}  // namespace tokenstorm::kts
