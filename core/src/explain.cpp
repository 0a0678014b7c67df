#include "tokenstorm/core/explain.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenstorm/core/distribution.h"
#include "tokenstorm/core/stages.h"

namespace tokenstorm::core {
namespace {

constexpr double kSigmas = 4;  // worst case of an unbounded normal/lognormal, when no max is given

double worst(const Dist& d, bool* bounded) {
  if (d.fixed) {
    return *d.fixed;
  }
  if (d.uniform) {
    return d.uniform->max;
  }
  const auto& s = d.normal ? *d.normal : *d.lognormal;
  if (s.max) {
    return *s.max;
  }
  *bounded = false;
  return s.mean + kSigmas * s.stddev;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// 12345 → "12,345"
std::string grouped(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) {
      out += ',';
    }
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) {
    s.append(width - s.size(), ' ');
  }
  return s;
}

Decimal costOf(double tokens, Decimal price) {
  return costOfTokens(static_cast<uint64_t>(std::ceil(std::max(0.0, tokens))), price);
}

}  // namespace

Estimate estimate(const LoadTestSpec& spec) {
  Estimate e;
  LoadPlan plan = expandLoad(spec);
  if (plan.mode == LoadMode::Open) {
    e.requests = expectedRequests(plan);
  }
  if (spec.workload.retry) {
    e.maxAttempts = static_cast<double>(spec.workload.retry->maxAttempts);
  }
  double total_weight = 0;
  for (const auto& c : spec.workload.classes) {
    total_weight += static_cast<double>(c.weight);
  }
  for (const auto& c : spec.workload.classes) {
    double share = total_weight > 0 ? static_cast<double>(c.weight) / total_weight : 0;
    double in_mean = 0;
    double in_worst = 0;
    if (c.prompt.synthetic) {
      in_mean = mean(c.prompt.synthetic->inputTokens);
      in_worst = worst(c.prompt.synthetic->inputTokens, &e.worstBounded);
    } else {
      // Dataset prompts: their length is known only when the dataset is read; count a typical chat turn.
      in_mean = 256;
      in_worst = 4096;
      e.worstBounded = false;
    }
    double out_mean = mean(c.maxOutputTokens);
    double out_worst = worst(c.maxOutputTokens, &e.worstBounded);
    if (c.conversation) {
      // Turn k resends the whole history: its input is k prompts plus k-1 answers.
      double turns_mean = mean(c.conversation->turns);
      double turns_worst = worst(c.conversation->turns, &e.worstBounded);
      in_mean = in_mean * (turns_mean + 1) / 2 + out_mean * (turns_mean - 1) / 2;
      in_worst = in_worst * turns_worst + out_worst * (turns_worst - 1);
    }
    e.inputTokensMean += share * in_mean;
    e.outputTokensMean += share * out_mean;
    e.inputTokensWorst = std::max(e.inputTokensWorst, in_worst);
    e.outputTokensWorst = std::max(e.outputTokensWorst, out_worst);
  }
  if (spec.budget.pricing && e.requests > 0) {
    const Pricing& p = *spec.budget.pricing;
    e.expectedCost =
        costOf(e.requests * e.inputTokensMean, p.input) + costOf(e.requests * e.outputTokensMean, p.output);
    double attempts = e.requests * e.maxAttempts;
    e.worstCaseCost =
        costOf(attempts * e.inputTokensWorst, p.input) + costOf(attempts * e.outputTokensWorst, p.output);
  }
  return e;
}

std::string explain(const LoadTest& test) {
  const LoadTestSpec& spec = test.spec;
  LoadPlan plan = expandLoad(spec);
  bool open = plan.mode == LoadMode::Open;
  std::string out;
  out += std::string("  load: ") +
         (open ? "open loop, " + std::string(enumName(spec.load.arrival)) + " arrivals"
               : std::string("closed loop (virtual users)")) +
         ", " + std::to_string(plan.stages.size()) + " stage" + (plan.stages.size() == 1 ? "" : "s") +
         ", total " + plan.total.str() + (plan.openEnded ? " at most (may stop earlier)" : "") + "\n";
  if (spec.load.warmup.nanos > 0) {
    out += "  warm-up: the first " + spec.load.warmup.str() + " are excluded from the summary\n";
  }
  const char* unit = open ? "req/s" : "users";
  out += "    " + pad("#", 4) + pad("stage", 16) + pad("start", 10) + pad("duration", 10) + "target (" +
         unit + ")\n";
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    const auto& s = plan.stages[i];
    std::string target = s.hold || s.from == s.to ? fmt("%g", s.to) + (s.hold ? " (step)" : "")
                                                  : fmt("%g", s.from) + " -> " + fmt("%g", s.to) + " (ramp)";
    out += "    " + pad(std::to_string(i), 4) + pad(s.name, 16) + pad(s.start.str(), 10) +
           pad(s.duration.str(), 10) + target + "\n";
  }
  Estimate e = estimate(spec);
  if (open) {
    out += "  requests: ~" + grouped(e.requests);
    if (e.maxAttempts > 1) {
      out += " (retries: up to " + grouped(e.requests * e.maxAttempts) + " attempts)";
    }
    if (spec.runners.count > 1) {
      out += ", split over " + std::to_string(spec.runners.count) + " runners in a cluster";
    }
    out += "\n";
  } else {
    out +=
        "  requests: depend on latency in closed loop (each user sends the next request when the last "
        "ends)\n";
  }
  out += "  tokens per request: input ~" + grouped(e.inputTokensMean) + " (worst " +
         grouped(e.inputTokensWorst) + "), output ~" + grouped(e.outputTokensMean) + " (worst " +
         grouped(e.outputTokensWorst) + ")\n";
  const Budget& b = spec.budget;
  if (b.pricing) {
    out += "  pricing: input $" + b.pricing->input.money() + ", output $" + b.pricing->output.money() +
           " per 1M tokens\n";
  } else if (b.pricingRef) {
    out += "  pricing: from ConfigMap " + b.pricingRef->name + " (read in the cluster; no estimate here)\n";
  }
  if (e.expectedCost) {
    out += "  cost: expected ~$" + e.expectedCost->money() + ", worst case $" + e.worstCaseCost->money() +
           (e.worstBounded ? "" : " (an unbounded distribution was cut at mean + 4 stddev)") + "\n";
  }
  if (b.maxCost) {
    out +=
        "  budget: capped at $" + b.maxCost->money() + "; runners stop and the test is aborted when spent\n";
    if (e.expectedCost && *e.expectedCost > *b.maxCost) {
      out +=
          "  note: the expected cost exceeds budget.maxCost, so this test will most likely end Aborted "
          "(BudgetExceeded) before its last stage\n";
    }
  }
  if (spec.limits.maxDuration) {
    out += "  deadline: " + spec.limits.maxDuration->str() + "\n";
  }
  if (!spec.thresholds.empty()) {
    out += "  thresholds: " + std::to_string(spec.thresholds.size()) + " (all must hold for verdict Pass)\n";
  }
  return out;
}

}  // namespace tokenstorm::core
