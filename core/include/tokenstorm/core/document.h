// A parsed YAML or JSON document: one small tree type for both, with positions.
//
// Specs arrive as YAML (kubectl-style files), as JSON (CI tools, `kubectl get -o json`) or as objects
// read from the Kubernetes API. All become a `Node` tree, so the decoder and its error messages are the
// same whatever the source. Scalars keep the text as written (so "40.00" stays exact) and a resolved kind
// (YAML 1.2 core schema, plus YAML 1.1's yes/no/on/off as booleans, because kubectl reads them that way).
//
// The parser is built for untrusted input: size, depth and node-count limits (the last defuses alias
// bombs), UTF-8 validation with the offending byte named, duplicate keys rejected. It never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenstorm/core/diagnostic.h"

namespace tokenstorm::core {

class Node {
 public:
  enum class Kind : uint8_t { Null, Bool, Int, Float, String, Sequence, Mapping };

  struct Entry;

  Node() = default;
  static Node scalar(Kind kind, std::string text, Mark mark = {});
  static Node sequence(Mark mark = {});
  static Node mapping(Mark mark = {});

  Kind kind() const { return kind_; }
  bool isScalar() const { return kind_ != Kind::Sequence && kind_ != Kind::Mapping; }
  bool isNull() const { return kind_ == Kind::Null; }
  bool isMapping() const { return kind_ == Kind::Mapping; }
  bool isSequence() const { return kind_ == Kind::Sequence; }
  const std::string& text() const { return text_; }
  Mark mark() const { return mark_; }

  const std::vector<Node>& items() const { return items_; }
  const std::vector<Entry>& entries() const { return entries_; }
  // The value of key `key` in a mapping, or nullptr.
  const Node* find(std::string_view key) const;

  void append(Node item);
  void set(std::string key, Node value, Mark key_mark = {});

  // Total number of nodes in this subtree (this one included).
  size_t size() const;

  // A short human description for error messages: `"5s"`, `number 40.5`, `a mapping`.
  std::string describe() const;
  static const char* kindName(Kind kind);

 private:
  Kind kind_ = Kind::Null;
  std::string text_;
  Mark mark_;
  std::vector<Node> items_;
  std::vector<Entry> entries_;
};

struct Node::Entry {
  std::string key;
  Mark key_mark;
  Node value;
};

struct ParseLimits {
  size_t max_bytes = 1u << 20;  // 1 MiB: more than any sane spec; the Kubernetes object limit is ~1.5 MB
  size_t max_nodes = 100'000;   // after alias expansion
  int max_depth = 64;           // nesting of mappings and sequences
  size_t max_documents = 100;
};

struct ParsedDocuments {
  std::vector<Node> documents;
  Diagnostics errors;  // non-empty means the text could not be parsed; documents is then empty
};

// Parses one or more YAML documents (JSON is accepted as the YAML 1.2 subset it is).
ParsedDocuments parseDocuments(std::string_view text, const ParseLimits& limits = {});

// Checks that `text` is valid UTF-8; on failure names the byte, its offset, line and column.
bool checkUtf8(std::string_view text, Diagnostic* error);

// How a plain (unquoted) YAML scalar resolves: Null, Bool, Int, Float or String.
Node::Kind resolvePlainScalar(std::string_view text);

// Formats a scalar as it would be quoted in a message: strings in double quotes, others bare.
std::string quoteForMessage(std::string_view text);

}  // namespace tokenstorm::core
