// libFuzzer target: arbitrary bytes through the whole spec pipeline (parse → decode → validate → explain →
// encode). Any crash, hang, leak or sanitizer report is a bug: untrusted specs must only ever produce
// diagnostics. Run with scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenstorm/core/explain.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/validate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace core = tokenstorm::core;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  core::LoadResult r = core::parseLoadTests(text);
  for (const auto& t : r.tests) {
    core::Diagnostics errors;
    if (core::validate(t, &errors)) {
      (void)core::explain(t);
    }
    (void)core::toJson(t).dump();
  }
  return 0;
}
