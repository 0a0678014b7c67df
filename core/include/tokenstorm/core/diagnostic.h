// Diagnostics: an expected failure with the place it points at.
//
// Parsing and validation never throw at callers; they return a list of Diagnostics. Each names the field
// path (`spec.load.stages[2].duration`) and, where the input came from text, the line and column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tokenstorm::core {

// A position in a source text, 1-based. line == 0 means "no position" (e.g. an object read from the API).
struct Mark {
  int32_t line = 0;
  int32_t column = 0;
};

struct Diagnostic {
  std::string path;     // field path, e.g. "spec.load.stages[2].duration"; empty for document-level errors
  std::string message;  // what is wrong, and what was found
  Mark mark;

  // "path: message", or "message" when there is no path.
  std::string str() const;
  // "source:line:column: path: message" (line/column only when known).
  std::string str(const std::string& source) const;
};

using Diagnostics = std::vector<Diagnostic>;

}  // namespace tokenstorm::core
