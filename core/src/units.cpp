#include "tokenstorm/core/units.h"

#include <array>
#include <limits>

namespace tokenstorm::core {

namespace {

// 128-bit intermediates make overflow checks and money arithmetic exact (a GCC/Clang extension).
__extension__ using Int128 = __int128;

void setError(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
}

struct Unit {
  std::string_view name;
  int64_t nanos;
};

constexpr std::array<Unit, 8> kDurationUnits{{{"ns", 1},
                                              {"us", 1'000},
                                              {"\xC2\xB5s", 1'000},  // µs (micro sign)
                                              {"\xCE\xBCs", 1'000},  // μs (Greek mu)
                                              {"ms", 1'000'000},
                                              {"s", 1'000'000'000},
                                              {"m", 60'000'000'000},
                                              {"h", 3'600'000'000'000}}};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<Duration> Duration::parse(std::string_view text, std::string* error) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  if (s == "0") {
    return Duration{0};
  }
  if (s.empty()) {
    setError(error, "it is empty");
    return std::nullopt;
  }
  // Accumulate in 128 bits so that overflow is detected rather than wrapped.
  Int128 total = 0;
  constexpr Int128 kMax = std::numeric_limits<int64_t>::max();
  while (!s.empty()) {
    size_t i = 0;
    Int128 whole = 0;
    size_t whole_digits = 0;
    while (i < s.size() && isDigit(s[i])) {
      whole = whole * 10 + (s[i] - '0');
      if (whole > kMax) {
        setError(error, "it is too large");
        return std::nullopt;
      }
      ++i;
      ++whole_digits;
    }
    Int128 frac = 0;
    Int128 frac_scale = 1;
    size_t frac_digits = 0;
    if (i < s.size() && s[i] == '.') {
      ++i;
      while (i < s.size() && isDigit(s[i])) {
        if (frac_digits < 18) {
          frac = frac * 10 + (s[i] - '0');
          frac_scale *= 10;
        }
        ++i;
        ++frac_digits;
      }
    }
    if (whole_digits + frac_digits == 0) {
      setError(error, "each unit needs a number before it");
      return std::nullopt;
    }
    size_t unit_start = i;
    while (i < s.size() && !isDigit(s[i]) && s[i] != '.') {
      ++i;
    }
    std::string_view unit = s.substr(unit_start, i - unit_start);
    if (unit.empty()) {
      setError(error, "a unit is missing (ns, us, ms, s, m or h)");
      return std::nullopt;
    }
    const Unit* found = nullptr;
    for (const auto& u : kDurationUnits) {
      if (u.name == unit) {
        found = &u;
      }
    }
    if (found == nullptr) {
      setError(error, "unknown unit \"" + std::string(unit) + "\" (use ns, us, ms, s, m or h)");
      return std::nullopt;
    }
    total += whole * found->nanos + frac * found->nanos / frac_scale;
    if (total > kMax) {
      setError(error, "it is too large");
      return std::nullopt;
    }
    s.remove_prefix(i);
  }
  auto n = static_cast<int64_t>(total);
  return Duration{negative ? -n : n};
}

std::string Duration::str() const {
  if (nanos == 0) {
    return "0s";
  }
  std::string out;
  uint64_t n = nanos < 0 ? static_cast<uint64_t>(-(nanos + 1)) + 1 : static_cast<uint64_t>(nanos);
  if (nanos < 0) {
    out = "-";
  }
  constexpr uint64_t kSecond = 1'000'000'000;
  if (n < kSecond) {
    // Sub-second: the largest unit that divides it exactly, so "250ms", "1500us", "7ns".
    if (n % 1'000'000 == 0) {
      return out + std::to_string(n / 1'000'000) + "ms";
    }
    if (n % 1'000 == 0) {
      return out + std::to_string(n / 1'000) + "us";
    }
    return out + std::to_string(n) + "ns";
  }
  uint64_t hours = n / (3600 * kSecond);
  n %= 3600 * kSecond;
  uint64_t minutes = n / (60 * kSecond);
  n %= 60 * kSecond;
  if (hours > 0) {
    out += std::to_string(hours) + "h";
  }
  if (minutes > 0) {
    out += std::to_string(minutes) + "m";
  }
  if (n > 0) {
    out += std::to_string(n / kSecond);
    uint64_t frac = n % kSecond;
    if (frac > 0) {
      std::string digits = std::to_string(frac);
      digits.insert(0, 9 - digits.size(), '0');
      while (!digits.empty() && digits.back() == '0') {
        digits.pop_back();
      }
      out += "." + digits;
    }
    out += "s";
  }
  return out;
}

std::optional<Decimal> Decimal::parse(std::string_view text, std::string* error) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && s[0] == '-') {
    negative = true;
    s.remove_prefix(1);
  }
  size_t i = 0;
  Int128 whole = 0;
  size_t whole_digits = 0;
  constexpr Int128 kMaxWhole = std::numeric_limits<int64_t>::max() / kScale;
  while (i < s.size() && isDigit(s[i])) {
    whole = whole * 10 + (s[i] - '0');
    if (whole > kMaxWhole) {
      setError(error, "is too large (at most " + std::to_string(static_cast<int64_t>(kMaxWhole)) + ")");
      return std::nullopt;
    }
    ++i;
    ++whole_digits;
  }
  int64_t frac = 0;
  size_t frac_digits = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) {
      if (++frac_digits > static_cast<size_t>(kScaleDigits)) {
        setError(error, "has more than 9 decimal places");
        return std::nullopt;
      }
      frac = frac * 10 + (s[i] - '0');
      ++i;
    }
  }
  if (whole_digits == 0 || i != s.size() || (frac_digits == 0 && s.size() > whole_digits)) {
    setError(error, "is not a decimal number such as \"40.00\"");
    return std::nullopt;
  }
  for (size_t k = frac_digits; k < static_cast<size_t>(kScaleDigits); ++k) {
    frac *= 10;
  }
  auto n = static_cast<int64_t>(whole * kScale + frac);
  return Decimal{negative ? -n : n};
}

std::string Decimal::str() const {
  int64_t n = nanos;
  std::string out = n < 0 ? "-" : "";
  uint64_t u = n < 0 ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  out += std::to_string(u / kScale);
  uint64_t frac = u % kScale;
  if (frac != 0) {
    std::string digits = std::to_string(frac);
    digits.insert(0, kScaleDigits - digits.size(), '0');
    while (digits.back() == '0') {
      digits.pop_back();
    }
    out += "." + digits;
  }
  return out;
}

std::string Decimal::money() const {
  std::string s = str();
  size_t dot = s.find('.');
  if (dot == std::string::npos) {
    return s + ".00";
  }
  size_t decimals = s.size() - dot - 1;
  if (decimals < 2) {
    s.append(2 - decimals, '0');
  }
  return s;
}

Decimal costOfTokens(uint64_t tokens, Decimal price_per_million) {
  Int128 product = static_cast<Int128>(tokens) * price_per_million.nanos;
  constexpr Int128 kMillion = 1'000'000;
  Int128 q = product / kMillion;
  Int128 r = product % kMillion;
  if (r * 2 >= kMillion) {
    ++q;
  } else if (r * 2 <= -kMillion) {
    --q;
  }
  constexpr Int128 kMax = std::numeric_limits<int64_t>::max();
  return Decimal{q > kMax ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(q)};
}

std::optional<Quantity> Quantity::parse(std::string_view text, std::string* error) {
  // Grammar from k8s.io/apimachinery resource.Quantity: sign? digits (. digits)? suffix, where suffix is
  // a binary SI (Ki..Ei), a decimal SI (n u m "" k M G T P E) or a decimal exponent (e3, E-2).
  std::string_view s = text;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    s.remove_prefix(1);
  }
  size_t i = 0;
  size_t digits = 0;
  while (i < s.size() && isDigit(s[i])) {
    ++i;
    ++digits;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) {
      ++i;
      ++digits;
    }
  }
  std::string_view suffix = s.substr(i);
  bool suffix_ok = false;
  static constexpr std::array<std::string_view, 15> kSuffixes{"",  "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n",
                                                              "u", "m",  "k",  "M",  "G",  "T",  "P"};
  for (auto known : kSuffixes) {
    suffix_ok = suffix_ok || suffix == known;
  }
  suffix_ok = suffix_ok || suffix == "E";
  if (!suffix_ok && suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    std::string_view exp = suffix.substr(1);
    if (!exp.empty() && (exp[0] == '-' || exp[0] == '+')) {
      exp.remove_prefix(1);
    }
    suffix_ok = !exp.empty();
    for (char c : exp) {
      suffix_ok = suffix_ok && isDigit(c);
    }
  }
  if (digits == 0 || !suffix_ok || text.size() > 64) {
    setError(error, "is not a Kubernetes quantity such as \"500m\", \"2\" or \"1Gi\"");
    return std::nullopt;
  }
  return Quantity{std::string(text)};
}

}  // namespace tokenstorm::core
