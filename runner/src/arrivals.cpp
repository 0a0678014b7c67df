#include "tokenstorm/runner/arrivals.h"

#include <cmath>

namespace tokenstorm::runner {

ArrivalSchedule::ArrivalSchedule(const core::LoadPlan& plan, core::Arrival kind, uint64_t seed,
                                 RunnerShare share)
    : plan_(plan),
      kind_(kind),
      rng_(seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(share.index + 1))),
      share_(share) {
  if (share_.count < 1) {
    share_.count = 1;
  }
}

double ArrivalSchedule::stageArrivals(size_t index) const {
  const core::PlannedStage& s = plan_.stages[index];
  return (s.from + s.to) / 2 * s.duration.seconds();
}

double ArrivalSchedule::solveInStage(double within) const {
  // Λ_stage(τ) = a·τ + (b − a)·τ² / (2d). The root is written 2Δ / (a + √(a² + 2(b − a)Δ/d)), which stays
  // exact when the ramp is flat (b = a) and when a = 0.
  const core::PlannedStage& s = plan_.stages[stage_];
  double a = s.from;
  double b = s.to;
  double d = s.duration.seconds();
  double disc = a * a + 2 * (b - a) * within / d;
  double denom = a + std::sqrt(std::max(0.0, disc));
  if (denom <= 0) {
    return d;
  }
  return std::min(d, 2 * within / denom);
}

std::optional<PlannedArrival> ArrivalSchedule::next() {
  double target = 0;
  if (kind_ == core::Arrival::Constant) {
    // The whole plan's arrivals are at Λ = 1, 2, 3, ...; this runner takes those ≡ index+1 (mod count).
    target = static_cast<double>(share_.index + 1 + constantIndex_ * share_.count);
    ++constantIndex_;
  } else {
    std::exponential_distribution<double> exp(1.0);
    target = lambda_ + exp(rng_) * static_cast<double>(share_.count);
  }
  lambda_ = target;
  while (stage_ < plan_.stages.size()) {
    double in_stage = stageArrivals(stage_);
    if (target <= stageBase_ + in_stage && in_stage > 0) {
      double tau = solveInStage(target - stageBase_);
      const core::PlannedStage& s = plan_.stages[stage_];
      auto offset = s.start.nanos + static_cast<int64_t>(std::llround(tau * 1e9));
      return PlannedArrival{offset, static_cast<int>(stage_)};
    }
    stageBase_ += in_stage;
    ++stage_;
  }
  return std::nullopt;
}

}  // namespace tokenstorm::runner
