// Value types with a text form in specs: durations ("1h30m"), exact decimals ("40.00") and Kubernetes
// resource quantities ("500m", "1Gi"). Each parses without exceptions and formats back canonically.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tokenstorm::core {

// A signed span of time with nanosecond resolution. Text form as in Go and Kubernetes: a sequence of
// decimal numbers with units, "300ms", "1.5s", "2m", "1h30m" (units ns, us, µs, ms, s, m, h).
struct Duration {
  int64_t nanos = 0;

  static constexpr Duration fromNanos(int64_t n) { return Duration{n}; }
  static constexpr Duration fromMillis(int64_t ms) { return Duration{ms * 1'000'000}; }
  static constexpr Duration fromSeconds(int64_t s) { return Duration{s * 1'000'000'000}; }
  double seconds() const { return static_cast<double>(nanos) / 1e9; }
  double millis() const { return static_cast<double>(nanos) / 1e6; }

  // Parses `text`; on failure returns nullopt and sets *error to a reason ("unknown unit \"x\"").
  static std::optional<Duration> parse(std::string_view text, std::string* error = nullptr);
  // Canonical text: "1h30m", "1.5s", "250ms", "0s".
  std::string str() const;

  friend constexpr bool operator==(Duration a, Duration b) { return a.nanos == b.nanos; }
  friend constexpr auto operator<=>(Duration a, Duration b) { return a.nanos <=> b.nanos; }
  // Saturating: absurd specs (a thousand stages of a million hours) must not wrap around into valid ones.
  friend constexpr Duration operator+(Duration a, Duration b) {
    int64_t r = 0;
    if (__builtin_add_overflow(a.nanos, b.nanos, &r)) {
      return Duration{b.nanos > 0 ? INT64_MAX : INT64_MIN};
    }
    return Duration{r};
  }
  friend constexpr Duration operator-(Duration a, Duration b) {
    int64_t r = 0;
    if (__builtin_sub_overflow(a.nanos, b.nanos, &r)) {
      return Duration{b.nanos < 0 ? INT64_MAX : INT64_MIN};
    }
    return Duration{r};
  }
};

// An exact non-floating decimal with 9 fractional digits (nano-units), used for money. "40.00" USD is
// 40'000'000'000 nano-USD. Range is about ±9.2e9, far beyond any test budget.
struct Decimal {
  static constexpr int kScaleDigits = 9;
  static constexpr int64_t kScale = 1'000'000'000;
  int64_t nanos = 0;

  static std::optional<Decimal> parse(std::string_view text, std::string* error = nullptr);
  static constexpr Decimal fromUnits(int64_t units) { return Decimal{units * kScale}; }
  // Shortest exact text: "40", "0.2", "0.000001".
  std::string str() const;
  // Money form, at least two decimals: "40.00", "0.125".
  std::string money() const;
  double toDouble() const { return static_cast<double>(nanos) / static_cast<double>(kScale); }

  friend constexpr bool operator==(Decimal a, Decimal b) { return a.nanos == b.nanos; }
  friend constexpr auto operator<=>(Decimal a, Decimal b) { return a.nanos <=> b.nanos; }
  friend constexpr Decimal operator+(Decimal a, Decimal b) { return Decimal{a.nanos + b.nanos}; }
  friend constexpr Decimal operator-(Decimal a, Decimal b) { return Decimal{a.nanos - b.nanos}; }
};

// Cost of `tokens` at `price_per_million` (price per 1M tokens), rounded half up to a nano-unit.
// Exact integer arithmetic: no floating point ever touches money.
Decimal costOfTokens(uint64_t tokens, Decimal price_per_million);

// A Kubernetes resource quantity ("2", "500m", "1Gi", "1.5e3"), validated and kept as written.
struct Quantity {
  std::string text;
  static std::optional<Quantity> parse(std::string_view text, std::string* error = nullptr);
  friend bool operator==(const Quantity&, const Quantity&) = default;
};

}  // namespace tokenstorm::core
