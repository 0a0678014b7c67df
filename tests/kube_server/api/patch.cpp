#include "api/patch.h"

#include <algorithm>
#include <optional>
#include <vector>

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

Result failure(int code, const std::string& reason, const std::string& message) {
  Result r;
  r.error = ApiError{code, reason, message, nullptr};
  return r;
}
Result badRequest(const std::string& message) {
  return failure(400, "BadRequest", message);
}
Result invalid(const std::string& message) {
  return failure(422, "Invalid", message);
}

// ---- JSON pointers (RFC 6901) ----

// Splits a pointer into unescaped tokens; nullopt (and *why) when malformed.
std::optional<std::vector<std::string>> parsePointer(const std::string& pointer, std::string* why) {
  std::vector<std::string> tokens;
  if (pointer.empty()) {
    return tokens;
  }
  if (pointer[0] != '/') {
    *why = "a JSON pointer must be empty or start with '/'";
    return std::nullopt;
  }
  std::string token;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      tokens.push_back(token);
      token.clear();
      continue;
    }
    char c = pointer[i];
    if (c == '~') {
      if (i + 1 < pointer.size() && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        token += pointer[i + 1] == '0' ? '~' : '/';
        ++i;
        continue;
      }
      *why = "'~' must be followed by '0' or '1' in a JSON pointer";
      return std::nullopt;
    }
    token += c;
  }
  return tokens;
}

// An array index token: digits without leading zeros.
std::optional<size_t> arrayIndex(const std::string& token) {
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) {
    return std::nullopt;
  }
  for (char c : token) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  return static_cast<size_t>(std::stoul(token));
}

// The value a pointer names, or nullptr when it does not exist.
json* resolve(json& doc, const std::vector<std::string>& tokens, size_t count) {
  json* cur = &doc;
  for (size_t i = 0; i < count; ++i) {
    const std::string& t = tokens[i];
    if (cur->is_object()) {
      auto it = cur->find(t);
      if (it == cur->end()) {
        return nullptr;
      }
      cur = &*it;
    } else if (cur->is_array()) {
      auto index = arrayIndex(t);
      if (!index || *index >= cur->size()) {
        return nullptr;
      }
      cur = &(*cur)[*index];
    } else {
      return nullptr;
    }
  }
  return cur;
}

// Applies one operation to doc; "" on success, otherwise why not (the caller adds index and path).
std::string addAt(json& doc, const std::vector<std::string>& tokens, json value) {
  if (tokens.empty()) {
    doc = std::move(value);
    return "";
  }
  json* parent = resolve(doc, tokens, tokens.size() - 1);
  if (parent == nullptr) {
    return "the parent of the path does not exist";
  }
  const std::string& last = tokens.back();
  if (parent->is_object()) {
    (*parent)[last] = std::move(value);
    return "";
  }
  if (parent->is_array()) {
    if (last == "-") {
      parent->push_back(std::move(value));
      return "";
    }
    auto index = arrayIndex(last);
    if (!index) {
      return "\"" + last + "\" is not an array index";
    }
    if (*index > parent->size()) {
      return "index " + last + " is out of bounds (array of " + std::to_string(parent->size()) + ")";
    }
    parent->insert(parent->begin() + static_cast<std::ptrdiff_t>(*index), std::move(value));
    return "";
  }
  return "the parent of the path is a " + std::string(parent->type_name()) + ", not an object or array";
}

std::string removeAt(json& doc, const std::vector<std::string>& tokens, json* removed) {
  if (tokens.empty()) {
    return "the whole document cannot be removed";
  }
  json* parent = resolve(doc, tokens, tokens.size() - 1);
  const std::string& last = tokens.back();
  if (parent != nullptr && parent->is_object()) {
    auto it = parent->find(last);
    if (it == parent->end()) {
      return "path does not exist";
    }
    if (removed != nullptr) {
      *removed = std::move(*it);
    }
    parent->erase(it);
    return "";
  }
  if (parent != nullptr && parent->is_array()) {
    auto index = arrayIndex(last);
    if (!index || *index >= parent->size()) {
      return "path does not exist";
    }
    if (removed != nullptr) {
      *removed = std::move((*parent)[*index]);
    }
    parent->erase(parent->begin() + static_cast<std::ptrdiff_t>(*index));
    return "";
  }
  return "path does not exist";
}

bool isStrictPrefix(const std::vector<std::string>& prefix, const std::vector<std::string>& tokens) {
  return prefix.size() < tokens.size() && std::equal(prefix.begin(), prefix.end(), tokens.begin());
}

// ---- strategic merge patch ----

const char* mergeKeyFor(const std::string& field, const json& elements) {
  static const char* const kByName[] = {
      "containers",       "initContainers", "ephemeralContainers", "volumes",        "env",
      "imagePullSecrets", "readinessGates", "resourceClaims",      "schedulingGates"};
  for (const char* f : kByName) {
    if (field == f) {
      return field == "readinessGates" ? "conditionType" : "name";
    }
  }
  if (field == "volumeMounts") {
    return "mountPath";
  }
  if (field == "volumeDevices") {
    return "devicePath";
  }
  if (field == "conditions") {
    return "type";
  }
  if (field == "ownerReferences") {
    return "uid";
  }
  if (field == "hostAliases") {
    return "ip";
  }
  if (field == "topologySpreadConstraints") {
    return "topologyKey";
  }
  if (field == "ports") {
    // Container ports merge by containerPort, Service ports by port.
    for (const auto& e : elements) {
      if (e.is_object() && e.contains("containerPort")) {
        return "containerPort";
      }
    }
    return "port";
  }
  return nullptr;
}

