#include "api/schema.h"

#include <cmath>
#include <regex>

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

// How deep a document may nest before we stop descending (hostile input must not exhaust the stack).
constexpr int kMaxDepth = 100;

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Go's %v of a value in kube's messages: strings quoted, the rest as JSON.
std::string shown(const json& value) {
  return value.dump();
}

std::string typeOf(const json& value) {
  if (value.is_object()) {
    return "object";
  }
  if (value.is_array()) {
    return "array";
  }
  if (value.is_string()) {
    return "string";
  }
  if (value.is_boolean()) {
    return "boolean";
  }
  if (value.is_number_integer() || value.is_number_unsigned()) {
    return "integer";
  }
  if (value.is_number_float()) {
    return "number";
  }
  return "null";
}

bool isIntegral(const json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) {
    return true;
  }
  if (value.is_number_float()) {
    double d = value.get<double>();
    return std::isfinite(d) && std::floor(d) == d;
  }
  return false;
}

bool flag(const json& schema, const char* key) {
  auto it = schema.find(key);
  return it != schema.end() && it->is_boolean() && it->get<bool>();
}

class Walker {
 public:
  explicit Walker(bool mutate) : mutate_(mutate) {}

  std::vector<SchemaCause> causes;

  void walk(const json& schema, json& value, const std::string& path, int depth) {
    if (!schema.is_object() || depth > kMaxDepth) {
      return;
    }
    if (!checkType(schema, value, path)) {
      return;
    }
    if (value.is_object()) {
      walkObject(schema, value, path, depth);
    } else if (value.is_array()) {
      walkArray(schema, value, path, depth);
    } else {
      checkScalar(schema, value, path);
    }
    checkCombinators(schema, value, path, depth);
  }

 private:
  bool mutate_;

  void add(const char* reason, const std::string& path, const std::string& message) {
    causes.push_back({reason, path, message});
  }

  bool checkType(const json& schema, const json& value, const std::string& path) {
    if (value.is_null()) {
      return false;  // non-nullable nulls were dropped by the parent; a nullable null has nothing to check
    }
    if (flag(schema, "x-kubernetes-int-or-string")) {
      if (!isIntegral(value) && !value.is_string()) {
        add("FieldValueTypeInvalid", path,
            "Invalid value: \"" + typeOf(value) + "\": " + path +
                " in body must be of type integer,string: \"" + typeOf(value) + "\"");
        return false;
      }
      return true;
    }
    auto t = schema.find("type");
    if (t == schema.end() || !t->is_string()) {
      return true;
    }
    const std::string want = t->get<std::string>();
    bool ok = (want == "object" && value.is_object()) || (want == "array" && value.is_array()) ||
              (want == "string" && value.is_string()) || (want == "boolean" && value.is_boolean()) ||
              (want == "integer" && isIntegral(value)) || (want == "number" && value.is_number());
    if (!ok) {
      add("FieldValueTypeInvalid", path,
          "Invalid value: \"" + typeOf(value) + "\": " + path + " in body must be of type " + want + ": \"" +
              typeOf(value) + "\"");
    }
    return ok;
  }

