#include "tokenstorm/core/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace tokenstorm::core {
namespace {

constexpr int64_t kMs = 1'000'000;

// Values spread log-uniformly over the whole range, from a fixed seed.
std::vector<int64_t> logUniform(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> exponent(std::log(static_cast<double>(Histogram::kLowestNanos)),
                                                  std::log(static_cast<double>(Histogram::kHighestNanos)));
  std::vector<int64_t> out(n);
  for (auto& v : out) {
    v = static_cast<int64_t>(std::exp(exponent(rng)));
  }
  return out;
}

Histogram of(const std::vector<int64_t>& values, int digits = 3) {
  Histogram h(digits);
  for (int64_t v : values) {
    h.record(v);
  }
  return h;
}

// The r-th smallest value, with the rank valueAtPercentile documents.
int64_t exactPercentile(std::vector<int64_t> values, double p) {
  std::sort(values.begin(), values.end());
  auto n = static_cast<int64_t>(values.size());
  auto rank = std::clamp<int64_t>(static_cast<int64_t>(p / 100 * static_cast<double>(n) + 0.5), 1, n);
  return values[static_cast<size_t>(rank - 1)];
}

struct AccuracyCase {
  int digits;
  double tolerance;  // relative
};

TEST(HistogramTest, PercentilesAreWithinThePrecisionAcrossTheRange) {
  for (auto [digits, tolerance] : {AccuracyCase{3, 0.001}, AccuracyCase{2, 0.01}}) {
    auto values = logUniform(50'000, 42);
    Histogram h = of(values, digits);
    for (double p : {0.0, 0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0}) {
      SCOPED_TRACE("digits " + std::to_string(digits) + " p" + std::to_string(p));
      int64_t exact = exactPercentile(values, p);
      int64_t got = h.valueAtPercentile(p);
      EXPECT_GE(got, exact);  // the highest equivalent value: never below the truth
      EXPECT_LE(static_cast<double>(got - exact), tolerance * static_cast<double>(exact));
    }
  }
}

TEST(HistogramTest, EveryBucketIsNarrowerThanItsPrecision) {
  // Single values from the bottom to the top of the range: each lands in a bucket that contains it and
  // is narrower than value/1024 (3 digits) — except bucket 0's, which are exact.
  for (int64_t v = Histogram::kLowestNanos; v <= Histogram::kHighestNanos; v = v * 3 / 2 + 7) {
    Histogram h;
    h.record(v);
    auto buckets = h.buckets();
    ASSERT_EQ(buckets.size(), 1u) << v;
    EXPECT_LE(buckets[0].lowest, v);
    EXPECT_GE(buckets[0].highest, v);
    EXPECT_LE(buckets[0].highest - buckets[0].lowest + 1, std::max<int64_t>(1, v / 1024)) << v;
  }
}

struct BucketCase {
  int digits;
  int64_t value;
  int64_t lowest;
  int64_t highest;
};

TEST(HistogramTest, BucketBoundariesFollowTheLogLinearLayout) {
  const BucketCase cases[] = {
      {3, 1'000, 1'000, 1'000},                        // bucket 0: 1 ns resolution below 2048
      {3, 2'047, 2'047, 2'047},                        //
      {3, 2'048, 2'048, 2'049},                        // bucket 1: 2 ns
      {3, 4'097, 4'096, 4'099},                        // bucket 2: 4 ns
      {3, 1'000'000'000, 999'817'216, 1'000'341'503},  // 1 s: 2^19 ns wide
      {2, 1'000, 1'000, 1'003},                        // 2 digits: 256 sub-buckets, so 4 ns at 1 µs
  };
  for (const auto& c : cases) {
    Histogram h(c.digits);
    h.record(c.value);
    ASSERT_EQ(h.buckets().size(), 1u);
    EXPECT_EQ(h.buckets()[0], (Histogram::Bucket{c.lowest, c.highest, 1})) << c.value;
  }
}

TEST(HistogramTest, MinMaxMeanAndCountAreExact) {
  Histogram h;
  EXPECT_EQ(h.count(), 0);
  EXPECT_EQ(h.min(), 0);
  EXPECT_EQ(h.max(), 0);
  EXPECT_EQ(h.mean(), 0);
  EXPECT_EQ(h.valueAtPercentile(50), 0);
  h.record(1'500);
  h.record(2'501);
  h.record(1'000'000'007, 2);
  EXPECT_EQ(h.count(), 4);
  EXPECT_EQ(h.min(), 1'500);
  EXPECT_EQ(h.max(), 1'000'000'007);
  EXPECT_DOUBLE_EQ(h.mean(), (1'500.0 + 2'501.0 + 2 * 1'000'000'007.0) / 4);
  EXPECT_EQ(h.valueAtPercentile(100), 1'000'000'007);  // clamped to the exact max
  EXPECT_EQ(h.valueAtPercentile(0), 1'500);
  EXPECT_EQ(h.valueAtPercentile(50), 2'501);
  h.record(5, 0);  // a count of zero records nothing
  h.record(5, -3);
  EXPECT_EQ(h.count(), 4);
}

TEST(HistogramTest, ValuesOutsideTheRangeAreClampedAndCounted) {
  Histogram h;
  h.record(10);
  h.record(-5);
  h.record(2 * Histogram::kHighestNanos);
  h.record(5 * kMs);
  EXPECT_EQ(h.count(), 4);
  EXPECT_EQ(h.clampedLow(), 2);
  EXPECT_EQ(h.clampedHigh(), 1);
  EXPECT_EQ(h.min(), -5);
  EXPECT_EQ(h.max(), 2 * Histogram::kHighestNanos);
  auto buckets = h.buckets();
  ASSERT_EQ(buckets.size(), 3u);
  EXPECT_EQ(buckets.front().lowest, Histogram::kLowestNanos);
  EXPECT_EQ(buckets.front().count, 2);
  EXPECT_LE(buckets.back().lowest, Histogram::kHighestNanos);
  EXPECT_GE(buckets.back().highest, Histogram::kHighestNanos);
  EXPECT_EQ(h.valueAtPercentile(100), buckets.back().highest);
  EXPECT_EQ(h.valueAtPercentile(1), Histogram::kLowestNanos);
}

TEST(HistogramTest, CountsAreAllocatedOnlyWhereValuesLand) {
  Histogram h;
  EXPECT_EQ(h.allocatedChunks(), 0u);
  for (int64_t v = 100 * kMs; v < 120 * kMs; v += 7'919) {
    h.record(v);
  }
  EXPECT_EQ(h.allocatedChunks(), 1u);  // one power of two holds all of them
  h.record(3 * 1'000 * kMs);
  EXPECT_EQ(h.allocatedChunks(), 2u);
  Histogram everywhere = of(logUniform(10'000, 7));
  EXPECT_GT(everywhere.allocatedChunks(), 25u);
  EXPECT_LE(everywhere.allocatedChunks(), 33u);
}

TEST(HistogramTest, MergeIsExactlyTheHistogramOfAllValues) {
  auto values = logUniform(20'000, 1);
  values.push_back(3);                             // clamped low
  values.push_back(3 * Histogram::kHighestNanos);  // clamped high
  Histogram all = of(values);
  for (int digits : {2, 3}) {
    Histogram whole = of(values, digits);
    Histogram parts[3] = {Histogram(digits), Histogram(digits), Histogram(digits)};
    for (size_t i = 0; i < values.size(); ++i) {
      parts[(i * 7) % 3].record(values[i]);
    }
    Histogram abc(digits);
    abc.merge(parts[0]);
    abc.merge(parts[1]);
    abc.merge(parts[2]);
    Histogram cba = parts[2];
    cba.merge(parts[1]);
    cba.merge(parts[0]);
    EXPECT_EQ(abc, whole);
    EXPECT_EQ(cba, whole);
    EXPECT_EQ(abc.encode(), whole.encode());
  }
  Histogram empty;
  empty.merge(all);
  EXPECT_EQ(empty, all);
  Histogram same = all;
  same.merge(Histogram{});
  EXPECT_EQ(same, all);
}

TEST(HistogramTest, MergingAnotherPrecisionKeepsCountsMinMaxAndMean) {
  Histogram fine = of({1'500, 2'000'000, 3'000'000'000});
  Histogram coarse(2);
  coarse.record(7'000);
  coarse.merge(fine);
  EXPECT_EQ(coarse.count(), 4);
  EXPECT_EQ(coarse.min(), 1'500);
  EXPECT_EQ(coarse.max(), 3'000'000'000);
  EXPECT_DOUBLE_EQ(coarse.mean(), (1'500.0 + 7'000 + 2'000'000 + 3'000'000'000) / 4);
  EXPECT_EQ(coarse.significantDigits(), 2);
}

TEST(HistogramTest, EncodingRoundTrips) {
  std::vector<Histogram> cases;
  cases.push_back(Histogram{});
  cases.push_back(Histogram(2));
  cases.push_back(of(logUniform(5'000, 3)));
  cases.push_back(of(logUniform(5'000, 4), 2));
  cases.push_back(of({-7, 1, Histogram::kHighestNanos + 1, INT64_MAX, INT64_MAX}));
  for (const auto& h : cases) {
    std::string why;
    auto back = Histogram::decode(h.encode(), &why);
    ASSERT_TRUE(back.has_value()) << why;
    EXPECT_EQ(*back, h);
    EXPECT_EQ(back->encode(), h.encode());
    EXPECT_EQ(back->valueAtPercentile(99), h.valueAtPercentile(99));
  }
}

// The stored form of a small histogram: snapshots written by an older build must still decode, so a
// change here is a format change (bump the version byte).
TEST(HistogramTest, EncodingMatchesTheStoredForm) {
  Histogram h;
  h.record(1'000);
  h.record(1'500, 3);
  h.record(250 * kMs);
  const std::string stored = "AQMFAADQD4DKte4B+J+27gHoBwHzAwOWiwEB";
  EXPECT_EQ(h.encode(), stored);
  auto back = Histogram::decode(stored);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, h);
}

// ---- malformed encodings ----
std::string base64(const std::vector<uint8_t>& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) {
      n |= static_cast<uint32_t>(bytes[i + 1]) << 8;
    }
    if (i + 2 < bytes.size()) {
      n |= bytes[i + 2];
    }
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[n >> 6 & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

void varint(std::vector<uint8_t>& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<uint8_t>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<uint8_t>(v));
}

uint64_t zigzag(int64_t v) {
  return v < 0 ? (static_cast<uint64_t>(-(v + 1)) << 1) | 1 : static_cast<uint64_t>(v) << 1;
}

// A 3-digit encoding: header fields, then raw (gap, count) pairs.
std::string encoded(uint64_t count, int64_t min, int64_t max, int64_t sum, std::vector<uint64_t> pairs,
                    uint8_t version = 1, uint8_t digits = 3) {
  std::vector<uint8_t> bytes{version, digits};
  varint(bytes, count);
  varint(bytes, 0);
  varint(bytes, 0);
  varint(bytes, zigzag(min));
  varint(bytes, zigzag(max));
  varint(bytes, zigzag(sum));
  for (uint64_t v : pairs) {
    varint(bytes, v);
  }
  return base64(bytes);
}

struct MalformedCase {
  const char* name;
  std::string text;
  const char* error;
};

TEST(HistogramTest, MalformedEncodingsAreRejectedWithAReason) {
  const MalformedCase cases[] = {
      {"empty", "", "is truncated (no version)"},
      {"unpadded, too short", "AQM", "is truncated"},  // padding is optional (core/base64.h)
      {"bad character", "AQ*D", "unexpected character at offset 2"},
      {"padding inside", "AQ==AQMF", "unexpected character"},
      {"no precision", base64({1}), "truncated (no precision)"},
      {"unknown version", encoded(0, 0, 0, 0, {}, 9), "format version 9"},
      {"bad precision", encoded(0, 0, 0, 0, {}, 1, 7), "precision 7"},
      {"truncated header", base64({1, 3, 5}), "truncated (in clampedLow"},
      {"overlong number", base64({1, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
       "overlong number (count"},
      {"count over 2^48", base64({1, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}),
       "out of range (count"},
      {"index beyond range", encoded(1, 1'000, 1'000, 1'000, {1'000'000, 1}),
       "bucket index beyond the range"},
      {"index below range", encoded(1, 1'000, 1'000, 1'000, {5, 1}), "below the range"},
      {"empty bucket", encoded(1, 1'000, 1'000, 1'000, {1'000, 0}), "empty bucket at index 1000"},
      {"count disagrees", encoded(2, 1'000, 1'000, 2'000, {1'000, 1}), "says count 2 but its buckets hold 1"},
      {"truncated pair", encoded(1, 1'000, 1'000, 1'000, {1'000}), "truncated (in bucket count"},
      {"min outside its bucket", encoded(1, 1'500, 1'500, 1'500, {1'000, 1}), "disagree"},
      {"sum beyond max", encoded(1, 1'000, 1'000, 9'999, {1'000, 1}), "disagree"},
      {"empty with a min", encoded(0, 5, 0, 0, {}), "is empty but"},
  };
  for (const auto& c : cases) {
    std::string why;
    EXPECT_FALSE(Histogram::decode(c.text, &why).has_value()) << c.name;
    EXPECT_NE(why.find(c.error), std::string::npos) << c.name << ": " << why;
  }
  // The well-formed neighbour of those cases decodes, so each case fails for its own reason.
  EXPECT_TRUE(Histogram::decode(encoded(1, 1'000, 1'000, 1'000, {1'000, 1})).has_value());
}

TEST(HistogramTest, CorruptedEncodingsNeverCrashAndStaySmall) {
  const std::string good = of(logUniform(300, 9)).encode();
  std::mt19937_64 rng(5);
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  int rejected = 0;
  for (int i = 0; i < 3'000; ++i) {
    std::string text = good;
    for (int k = 0; k < 1 + i % 4; ++k) {
      text[rng() % text.size()] = alphabet[rng() % alphabet.size()];
    }
    std::string why;
    auto h = Histogram::decode(text, &why);
    if (h) {
      EXPECT_LE(h->allocatedChunks(), 33u);
      EXPECT_EQ(Histogram::decode(h->encode()), h);
    } else {
      EXPECT_FALSE(why.empty());
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 2'000);
}

}  // namespace
}  // namespace tokenstorm::core
