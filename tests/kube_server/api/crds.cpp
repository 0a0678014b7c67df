// CustomResourceDefinitions: creating or updating one (re)registers the types of its served versions;
// deleting one unregisters them and deletes their objects. Custom resources are validated against their
// version's schema here too.
#include <algorithm>
#include <cctype>

#include "api/registry.h"
#include "api/schema.h"
#include "api/store_impl.h"

namespace tokenstorm::kts {

using nlohmann::json;

namespace {

const ResourceType& crdType() {
  static const ResourceType type = [] {
    for (const auto& t : builtinTypes()) {
      if (t.plural == "customresourcedefinitions") {
        return t;
      }
    }
    return ResourceType{};
  }();
  return type;
}

}  // namespace

std::optional<ApiError> ApiStore::Impl::registerCrd(const json& crd) {
  const std::string name = stringAt(crd, "metadata", "name");
  std::string why;
  auto served_types = typesFromCrd(crd, &why);
  if (!served_types) {
    size_t colon = why.find(": ");
    return invalid(crdType(), name, why.substr(0, colon), "FieldValueInvalid",
                   colon == std::string::npos ? why : why.substr(colon + 2));
  }
  const json& spec = crd["spec"];
  const std::string group = spec["group"].get<std::string>();
  const std::string plural = spec["names"]["plural"].get<std::string>();
  if (name != plural + "." + group) {
    return invalid(crdType(), name, "metadata.name", "FieldValueInvalid",
                   "Invalid value: \"" + name + "\": must be spec.names.plural+\".\"+spec.group");
  }
  for (const auto& t : types) {
    if (t.builtin && t.group == group && t.plural == plural) {
      return invalid(crdType(), name, "spec.names.plural", "FieldValueInvalid",
                     "Invalid value: \"" + plural + "\": is served by a built-in type");
    }
  }
  unregisterCrd(crd);
  for (auto& t : *served_types) {
    types.push_back(std::move(t));
  }
  return std::nullopt;
}

void ApiStore::Impl::unregisterCrd(const json& crd) {
  const std::string group = stringAt(crd, "spec", "group");
  const std::string plural = crd.contains("spec") ? stringAt(crd["spec"], "names", "plural") : "";
  types.erase(std::remove_if(types.begin(), types.end(),
                             [&](const ResourceType& t) {
                               return !t.builtin && t.group == group && t.plural == plural;
                             }),
              types.end());
}

json ApiStore::Impl::crdStatus(const json& crd) const {
  json names = crd["spec"]["names"];
  const std::string kind = names.value("kind", "");
  if (!names.contains("singular")) {
    std::string singular = kind;
    std::transform(singular.begin(), singular.end(), singular.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    names["singular"] = singular;
  }
  if (!names.contains("listKind")) {
    names["listKind"] = kind + "List";
  }
  json stored = json::array();
  for (const auto& v : crd["spec"]["versions"]) {
    if (v.value("storage", false)) {
      stored.push_back(v.value("name", ""));
    }
  }
  const std::string when = now();
  return json{{"acceptedNames", names},
              {"storedVersions", stored},
              {"conditions", json::array({{{"type", "NamesAccepted"},
                                           {"status", "True"},
                                           {"reason", "NoConflicts"},
                                           {"message", "no conflicts found"},
                                           {"lastTransitionTime", when}},
                                          {{"type", "Established"},
                                           {"status", "True"},
                                           {"reason", "InitialNamesAccepted"},
                                           {"message", "the initial names have been accepted"},
                                           {"lastTransitionTime", when}}})}};
}

std::optional<ApiError> ApiStore::Impl::validateCustom(const ResourceType& type, json* object) const {
  if (type.builtin || type.schema.is_null()) {
    return std::nullopt;
  }
  std::vector<SchemaCause> causes = validateCustomResource(type.schema, object);
  if (causes.empty()) {
    return std::nullopt;
  }
  std::string name = stringAt(*object, "metadata", "name");
  json list = json::array();
  for (const auto& c : causes) {
    list.push_back({{"reason", c.reason}, {"message", c.message}, {"field", c.field}});
  }
  return ApiError{422, "Invalid",
                  qualifiedKind(type) + " \"" + name + "\" is invalid: " + summarizeCauses(causes),
                  json{{"name", name}, {"group", type.group}, {"kind", type.kind}, {"causes", list}}};
}

}  // namespace tokenstorm::kts
