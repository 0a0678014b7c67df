#include "tokenstorm/core/document.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cstdio>
#include <sstream>
#include <unordered_map>

namespace tokenstorm::core {

Node Node::scalar(Kind kind, std::string text, Mark mark) {
  Node n;
  n.kind_ = kind;
  n.text_ = std::move(text);
  n.mark_ = mark;
  return n;
}

Node Node::sequence(Mark mark) {
  Node n;
  n.kind_ = Kind::Sequence;
  n.mark_ = mark;
  return n;
}

Node Node::mapping(Mark mark) {
  Node n;
  n.kind_ = Kind::Mapping;
  n.mark_ = mark;
  return n;
}

const Node* Node::find(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) {
      return &e.value;
    }
  }
  return nullptr;
}

void Node::append(Node item) {
  items_.push_back(std::move(item));
}

void Node::set(std::string key, Node value, Mark key_mark) {
  for (auto& e : entries_) {
    if (e.key == key) {
      e.value = std::move(value);
      e.key_mark = key_mark;
      return;
    }
  }
  entries_.push_back(Entry{std::move(key), key_mark, std::move(value)});
}

size_t Node::size() const {
  size_t n = 1;
  for (const auto& i : items_) {
    n += i.size();
  }
  for (const auto& e : entries_) {
    n += e.value.size();
  }
  return n;
}

const char* Node::kindName(Kind kind) {
  switch (kind) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return "boolean";
    case Kind::Int:
    case Kind::Float:
      return "number";
    case Kind::String:
      return "string";
    case Kind::Sequence:
      return "list";
    case Kind::Mapping:
      return "mapping";
  }
  return "value";
}

std::string quoteForMessage(std::string_view text) {
  constexpr size_t kMaxShown = 60;
  std::string out = "\"";
  size_t shown = 0;
  for (char c : text) {
    if (shown++ == kMaxShown) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Node::describe() const {
  switch (kind_) {
    case Kind::Null:
      return "null";
    case Kind::Bool:
      return "boolean " + text_;
    case Kind::Int:
    case Kind::Float:
      return "number " + text_;
    case Kind::String:
      return quoteForMessage(text_);
    case Kind::Sequence:
      return "a list";
    case Kind::Mapping:
      return "a mapping";
  }
  return "a value";
}

namespace {

bool isOneOf(std::string_view s, std::initializer_list<std::string_view> words) {
  for (auto w : words) {
    if (s == w) {
      return true;
    }
  }
  return false;
}

bool isDigits(std::string_view s, bool hex = false) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool looksLikeInt(std::string_view s) {
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    return isDigits(s.substr(2), s[1] == 'x');
  }
  return isDigits(s);
}

bool looksLikeFloat(std::string_view s) {
  if (isOneOf(s, {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
                  ".NaN", ".NAN"})) {
    return true;
  }
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  size_t i = 0;
  size_t int_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
    ++i;
    ++int_digits;
  }
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
      ++frac_digits;
    }
  }
  if (int_digits + frac_digits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
      ++i;
    }
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      ++i;
      ++exp_digits;
    }
    if (exp_digits == 0) {
      return false;
    }
  }
  return i == s.size();
}

// Resolves a plain (unquoted) scalar. YAML 1.2 core schema, plus the YAML 1.1 booleans that kubectl's
// YAML reader (go-yaml v2) still applies, so that a file means the same here and under `kubectl apply`.
Node::Kind resolvePlain(std::string_view s) {
  if (isOneOf(s, {"", "~", "null", "Null", "NULL"})) {
    return Node::Kind::Null;
  }
  if (isOneOf(s, {"true", "True", "TRUE", "false", "False", "FALSE", "yes", "Yes", "YES", "no", "No",
                  "NO",   "on",   "On",   "ON",    "off",   "Off",   "OFF", "y",   "Y",   "n",  "N"})) {
    return Node::Kind::Bool;
  }
  if (looksLikeInt(s)) {
    return Node::Kind::Int;
  }
  if (looksLikeFloat(s)) {
    return Node::Kind::Float;
  }
  return Node::Kind::String;
}

Mark toMark(const YAML::Mark& m) {
  if (m.is_null()) {
    return {};
  }
  return Mark{m.line + 1, m.column + 1};
}

// Thrown inside the event handler to stop the parse; caught in parseDocuments. Never escapes.
struct Abort {
  Diagnostic diagnostic;
};

class TreeBuilder : public YAML::EventHandler {
 public:
  explicit TreeBuilder(const ParseLimits& limits) : limits_(limits) {}

  Node takeDocument() { return std::move(document_); }

