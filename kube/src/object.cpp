#include "tokenstorm/kube/object.h"

namespace tokenstorm::kube {

const nlohmann::json* findAt(const nlohmann::json& object, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &object;
  for (const char* key : path) {
    if (!at->is_object()) {
      return nullptr;
    }
    auto it = at->find(key);
    if (it == at->end()) {
      return nullptr;
    }
    at = &*it;
  }
  return at;
}

const nlohmann::json& member(const nlohmann::json& object, const char* key) {
  static const nlohmann::json kNull;
  const nlohmann::json* at = findAt(object, {key});
  return at == nullptr ? kNull : *at;
}

std::string stringAt(const nlohmann::json& object, std::initializer_list<const char*> path) {
  const nlohmann::json* at = findAt(object, path);
  return at != nullptr && at->is_string() ? at->get<std::string>() : "";
}

std::optional<int64_t> intAt(const nlohmann::json& object, std::initializer_list<const char*> path) {
  const nlohmann::json* at = findAt(object, path);
  if (at != nullptr && at->is_number_integer()) {
    return at->get<int64_t>();
  }
  return std::nullopt;
}

const nlohmann::json& arrayAt(const nlohmann::json& object, std::initializer_list<const char*> path) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  const nlohmann::json* at = findAt(object, path);
  return at != nullptr && at->is_array() ? *at : kEmpty;
}

}  // namespace tokenstorm::kube
