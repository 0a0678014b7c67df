// A small YAML emitter for JSON values: block style, two-space indent, strings quoted only where a YAML
// reader (YAML 1.1 or 1.2) would otherwise read them as something else. Used for the CRD and for output
// users read. Output is deterministic (key order is the JSON's order).
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace tokenstorm::core {

std::string toYaml(const nlohmann::ordered_json& value);

}  // namespace tokenstorm::core
