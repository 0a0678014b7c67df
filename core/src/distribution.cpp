#include "tokenstorm/core/distribution.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tokenstorm::core {
namespace {

double clampTo(double v, const std::optional<double>& lo, const std::optional<double>& hi) {
  v = std::max(v, lo.value_or(0.0));  // the API's values are never negative
  return hi ? std::min(v, *hi) : v;
}

double drawSpread(double mean, double stddev, bool log_normal, Rng& rng) {
  if (stddev <= 0 || mean <= 0) {
    return mean;
  }
  if (!log_normal) {
    return std::normal_distribution<double>(mean, stddev)(rng);
  }
  double variance_ratio = (stddev * stddev) / (mean * mean);
  double sigma = std::sqrt(std::log1p(variance_ratio));
  double mu = std::log(mean) - sigma * sigma / 2;
  return std::lognormal_distribution<double>(mu, sigma)(rng);
}

}  // namespace

double sample(const Dist& d, Rng& rng) {
  if (d.fixed) {
    return *d.fixed;
  }
  if (d.uniform) {
    if (d.uniform->max <= d.uniform->min) {
      return d.uniform->min;
    }
    return std::uniform_real_distribution<double>(d.uniform->min, d.uniform->max)(rng);
  }
  const auto& s = d.normal ? *d.normal : *d.lognormal;
  return clampTo(drawSpread(s.mean, s.stddev, !d.normal, rng), s.min, s.max);
}

Duration sample(const DurationDist& d, Rng& rng) {
  auto nanos = [](double v) { return Duration{static_cast<int64_t>(std::llround(std::max(0.0, v)))}; };
  if (d.fixed) {
    return *d.fixed;
  }
  if (d.uniform) {
    auto lo = static_cast<double>(d.uniform->min.nanos);
    auto hi = static_cast<double>(d.uniform->max.nanos);
    return hi <= lo ? d.uniform->min : nanos(std::uniform_real_distribution<double>(lo, hi)(rng));
  }
  const auto& s = d.normal ? *d.normal : *d.lognormal;
  std::optional<double> lo;
  std::optional<double> hi;
  if (s.min) {
    lo = static_cast<double>(s.min->nanos);
  }
  if (s.max) {
    hi = static_cast<double>(s.max->nanos);
  }
  double v =
      drawSpread(static_cast<double>(s.mean.nanos), static_cast<double>(s.stddev.nanos), !d.normal, rng);
  return nanos(clampTo(v, lo, hi));
}

double mean(const Dist& d) {
  if (d.fixed) {
    return *d.fixed;
  }
  if (d.uniform) {
    return (d.uniform->min + d.uniform->max) / 2;
  }
  const auto& s = d.normal ? *d.normal : *d.lognormal;
  return std::clamp(s.mean, s.min.value_or(0), s.max.value_or(std::numeric_limits<double>::max()));
}

}  // namespace tokenstorm::core
