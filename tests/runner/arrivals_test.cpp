// Arrival plans are pure functions of the load plan and a seed: counts are checked against the plan's
// integral (exact for constant arrivals, within statistical bounds for Poisson), with no clock at all.
#include "tokenstorm/runner/arrivals.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::runner {
namespace {

core::Duration secs(double s) {
  return core::Duration{std::llround(s * 1e9)};
}

core::PlannedStage stage(double start_s, double duration_s, double from, double to) {
  core::PlannedStage s;
  s.start = secs(start_s);
  s.duration = secs(duration_s);
  s.from = from;
  s.to = to;
  s.hold = from == to;
  return s;
}

core::LoadPlan planOf(std::vector<core::PlannedStage> stages) {
  core::LoadPlan plan;
  plan.stages = std::move(stages);
  const auto& last = plan.stages.back();
  plan.total = core::Duration{last.start.nanos + last.duration.nanos};
  return plan;
}

std::vector<PlannedArrival> all(ArrivalSchedule schedule) {
  std::vector<PlannedArrival> out;
  while (auto a = schedule.next()) {
    out.push_back(*a);
  }
  return out;
}

// Counts per second-wide bin.
std::vector<int64_t> perSecond(const std::vector<PlannedArrival>& arrivals, int seconds) {
  std::vector<int64_t> bins(static_cast<size_t>(seconds), 0);
  for (const auto& a : arrivals) {
    auto bin = static_cast<size_t>(a.offsetNanos / 1'000'000'000);
    if (bin < bins.size()) {
      ++bins[bin];
    }
  }
  return bins;
}

TEST(ArrivalsTest, ConstantRateIsExactAndEvenlySpaced) {
  auto plan = planOf({stage(0, 10, 100, 100)});
  auto arrivals = all(ArrivalSchedule(plan, core::Arrival::Constant, 1));
  ASSERT_EQ(arrivals.size(), 1000u);
  for (size_t i = 0; i < arrivals.size(); ++i) {
    EXPECT_NEAR(static_cast<double>(arrivals[i].offsetNanos), (static_cast<double>(i) + 1) * 1e7, 1.0) << i;
  }
}

TEST(ArrivalsTest, PoissonCountStaysWithinFourSigma) {
  auto plan = planOf({stage(0, 60, 200, 200)});
  for (uint64_t seed : {1u, 2u, 3u}) {
    auto arrivals = all(ArrivalSchedule(plan, core::Arrival::Poisson, seed));
    double expected = 12000;
    EXPECT_NEAR(static_cast<double>(arrivals.size()), expected, 4 * std::sqrt(expected)) << "seed " << seed;
    for (size_t i = 1; i < arrivals.size(); ++i) {
      ASSERT_GE(arrivals[i].offsetNanos, arrivals[i - 1].offsetNanos);
    }
  }
}

TEST(ArrivalsTest, PoissonGapsAreExponential) {
  // Coefficient of variation of exponential gaps is 1; a constant plan's would be 0.
  auto plan = planOf({stage(0, 100, 100, 100)});
  auto arrivals = all(ArrivalSchedule(plan, core::Arrival::Poisson, 7));
  double sum = 0;
  double sum_sq = 0;
  for (size_t i = 1; i < arrivals.size(); ++i) {
    double gap = static_cast<double>(arrivals[i].offsetNanos - arrivals[i - 1].offsetNanos);
    sum += gap;
    sum_sq += gap * gap;
  }
  double n = static_cast<double>(arrivals.size() - 1);
  double mean = sum / n;
  double cv = std::sqrt(sum_sq / n - mean * mean) / mean;
  EXPECT_NEAR(mean, 1e7, 0.05e7);
  EXPECT_NEAR(cv, 1.0, 0.05);
}

TEST(ArrivalsTest, LinearRampFollowsTheIntegral) {
  // 0 → 100 req/s over 10 s: Λ(t) = 5 t², so second k holds 5(2k+1) arrivals with constant spacing.
  auto plan = planOf({stage(0, 10, 0, 100)});
  auto arrivals = all(ArrivalSchedule(plan, core::Arrival::Constant, 1));
  EXPECT_EQ(arrivals.size(), 500u);
  auto bins = perSecond(arrivals, 10);
  for (size_t k = 0; k < bins.size(); ++k) {
    EXPECT_NEAR(static_cast<double>(bins[k]), 5.0 * (2 * static_cast<double>(k) + 1), 1.0) << "second " << k;
  }
}

TEST(ArrivalsTest, DownRampAndStagesAreFollowedWithStageIndices) {
  auto plan = planOf({stage(0, 5, 50, 50), stage(5, 5, 50, 0), stage(10, 5, 20, 20)});
  auto arrivals = all(ArrivalSchedule(plan, core::Arrival::Constant, 1));
  int64_t counts[3] = {0, 0, 0};
  for (const auto& a : arrivals) {
    ASSERT_GE(a.stage, 0);
    ASSERT_LT(a.stage, 3);
    ++counts[a.stage];
    int64_t start = plan.stages[static_cast<size_t>(a.stage)].start.nanos;
    EXPECT_GE(a.offsetNanos, start);
    EXPECT_LE(a.offsetNanos, start + plan.stages[static_cast<size_t>(a.stage)].duration.nanos);
  }
  EXPECT_EQ(counts[0], 250);
  EXPECT_NEAR(static_cast<double>(counts[1]), 125, 1);
  EXPECT_NEAR(static_cast<double>(counts[2]), 100, 1);
}

TEST(ArrivalsTest, IdleStageSendsNothing) {
  auto plan = planOf({stage(0, 30, 0, 0), stage(30, 10, 10, 10)});
  auto arrivals = all(ArrivalSchedule(plan, core::Arrival::Poisson, 3));
  ASSERT_FALSE(arrivals.empty());
  EXPECT_GE(arrivals.front().offsetNanos, 30'000'000'000);
  EXPECT_EQ(arrivals.front().stage, 1);
}

TEST(ArrivalsTest, ConstantSharesPartitionTheFullPlanExactly) {
  auto plan = planOf({stage(0, 10, 0, 30), stage(10, 10, 30, 30)});
  auto whole = all(ArrivalSchedule(plan, core::Arrival::Constant, 1));
  std::vector<int64_t> merged;
  for (int64_t i = 0; i < 3; ++i) {
    for (const auto& a : all(ArrivalSchedule(plan, core::Arrival::Constant, 1, {i, 3}))) {
      merged.push_back(a.offsetNanos);
    }
  }
  std::sort(merged.begin(), merged.end());
  ASSERT_EQ(merged.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) {
    EXPECT_EQ(merged[i], whole[i].offsetNanos);
  }
}

TEST(ArrivalsTest, PoissonSharesAddUpToTheFullRateAndDiffer) {
  auto plan = planOf({stage(0, 60, 300, 300)});
  std::vector<size_t> sizes;
  std::vector<int64_t> firsts;
  for (int64_t i = 0; i < 4; ++i) {
    auto arrivals = all(ArrivalSchedule(plan, core::Arrival::Poisson, 1, {i, 4}));
    sizes.push_back(arrivals.size());
    firsts.push_back(arrivals.front().offsetNanos);
  }
  double total = 0;
  for (size_t s : sizes) {
    total += static_cast<double>(s);
    EXPECT_NEAR(static_cast<double>(s), 4500, 4 * std::sqrt(4500.0));
  }
  EXPECT_NEAR(total, 18000, 4 * std::sqrt(18000.0));
  EXPECT_NE(firsts[0], firsts[1]);  // independent streams, not copies
}

TEST(ArrivalsTest, SameSeedSameArrivals) {
  auto plan = planOf({stage(0, 5, 10, 40)});
  auto a = all(ArrivalSchedule(plan, core::Arrival::Poisson, 42));
  auto b = all(ArrivalSchedule(plan, core::Arrival::Poisson, 42));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].offsetNanos, b[i].offsetNanos);
  }
}

