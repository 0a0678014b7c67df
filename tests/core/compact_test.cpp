#include "tokenstorm/core/compact.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <random>

namespace tokenstorm::core {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kS = 1'000'000'000;
// What the runner gives a snapshot: 1 MiB less the shard's other keys (runner/cluster.h).
constexpr int64_t kShardSnapshotBytes = 1024 * 1024 - 8 * 1024;

// A request of class `cls` and stage `stage` ending in second `second`, with log-normal latencies around
// a 300 ms TTFT and 40 ms per token, 1 in 50 failed and 1 in 100 cancelled.
RequestRecord request(std::mt19937_64& rng, int64_t second, int cls, int stage) {
  std::lognormal_distribution<double> ttft_ms(std::log(300.0), 0.5);
  std::lognormal_distribution<double> tpot_ms(std::log(40.0), 0.3);
  std::uniform_int_distribution<int64_t> tokens(50, 400);
  std::uniform_int_distribution<int> roll(0, 99);
  RequestRecord r;
  r.stage = stage;
  r.cls = cls;
  r.outputTokens = tokens(rng);
  r.inputTokens = 4 * r.outputTokens;
  const auto ttft = static_cast<int64_t>(ttft_ms(rng) * kMs);
  const auto tpot = static_cast<int64_t>(tpot_ms(rng) * kMs);
  r.tEnd = second * kS + 500 * kMs;
  r.tLast = r.tEnd - 5 * kMs;
  r.tFirst = r.tLast - tpot * (r.outputTokens - 1);
  r.tFirstContent = r.tFirst;
  r.tSend = r.tFirst - ttft;
  r.tSched = r.tSend - 1 * kMs;
  r.gaps.assign(3, ChunkGap{tpot, 1});
  r.finishReason = "stop";
  int outcome = roll(rng);
  if (outcome < 2) {
    r.outcome = Outcome::Failed;
    r.error = ErrorKind::Http5xx;
  } else if (outcome < 3) {
    r.outcome = Outcome::Cancelled;
  }
  return r;
}

// A soak-shaped snapshot: `seconds` of `rps` requests a second over `classes` classes and `stages`
// stages of equal length, every request in the total, its class, its stage and its second.
Snapshot soak(int64_t seconds, int rps, int classes, int stages, uint64_t seed = 1) {
  std::mt19937_64 rng(seed);
  Snapshot s;
  s.runnerId = "runner-" + std::to_string(seed);
  s.sequence = seconds / 10;
  s.elapsedS = static_cast<double>(seconds);
  s.classes.resize(static_cast<size_t>(classes));
  s.stages.resize(static_cast<size_t>(stages));
  for (int64_t t = 0; t < seconds; ++t) {
    const auto stage = static_cast<int>(t * stages / seconds);
    for (int i = 0; i < rps; ++i) {
      RequestRecord r = request(rng, t, i % classes, stage);
      s.total.add(r);
      s.classes[static_cast<size_t>(r.cls)].add(r);
      s.stages[static_cast<size_t>(stage)].add(r);
      s.timeseries[t].add(r);
    }
  }
  return s;
}

int64_t jsonBytes(const Snapshot& s) {
  return static_cast<int64_t>(toJson(s).dump().size());
}

// Everything but the time series, which compaction must leave exactly as it was.
Snapshot withoutSeries(Snapshot s) {
  s.timeseries.clear();
  return s;
}

// The whole series folded into one point: what compaction must preserve exactly.
TimePoint sumOf(const std::map<int64_t, TimePoint>& series) {
  TimePoint sum;
  for (const auto& [second, p] : series) {
    TimePoint q = p;
    q.stepS = 1;
    sum.merge(q);
  }
  return sum;
}

// Steps are powers of two, starts are multiples of them, points do not overlap.
void expectWellFormed(const std::map<int64_t, TimePoint>& series) {
  int64_t end = 0;
  for (const auto& [second, p] : series) {
    EXPECT_GE(p.stepS, 1);
    EXPECT_EQ(p.stepS & (p.stepS - 1), 0) << "tS " << second;
    EXPECT_EQ(second % p.stepS, 0) << "tS " << second;
    EXPECT_GE(second, end) << "overlaps the previous point";
    end = second + p.stepS;
  }
}

TEST(CompactTest, MeasuresWhatASnapshotGrowsBy) {
  // Not a limit, a record (docs/operator.md quotes it): bytes per second of test at several rates, and
  // per class or stage, at 3 significant digits per MetricSet histogram and 2 per time series point.
  for (int rps : {1, 10, 100}) {
    Snapshot one_hour = soak(3600, rps, 1, 1);
    Snapshot two_hours = soak(7200, rps, 1, 1);
    int64_t per_second = (jsonBytes(two_hours) - jsonBytes(one_hour)) / 3600;
    int64_t series = jsonBytes(one_hour) - jsonBytes(withoutSeries(one_hour));
    std::cout << "[ measure  ] " << rps << " req/s: " << per_second
              << " B per second of test; 1 h = " << jsonBytes(one_hour) / 1024
              << " KiB, of which the time series " << series * 100 / jsonBytes(one_hour) << "%\n";
    EXPECT_GT(per_second, 50);
    EXPECT_LT(per_second, 2000);
  }
  Snapshot base = soak(3600, 10, 1, 1);
  Snapshot wide = soak(3600, 10, 8, 8);
  int64_t per_set = (jsonBytes(withoutSeries(wide)) - jsonBytes(withoutSeries(base))) / 14;
  std::cout << "[ measure  ] one more class or stage (10 req/s, 1 h): " << per_set << " B\n";
  EXPECT_GT(per_set, 1000);
  EXPECT_LT(per_set, 64 * 1024);
}

TEST(CompactTest, ASmallSnapshotIsUntouched) {
  Snapshot s = soak(600, 5, 2, 2);
  Compaction c = compactSnapshot(s, kShardSnapshotBytes);
  EXPECT_TRUE(c.fits);
  EXPECT_FALSE(c.compacted);
  EXPECT_EQ(c.json, toJson(s).dump()) << "byte-identical";
  EXPECT_EQ(c.snapshot, s);
  EXPECT_EQ(c.pointsAfter, 600u);
  EXPECT_EQ(c.maxStepS, 1);
}

TEST(CompactTest, AFourHourSoakFitsAndKeepsEveryTotalAndTheRecentSeconds) {
  const int64_t seconds = 4 * 3600;
  Snapshot s = soak(seconds, 20, 3, 4);
  ASSERT_GT(jsonBytes(s), 2 * kShardSnapshotBytes) << "the case must need compaction";
  auto began = std::chrono::steady_clock::now();
  Compaction c = compactSnapshot(s, kShardSnapshotBytes);
  std::cout << "[ measure  ] 4 h at 20 req/s: " << jsonBytes(s) / 1024 << " KiB compacted to "
            << c.json.size() / 1024 << " KiB in "
            << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began)
                   .count()
            << " ms: " << c.pointsAfter << " points, the last " << c.fullResolutionS << " s at 1 s, up to "
            << c.maxStepS << " s\n";
  ASSERT_TRUE(c.fits);
  EXPECT_TRUE(c.compacted);
  EXPECT_LE(static_cast<int64_t>(c.json.size()), kShardSnapshotBytes);
  EXPECT_EQ(c.json, toJson(c.snapshot).dump());
  EXPECT_EQ(c.bytesBefore, jsonBytes(s));
  EXPECT_EQ(c.pointsBefore, static_cast<size_t>(seconds));
  EXPECT_EQ(c.pointsAfter, c.snapshot.timeseries.size());
  EXPECT_LT(c.pointsAfter, c.pointsBefore);
  EXPECT_GT(c.maxStepS, 1);
  // Everything the summary and thresholds read is exact, and the series' sums too.
  EXPECT_EQ(withoutSeries(c.snapshot), withoutSeries(s));
  EXPECT_EQ(sumOf(c.snapshot.timeseries), sumOf(s.timeseries));
  expectWellFormed(c.snapshot.timeseries);
  // The most recent fullResolutionS seconds are the input's points, untouched; older ones are coarser.
  ASSERT_GT(c.fullResolutionS, 60);
  for (auto it = s.timeseries.lower_bound(seconds - c.fullResolutionS); it != s.timeseries.end(); ++it) {
    ASSERT_EQ(c.snapshot.timeseries.count(it->first), 1u) << it->first;
    EXPECT_EQ(c.snapshot.timeseries.at(it->first), it->second) << it->first;
  }
  EXPECT_GT(c.snapshot.timeseries.begin()->second.stepS, 1);
  // Steps never shrink going back in time.
  int64_t previous_step = kMaxTimeSeriesStepS;
  for (const auto& [second, p] : c.snapshot.timeseries) {
    EXPECT_LE(p.stepS, previous_step) << second;
    previous_step = p.stepS;
  }
  // What the operator reads back is what was compacted.
  std::string error;
  auto parsed = parseSnapshot(c.json, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(*parsed, c.snapshot);
  // Deterministic.
  EXPECT_EQ(compactSnapshot(s, kShardSnapshotBytes).json, c.json);
  // A window one larger would not have fitted: the compaction is as light as it can be.
  auto finer = coarsenTimeSeries(s.timeseries, c.fullResolutionS + 1);
  Snapshot finer_snapshot = s;
  finer_snapshot.timeseries = finer;
  EXPECT_GT(jsonBytes(finer_snapshot), kShardSnapshotBytes);
}

TEST(CompactTest, MergingACompactedShardWithAnUncompactedOneIsExact) {
  Snapshot a = soak(3 * 3600, 20, 2, 3, 1);
  Snapshot b = soak(3 * 3600 - 17, 7, 2, 3, 2);  // ends earlier, so its grid is anchored elsewhere
  Compaction ca = compactSnapshot(a, kShardSnapshotBytes);
  ASSERT_TRUE(ca.compacted);
  Compaction cb = compactSnapshot(b, 300 * 1024);  // compacted differently
  ASSERT_TRUE(cb.compacted);
  ASSERT_NE(ca.fullResolutionS, cb.fullResolutionS);
  Snapshot exact = merge({a, b});
  for (const auto& inputs :
       {std::vector<Snapshot>{ca.snapshot, b}, std::vector<Snapshot>{b, ca.snapshot},
        std::vector<Snapshot>{ca.snapshot, cb.snapshot}, std::vector<Snapshot>{cb.snapshot, ca.snapshot}}) {
    Snapshot merged = merge(inputs);
    EXPECT_EQ(withoutSeries(merged), withoutSeries(exact));
    EXPECT_EQ(sumOf(merged.timeseries), sumOf(exact.timeseries));
    expectWellFormed(merged.timeseries);
    // Each merged point holds exactly the seconds of the uncompacted merge it covers.
    for (const auto& [second, p] : merged.timeseries) {
      std::map<int64_t, TimePoint> covered(exact.timeseries.lower_bound(second),
                                           exact.timeseries.lower_bound(second + p.stepS));
      TimePoint want = sumOf(covered);
      want.stepS = p.stepS;
      ASSERT_EQ(p, want) << "tS " << second;
    }
  }
  EXPECT_EQ(merge({ca.snapshot, b}), merge({b, ca.snapshot})) << "commutative";
  EXPECT_EQ(merge({merge({ca.snapshot, b}), cb.snapshot}), merge({ca.snapshot, merge({b, cb.snapshot})}))
      << "associative, even merging a shard twice at different resolutions";
}

TEST(CompactTest, OddInputsAreFine) {
  Snapshot empty;
  Compaction c = compactSnapshot(empty, 10);  // cannot fit, nothing to compact
  EXPECT_FALSE(c.fits);
  EXPECT_FALSE(c.compacted);
  EXPECT_EQ(c.snapshot, empty);
  EXPECT_TRUE(coarsenTimeSeries({}, 5).empty());

  Snapshot one = soak(1, 3, 1, 1);
  c = compactSnapshot(one, 10);
  EXPECT_FALSE(c.fits);
  EXPECT_FALSE(c.compacted) << "a lone point has nothing to merge";
  EXPECT_EQ(c.snapshot, one);
  EXPECT_EQ(coarsenTimeSeries(one.timeseries, 1), one.timeseries);

  // A series that is already coarse (a compacted snapshot compacted again) stays well formed and exact.
  Snapshot s = soak(5000, 2, 1, 1);
  Compaction first = compactSnapshot(s, jsonBytes(s) / 2);
  ASSERT_TRUE(first.fits && first.compacted);
  Compaction second = compactSnapshot(first.snapshot, jsonBytes(s) / 4);
  ASSERT_TRUE(second.fits && second.compacted);
  expectWellFormed(second.snapshot.timeseries);
  EXPECT_EQ(sumOf(second.snapshot.timeseries), sumOf(s.timeseries));
  EXPECT_LE(static_cast<int64_t>(second.json.size()), jsonBytes(s) / 4);

  // Sparse points (idle seconds) and a window of 0 (treated as 2: the last point stays as it was).
  std::map<int64_t, TimePoint> sparse;
  for (int64_t t : {3, 100, 101, 777}) {
    sparse[t].requests = t;
    sparse[t].ok = t;
  }
  auto coarse = coarsenTimeSeries(sparse, 0);
  expectWellFormed(coarse);
  EXPECT_EQ(sumOf(coarse), sumOf(sparse));
  EXPECT_EQ(coarse.rbegin()->first, 777);
  EXPECT_EQ(coarse.rbegin()->second.stepS, 1);
}

TEST(AddTimePointTest, NestedPointsMergeIntoTheCoarserOne) {
  std::map<int64_t, TimePoint> series;
  auto point = [](int64_t step, int64_t requests) {
    TimePoint p;
    p.stepS = step;
    p.requests = requests;
    p.ok = requests;
    return p;
  };
  addTimePoint(series, 5, point(1, 1));
  addTimePoint(series, 6, point(1, 2));
  addTimePoint(series, 9, point(1, 4));
  addTimePoint(series, 4, point(4, 8));  // [4, 8) absorbs 5 and 6, not 9
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series.at(4).stepS, 4);
  EXPECT_EQ(series.at(4).requests, 11);
  addTimePoint(series, 7, point(1, 16));  // inside [4, 8)
  addTimePoint(series, 8, point(2, 32));  // [8, 10) absorbs 9
  ASSERT_EQ(series.size(), 2u);
  EXPECT_EQ(series.at(4).requests, 27);
  EXPECT_EQ(series.at(8).requests, 36);
  EXPECT_EQ(series.at(8).stepS, 2);
  addTimePoint(series, 0, point(16, 64));  // [0, 16) absorbs everything
  ASSERT_EQ(series.size(), 1u);
  EXPECT_EQ(series.at(0).requests, 127);
  EXPECT_EQ(series.at(0).stepS, 16);
}

}  // namespace
}  // namespace tokenstorm::core
