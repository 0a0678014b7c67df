// The decoder: walks a Node tree along a type's field descriptions (see field.h), checking each field.
//
// Used for LoadTests (decode.cpp) and for other strict YAML configs (the simulator's). Errors are appended
// with the field path and position; decoding never throws.
#pragma once

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/core/document.h"
#include "tokenstorm/core/field.h"
#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::core {
namespace decoder_detail {

inline size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                  std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

inline std::string formatNumber(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", d);  // 1000000, not 1e+06
  return buf;
}

}  // namespace decoder_detail

class Decoder {
 public:
  explicit Decoder(Diagnostics* errors) : errors_(errors) {}

  // ---- visitor interface ----
  template <class T>
  void field(T& out, const F& f) {
    Frame& fr = *frame_;
    fr.known.push_back(f.name);
    const Node* node = nullptr;
    const auto& entries = fr.node->entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].key == f.name) {
        node = &entries[i].value;
        fr.seen[i] = true;
        break;
      }
    }
    if (node == nullptr || node->isNull()) {
      if (f.isRequired) {
        error(childPath(f.name), node != nullptr ? node->mark() : fr.node->mark(), "is required");
      }
      return;
    }
    size_t saved = path_.size();
    path_ += path_.empty() ? std::string(f.name) : "." + std::string(f.name);
    decode(*node, out, f);
    path_.resize(saved);
  }

  void oneOf(std::initializer_list<std::string_view> names) {
    std::vector<std::string_view> present;
    for (auto n : names) {
      const Node* v = frame_->node->find(n);
      if (v != nullptr && !v->isNull()) {
        present.push_back(n);
      }
    }
    if (present.size() == 1) {
      return;
    }
    std::string list;
    size_t i = 0;
    for (auto n : names) {
      if (i > 0) {
        list += (i + 1 == names.size()) ? " or " : ", ";
      }
      list += n;
      ++i;
    }
    std::string got = present.empty() ? "none is set" : "got ";
    for (size_t k = 0; k < present.size(); ++k) {
      got += (k == 0 ? "" : " and ") + std::string(present[k]);
    }
    error(path_, frame_->node->mark(), "exactly one of " + list + " must be set (" + got + ")");
  }

  void lenient() { frame_->lenient = true; }

  // ---- entry ----
  template <class T>
  bool decodeRoot(const Node& node, T& out, std::string path) {
    size_t before = errors_->size();
    path_ = std::move(path);
    decode(node, out, F("", ""));
    return errors_->size() == before;
  }

 private:
  struct Frame {
    const Node* node = nullptr;
    std::vector<bool> seen;
    std::vector<std::string_view> known;
    bool lenient = false;
  };

  std::string childPath(std::string_view name) const {
    return path_.empty() ? std::string(name) : path_ + "." + std::string(name);
  }

  void error(std::string path, Mark mark, std::string message) {
    errors_->push_back(Diagnostic{std::move(path), std::move(message), mark});
  }

  void typeError(const Node& n, std::string_view expected) {
    std::string msg = (path_.empty() ? "the document must be " : "must be ") + std::string(expected) +
                      " (got " + n.describe() + ")";
    if (n.kind() == Node::Kind::Bool && n.text() != "true" && n.text() != "false" && n.text() != "True" &&
        n.text() != "False" && n.text() != "TRUE" && n.text() != "FALSE") {
      msg += "; quote it: YAML 1.1 readers such as kubectl read " + n.text() + " as a boolean";
    } else if ((n.kind() == Node::Kind::Int || n.kind() == Node::Kind::Float) &&
               expected.find("string") != std::string_view::npos) {
      msg += "; quote it";
    }
    error(path_, n.mark(), std::move(msg));
  }

  // ---- leaves ----
  void decode(const Node& n, std::string& out, const F& f) {
    if (n.kind() != Node::Kind::String) {
      typeError(n, "a string");
      return;
    }
    if (f.maxLength > 0 && static_cast<int64_t>(n.text().size()) > f.maxLength) {
      error(path_, n.mark(),
            "must be at most " + std::to_string(f.maxLength) + " characters (got " +
                std::to_string(n.text().size()) + ")");
      return;
    }
    if (f.patternCheck != nullptr && !f.patternCheck(n.text())) {
      error(path_, n.mark(), "must be " + std::string(f.patternHint) + " (got " + n.describe() + ")");
      return;
    }
    out = n.text();
  }

  void decode(const Node& n, bool& out, const F&) {
    const std::string& t = n.text();
    if (n.kind() != Node::Kind::Bool) {
      typeError(n, "true or false");
      return;
    }
    if (t == "true" || t == "True" || t == "TRUE") {
      out = true;
    } else if (t == "false" || t == "False" || t == "FALSE") {
      out = false;
    } else {
      error(path_, n.mark(), "must be true or false (got " + t + ", which YAML readers disagree about)");
    }
  }

  void decode(const Node& n, int64_t& out, const F& f) {
    if (n.kind() != Node::Kind::Int && n.kind() != Node::Kind::Float) {
      typeError(n, "an integer");
      return;
    }
    std::string_view t = n.text();
    int64_t value = 0;
    if (n.kind() == Node::Kind::Float) {
      double d = std::strtod(n.text().c_str(), nullptr);
      if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9.0e15) {
        error(path_, n.mark(), "must be an integer (got " + n.describe() + ")");
        return;
      }
      value = static_cast<int64_t>(d);
    } else {
      if (!t.empty() && t[0] == '+') {
        t.remove_prefix(1);
      }
      bool negative = !t.empty() && t[0] == '-';
      std::string_view digits = negative ? t.substr(1) : t;
      int base = 10;
      if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
        base = digits[1] == 'x' ? 16 : 8;
        digits.remove_prefix(2);
      }
      uint64_t u = 0;
      auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), u, base);
      if (ec != std::errc() || ptr != digits.data() + digits.size() ||
          u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        error(path_, n.mark(), "is out of range (got " + n.describe() + ")");
        return;
      }
      value = negative ? -static_cast<int64_t>(u) : static_cast<int64_t>(u);
    }
    if (checkBounds(static_cast<double>(value), n, f)) {
      out = value;
    }
  }

  void decode(const Node& n, double& out, const F& f) {
    if (n.kind() != Node::Kind::Int && n.kind() != Node::Kind::Float) {
      typeError(n, "a number");
      return;
    }
    double d = 0;
    if (n.kind() == Node::Kind::Int) {
      int64_t i = 0;
      size_t before = errors_->size();
      decode(n, i, F("", ""));  // shares the integer path: 0x1F and 0o17 mean what YAML says
      if (errors_->size() != before) {
        return;
      }
      d = static_cast<double>(i);
    } else {
      // strtod reads ".inf"/".nan" (YAML's spellings) as 0, so they are caught by their text.
      std::string lowered;
      for (char c : n.text()) {
        lowered += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      bool special = lowered.find("inf") != std::string::npos || lowered.find("nan") != std::string::npos;
      d = special ? std::numeric_limits<double>::infinity() : std::strtod(n.text().c_str(), nullptr);
    }
    if (!std::isfinite(d) || std::fabs(d) > 1e15) {
      error(path_, n.mark(), "must be a finite number of reasonable size (got " + n.describe() + ")");
      return;
    }
    if (checkBounds(d, n, f)) {
      out = d;
    }
  }

  bool checkBounds(double d, const Node& n, const F& f) {
    std::string got = " (got " + n.text() + ")";
    if (f.isPositive && !(d > 0)) {
      error(path_, n.mark(), "must be greater than 0" + got);
      return false;
    }
    if (f.isNonNegative && d < 0) {
      error(path_, n.mark(), "must not be negative" + got);
      return false;
    }
    if (f.minimum && d < *f.minimum) {
      error(path_, n.mark(), "must be at least " + decoder_detail::formatNumber(*f.minimum) + got);
      return false;
    }
    if (f.maximum && d > *f.maximum) {
      error(path_, n.mark(), "must be at most " + decoder_detail::formatNumber(*f.maximum) + got);
      return false;
    }
    return true;
  }

  void decode(const Node& n, Duration& out, const F& f) {
    if (n.kind() != Node::Kind::String) {
      std::string hint = n.kind() == Node::Kind::Int ? " such as \"" + n.text() + "s\"" : " such as \"30s\"";
      error(path_, n.mark(), "must be a duration string" + hint + " (got " + n.describe() + ")");
      return;
    }
    std::string why;
    auto d = Duration::parse(n.text(), &why);
    if (!d) {
      error(path_, n.mark(),
            "must be a duration such as \"30s\" or \"1h30m\" (got " + quoteForMessage(n.text()) + ": " + why +
                ")");
      return;
    }
    if (f.isPositive && d->nanos <= 0) {
      error(path_, n.mark(), "must be greater than 0 (got " + quoteForMessage(n.text()) + ")");
      return;
    }
    if (f.isNonNegative && d->nanos < 0) {
      error(path_, n.mark(), "must not be negative (got " + quoteForMessage(n.text()) + ")");
      return;
    }
    out = *d;
  }

  void decode(const Node& n, Decimal& out, const F& f) {
    if (n.kind() != Node::Kind::String) {
      error(path_, n.mark(),
            "must be a quoted decimal string such as \"40.00\" (got " + n.describe() +
                "); money is never read as a floating-point number");
      return;
    }
    std::string why;
    auto d = Decimal::parse(n.text(), &why);
    if (!d) {
      error(path_, n.mark(), quoteForMessage(n.text()) + " " + why);
      return;
    }
    if (f.isNonNegative && d->nanos < 0) {
      error(path_, n.mark(), "must not be negative (got " + quoteForMessage(n.text()) + ")");
      return;
    }
    out = *d;
  }

  void decode(const Node& n, Quantity& out, const F&) {
    if (n.kind() != Node::Kind::String && n.kind() != Node::Kind::Int) {
      typeError(n, "a quantity such as \"500m\" or \"1Gi\"");
      return;
    }
    std::string why;
    auto q = Quantity::parse(n.text(), &why);
    if (!q) {
      error(path_, n.mark(), quoteForMessage(n.text()) + " " + why);
      return;
    }
    out = *q;
  }

  void decode(const Node& n, Node& out, const F&) { out = n; }

  void decode(const Node& n, ThresholdValue& out, const F&) {
    out.text = n.text();
    if (n.kind() == Node::Kind::Int || n.kind() == Node::Kind::Float) {
      double d = 0;
      decode(n, d, F("", ""));
      out.number = d;
      return;
    }
    if (n.kind() != Node::Kind::String) {
      typeError(n, "a duration such as \"800ms\" or a number");
      return;
    }
    char* end = nullptr;
    double d = std::strtod(n.text().c_str(), &end);
    if (!n.text().empty() && end == n.text().c_str() + n.text().size() && std::isfinite(d)) {
      out.number = d;
      return;
    }
    std::string why;
    auto dur = Duration::parse(n.text(), &why);
    if (!dur) {
      error(path_, n.mark(), "must be a duration such as \"800ms\" or a number (got " + n.describe() + ")");
      return;
    }
    out.duration = *dur;
  }

  template <class E>
  requires std::is_enum_v<E>
  void decode(const Node& n, E& out, const F&) {
    if (n.kind() == Node::Kind::String) {
      if (auto e = enumFromName<E>(n.text())) {
        out = *e;
        return;
      }
    }
    std::string msg = "must be one of " + enumChoices<E>() + " (got " + n.describe() + ")";
    if (n.kind() == Node::Kind::Bool) {
      msg += "; quote it: YAML 1.1 readers such as kubectl read " + n.text() + " as a boolean";
    } else if (n.kind() == Node::Kind::Int && enumFromName<E>(n.text())) {
      msg += "; quote it (\"" + n.text() + "\"): the API server takes only strings here";
    }
    error(path_, n.mark(), std::move(msg));
  }

  // ---- containers ----
  template <class T>
  void decode(const Node& n, std::optional<T>& out, const F& f) {
    T value{};
    size_t before = errors_->size();
    decode(n, value, f);
    if (errors_->size() == before) {
      out = std::move(value);
    }
  }

  template <class T>
  void decode(const Node& n, std::vector<T>& out, const F& f) {
    if (!n.isSequence()) {
      typeError(n, "a list");
      return;
    }
    const auto& items = n.items();
    if (f.minItems > 0 && static_cast<int64_t>(items.size()) < f.minItems) {
      error(path_, n.mark(),
            "must have at least " + std::to_string(f.minItems) + " item" + (f.minItems == 1 ? "" : "s") +
                " (got " + std::to_string(items.size()) + ")");
    }
    if (f.maxItems > 0 && static_cast<int64_t>(items.size()) > f.maxItems) {
      error(path_, n.mark(),
            "must have at most " + std::to_string(f.maxItems) + " items (got " +
                std::to_string(items.size()) + ")");
      return;
    }
    out.clear();
    out.reserve(items.size());
    F item_f = f;
    item_f.minItems = item_f.maxItems = 0;
    for (size_t i = 0; i < items.size(); ++i) {
      size_t saved = path_.size();
      path_ += "[" + std::to_string(i) + "]";
      T value{};
      decode(items[i], value, item_f);
      out.push_back(std::move(value));
      path_.resize(saved);
    }
  }

  template <class T>
  void decode(const Node& n, std::map<std::string, T>& out, const F& f) {
    if (!n.isMapping()) {
      typeError(n, "a mapping");
      return;
    }
    out.clear();
    for (const auto& e : n.entries()) {
      size_t saved = path_.size();
      path_ += "." + e.key;
      T value{};
      size_t before = errors_->size();
      decode(e.value, value, f);
      if (errors_->size() == before) {
        out.emplace(e.key, std::move(value));
      }
      path_.resize(saved);
    }
  }

  template <class T>
  requires requires(Decoder& d, T& t) { describe(d, t); }
  void decode(const Node& n, T& out, const F&) {
    if (!n.isMapping()) {
      typeError(n, "a mapping");
      return;
    }
    if constexpr (IsUnion<T>::value) {
      out = T{};
    }
    Frame frame;
    frame.node = &n;
    frame.seen.assign(n.entries().size(), false);
    Frame* parent = frame_;
    frame_ = &frame;
    describe(*this, out);
    frame_ = parent;
    if (frame.lenient) {
      return;
    }
    const auto& entries = n.entries();
    for (size_t i = 0; i < entries.size(); ++i) {
      if (!frame.seen[i]) {
        error(childPath(entries[i].key), entries[i].key_mark,
              unknownFieldMessage(entries[i].key, frame.known));
      }
    }
  }

  static std::string unknownFieldMessage(const std::string& key, const std::vector<std::string_view>& known) {
    std::string msg = "unknown field";
    bool has_retry_on = std::find(known.begin(), known.end(), "retryOn") != known.end();
    if (key == "<<") {
      return msg + ": YAML merge keys (<<) are not supported; write the fields out";
    }
    if (has_retry_on && (key == "on" || key == "true")) {
      return msg + "; use retryOn (YAML 1.1 readers such as kubectl turn the key `on` into true)";
    }
    std::string_view best;
    size_t best_distance = 3;
    for (auto k : known) {
      size_t d = decoder_detail::editDistance(key, k);
      if (d < best_distance) {
        best_distance = d;
        best = k;
      }
    }
    if (!best.empty()) {
      msg += " (did you mean \"" + std::string(best) + "\"?)";
    }
    return msg;
  }

  Diagnostics* errors_;
  Frame* frame_ = nullptr;
  std::string path_;
};

// Decodes `node` into `out` along its description; returns false (and appends errors) on any error.
template <class T>
bool decodeInto(const Node& node, T& out, Diagnostics* errors, std::string path = "") {
  Decoder d(errors);
  return d.decodeRoot(node, out, std::move(path));
}

}  // namespace tokenstorm::core
