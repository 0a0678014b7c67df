// Reading and writing LoadTests: text (YAML/JSON) → Node → LoadTest, and LoadTest → JSON.
//
// Decoding is strict: unknown fields, wrong types, out-of-range values are errors naming the field path.
// Decoding checks one field at a time; validate.h adds the rules that span fields.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/core/document.h"
#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::core {

// Decodes one document. Returns nullopt (and appends to *errors) when any field is wrong.
std::optional<LoadTest> decodeLoadTest(const Node& document, Diagnostics* errors);

// Decodes a status or a summary (e.g. read back from the API or from a report).
std::optional<LoadTestStatus> decodeStatus(const Node& node, Diagnostics* errors);
std::optional<Summary> decodeSummary(const Node& node, Diagnostics* errors);

struct LoadResult {
  std::vector<LoadTest> tests;  // one per non-empty document
  Diagnostics errors;           // parse and field errors of every document
};

// Parses text holding one or more LoadTest documents (YAML or JSON), decoding each.
LoadResult parseLoadTests(std::string_view text, const ParseLimits& limits = {});

// JSON forms, as stored in the API and written to reports. Keys follow the API's spelling and order.
nlohmann::ordered_json toJson(const LoadTest& test);
nlohmann::ordered_json toJson(const LoadTestSpec& spec);
nlohmann::ordered_json toJson(const LoadTestStatus& status);
nlohmann::ordered_json toJson(const Summary& summary);

// Conversions between the Node tree and nlohmann JSON (objects read from the API become Nodes).
Node nodeFromJson(const nlohmann::json& json);
nlohmann::ordered_json nodeToJson(const Node& node);

}  // namespace tokenstorm::core