bool isPrimitiveMergeList(const std::string& field) {
  return field == "finalizers";
}

json strategicMerge(const json& original, const json& patch);

json mergeKeyedList(const json& original, const json& patch, const char* key) {
  json result = original.is_array() ? original : json::array();
  for (const auto& element : patch) {
    if (element.is_object() && element.contains("$patch") && element["$patch"] == "replace") {
      json replaced = json::array();
      for (const auto& e : patch) {
        if (!(e.is_object() && e.contains("$patch"))) {
          replaced.push_back(e);
        }
      }
      return replaced;
    }
  }
  for (const auto& element : patch) {
    if (!element.is_object() || !element.contains(key)) {
      result.push_back(element);
      continue;
    }
    const json& id = element[key];
    auto same = std::find_if(result.begin(), result.end(),
                             [&](const json& e) { return e.is_object() && e.contains(key) && e[key] == id; });
    bool remove = element.contains("$patch") && element["$patch"] == "delete";
    if (remove) {
      if (same != result.end()) {
        result.erase(same);
      }
      continue;
    }
    if (same != result.end()) {
      *same = strategicMerge(*same, element);
    } else {
      json added = element;
      added.erase("$patch");
      result.push_back(std::move(added));
    }
  }
  return result;
}

json mergePrimitiveList(const json& original, const json& patch) {
  json result = original.is_array() ? original : json::array();
  for (const auto& v : patch) {
    if (std::find(result.begin(), result.end(), v) == result.end()) {
      result.push_back(v);
    }
  }
  return result;
}

// Orders `list` as `order` names its elements (by merge key, or by value for primitives); elements the
// order does not name keep their relative order after the named ones.
json applyElementOrder(const json& list, const json& order, const char* key) {
  if (!list.is_array() || !order.is_array()) {
    return list;
  }
  json ordered = json::array();
  std::vector<bool> used(list.size(), false);
  for (const auto& o : order) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (used[i]) {
        continue;
      }
      bool match = key != nullptr ? (o.is_object() && o.contains(key) && list[i].is_object() &&
                                     list[i].contains(key) && list[i][key] == o[key])
                                  : list[i] == o;
      if (match) {
        ordered.push_back(list[i]);
        used[i] = true;
        break;
      }
    }
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (!used[i]) {
      ordered.push_back(list[i]);
    }
  }
  return ordered;
}

json strategicMerge(const json& original, const json& patch) {
  if (!patch.is_object()) {
    return patch;
  }
  if (patch.contains("$patch")) {
    const json& directive = patch["$patch"];
    if (directive == "replace") {
      json replaced = patch;
      replaced.erase("$patch");
      return replaced;
    }
    if (directive == "delete") {
      return nullptr;
    }
  }
  json result = original.is_object() ? original : json::object();
  if (patch.contains("$retainKeys") && patch["$retainKeys"].is_array()) {
    const json& keep = patch["$retainKeys"];
    for (auto it = result.begin(); it != result.end();) {
      if (std::find(keep.begin(), keep.end(), it.key()) == keep.end()) {
        it = result.erase(it);
      } else {
        ++it;
      }
    }
  }
  static const std::string kDeleteFrom = "$deleteFromPrimitiveList/";
  static const std::string kOrder = "$setElementOrder/";
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& key = it.key();
    const json& value = it.value();
    if (key == "$patch" || key == "$retainKeys" || key.rfind(kOrder, 0) == 0) {
      continue;
    }
    if (key.rfind(kDeleteFrom, 0) == 0) {
      std::string field = key.substr(kDeleteFrom.size());
      if (result.contains(field) && result[field].is_array() && value.is_array()) {
        json& list = result[field];
        for (auto e = list.begin(); e != list.end();) {
          e = std::find(value.begin(), value.end(), *e) != value.end() ? list.erase(e) : e + 1;
        }
      }
      continue;
    }
    if (value.is_null()) {
      result.erase(key);
      continue;
    }
    const json current = result.contains(key) ? result[key] : json();
    if (value.is_object()) {
      json merged = strategicMerge(current, value);
      if (merged.is_null()) {
        result.erase(key);
      } else {
        result[key] = std::move(merged);
      }
      continue;
    }
    if (value.is_array()) {
      if (const char* mk = mergeKeyFor(key, value.empty() ? current : value); mk != nullptr) {
        result[key] = mergeKeyedList(current, value, mk);
      } else if (isPrimitiveMergeList(key)) {
        result[key] = mergePrimitiveList(current, value);
      } else {
        result[key] = value;
      }
      continue;
    }
    result[key] = value;
  }
  // $setElementOrder is applied after the merge, to the merged list.
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.key().rfind(kOrder, 0) != 0) {
      continue;
    }
    std::string field = it.key().substr(kOrder.size());
    if (result.contains(field)) {
      result[field] = applyElementOrder(result[field], it.value(), mergeKeyFor(field, result[field]));
    }
  }
  return result;
}

}  // namespace

