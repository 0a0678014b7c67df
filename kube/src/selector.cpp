#include "tokenstorm/kube/selector.h"

#include <algorithm>
#include <cstdio>

namespace tokenstorm::kube {
namespace {

constexpr size_t kMaxPrefixChars = 253;
constexpr size_t kMaxNameChars = 63;

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
// Characters that end an identifier: they are operators or separators in the grammar. `<` and `>` are
// upstream's gt/lt operators, which we do not support; they stop an identifier so the error points at them.
bool isSpecial(char c) {
  return isSpace(c) || c == '!' || c == '=' || c == ',' || c == '(' || c == ')' || c == '<' || c == '>';
}

std::string quoteChar(char ch) {
  auto c = static_cast<unsigned char>(ch);
  if (c < 0x20 || c >= 0x7F) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "byte 0x%02x", c);
    return hex;
  }
  return std::string("'") + ch + "'";
}

// "name" part of a key, or a non-empty value: [A-Za-z0-9] at both ends, [-A-Za-z0-9_.] inside.
std::optional<std::string> checkName(std::string_view s, const char* what) {
  if (s.size() > kMaxNameChars) {
    return std::string(what) + " must be at most 63 characters (has " + std::to_string(s.size()) + ")";
  }
  if (!isAlnum(s.front()) || !isAlnum(s.back())) {
    return std::string(what) + " must begin and end with an alphanumeric character";
  }
  for (char c : s) {
    if (!isAlnum(c) && c != '-' && c != '_' && c != '.') {
      return std::string(what) + " must consist of alphanumerics, '-', '_' or '.' (has " + quoteChar(c) + ")";
    }
  }
  return std::nullopt;
}

// A DNS-1123 subdomain: dot-separated labels of lowercase alphanumerics and '-', alphanumeric at both ends.
std::optional<std::string> checkPrefix(std::string_view s) {
  if (s.empty()) {
    return "prefix must not be empty";
  }
  if (s.size() > kMaxPrefixChars) {
    return "prefix must be at most 253 characters (has " + std::to_string(s.size()) + ")";
  }
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view part =
        s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty() || !isLowerAlnum(part.front()) || !isLowerAlnum(part.back())) {
      return "prefix must be a lowercase DNS subdomain (each dot-separated part begins and ends with "
             "[a-z0-9])";
    }
    for (char c : part) {
      if (!isLowerAlnum(c) && c != '-') {
        return "prefix must be a lowercase DNS subdomain (has " + quoteChar(c) + ")";
      }
    }
    if (dot == std::string_view::npos) {
      return std::nullopt;
    }
    start = dot + 1;
  }
}

class LabelParser {
 public:
  LabelParser(std::string_view text, SelectorError* error) : text_(text), error_(error) {}

  std::optional<std::vector<LabelRequirement>> run() {
    std::vector<LabelRequirement> out;
    skipSpace();
    if (atEnd()) {
      return out;  // the empty selector
    }
    while (true) {
      auto r = requirement();
      if (!r) {
        return std::nullopt;
      }
      out.push_back(std::move(*r));
      skipSpace();
      if (atEnd()) {
        return out;
      }
      if (text_[pos_] != ',') {
        return fail("',' or end of input");
      }
      ++pos_;
    }
  }

