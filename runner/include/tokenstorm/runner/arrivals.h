// Open-loop arrival plans: when each request should start, from the expanded load plan alone.
//
// The plan's rate is piecewise linear (ramps and holds), so the expected number of arrivals by time t,
// Λ(t) = ∫ rate, is piecewise quadratic and can be inverted exactly: a Poisson process puts its next
// arrival where Λ has grown by an Exp(1) draw, a constant-rate plan where Λ reaches the next whole number.
// This needs no clock and no sleeps: tests check arrival counts against the plan directly, and the engine
// only has to wait for each returned instant.
//
// Runners split the load: runner i of N runs an independent Poisson process at rate/N (N independent
// Poisson processes add up to the full one), or takes every N-th arrival of the constant plan, so N runners
// together send exactly what one would.
#pragma once

#include <cstdint>
#include <optional>

#include "tokenstorm/core/distribution.h"
#include "tokenstorm/core/stages.h"

namespace tokenstorm::runner {

struct RunnerShare {
  int64_t index = 0;  // 0-based
  int64_t count = 1;
};

struct PlannedArrival {
  int64_t offsetNanos = 0;  // from the test start
  int stage = 0;            // index into the plan's stages
};

class ArrivalSchedule {
 public:
  ArrivalSchedule(const core::LoadPlan& plan, core::Arrival kind, uint64_t seed, RunnerShare share = {});

  // The next arrival, or nullopt once the plan is over.
  std::optional<PlannedArrival> next();

 private:
  // Offset within stage `stage_` where the stage's own cumulative arrivals reach `within`.
  double solveInStage(double within) const;
  double stageArrivals(size_t index) const;

  const core::LoadPlan& plan_;
  core::Arrival kind_;
  core::Rng rng_;
  RunnerShare share_;
  size_t stage_ = 0;
  double stageBase_ = 0;  // Λ at the start of stage_
  double lambda_ = 0;     // Λ at the previous arrival
  int64_t constantIndex_ = 0;
};

}  // namespace tokenstorm::runner
