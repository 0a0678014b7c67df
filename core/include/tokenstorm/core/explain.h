// `tokenstorm validate --explain`: what a LoadTest will do, before it does it.
#pragma once

#include <string>

#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::core {

struct Estimate {
  double requests = 0;          // expected arrivals (open loop); 0 when not estimable (closed loop)
  double maxAttempts = 1;       // retries can multiply attempts up to this
  double inputTokensMean = 0;   // per request
  double inputTokensWorst = 0;  // per request, upper bound
  double outputTokensMean = 0;
  double outputTokensWorst = 0;
  bool worstBounded = true;  // false when a distribution without max made the worst case a 4-sigma guess
  std::optional<Decimal> expectedCost;
  std::optional<Decimal> worstCaseCost;
};

// Estimates request count, tokens and cost of a (valid) spec.
Estimate estimate(const LoadTestSpec& spec);

// The text printed by `validate --explain`: the expanded stages, total duration, request and cost estimates.
std::string explain(const LoadTest& test);

}  // namespace tokenstorm::core
