#include "tokenstorm/core/diagnostic.h"

namespace tokenstorm::core {

std::string Diagnostic::str() const {
  if (path.empty()) {
    return message;
  }
  return path + ": " + message;
}

std::string Diagnostic::str(const std::string& source) const {
  std::string out = source;
  if (mark.line > 0) {
    out += ":" + std::to_string(mark.line) + ":" + std::to_string(mark.column);
  }
  return out + ": " + str();
}

}  // namespace tokenstorm::core
