// Tests only: YAML text (crds/, examples/) as JSON, the way kubectl sends it. Plain scalars resolve by the
// YAML 1.2 core schema (null, booleans, integers, floats); quoted ones stay strings.
#pragma once

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace tokenstorm::testing {

inline nlohmann::json yamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) {
        out[kv.first.as<std::string>()] = yamlToJson(kv.second);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& v : node) {
        out.push_back(yamlToJson(v));
      }
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string text = node.Scalar();
      if (node.Tag() == "!") {
        return text;  // quoted
      }
      if (text == "null" || text == "~" || text.empty()) {
        return nullptr;
      }
      if (text == "true" || text == "false") {
        return text == "true";
      }
      nlohmann::json number = nlohmann::json::parse(text, nullptr, false);
      if (!number.is_discarded() && number.is_number()) {
        return number;
      }
      return text;
    }
    default:
      return nullptr;
  }
}

// Every document of a YAML stream.
inline std::vector<nlohmann::json> yamlDocuments(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (const auto& doc : YAML::LoadAll(text)) {
    if (doc.IsDefined() && !doc.IsNull()) {
      out.push_back(yamlToJson(doc));
    }
  }
  return out;
}

}  // namespace tokenstorm::testing