  void walkObject(const json& schema, json& value, const std::string& path, int depth) {
    const json empty = json::object();
    const json& props =
        schema.contains("properties") && schema["properties"].is_object() ? schema["properties"] : empty;
    const bool preserve = flag(schema, "x-kubernetes-preserve-unknown-fields");
    const json* additional = nullptr;
    if (schema.contains("additionalProperties") && schema["additionalProperties"].is_object()) {
      additional = &schema["additionalProperties"];
    }
    if (mutate_) {
      // 1. drop non-nullable nulls, 2. prune unknown fields, 3. fill defaults.
      for (auto it = value.begin(); it != value.end();) {
        const std::string& key = it.key();
        const json* sub = props.contains(key) ? &props[key] : additional;
        bool known = props.contains(key) || additional != nullptr || preserve;
        bool drop_null = it.value().is_null() && (sub == nullptr || !flag(*sub, "nullable"));
        if (!known || (drop_null && !preserve)) {
          it = value.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = props.begin(); it != props.end(); ++it) {
        if (!value.contains(it.key()) && it.value().is_object() && it.value().contains("default")) {
          value[it.key()] = it.value()["default"];
        }
      }
    }
    if (schema.contains("required") && schema["required"].is_array()) {
      for (const auto& r : schema["required"]) {
        if (r.is_string() &&
            (!value.contains(r.get<std::string>()) || value[r.get<std::string>()].is_null())) {
          add("FieldValueRequired", join(path, r.get<std::string>()), "Required value");
        }
      }
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
      const json* sub = props.contains(it.key()) ? &props[it.key()] : additional;
      if (sub != nullptr) {
        walk(*sub, it.value(), join(path, it.key()), depth + 1);
      }
    }
    checkCount(schema, value.size(), "minProperties", "maxProperties", path, "properties");
  }

  void walkArray(const json& schema, json& value, const std::string& path, int depth) {
    if (schema.contains("items") && schema["items"].is_object()) {
      const json& items = schema["items"];
      for (size_t i = 0; i < value.size(); ++i) {
        walk(items, value[i], path + "[" + std::to_string(i) + "]", depth + 1);
      }
    }
    checkCount(schema, value.size(), "minItems", "maxItems", path, "items");
  }

  void checkCount(const json& schema, size_t n, const char* min_key, const char* max_key,
                  const std::string& path, const char* what) {
    if (schema.contains(min_key) && schema[min_key].is_number() &&
        static_cast<double>(n) < schema[min_key].get<double>()) {
      add("FieldValueInvalid", path,
          "Invalid value: " + std::to_string(n) + ": " + path + " in body should have at least " +
              schema[min_key].dump() + " " + what);
    }
    if (schema.contains(max_key) && schema[max_key].is_number() &&
        static_cast<double>(n) > schema[max_key].get<double>()) {
      add("FieldValueTooMany", path,
          "Too many: " + std::to_string(n) + ": must have at most " + schema[max_key].dump() + " " + what);
    }
  }

  void checkScalar(const json& schema, const json& value, const std::string& path) {
    if (schema.contains("enum") && schema["enum"].is_array()) {
      const json& allowed = schema["enum"];
      if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
        std::string list;
        for (const auto& a : allowed) {
          list += (list.empty() ? "" : ", ") + a.dump();
        }
        add("FieldValueNotSupported", path,
            "Unsupported value: " + shown(value) + ": supported values: " + list);
      }
    }
    if (value.is_number()) {
      double v = value.get<double>();
      if (schema.contains("minimum") && schema["minimum"].is_number()) {
        double m = schema["minimum"].get<double>();
        bool exclusive = flag(schema, "exclusiveMinimum");
        if (exclusive ? v <= m : v < m) {
          add("FieldValueInvalid", path,
              "Invalid value: " + shown(value) + ": " + path + " in body should be greater than " +
                  (exclusive ? "" : "or equal to ") + schema["minimum"].dump());
        }
      }
      if (schema.contains("maximum") && schema["maximum"].is_number()) {
        double m = schema["maximum"].get<double>();
        bool exclusive = flag(schema, "exclusiveMaximum");
        if (exclusive ? v >= m : v > m) {
          add("FieldValueInvalid", path,
              "Invalid value: " + shown(value) + ": " + path + " in body should be less than " +
                  (exclusive ? "" : "or equal to ") + schema["maximum"].dump());
        }
      }
    }
    if (value.is_string()) {
      const std::string& s = value.get_ref<const std::string&>();
      if (schema.contains("maxLength") && schema["maxLength"].is_number() &&
          static_cast<double>(s.size()) > schema["maxLength"].get<double>()) {
        add("FieldValueTooLong", path,
            "Too long: may not be more than " + schema["maxLength"].dump() + " bytes");
        return;  // the pattern is not run on overlong input
      }
      if (schema.contains("minLength") && schema["minLength"].is_number() &&
          static_cast<double>(s.size()) < schema["minLength"].get<double>()) {
        add("FieldValueInvalid", path,
            "Invalid value: " + shown(value) + ": " + path + " in body should be at least " +
                schema["minLength"].dump() + " chars long");
      }
      if (schema.contains("pattern") && schema["pattern"].is_string()) {
        const std::string& pattern = schema["pattern"].get_ref<const std::string&>();
        try {
          if (!std::regex_search(s, std::regex(pattern, std::regex::ECMAScript))) {
            add("FieldValueInvalid", path,
                "Invalid value: " + shown(value) + ": " + path + " in body should match '" + pattern + "'");
          }
        } catch (const std::regex_error&) {
          // A pattern std::regex cannot compile is not checked (the CRD was accepted by its author's server).
        }
      }
    }
  }