 private:
  bool atEnd() const { return pos_ >= text_.size(); }
  void skipSpace() {
    while (!atEnd() && isSpace(text_[pos_])) {
      ++pos_;
    }
  }
  std::string found() const { return atEnd() ? "end of input" : quoteChar(text_[pos_]); }
  std::nullopt_t fail(const std::string& expected) {
    return failAt(pos_, "expected " + expected + ", found " + found());
  }
  std::nullopt_t failAt(size_t offset, const std::string& what) {
    if (error_ != nullptr) {
      error_->offset = offset;
      error_->message = "at byte " + std::to_string(offset) + ": " + what;
    }
    return std::nullopt;
  }
  std::string_view identifier() {
    size_t start = pos_;
    while (!atEnd() && !isSpecial(text_[pos_])) {
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }

  std::optional<std::string> key() {
    skipSpace();
    size_t at = pos_;
    std::string_view k = identifier();
    if (k.empty()) {
      fail("a label key");
      return std::nullopt;
    }
    if (auto why = validateLabelKey(k)) {
      failAt(at, "invalid label key \"" + std::string(k) + "\": " + *why);
      return std::nullopt;
    }
    return std::string(k);
  }

  std::optional<std::string> value() {
    skipSpace();
    size_t at = pos_;
    std::string_view v = identifier();
    if (auto why = validateLabelValue(v)) {
      failAt(at, "invalid label value \"" + std::string(v) + "\": " + *why);
      return std::nullopt;
    }
    return std::string(v);
  }

  std::optional<LabelRequirement> requirement() {
    skipSpace();
    LabelRequirement r;
    if (!atEnd() && text_[pos_] == '!') {
      ++pos_;
      auto k = key();
      if (!k) {
        return std::nullopt;
      }
      r.key = std::move(*k);
      r.op = LabelOp::kDoesNotExist;
      return r;
    }
    if (atEnd() || isSpecial(text_[pos_])) {
      return fail("a label key or '!'");
    }
    auto k = key();
    if (!k) {
      return std::nullopt;
    }
    r.key = std::move(*k);
    skipSpace();
    if (atEnd() || text_[pos_] == ',') {
      r.op = LabelOp::kExists;
      return r;
    }
    const char* kOperators = "'=', '==', '!=', 'in', 'notin', ',' or end of input";
    if (text_[pos_] == '=' || text_[pos_] == '!') {
      if (text_[pos_] == '!') {
        if (pos_ + 1 >= text_.size() || text_[pos_ + 1] != '=') {
          ++pos_;
          return fail("'=' after '!'");
        }
        r.op = LabelOp::kNotEquals;
        pos_ += 2;
      } else {
        r.op = LabelOp::kEquals;
        pos_ += (pos_ + 1 < text_.size() && text_[pos_ + 1] == '=') ? 2 : 1;
      }
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      r.values.push_back(std::move(*v));
      return r;
    }
    size_t op_at = pos_;
    std::string_view word = identifier();
    if (word == "in") {
      r.op = LabelOp::kIn;
    } else if (word == "notin") {
      r.op = LabelOp::kNotIn;
    } else {
      pos_ = op_at;
      return fail(kOperators);
    }
    skipSpace();
    if (atEnd() || text_[pos_] != '(') {
      return fail("'(' after '" + std::string(word) + "'");
    }
    ++pos_;
    while (true) {
      auto v = value();
      if (!v) {
        return std::nullopt;
      }
      r.values.push_back(std::move(*v));
      skipSpace();
      if (!atEnd() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (!atEnd() && text_[pos_] == ')') {
        ++pos_;
        break;
      }
      return fail("',' or ')'");
    }
    std::sort(r.values.begin(), r.values.end());
    r.values.erase(std::unique(r.values.begin(), r.values.end()), r.values.end());
    return r;
  }

  std::string_view text_;
  SelectorError* error_;
  size_t pos_ = 0;
};

bool contains(const std::vector<std::string>& values, const std::string& v) {
  return std::binary_search(values.begin(), values.end(), v);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && isSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::string escapeFieldValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == ',' || c == '=') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

}  // namespace

std::optional<std::string> validateLabelKey(std::string_view key) {
  if (key.empty()) {
    return "must not be empty";
  }
  size_t slash = key.find('/');
  std::string_view name = key;
  if (slash != std::string_view::npos) {
    if (key.find('/', slash + 1) != std::string_view::npos) {
      return "must be a name with an optional DNS subdomain prefix and one '/'";
    }
    if (auto why = checkPrefix(key.substr(0, slash))) {
      return why;
    }
    name = key.substr(slash + 1);
    if (name.empty()) {
      return "name part must not be empty";
    }
  }
  return checkName(name, "name part");
}

std::optional<std::string> validateLabelValue(std::string_view value) {
  if (value.empty()) {
    return std::nullopt;
  }
  return checkName(value, "value");
}

bool LabelRequirement::matches(const Labels& labels) const {
  auto it = labels.find(key);
  bool has = it != labels.end();
  switch (op) {
    case LabelOp::kEquals:
      return has && it->second == values.front();
    case LabelOp::kNotEquals:
      return !has || it->second != values.front();
    case LabelOp::kIn:
      return has && contains(values, it->second);
    case LabelOp::kNotIn:
      return !has || !contains(values, it->second);
    case LabelOp::kExists:
      return has;
    case LabelOp::kDoesNotExist:
      return !has;
  }
  return false;
}

std::optional<LabelSelector> LabelSelector::parse(std::string_view text, SelectorError* error) {
  auto requirements = LabelParser(text, error).run();
  if (!requirements) {
    return std::nullopt;
  }
  LabelSelector s;
  s.requirements_ = std::move(*requirements);
  return s;
}

bool LabelSelector::matches(const Labels& labels) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const LabelRequirement& r) { return r.matches(labels); });
}

