// Custom resources against their CRD's structural openAPIV3Schema, as kube-apiserver treats them:
// 1. null values of non-nullable fields are dropped, then defaults are filled in where the parent exists;
// 2. unknown fields are pruned unless the schema says x-kubernetes-preserve-unknown-fields (or gives
//    additionalProperties, whose values are checked against it);
// 3. the result is validated: type (object/array/string/integer/number/boolean, x-kubernetes-int-or-string,
//    nullable), required, enum, minimum/maximum (exclusive too), minLength/maxLength, minItems/maxItems,
//    pattern (ECMAScript), oneOf/anyOf/allOf/not of the shapes structural schemas allow.
// The root's apiVersion, kind and metadata are left alone (the store checks metadata itself).
// Causes use kube's reasons and messages, so the 422 reads like the real one:
//   LoadTest.tokenstorm.dev "x" is invalid: spec.target.url: Required value
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tokenstorm::kts {

struct SchemaCause {
  std::string reason;   // "FieldValueRequired", "FieldValueInvalid", "FieldValueTypeInvalid", ...
  std::string field;    // "spec.target.endpoints[0].url"
  std::string message;  // "Required value", "Invalid value: \"x\": ..."
};

// Defaults, prunes and validates `*object` in place; returns the violations (empty when valid).
std::vector<SchemaCause> validateCustomResource(const nlohmann::json& schema, nlohmann::json* object);

// Kube's one-line summary of causes: "f: m" for one, "[f: m, g: n]" for several.
std::string summarizeCauses(const std::vector<SchemaCause>& causes);

}  // namespace tokenstorm::kts
