// Field descriptions: one description per field drives parsing, JSON encoding and the CRD schema.
//
// A type T is described by a free function `template <class V> void describe(V& v, T& t)` that calls
// `v.field(t.member, F("wireName", "doc").required()...)` for each member. Visitors (the decoder, the
// encoder, the schema generator) implement `field`, `oneOf` and `lenient`. Constraints given here (bounds,
// patterns, required) are enforced by the decoder AND published in the CRD, so both agree by construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <type_traits>

namespace tokenstorm::core {

struct F {
  std::string_view name;
  std::string_view doc;
  bool isRequired = false;
  bool publishDefault = false;  // the CRD carries the C++ default, so the API server applies it
  bool isPositive = false;      // > 0 (numbers and durations)
  bool isNonNegative = false;   // >= 0 (numbers, durations, decimals)
  std::optional<double> minimum;
  std::optional<double> maximum;
  std::string_view pattern;                          // ECMA regex, anchored, published in the CRD
  bool (*patternCheck)(std::string_view) = nullptr;  // the same rule, as code, for the decoder
  std::string_view patternHint;
  int64_t maxLength = 0;
  int64_t minItems = 0;
  int64_t maxItems = 0;

  constexpr F(std::string_view n, std::string_view d) : name(n), doc(d) {}

  constexpr F required() const {
    F f = *this;
    f.isRequired = true;
    return f;
  }
  constexpr F withDefault() const {
    F f = *this;
    f.publishDefault = true;
    return f;
  }
  constexpr F positive() const {
    F f = *this;
    f.isPositive = true;
    return f;
  }
  constexpr F nonNegative() const {
    F f = *this;
    f.isNonNegative = true;
    return f;
  }
  constexpr F min(double m) const {
    F f = *this;
    f.minimum = m;
    return f;
  }
  constexpr F max(double m) const {
    F f = *this;
    f.maximum = m;
    return f;
  }
  constexpr F matching(std::string_view regex, bool (*check)(std::string_view), std::string_view hint,
                       int64_t max_length) const {
    F f = *this;
    f.pattern = regex;
    f.patternCheck = check;
    f.patternHint = hint;
    f.maxLength = max_length;
    return f;
  }
  constexpr F items(int64_t min_items, int64_t max_items) const {
    F f = *this;
    f.minItems = min_items;
    f.maxItems = max_items;
    return f;
  }
};

// Unions ("exactly one of" types such as Dist) are replaced, not merged, when a document is decoded onto an
// existing value (POST /admin/config-style partial updates): switching `fixed` to `uniform` must drop
// `fixed`. Specialize for each union type.
template <class T>
struct IsUnion : std::false_type {};

// Names used in many places: a DNS-1123 label (Kubernetes object names, our endpoint and class names).
inline constexpr std::string_view kDnsLabel = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
constexpr bool isDnsLabel(std::string_view s) {
  if (s.empty() || s.front() == '-' || s.back() == '-') {
    return false;
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return false;
    }
  }
  return true;
}
inline constexpr std::string_view kDnsLabelHint =
    "lower-case letters, digits and '-', starting and ending with a letter or digit";

}  // namespace tokenstorm::core
