// Kubernetes label and field selectors: the string form a user writes (and the API server takes as
// `labelSelector=` / `fieldSelector=`), parsed into requirements that match labels or objects.
//
// Label selector grammar (as k8s.io/apimachinery/pkg/labels parses it), whitespace allowed between tokens:
//   selector    := "" | requirement ("," requirement)*
//   requirement := KEY | "!" KEY | KEY ("=" | "==" | "!=") VALUE | KEY ("in" | "notin") "(" VALUE (","
//   VALUE)* ")"
// A value may be empty (`a=` means "a is the empty string"; `a in ()` is the set {""}), as upstream.
// Keys and values are checked against the Kubernetes rules:
//   key   := [prefix "/"] name; prefix a DNS-1123 subdomain (lowercase alphanumerics, '-', '.', ≤ 253);
//   name  := ≤ 63 chars, [A-Za-z0-9] at both ends, [-A-Za-z0-9_.] inside;  value := "" or like a name.
// Matching (upstream semantics): `!=` and `notin` also match when the key is absent; `a` needs the key,
// `!a` needs it absent; the empty selector matches everything. Set-based `gt`/`lt` are not supported.
//
// Field selectors: `metadata.name` and `metadata.namespace` with `=`, `==`, `!=`, comma-separated; in a
// value `\,` `\=` `\\` escape those characters. An absent field reads as "" (cluster-scoped objects have
// no namespace), as the API server does.
//
// Errors are values: SelectorError names the byte offset (0-based) in the input and what was expected.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tokenstorm::kube {

using Labels = std::map<std::string, std::string>;

struct SelectorError {
  size_t offset = 0;    // byte offset in the selector text
  std::string message;  // "at byte N: expected ..., found ..."
};

enum class LabelOp { kEquals, kNotEquals, kIn, kNotIn, kExists, kDoesNotExist };

struct LabelRequirement {
  std::string key;
  LabelOp op = LabelOp::kExists;
  std::vector<std::string> values;  // one for = and !=, sorted and unique for in/notin, none otherwise

  bool matches(const Labels& labels) const;
  bool operator==(const LabelRequirement&) const = default;
};

class LabelSelector {
 public:
  LabelSelector() = default;  // the empty selector: matches everything

  // Parses the string form; on failure returns nullopt and fills *error.
  static std::optional<LabelSelector> parse(std::string_view text, SelectorError* error);

  bool matches(const Labels& labels) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<LabelRequirement>& requirements() const { return requirements_; }
  // Canonical string form (no spaces, `=` for equality, sets sorted), parseable again.
  std::string str() const;

 private:
  std::vector<LabelRequirement> requirements_;
};

// Kubernetes rules for label keys and values; nullopt when valid, otherwise why not.
std::optional<std::string> validateLabelKey(std::string_view key);
std::optional<std::string> validateLabelValue(std::string_view value);

enum class FieldOp { kEquals, kNotEquals };

struct FieldRequirement {
  std::string field;  // "metadata.name" or "metadata.namespace"
  FieldOp op = FieldOp::kEquals;
  std::string value;

  bool matches(const nlohmann::json& object) const;
  bool operator==(const FieldRequirement&) const = default;
};

class FieldSelector {
 public:
  FieldSelector() = default;  // matches everything

  static std::optional<FieldSelector> parse(std::string_view text, SelectorError* error);

  bool matches(const nlohmann::json& object) const;
  bool empty() const { return requirements_.empty(); }
  const std::vector<FieldRequirement>& requirements() const { return requirements_; }
  std::string str() const;  // canonical form with escapes

 private:
  std::vector<FieldRequirement> requirements_;
};

}  // namespace tokenstorm::kube