  void OnDocumentStart(const YAML::Mark&) override {
    document_ = Node();
    have_document_ = false;
    anchors_.clear();
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    add(Node::scalar(Node::Kind::Null, "", toMark(mark)), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      fail(toMark(mark), "alias refers to an anchor that is not complete yet (recursive alias)");
    }
    count(it->second.size(), toMark(mark));
    add(Node(it->second), 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node::Kind kind = Node::Kind::String;
    if (tag == "?") {
      kind = resolvePlain(value);
    } else if (tag == "!" || tag == "tag:yaml.org,2002:str") {
      kind = Node::Kind::String;
    } else if (tag == "tag:yaml.org,2002:int" && looksLikeInt(value)) {
      kind = Node::Kind::Int;
    } else if (tag == "tag:yaml.org,2002:float" && (looksLikeFloat(value) || looksLikeInt(value))) {
      kind = Node::Kind::Float;
    } else {
      fail(toMark(mark),
           "unsupported YAML tag " + quoteForMessage(tag) + " on value " + quoteForMessage(value));
    }
    add(Node::scalar(kind, value, toMark(mark)), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(Node::sequence(toMark(mark)), anchor);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(Node::mapping(toMark(mark)), anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    Node node;
    YAML::anchor_t anchor = 0;
    bool have_key = false;
    std::string key;
    Mark key_mark;
  };

  [[noreturn]] void fail(Mark mark, std::string message) {
    throw Abort{Diagnostic{"", std::move(message), mark}};
  }

  void count(size_t n, Mark mark) {
    nodes_ += n;
    if (nodes_ > limits_.max_nodes) {
      fail(mark, "document has more than " + std::to_string(limits_.max_nodes) +
                     " values after expanding aliases (an alias bomb?); refusing to expand it");
    }
  }

  void open(Node node, YAML::anchor_t anchor) {
    count(1, node.mark());
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      fail(node.mark(), "nesting deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    stack_.push_back(Frame{std::move(node), anchor, false, {}, {}});
  }

  void close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    if (frame.have_key) {
      fail(frame.key_mark, "mapping key " + quoteForMessage(frame.key) + " has no value");
    }
    add(std::move(frame.node), frame.anchor, /*counted=*/true);
  }

  void add(Node node, YAML::anchor_t anchor, bool counted = false) {
    if (!counted && node.isScalar()) {
      count(1, node.mark());
    }
    if (anchor != 0) {
      anchors_[anchor] = node;
    }
    if (stack_.empty()) {
      if (have_document_) {
        fail(node.mark(), "more than one value at the top of a document");
      }
      document_ = std::move(node);
      have_document_ = true;
      return;
    }
    Frame& top = stack_.back();
    if (top.node.isSequence()) {
      top.node.append(std::move(node));
      return;
    }
    if (!top.have_key) {
      if (!node.isScalar() || node.isNull()) {
        fail(node.mark(), "mapping keys must be plain strings");
      }
      if (top.node.find(node.text()) != nullptr) {
        fail(node.mark(), "duplicate key " + quoteForMessage(node.text()));
      }
      top.key = node.text();
      top.key_mark = node.mark();
      top.have_key = true;
      return;
    }
    top.node.set(std::move(top.key), std::move(node), top.key_mark);
    top.key.clear();
    top.have_key = false;
  }

  const ParseLimits& limits_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Node> anchors_;
  Node document_;
  bool have_document_ = false;
  size_t nodes_ = 0;
};

Mark markAtOffset(std::string_view text, size_t offset) {
  Mark m{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++m.line;
      m.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++m.column;
    }
  }
  return m;
}

}  // namespace

Node::Kind resolvePlainScalar(std::string_view text) {
  return resolvePlain(text);
}

bool checkUtf8(std::string_view text, Diagnostic* error) {
  size_t i = 0;
  const size_t n = text.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      // C0 controls other than tab, LF and CR are not allowed in YAML or JSON text.
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
        if (error != nullptr) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "control byte 0x%02x at offset %zu is not allowed in a spec", c, i);
          *error = Diagnostic{"", buf, markAtOffset(text, i)};
        }
        return false;
      }
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Reject overlong forms, surrogates and code points past U+10FFFF.
    if (ok) {
      ok = !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) && !(len == 4 && cp < 0x10000) &&
           !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    }
    if (!ok) {
      if (error != nullptr) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "byte 0x%02x at offset %zu is not valid UTF-8", c, i);
        *error = Diagnostic{"", buf, markAtOffset(text, i)};
      }
      return false;
    }
    i += len;
  }
  return true;
}

ParsedDocuments parseDocuments(std::string_view text, const ParseLimits& limits) {
  ParsedDocuments out;
  if (text.size() > limits.max_bytes) {
    out.errors.push_back(Diagnostic{"",
                                    "input is " + std::to_string(text.size()) + " bytes; the limit is " +
                                        std::to_string(limits.max_bytes) + " bytes",
                                    {}});
    return out;
  }
  Diagnostic bad;
  if (!checkUtf8(text, &bad)) {
    out.errors.push_back(std::move(bad));
    return out;
  }
  std::istringstream in{std::string(text)};
  try {
    YAML::Parser parser(in);
    TreeBuilder builder(limits);
    while (parser.HandleNextDocument(builder)) {
      if (out.documents.size() == limits.max_documents) {
        out.errors.push_back(Diagnostic{
            "", "more than " + std::to_string(limits.max_documents) + " documents in one input", {}});
        break;
      }
      out.documents.push_back(builder.takeDocument());
    }
  } catch (const Abort& a) {
    out.errors.push_back(a.diagnostic);
  } catch (const YAML::Exception& e) {
    out.errors.push_back(Diagnostic{"", "invalid YAML/JSON: " + e.msg, toMark(e.mark)});
  } catch (const std::exception& e) {
    // yaml-cpp may throw standard exceptions (e.g. bad_alloc on absurd input); report, never crash.
    out.errors.push_back(Diagnostic{"", std::string("could not parse: ") + e.what(), {}});
  }
  if (!out.errors.empty()) {
    out.documents.clear();
  }
  return out;
}

}  // namespace tokenstorm::core
