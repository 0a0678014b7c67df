// Snapshot compaction: a long test's snapshot made to fit a size (the runner's shard ConfigMap holds
// 1 MiB, docs/operator.md) by coarsening the time series, the only part that grows with the test's length.
//
// What stays exact: everything but the time series (totals, stages, classes, stage×class pairs, their
// histograms, spend), so the summary and every threshold read the same as without compaction; and the
// time series' own sums (requests, tokens, TTFT histogram over any stretch covered by whole points).
// What is reduced: the time series' resolution, oldest first. For a window W, points whose age (from the
// end of the last point) is
//   ≤ W          stay as they are (1 s),
//   ≤ 2W         merge into 2 s points,   ≤ 4W  into 4 s points,  ...  ≤ 2^k·W  into 2^k s points,
// each aligned to a multiple of its step (TimePoint::stepS), so the result merges exactly with any other
// series (addTimePoint). W is the largest that fits (binary search), so the recent part keeps full
// resolution as long as possible. Pure and deterministic: same input, same output.
#pragma once

#include <cstdint>
#include <string>

#include "tokenstorm/core/metrics.h"

namespace tokenstorm::core {

struct Compaction {
  Snapshot snapshot;  // the input itself when it fit, else the compacted copy
  std::string json;   // toJson(snapshot).dump(): what to write
  bool fits = true;   // json.size() ≤ max_bytes; false when even the coarsest series is too large
  bool compacted = false;
  int64_t bytesBefore = 0;      // toJson(input).dump().size()
  int64_t fullResolutionS = 0;  // compacted: W, the most recent seconds kept as they were
  int64_t maxStepS = 1;         // the coarsest point's stepS after compaction
  size_t pointsBefore = 0;
  size_t pointsAfter = 0;
};

// The time series coarsened for window `window_s` as described above (a window below 2 s counts as 2 s,
// so that the last point always stays as it was); exact sums.
std::map<int64_t, TimePoint> coarsenTimeSeries(const std::map<int64_t, TimePoint>& series, int64_t window_s);

// `snapshot` unchanged (byte-identical JSON) when its JSON fits in `max_bytes`; otherwise its time series
// coarsened with the largest window that fits, or, when none does, with the smallest (fits = false).
Compaction compactSnapshot(Snapshot snapshot, int64_t max_bytes);

}  // namespace tokenstorm::core
