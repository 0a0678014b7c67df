// Rules that span fields, run after decoding (which already checked each field on its own).
// Messages name the field path and what was found: `spec.load.pattern.spike: at + duration (7m) must not
// exceed total (6m)`.
#pragma once

#include <string_view>

#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::core {

// Appends every violated rule to *errors. Returns true when the test is valid.
bool validate(const LoadTest& test, Diagnostics* errors);

// Whether a URL's host is inside the cluster or a private network (cluster DNS names, bare service names,
// localhost, loopback and private IP ranges) or the built-in simulator (sim://).
bool isInternalUrl(std::string_view url);

// Splits "scheme://host:port/path" into parts; false when it is not such a URL.
struct UrlParts {
  std::string scheme;
  std::string userinfo;
  std::string host;
  std::string port;
  std::string path;  // includes query
};
bool splitUrl(std::string_view url, UrlParts* parts);

}  // namespace tokenstorm::core
