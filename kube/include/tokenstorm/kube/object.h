// Tolerant reads of Kubernetes objects held as JSON. Objects come from the API (or from users through
// it), so a controller must never crash on an odd one: a missing key, a non-object on the way or a value of
// another type reads as absent. Used by the operator, the leader election and the API test server's
// controllers.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tokenstorm::kube {

// The value at `path` (keys of nested objects), or nullptr.
const nlohmann::json* findAt(const nlohmann::json& object, std::initializer_list<const char*> path);
// One key of an object; a null JSON value when absent or when `object` is not an object.
const nlohmann::json& member(const nlohmann::json& object, const char* key);
// A string at `path`; "" when absent or not a string.
std::string stringAt(const nlohmann::json& object, std::initializer_list<const char*> path);
// An integer at `path`; nullopt when absent or not an integer.
std::optional<int64_t> intAt(const nlohmann::json& object, std::initializer_list<const char*> path);
// An array at `path`; an empty array when absent or not an array.
const nlohmann::json& arrayAt(const nlohmann::json& object, std::initializer_list<const char*> path);

}  // namespace tokenstorm::kube
