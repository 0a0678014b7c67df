// Load plans: every way of writing spec.load (explicit stages, a pattern, a load-shaping probe) becomes
// one explicit list of stages with start offsets and from/to targets.
#pragma once

#include <string>
#include <vector>

#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::core {

struct PlannedStage {
  std::string name;
  Duration start;  // offset from the test start
  Duration duration;
  double from = 0;  // target at the start of the stage (rate in open mode, users in closed mode)
  double to = 0;    // target at the end; equal to `from` for a held stage
  bool hold = false;
};

struct LoadPlan {
  LoadMode mode = LoadMode::Open;
  std::vector<PlannedStage> stages;
  Duration total;
  bool openEnded = false;  // sweep / rate-limit probe: the plan is an upper bound; the run may stop early
};

// Default upper bound on rate-limit probe steps when limits.maxDuration does not bound them.
inline constexpr int64_t kDefaultRateLimitProbeSteps = 20;

// Expands the load of a spec. Works on any decoded spec (never crashes), but is meaningful for valid ones.
LoadPlan expandLoad(const LoadTestSpec& spec);

// The target (rate or users) at `offset` from the start, following ramps and holds; 0 past the end.
double targetAt(const LoadPlan& plan, Duration offset);

// Expected number of arrivals of an open-loop plan: the integral of the rate over time.
double expectedRequests(const LoadPlan& plan);

}  // namespace tokenstorm::core