// Every open-loop example (each pattern kind has one) gets, from its expanded plan, the number of arrivals
// the plan's integral promises, within 4 standard deviations of a Poisson count.
TEST(ArrivalsTest, EveryExamplePatternDeliversItsExpectedCount) {
  int checked = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(TOKENSTORM_SOURCE_DIR) / "examples")) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    auto loaded = core::parseLoadTests(text.str());
    ASSERT_TRUE(loaded.errors.empty()) << entry.path();
    for (const auto& test : loaded.tests) {
      if (test.spec.load.mode != core::LoadMode::Open) {
        continue;
      }
      core::LoadPlan plan = core::expandLoad(test.spec);
      double expected = core::expectedRequests(plan);
      size_t n = all(ArrivalSchedule(plan, core::Arrival::Poisson, 11)).size();
      EXPECT_NEAR(static_cast<double>(n), expected, 4 * std::sqrt(expected) + 1) << entry.path();
      size_t c = all(ArrivalSchedule(plan, core::Arrival::Constant, 11)).size();
      EXPECT_NEAR(static_cast<double>(c), expected, static_cast<double>(plan.stages.size()) + 1)
          << entry.path();
      ++checked;
    }
  }
  EXPECT_GE(checked, 8);
}

}  // namespace
}  // namespace tokenstorm::runner
