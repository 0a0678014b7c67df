// Decoding LoadTests, statuses and summaries: the generic decoder over loadtest_fields.h.
#include "tokenstorm/core/decoder.h"
#include "tokenstorm/core/loadtest_fields.h"
#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::core {

std::optional<LoadTest> decodeLoadTest(const Node& document, Diagnostics* errors) {
  LoadTest test;
  Decoder d(errors);
  if (!d.decodeRoot(document, test, "")) {
    return std::nullopt;
  }
  return test;
}

std::optional<LoadTestStatus> decodeStatus(const Node& node, Diagnostics* errors) {
  LoadTestStatus status;
  Decoder d(errors);
  if (!d.decodeRoot(node, status, "status")) {
    return std::nullopt;
  }
  return status;
}

std::optional<Summary> decodeSummary(const Node& node, Diagnostics* errors) {
  Summary summary;
  Decoder d(errors);
  if (!d.decodeRoot(node, summary, "summary")) {
    return std::nullopt;
  }
  return summary;
}

LoadResult parseLoadTests(std::string_view text, const ParseLimits& limits) {
  LoadResult result;
  ParsedDocuments parsed = parseDocuments(text, limits);
  if (!parsed.errors.empty()) {
    result.errors = std::move(parsed.errors);
    return result;
  }
  for (const Node& doc : parsed.documents) {
    if (doc.isNull()) {
      continue;  // an empty document between `---` separators
    }
    if (auto test = decodeLoadTest(doc, &result.errors)) {
      result.tests.push_back(std::move(*test));
    }
  }
  if (result.tests.empty() && result.errors.empty()) {
    result.errors.push_back(Diagnostic{"", "no LoadTest found (the input is empty)", {}});
  }
  return result;
}

}  // namespace tokenstorm::core
