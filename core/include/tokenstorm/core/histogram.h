// An HDR-style log-linear histogram of durations in nanoseconds, mergeable exactly across runners.
//
// Layout (as in HdrHistogram, with a unit of 1 ns): for `d` significant digits the sub-bucket count is
// S = 2^ceil(log2(2·10^d)) (2048 for d = 3, 256 for d = 2) and H = S/2. Values below S sit in bucket 0 at
// 1 ns resolution; a value v ≥ S sits in bucket b = msb(v) − log2(S) + 1 at resolution 2^b, so every
// bucket is narrower than v/H: the relative error of any reported value is below 1/1024 (0.098%) for 3
// digits and 1/128 for 2. Counts are dense arrays of H entries ("chunks", one per half-magnitude),
// allocated the first time a value lands in them, so a histogram touching a few magnitudes stays small.
//
// Range: 1 µs to 1 h. A value outside it is counted in the nearest end bucket and in clampedLow() or
// clampedHigh(); min(), max() and mean() stay exact (they come from the raw values).
//
// Merging two histograms of the same precision is exact: merge(A, B) equals the histogram of all their
// values (counts, min, max, sum and clamp counts alike), so merging is associative and commutative.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenstorm::core {

class Histogram {
 public:
  static constexpr int64_t kLowestNanos = 1'000;               // 1 µs
  static constexpr int64_t kHighestNanos = 3'600'000'000'000;  // 1 h
  // decode() refuses counts above 2^48 (far beyond any test), so that merging up to 2^15 decoded
  // histograms cannot overflow.
  static constexpr int kMaxCountBits = 48;
  static constexpr int kMinDigits = 2;
  static constexpr int kMaxDigits = 3;

  // One non-empty bucket: every value in [lowest, highest] counts as the same value.
  struct Bucket {
    int64_t lowest = 0;
    int64_t highest = 0;
    int64_t count = 0;
    friend bool operator==(const Bucket&, const Bucket&) = default;
  };

  Histogram() : Histogram(kMaxDigits) {}
  // `significant_digits` is clamped to [kMinDigits, kMaxDigits].
  explicit Histogram(int significant_digits);

  // The hot path: a few shifts, one branch for a chunk not yet allocated. `count` ≤ 0 records nothing.
  void record(int64_t nanos, int64_t count = 1);
  // Adds every value of `other`. Exact when both have the same precision; otherwise `other`'s buckets are
  // re-bucketed at their lowest value (min, max, mean and count stay exact).
  void merge(const Histogram& other);

  int significantDigits() const { return digits_; }
  int64_t count() const { return count_; }
  int64_t min() const { return count_ == 0 ? 0 : min_; }  // exact; 0 when empty
  int64_t max() const { return count_ == 0 ? 0 : max_; }  // exact; 0 when empty
  double mean() const;                                    // exact sum / count; 0 when empty
  int64_t clampedLow() const { return clamped_low_; }     // values below 1 µs
  int64_t clampedHigh() const { return clamped_high_; }   // values above 1 h

  // HdrHistogram's semantics: the value at rank r = max(1, round(percentile/100 · count)) is reported as
  // the highest value equivalent to the bucket where the cumulative count first reaches r. That is never
  // below the true value and at most one bucket width above it. The result is then clamped into the
  // exact [min(), max()], so that p100 is the true maximum and no percentile reads above it.
  // `percentile` is clamped to [0, 100]; an empty histogram gives 0.
  int64_t valueAtPercentile(double percentile) const;

  // Non-empty buckets in increasing order.
  std::vector<Bucket> buckets() const;
  // Chunks of counts allocated so far (each holds H counters): what the histogram costs in memory.
  size_t allocatedChunks() const;

  // Compact text form for snapshots: base64 of a header (format version, precision, count, clamp
  // counts, zigzag min, max and sum) followed by LEB128 (index gap, count) pairs of the non-empty buckets.
  std::string encode() const;
  // Parses encode()'s output. Rejects anything else with a reason in *error: bad base64, an unknown
  // version or precision, a truncated or overlong number, a bucket index beyond the range, an empty
  // bucket, or counts/min/max/sum that disagree. Memory stays bounded by the range whatever the input.
  static std::optional<Histogram> decode(std::string_view text, std::string* error = nullptr);

  friend bool operator==(const Histogram& a, const Histogram& b);

 private:
  __extension__ using Int128 = __int128;

  size_t indexOf(int64_t clamped_nanos) const;
  int64_t lowestAt(size_t index) const;
  int64_t highestAt(size_t index) const;
  void addAt(size_t index, int64_t count);
  template <class F>
  void forEachBucket(F&& f) const;

  int digits_;
  int sub_bucket_bits_;                       // log2(S)
  int chunk_bits_;                            // log2(H)
  size_t chunk_count_;                        // chunks needed to reach kHighestNanos
  std::vector<std::vector<int64_t>> chunks_;  // empty until the first record; a chunk is empty until used
  int64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
  Int128 sum_ = 0;
  int64_t clamped_low_ = 0;
  int64_t clamped_high_ = 0;
};

}  // namespace tokenstorm::core