  // Whether `value` passes `schema` (no defaulting or pruning; a copy is walked).
  static bool passes(const json& schema, const json& value, const std::string& path, int depth) {
    Walker w(false);
    json copy = value;
    w.walk(schema, copy, path, depth);
    return w.causes.empty();
  }

  void checkCombinators(const json& schema, const json& value, const std::string& path, int depth) {
    if (schema.contains("allOf") && schema["allOf"].is_array()) {
      for (const auto& s : schema["allOf"]) {
        json copy = value;
        Walker w(false);
        w.walk(s, copy, path, depth + 1);
        causes.insert(causes.end(), w.causes.begin(), w.causes.end());
      }
    }
    if (schema.contains("oneOf") && schema["oneOf"].is_array()) {
      size_t n = 0;
      for (const auto& s : schema["oneOf"]) {
        n += passes(s, value, path, depth + 1) ? 1 : 0;
      }
      if (n != 1) {
        add("FieldValueInvalid", path,
            "Invalid value: \"" + typeOf(value) + "\": " + path +
                " in body must validate one and only one schema (oneOf). Found " +
                (n == 0 ? std::string("none valid") : std::to_string(n) + " valid alternatives"));
      }
    }
    if (schema.contains("anyOf") && schema["anyOf"].is_array()) {
      bool any = false;
      for (const auto& s : schema["anyOf"]) {
        any = any || passes(s, value, path, depth + 1);
      }
      if (!any) {
        add("FieldValueInvalid", path,
            "Invalid value: \"" + typeOf(value) + "\": " + path +
                " in body must validate at least one schema (anyOf)");
      }
    }
    if (schema.contains("not") && schema["not"].is_object() &&
        passes(schema["not"], value, path, depth + 1)) {
      add("FieldValueInvalid", path,
          "Invalid value: \"" + typeOf(value) + "\": " + path +
              " in body must not validate the schema (not)");
    }
  }
};

}  // namespace

std::vector<SchemaCause> validateCustomResource(const json& schema, json* object) {
  if (!schema.is_object() || object == nullptr || !object->is_object()) {
    return {};
  }
  // The root's apiVersion, kind and metadata are the store's business: walk the rest with a schema that
  // leaves them out, then put them back.
  json root_schema = schema;
  json saved = json::object();
  for (const char* key : {"apiVersion", "kind", "metadata"}) {
    if (object->contains(key)) {
      saved[key] = (*object)[key];
      object->erase(key);
    }
    if (root_schema.contains("properties") && root_schema["properties"].is_object()) {
      root_schema["properties"].erase(key);
    }
    if (root_schema.contains("required") && root_schema["required"].is_array()) {
      json& req = root_schema["required"];
      req.erase(std::remove(req.begin(), req.end(), json(key)), req.end());
    }
  }
  Walker walker(true);
  walker.walk(root_schema, *object, "", 0);
  for (auto it = saved.begin(); it != saved.end(); ++it) {
    (*object)[it.key()] = it.value();
  }
  return walker.causes;
}

std::string summarizeCauses(const std::vector<SchemaCause>& causes) {
  auto one = [](const SchemaCause& c) { return c.field.empty() ? c.message : c.field + ": " + c.message; };
  if (causes.size() == 1) {
    return one(causes[0]);
  }
  std::string out = "[";
  for (size_t i = 0; i < causes.size(); ++i) {
    out += (i == 0 ? "" : ", ") + one(causes[i]);
  }
  return out + "]";
}

}  // namespace tokenstorm::kts
