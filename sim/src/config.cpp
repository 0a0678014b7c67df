#include "tokenstorm/sim/config.h"

#include "tokenstorm/core/decoder.h"
#include "tokenstorm/sim/config_fields.h"

namespace tokenstorm::sim {

std::optional<SimConfig> parseSimConfig(std::string_view text, core::Diagnostics* errors) {
  core::ParsedDocuments parsed = core::parseDocuments(text);
  if (!parsed.errors.empty()) {
    errors->insert(errors->end(), parsed.errors.begin(), parsed.errors.end());
    return std::nullopt;
  }
  SimConfig config;
  if (parsed.documents.empty() || parsed.documents[0].isNull()) {
    return config;  // an empty file means the defaults
  }
  if (parsed.documents.size() > 1) {
    errors->push_back(core::Diagnostic{"", "a simulator config is one document", {}});
    return std::nullopt;
  }
  if (!core::decodeInto(parsed.documents[0], config, errors)) {
    return std::nullopt;
  }
  if (!validateSimConfig(config, errors)) {
    return std::nullopt;
  }
  return config;
}

bool validateSimConfig(const SimConfig& config, core::Diagnostics* errors) {
  size_t before = errors->size();
  for (const auto& [code, p] : config.faults.errorRates) {
    int status = std::atoi(code.c_str());
    if (status < 400 || status > 599 || std::to_string(status) != code) {
      errors->push_back(
          core::Diagnostic{"faults.errorRates." + code, "must be an HTTP status code 400-599", {}});
    }
  }
  return errors->size() == before;
}

}  // namespace tokenstorm::sim