std::string LabelSelector::str() const {
  std::string out;
  for (const auto& r : requirements_) {
    if (!out.empty()) {
      out += ',';
    }
    switch (r.op) {
      case LabelOp::kEquals:
        out += r.key + "=" + r.values.front();
        break;
      case LabelOp::kNotEquals:
        out += r.key + "!=" + r.values.front();
        break;
      case LabelOp::kIn:
      case LabelOp::kNotIn: {
        out += r.key + (r.op == LabelOp::kIn ? " in (" : " notin (");
        for (size_t i = 0; i < r.values.size(); ++i) {
          out += (i == 0 ? "" : ",") + r.values[i];
        }
        out += ')';
        break;
      }
      case LabelOp::kExists:
        out += r.key;
        break;
      case LabelOp::kDoesNotExist:
        out += "!" + r.key;
        break;
    }
  }
  return out;
}

bool FieldRequirement::matches(const nlohmann::json& object) const {
  std::string actual;
  std::string_view name = field == "metadata.name" ? "name" : "namespace";
  if (object.is_object()) {
    auto meta = object.find("metadata");
    if (meta != object.end() && meta->is_object()) {
      auto v = meta->find(name);
      if (v != meta->end() && v->is_string()) {
        actual = v->get<std::string>();
      }
    }
  }
  return (actual == value) == (op == FieldOp::kEquals);
}

std::optional<FieldSelector> FieldSelector::parse(std::string_view text, SelectorError* error) {
  auto fail = [&](size_t offset, const std::string& what) {
    if (error != nullptr) {
      error->offset = offset;
      error->message = "at byte " + std::to_string(offset) + ": " + what;
    }
    return std::nullopt;
  };
  FieldSelector s;
  if (trim(text).empty()) {
    return s;
  }
  size_t start = 0;
  while (start <= text.size()) {
    // One term runs to the next unescaped ','; find its operator (the first unescaped '=' or "!=").
    size_t end = start;
    size_t op_at = std::string_view::npos;
    size_t op_len = 0;
    FieldOp op = FieldOp::kEquals;
    std::string value;
    for (; end < text.size() && text[end] != ','; ++end) {
      char c = text[end];
      if (c == '\\') {
        if (end + 1 >= text.size() ||
            (text[end + 1] != '\\' && text[end + 1] != ',' && text[end + 1] != '=')) {
          return fail(end, "expected '\\\\', '\\,' or '\\=' after '\\'");
        }
        if (op_at != std::string_view::npos) {
          value += text[end + 1];
        }
        ++end;
        continue;
      }
      if (op_at == std::string_view::npos) {
        if (c == '!' && end + 1 < text.size() && text[end + 1] == '=') {
          op_at = end, op_len = 2, op = FieldOp::kNotEquals;
        } else if (c == '=') {
          op_at = end, op = FieldOp::kEquals;
          op_len = (end + 1 < text.size() && text[end + 1] == '=') ? 2 : 1;
        }
        if (op_at != std::string_view::npos) {
          end += op_len - 1;
        }
        continue;
      }
      value += c;
    }
    std::string_view term = text.substr(start, end - start);
    if (trim(term).empty()) {
      return fail(start, "expected a field selector term, found " +
                             std::string(end < text.size() ? "','" : "end of input"));
    }
    if (op_at == std::string_view::npos) {
      return fail(end, "expected '=', '==' or '!=' in \"" + std::string(term) + "\"");
    }
    std::string_view field_text = text.substr(start, op_at - start);
    std::string_view field = trim(field_text);
    if (field != "metadata.name" && field != "metadata.namespace") {
      size_t at = start + static_cast<size_t>(field.data() - field_text.data());
      return fail(
          at, "expected field 'metadata.name' or 'metadata.namespace', found \"" + std::string(field) + "\"");
    }
    s.requirements_.push_back({std::string(field), op, std::string(trim(value))});
    if (end >= text.size()) {
      break;
    }
    start = end + 1;
  }
  return s;
}

bool FieldSelector::matches(const nlohmann::json& object) const {
  return std::all_of(requirements_.begin(), requirements_.end(),
                     [&](const FieldRequirement& r) { return r.matches(object); });
}

std::string FieldSelector::str() const {
  std::string out;
  for (const auto& r : requirements_) {
    out += (out.empty() ? "" : ",") + r.field + (r.op == FieldOp::kEquals ? "=" : "!=") +
           escapeFieldValue(r.value);
  }
  return out;
}

}  // namespace tokenstorm::kube
