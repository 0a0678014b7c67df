// A value or an error: what the Kubernetes client returns instead of throwing (style.md: expected
// failures are values). C++20 has no std::expected, so this is the small part of it we use: a Result
// holds T, or the error wrapped by fail() (explicit, so Result<std::string, std::string> is unambiguous).
#pragma once

#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace tokenstorm::kube {

// Success of a call that returns nothing.
struct Ok {
  bool operator==(const Ok&) const = default;
};

template <typename E>
struct Failure {
  E error;
};

template <typename E>
Failure<std::decay_t<E>> fail(E&& error) {
  return {std::forward<E>(error)};
}
inline Failure<std::string> fail(const char* message) {
  return {std::string(message)};
}

template <typename T, typename E>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  template <typename F>
  Result(Failure<F> failure) : v_(std::in_place_index<1>, E(std::move(failure.error))) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Callers check ok() first; std::get throws std::bad_variant_access otherwise (a programming error).
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const E& error() const { return std::get<1>(v_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, E> v_;
};

// Configuration and credential errors are messages naming the file and the field.
template <typename T>
using Expected = Result<T, std::string>;

}  // namespace tokenstorm::kube
