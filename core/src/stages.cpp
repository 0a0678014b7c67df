#include "tokenstorm/core/stages.h"

#include <algorithm>

namespace tokenstorm::core {
namespace {

void add(LoadPlan& plan, std::string name, Duration duration, double from, double to, bool hold) {
  if (duration.nanos <= 0) {
    return;
  }
  plan.stages.push_back(PlannedStage{std::move(name), plan.total, duration, from, to, hold});
  plan.total = plan.total + duration;
}

void addHeld(LoadPlan& plan, std::string name, Duration duration, double target) {
  add(plan, std::move(name), duration, target, target, true);
}

void expandPattern(const Pattern& p, LoadPlan& plan) {
  if (p.baseline) {
    addHeld(plan, "baseline", p.baseline->duration, p.baseline->rate);
  } else if (p.spike) {
    const auto& s = *p.spike;
    double peak = s.peak ? *s.peak : s.base * s.multiplier.value_or(1);
    addHeld(plan, "base", s.at, s.base);
    addHeld(plan, "spike", s.duration, peak);
    addHeld(plan, "recovery", s.total - s.at - s.duration, s.base);
  } else if (p.burst) {
    const auto& b = *p.burst;
    Duration high = b.highDuration.value_or(Duration{b.period.nanos / 2});
    for (int64_t i = 1; i <= b.count; ++i) {
      addHeld(plan, "low-" + std::to_string(i), b.period - high, b.low);
      addHeld(plan, "burst-" + std::to_string(i), high, b.high);
    }
  } else if (p.ramp) {
    add(plan, "ramp", p.ramp->duration, p.ramp->from, p.ramp->to, false);
  } else if (p.soak) {
    addHeld(plan, "soak", p.soak->duration, p.soak->rate);
  } else if (p.sweep) {
    const auto& s = *p.sweep;
    plan.openEnded = true;
    for (int64_t i = 0; i < s.steps; ++i) {
      double rate =
          s.steps < 2 ? s.from
                      : s.from + (s.to - s.from) * static_cast<double>(i) / static_cast<double>(s.steps - 1);
      addHeld(plan, "step-" + std::to_string(i + 1), s.stepDuration, rate);
    }
  }
}

}  // namespace

LoadPlan expandLoad(const LoadTestSpec& spec) {
  LoadPlan plan;
  plan.mode = spec.load.mode;
  if (spec.load.pattern) {
    expandPattern(*spec.load.pattern, plan);
  } else if (!spec.load.stages.empty()) {
    double previous = 0;
    for (size_t i = 0; i < spec.load.stages.size(); ++i) {
      const Stage& s = spec.load.stages[i];
      double target =
          plan.mode == LoadMode::Closed ? static_cast<double>(s.users.value_or(0)) : s.rate.value_or(0);
      add(plan, s.name.value_or("stage-" + std::to_string(i + 1)), s.duration, s.hold ? target : previous,
          target, s.hold);
      previous = target;
    }
  } else if (spec.probes.rateLimit) {
    const auto& p = *spec.probes.rateLimit;
    plan.openEnded = true;
    int64_t steps = kDefaultRateLimitProbeSteps;
    if (spec.limits.maxDuration && p.stepDuration.nanos > 0) {
      steps = std::clamp<int64_t>(spec.limits.maxDuration->nanos / p.stepDuration.nanos, 1, 1000);
    }
    for (int64_t i = 0; i < steps; ++i) {
      addHeld(plan, "probe-step-" + std::to_string(i + 1), p.stepDuration,
              p.start + p.step * static_cast<double>(i));
    }
  } else if (spec.probes.warmup) {
    const auto& w = *spec.probes.warmup;
    addHeld(plan, "idle", w.idle, 0);
    addHeld(plan, "step", w.step.duration, w.step.rate);
  }
  return plan;
}

double targetAt(const LoadPlan& plan, Duration offset) {
  for (const auto& s : plan.stages) {
    if (offset >= s.start && offset < s.start + s.duration) {
      if (s.hold || s.duration.nanos == 0) {
        return s.to;
      }
      double f = static_cast<double>((offset - s.start).nanos) / static_cast<double>(s.duration.nanos);
      return s.from + (s.to - s.from) * f;
    }
  }
  return 0;
}

double expectedRequests(const LoadPlan& plan) {
  double total = 0;
  for (const auto& s : plan.stages) {
    total += (s.from + s.to) / 2 * s.duration.seconds();
  }
  return total;
}

}  // namespace tokenstorm::core
