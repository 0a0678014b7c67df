#include "tokenstorm/core/compact.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace tokenstorm::core {
namespace {

// The smallest window: with W ≥ 2 a point's step is below its age, so no merged point reaches the last
// one, which always stays as it was (with W = 1 an old point's step could cover the whole series).
constexpr int64_t kMinWindowS = 2;

// The smallest power of two s with age ≤ window·s (capped at kMaxTimeSeriesStepS).
int64_t stepForAge(int64_t age, int64_t window_s) {
  int64_t step = 1;
  while (step < kMaxTimeSeriesStepS && age > window_s * step) {
    step *= 2;
  }
  return step;
}

// Bytes of the time series' JSON array, measured as the part of a snapshot that only it changes: the
// JSON of a snapshot is the same text before "timeseries" whatever the series holds.
int64_t seriesBytes(std::map<int64_t, TimePoint>& series) {
  Snapshot only;
  only.timeseries.swap(series);  // borrowed, not copied: a long series is megabytes of histograms
  auto bytes = static_cast<int64_t>(toJson(only).dump().size());
  series.swap(only.timeseries);
  return bytes;
}

int64_t maxStep(const std::map<int64_t, TimePoint>& series) {
  int64_t step = 1;
  for (const auto& [second, point] : series) {
    step = std::max(step, point.stepS);
  }
  return step;
}

}  // namespace

std::map<int64_t, TimePoint> coarsenTimeSeries(const std::map<int64_t, TimePoint>& series, int64_t window_s) {
  std::map<int64_t, TimePoint> out;
  if (series.empty()) {
    return out;
  }
  window_s = std::max(window_s, kMinWindowS);
  const auto& [last_second, last_point] = *series.rbegin();
  const int64_t end = last_second + std::max<int64_t>(last_point.stepS, 1);
  for (const auto& [second, point] : series) {
    TimePoint p = point;
    p.stepS = std::max(std::max<int64_t>(p.stepS, 1), stepForAge(end - second, window_s));
    addTimePoint(out, second - second % p.stepS, std::move(p));
  }
  return out;
}

Compaction compactSnapshot(Snapshot snapshot, int64_t max_bytes) {
  Compaction c;
  c.json = toJson(snapshot).dump();
  c.bytesBefore = static_cast<int64_t>(c.json.size());
  c.pointsBefore = snapshot.timeseries.size();
  c.pointsAfter = c.pointsBefore;
  c.maxStepS = maxStep(snapshot.timeseries);
  if (c.bytesBefore <= max_bytes || snapshot.timeseries.empty()) {
    c.fits = c.bytesBefore <= max_bytes;
    c.snapshot = std::move(snapshot);
    return c;
  }
  // Only the series changes, so the size of a candidate is the rest's plus its series'.
  const int64_t rest = c.bytesBefore - seriesBytes(snapshot.timeseries);
  auto fits = [&](std::map<int64_t, TimePoint>& series) { return rest + seriesBytes(series) <= max_bytes; };
  const auto& [last_second, last_point] = *snapshot.timeseries.rbegin();
  const int64_t span = last_second + last_point.stepS - snapshot.timeseries.begin()->first;
  // The largest window that fits: windows ≥ span change nothing, and that did not fit.
  int64_t lo = kMinWindowS;
  int64_t hi = span;  // the answer is in [lo, hi) when lo fits; hi is known not to fit
  auto best = coarsenTimeSeries(snapshot.timeseries, lo);
  c.fits = fits(best);
  if (c.fits) {
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      auto candidate = coarsenTimeSeries(snapshot.timeseries, mid);
      if (fits(candidate)) {
        lo = mid;
        best = std::move(candidate);
      } else {
        hi = mid;
      }
    }
  }
  c.fullResolutionS = lo;
  snapshot.timeseries = std::move(best);
  c.pointsAfter = snapshot.timeseries.size();
  c.maxStepS = maxStep(snapshot.timeseries);
  std::string json = toJson(snapshot).dump();
  c.compacted = json != c.json;  // a lone point, or one already coarse, may have nothing to merge
  c.json = std::move(json);
  c.snapshot = std::move(snapshot);
  return c;
}

}  // namespace tokenstorm::core
