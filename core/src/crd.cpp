// The schema generator: field descriptions → structural OpenAPI v3 schema (apiextensions.k8s.io/v1).
#include "tokenstorm/core/crd.h"

#include <nlohmann/json.hpp>

#include "tokenstorm/core/loadtest_fields.h"
#include "tokenstorm/core/yaml_emit.h"

namespace tokenstorm::core {
namespace {

using Json = nlohmann::ordered_json;

// Go-style duration; the sign is allowed only where negative values are (nowhere in v1alpha1's bounds).
constexpr const char* kDurationPattern = "^(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$";
constexpr const char* kDecimalPattern = "^[0-9]+(\\.[0-9]{1,9})?$";
constexpr const char* kQuantityPattern =
    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|("
    "\\.[0-9]+))))?$";

class SchemaBuilder {
 public:
  SchemaBuilder(Json* properties, Json* object) : properties_(properties), object_(object) {}

  template <class T>
  void field(T& value, const F& f) {
    Json s = Json::object();
    s["description"] = std::string(f.doc);
    schemaOf(value, f, s);
    if (f.publishDefault) {
      Json d = encodeLeaf(value);
      if (!d.is_null()) {
        s["default"] = std::move(d);
      }
    }
    (*properties_)[std::string(f.name)] = std::move(s);
    if (f.isRequired) {
      (*object_)["required"].push_back(std::string(f.name));
    }
  }

  void oneOf(std::initializer_list<std::string_view> names) {
    Json alternatives = Json::array();
    for (auto n : names) {
      alternatives.push_back(Json{{"required", Json::array({std::string(n)})}});
    }
    (*object_)["oneOf"] = std::move(alternatives);
  }

  void lenient() { (*object_)["x-kubernetes-preserve-unknown-fields"] = true; }

  template <class T>
  static Json objectSchema(T& value) {
    Json s = Json::object();
    s["type"] = "object";
    Json props = Json::object();
    SchemaBuilder inner(&props, &s);
    describe(inner, value);
    s["properties"] = std::move(props);
    // Keep `required` and `oneOf` after `properties` for a readable CRD.
    for (const char* key : {"required", "oneOf"}) {
      if (s.contains(key)) {
        Json v = s[key];
        s.erase(key);
        s[key] = std::move(v);
      }
    }
    return s;
  }

 private:
  static void bounds(const F& f, Json& s, bool integer) {
    if (f.isPositive) {
      if (integer) {
        s["minimum"] = 1;
      } else {
        s["minimum"] = 0;
        s["exclusiveMinimum"] = true;
      }
    } else if (f.isNonNegative) {
      s["minimum"] = 0;
    }
    if (f.minimum) {
      s["minimum"] = integer ? Json(static_cast<int64_t>(*f.minimum)) : Json(*f.minimum);
    }
    if (f.maximum) {
      s["maximum"] = integer ? Json(static_cast<int64_t>(*f.maximum)) : Json(*f.maximum);
    }
  }

  static void schemaOf(std::string&, const F& f, Json& s) {
    s["type"] = "string";
    if (f.maxLength > 0) {
      s["maxLength"] = f.maxLength;
    }
    if (!f.pattern.empty()) {
      s["pattern"] = std::string(f.pattern);
    }
  }
  static void schemaOf(bool&, const F&, Json& s) { s["type"] = "boolean"; }
  static void schemaOf(int64_t&, const F& f, Json& s) {
    s["type"] = "integer";
    s["format"] = "int64";
    bounds(f, s, true);
  }
  static void schemaOf(double&, const F& f, Json& s) {
    s["type"] = "number";
    bounds(f, s, false);
  }
  static void schemaOf(Duration&, const F&, Json& s) {
    s["type"] = "string";
    s["pattern"] = kDurationPattern;
  }
  static void schemaOf(Decimal&, const F&, Json& s) {
    s["type"] = "string";
    s["pattern"] = kDecimalPattern;
  }
  static void schemaOf(Quantity&, const F&, Json& s) {
    s["anyOf"] = Json::array({Json{{"type", "integer"}}, Json{{"type", "string"}}});
    s["pattern"] = kQuantityPattern;
    s["x-kubernetes-int-or-string"] = true;
  }
  static void schemaOf(Node&, const F&, Json& s) {
    s["type"] = "object";
    s["x-kubernetes-preserve-unknown-fields"] = true;
  }
  static void schemaOf(ThresholdValue&, const F&, Json& s) {
    // A duration string or a number (which may be fractional, so int-or-string does not fit).
    s["x-kubernetes-preserve-unknown-fields"] = true;
  }
  static void schemaOf(ObjectMeta&, const F&, Json& s) { s["type"] = "object"; }
  template <class E>
  requires std::is_enum_v<E>
  static void schemaOf(E&, const F&, Json& s) {
    s["type"] = "string";
    Json values = Json::array();
    for (const auto& [v, name] : EnumTable<E>::kValues) {
      values.push_back(std::string(name));
    }
    s["enum"] = std::move(values);
  }
  template <class T>
  static void schemaOf(std::optional<T>&, const F& f, Json& s) {
    T inner{};
    schemaOf(inner, f, s);
  }
  template <class T>
  static void schemaOf(std::vector<T>&, const F& f, Json& s) {
    s["type"] = "array";
    T item{};
    Json is = Json::object();
    F item_f = f;
    item_f.minItems = item_f.maxItems = 0;
    schemaOf(item, item_f, is);
    s["items"] = std::move(is);
    if (f.minItems > 0) {
      s["minItems"] = f.minItems;
    }
    if (f.maxItems > 0) {
      s["maxItems"] = f.maxItems;
    }
  }
  template <class T>
  static void schemaOf(std::map<std::string, T>&, const F& f, Json& s) {
    s["type"] = "object";
    T item{};
    Json is = Json::object();
    schemaOf(item, f, is);
    s["additionalProperties"] = std::move(is);
  }
  template <class T>
  requires requires(SchemaBuilder& b, T& t) { describe(b, t); }
  static void schemaOf(T& value, const F&, Json& s) {
    Json object = objectSchema(value);  // named: items() does not extend a temporary's lifetime
    for (auto& [k, v] : object.items()) {
      s[k] = v;
    }
  }

  template <class T>
  static Json encodeLeaf(const T& value);

  Json* properties_;
  Json* object_;
};

// Defaults are published for leaves only (enums, numbers, booleans, durations, lists of enums).
template <class T>
Json SchemaBuilder::encodeLeaf(const T& value) {
  if constexpr (std::is_enum_v<T>) {
    return std::string(enumName(value));
  } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
    return value;
  } else if constexpr (std::is_same_v<T, Duration>) {
    return value.str();
  } else if constexpr (std::is_same_v<T, std::vector<RetryOn>>) {
    Json a = Json::array();
    for (auto v : value) {
      a.push_back(std::string(enumName(v)));
    }
    return a;
  } else {
    return nullptr;
  }
}

Json printerColumn(const char* name, const char* type, const char* path, const char* description,
                   int priority = 0) {
  Json c = Json::object();
  c["name"] = name;
  c["type"] = type;
  c["jsonPath"] = path;
  c["description"] = description;
  if (priority > 0) {
    c["priority"] = priority;
  }
  return c;
}

}  // namespace

Json generateCrd() {
  LoadTestSpec spec;
  LoadTestStatus status;
  Json root = Json::object();
  root["description"] =
      "LoadTest runs a load test against LLM endpoints and records the results in its status.";
  root["type"] = "object";
  Json props = Json::object();
  props["apiVersion"] = Json{{"description", "APIVersion of this object."}, {"type", "string"}};
  props["kind"] = Json{{"description", "Kind of this object."}, {"type", "string"}};
  props["metadata"] = Json{{"type", "object"}};
  Json spec_schema = SchemaBuilder::objectSchema(spec);
  spec_schema["description"] = "What to test, how hard, and what counts as passing.";
  props["spec"] = std::move(spec_schema);
  Json status_schema = SchemaBuilder::objectSchema(status);
  status_schema["description"] = "Written by the operator: phase, conditions, results so far.";
  props["status"] = std::move(status_schema);
  root["properties"] = std::move(props);
  root["required"] = Json::array({"spec"});

  Json version = Json::object();
  version["name"] = "v1alpha1";
  version["served"] = true;
  version["storage"] = true;
  version["subresources"] = Json{{"status", Json::object()}};
  version["additionalPrinterColumns"] = Json::array({
      printerColumn("Phase", "string", ".status.phase", "Lifecycle phase."),
      printerColumn("Stage", "string", ".status.stage.name", "Current load stage."),
      printerColumn("Req/s", "number", ".status.summary.requestsPerSecond", "Completed requests per second."),
      printerColumn("TTFT-p95", "number", ".status.summary.ttftMs.p95",
                    "95th percentile time to first token, ms."),
      printerColumn("Errors", "integer", ".status.summary.requests.failed", "Failed requests."),
      printerColumn("Cost", "string", ".status.summary.cost.spentUsd", "Spent so far, USD."),
      printerColumn("Verdict", "string", ".status.verdict", "Pass or Fail."),
      printerColumn("Age", "date", ".metadata.creationTimestamp", "Time since creation."),
  });
  version["schema"] = Json{{"openAPIV3Schema", std::move(root)}};

  Json crd = Json::object();
  crd["apiVersion"] = "apiextensions.k8s.io/v1";
  crd["kind"] = "CustomResourceDefinition";
  crd["metadata"] = Json{{"name", "loadtests.tokenstorm.dev"},
                         {"labels", Json{{"app.kubernetes.io/name", "tokenstorm"},
                                         {"app.kubernetes.io/part-of", "tokenstorm"}}}};
  Json names = Json::object();
  names["kind"] = "LoadTest";
  names["listKind"] = "LoadTestList";
  names["plural"] = "loadtests";
  names["singular"] = "loadtest";
  names["shortNames"] = Json::array({"lt"});
  names["categories"] = Json::array({"tokenstorm"});  // deliberately not `all`: kubectl get all stays quiet
  Json spec_out = Json::object();
  spec_out["group"] = kApiGroup;
  spec_out["names"] = std::move(names);
  spec_out["scope"] = "Namespaced";
  spec_out["versions"] = Json::array({std::move(version)});
  crd["spec"] = std::move(spec_out);
  return crd;
}

std::string generateCrdYaml() {
  return "# Generated by `tokenstorm crd` from core/include/tokenstorm/core/loadtest_fields.h. Do not edit: "
         "a test fails on "
         "drift.\n"
         "---\n" +
         toYaml(generateCrd());
}

}  // namespace tokenstorm::core