json mergePatch(const json& target, const json& patch) {
  if (!patch.is_object()) {
    return patch;
  }
  json result = target.is_object() ? target : json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it.value().is_null()) {
      result.erase(it.key());
    } else {
      const json current = result.contains(it.key()) ? result[it.key()] : json();
      result[it.key()] = mergePatch(current, it.value());
    }
  }
  return result;
}

Result jsonPatch(const json& target, const json& operations) {
  if (!operations.is_array()) {
    return badRequest("a JSON patch must be an array of operations, found " +
                      std::string(operations.type_name()));
  }
  json doc = target;
  for (size_t i = 0; i < operations.size(); ++i) {
    const json& op = operations[i];
    std::string where = "json patch operation " + std::to_string(i);
    if (!op.is_object()) {
      return badRequest(where + ": must be an object, found " + std::string(op.type_name()));
    }
    if (!op.contains("op") || !op["op"].is_string()) {
      return badRequest(where + ": missing \"op\" (a string)");
    }
    std::string name = op["op"].get<std::string>();
    where += " (" + name + ")";
    if (!op.contains("path") || !op["path"].is_string()) {
      return badRequest(where + ": missing \"path\" (a string)");
    }
    std::string path = op["path"].get<std::string>();
    where += " at \"" + path + "\"";
    std::string why;
    auto tokens = parsePointer(path, &why);
    if (!tokens) {
      return badRequest(where + ": " + why);
    }
    bool needs_value = name == "add" || name == "replace" || name == "test";
    bool needs_from = name == "move" || name == "copy";
    if (!needs_value && !needs_from && name != "remove") {
      return badRequest(where + ": unknown operation \"" + name +
                        "\" (expected add, remove, replace, move, copy or test)");
    }
    if (needs_value && !op.contains("value")) {
      return badRequest(where + ": missing \"value\"");
    }
    std::optional<std::vector<std::string>> from;
    std::string from_path;
    if (needs_from) {
      if (!op.contains("from") || !op["from"].is_string()) {
        return badRequest(where + ": missing \"from\" (a string)");
      }
      from_path = op["from"].get<std::string>();
      from = parsePointer(from_path, &why);
      if (!from) {
        return badRequest(where + ": from \"" + from_path + "\": " + why);
      }
    }
    std::string error;
    if (name == "add") {
      error = addAt(doc, *tokens, op["value"]);
    } else if (name == "remove") {
      error = removeAt(doc, *tokens, nullptr);
    } else if (name == "replace") {
      json* at = resolve(doc, *tokens, tokens->size());
      if (at == nullptr) {
        error = "path does not exist";
      } else {
        *at = op["value"];
      }
    } else if (name == "test") {
      json* at = resolve(doc, *tokens, tokens->size());
      if (at == nullptr) {
        error = "test failed: path does not exist";
      } else if (*at != op["value"]) {
        error = "test failed: found " + at->dump() + ", expected " + op["value"].dump();
      }
    } else if (name == "copy" || name == "move") {
      json* source = resolve(doc, *from, from->size());
      if (source == nullptr) {
        error = "from \"" + from_path + "\" does not exist";
      } else if (name == "move" && isStrictPrefix(*from, *tokens)) {
        error = "cannot move a value into one of its own children";
      } else if (name == "copy") {
        error = addAt(doc, *tokens, *source);
      } else if (*from != *tokens) {
        json moved;
        error = removeAt(doc, *from, &moved);
        if (error.empty()) {
          error = addAt(doc, *tokens, std::move(moved));
        }
      }
    }
    if (!error.empty()) {
      return invalid(where + ": " + error);
    }
  }
  Result r;
  r.object = std::move(doc);
  return r;
}

Result strategicMergePatch(const json& target, const json& patch) {
  if (!patch.is_object()) {
    return badRequest("a strategic merge patch must be a JSON object, found " +
                      std::string(patch.type_name()));
  }
  Result r;
  r.object = strategicMerge(target, patch);
  if (r.object.is_null()) {
    r.object = json::object();
  }
  return r;
}

Result applyPatch(PatchType type, const json& target, const std::string& patch_text) {
  json patch = json::parse(patch_text, nullptr, false);
  if (patch.is_discarded()) {
    return badRequest("the patch is not valid JSON");
  }
  switch (type) {
    case PatchType::kMerge: {
      if (!patch.is_object()) {
        return badRequest("a merge patch must be a JSON object, found " + std::string(patch.type_name()));
      }
      Result r;
      r.object = mergePatch(target, patch);
      return r;
    }
    case PatchType::kJson:
      return jsonPatch(target, patch);
    case PatchType::kStrategic:
      return strategicMergePatch(target, patch);
  }
  return badRequest("unknown patch type");
}

}  // namespace tokenstorm::kts
