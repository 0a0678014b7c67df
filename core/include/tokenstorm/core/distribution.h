// Drawing values from the API's distributions (spec Dist / DurationDist), deterministically from a seeded
// engine. Normal and log-normal take the mean and standard deviation of the values themselves (not of their
// logarithm) and are clamped to [min, max].
#pragma once

#include <random>

#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::core {

using Rng = std::mt19937_64;

double sample(const Dist& dist, Rng& rng);
Duration sample(const DurationDist& dist, Rng& rng);
double mean(const Dist& dist);

}  // namespace tokenstorm::core
