// Helpers for objects and the errors that name them, shared by the store's .cpp files (store_impl.h).
#include "api/registry.h"
#include "api/store_impl.h"

namespace tokenstorm::kts {

using nlohmann::json;

std::optional<std::string> checkStringMap(const json& meta, const char* field) {
  if (!meta.contains(field) || meta[field].is_null()) {
    return std::nullopt;
  }
  if (!meta[field].is_object()) {
    return std::string("must be a map of strings");
  }
  for (const auto& [k, v] : meta[field].items()) {
    if (!v.is_string()) {
      return "the value of \"" + k + "\" must be a string";
    }
  }
  return std::nullopt;
}

ApiError notFound(const ResourceType& type, const std::string& name) {
  return ApiError{404, "NotFound", qualifiedResource(type) + " \"" + name + "\" not found",
                  json{{"name", name}, {"group", type.group}, {"kind", type.plural}}};
}

ApiError badRequest(const std::string& message) {
  return ApiError{400, "BadRequest", message, nullptr};
}

ApiError invalid(const ResourceType& type, const std::string& name, const std::string& field,
                 const std::string& reason, const std::string& message) {
  std::string text = qualifiedKind(type) + " \"" + name + "\" is invalid: " + field + ": " + message;
  return ApiError{
      422, "Invalid", text,
      json{{"name", name},
           {"group", type.group},
           {"kind", type.kind},
           {"causes", json::array({{{"reason", reason}, {"message", message}, {"field", field}}})}}};
}

std::string stringAt(const json& object, const char* a, const char* b) {
  if (!object.is_object()) {
    return "";
  }
  auto it = object.find(a);
  if (it == object.end()) {
    return "";
  }
  if (b == nullptr) {
    return it->is_string() ? it->get<std::string>() : "";
  }
  return stringAt(*it, b);
}

std::string rvString(uint64_t rv) {
  return std::to_string(rv);
}

json ApiError::toStatus() const {
  json status = {{"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", json::object()},
                 {"status", "Failure"}, {"message", message}, {"reason", reason},
                 {"code", code}};
  if (!details.is_null()) {
    status["details"] = details;
  }
  return status;
}

}  // namespace tokenstorm::kts
