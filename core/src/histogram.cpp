#include "tokenstorm/core/histogram.h"

#include "tokenstorm/core/base64.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace tokenstorm::core {

namespace {

__extension__ using Int128 = __int128;
__extension__ using UInt128 = unsigned __int128;

constexpr uint8_t kFormatVersion = 1;
// A LEB128 number of 64 bits takes at most 10 bytes; one of 128 bits at most 19.
constexpr int kMax64Bytes = 10;
constexpr int kMax128Bytes = 19;

int msb(uint64_t v) {
  return 63 - __builtin_clzll(v);
}

void setError(std::string* error, std::string message) {
  if (error != nullptr) {
    *error = std::move(message);
  }
}

// ---- LEB128 ----
void putVarint(std::string& out, UInt128 v) {
  while (v >= 0x80) {
    out += static_cast<char>(static_cast<uint8_t>(v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(static_cast<uint8_t>(v));
}

UInt128 zigzag(Int128 v) {
  return v < 0 ? (static_cast<UInt128>(-(v + 1)) << 1) | 1 : static_cast<UInt128>(v) << 1;
}

Int128 unzigzag(UInt128 v) {
  return (v & 1) != 0 ? -static_cast<Int128>(v >> 1) - 1 : static_cast<Int128>(v >> 1);
}

class ByteReader {
 public:
  ByteReader(const std::string& bytes, std::string* error) : bytes_(bytes), error_(error) {}

  bool atEnd() const { return pos_ == bytes_.size(); }
  bool byte(const char* what, uint8_t* out) {
    if (atEnd()) {
      return fail(std::string("is truncated (no ") + what + ")");
    }
    *out = static_cast<uint8_t>(bytes_[pos_++]);
    return true;
  }
  // An unsigned LEB128 number of at most `max_bytes` bytes whose value fits `bits` bits.
  bool varint(const char* what, int max_bytes, int bits, UInt128* out) {
    UInt128 v = 0;
    size_t start = pos_;
    for (int i = 0;; ++i) {
      if (atEnd()) {
        return fail(std::string("is truncated (in ") + what + " at byte " + std::to_string(start) + ")");
      }
      if (i == max_bytes) {
        return fail(std::string("has an overlong number (") + what + " at byte " + std::to_string(start) +
                    ")");
      }
      auto b = static_cast<uint8_t>(bytes_[pos_++]);
      int shift = 7 * i;
      if (shift + 7 > 128 && ((b & 0x7F) >> (128 - shift)) != 0) {
        return fail(std::string("has a number out of range (") + what + " at byte " + std::to_string(start) +
                    ")");
      }
      v |= static_cast<UInt128>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        break;
      }
    }
    if (bits < 128 && (v >> bits) != 0) {
      return fail(std::string("has a number out of range (") + what + " at byte " + std::to_string(start) +
                  ")");
    }
    *out = v;
    return true;
  }
  // A count: non-negative, at most 2^kMaxCountBits.
  bool count(const char* what, int64_t* out) {
    UInt128 v = 0;
    if (!varint(what, kMax64Bytes, Histogram::kMaxCountBits, &v)) {
      return false;
    }
    *out = static_cast<int64_t>(v);
    return true;
  }
  bool signed64(const char* what, int64_t* out) {
    UInt128 v = 0;
    if (!varint(what, kMax64Bytes, 64, &v)) {
      return false;
    }
    *out = static_cast<int64_t>(unzigzag(v));
    return true;
  }
  bool signed128(const char* what, Int128* out) {
    UInt128 v = 0;
    if (!varint(what, kMax128Bytes, 128, &v)) {
      return false;
    }
    *out = unzigzag(v);
    return true;
  }
  bool fail(std::string message) {
    setError(error_, std::move(message));
    return false;
  }

 private:
  const std::string& bytes_;
  std::string* error_;
  size_t pos_ = 0;
};

}  // namespace

Histogram::Histogram(int significant_digits)
    : digits_(std::clamp(significant_digits, kMinDigits, kMaxDigits)) {
  int64_t two_pow10 = 2;
  for (int i = 0; i < digits_; ++i) {
    two_pow10 *= 10;
  }
  // S = 2^ceil(log2(2·10^d)): enough sub-buckets that each is narrower than 1/10^d of its values.
  sub_bucket_bits_ = msb(static_cast<uint64_t>(two_pow10 - 1)) + 1;
  chunk_bits_ = sub_bucket_bits_ - 1;
  chunk_count_ = (indexOf(kHighestNanos) >> chunk_bits_) + 1;
}

size_t Histogram::indexOf(int64_t v) const {
  // v is within [kLowestNanos, kHighestNanos] (callers clamp), so it is positive.
  auto u = static_cast<uint64_t>(v);
  int bucket = std::max(0, msb(u) - sub_bucket_bits_ + 1);
  return (static_cast<size_t>(bucket) << chunk_bits_) + static_cast<size_t>(u >> bucket);
}

int64_t Histogram::lowestAt(size_t index) const {
  size_t sub_bucket_count = size_t{1} << sub_bucket_bits_;
  if (index < sub_bucket_count) {
    return static_cast<int64_t>(index);
  }
  int bucket = static_cast<int>(index >> chunk_bits_) - 1;
  size_t sub = index - (static_cast<size_t>(bucket) << chunk_bits_);
  return static_cast<int64_t>(sub) << bucket;
}

int64_t Histogram::highestAt(size_t index) const {
  size_t sub_bucket_count = size_t{1} << sub_bucket_bits_;
  if (index < sub_bucket_count) {
    return static_cast<int64_t>(index);
  }
  int bucket = static_cast<int>(index >> chunk_bits_) - 1;
  return lowestAt(index) + (int64_t{1} << bucket) - 1;
}

void Histogram::addAt(size_t index, int64_t count) {
  if (chunks_.empty()) {
    chunks_.resize(chunk_count_);
  }
  auto& chunk = chunks_[index >> chunk_bits_];
  if (chunk.empty()) {
    chunk.resize(size_t{1} << chunk_bits_);
  }
  chunk[index & ((size_t{1} << chunk_bits_) - 1)] += count;
}

void Histogram::record(int64_t nanos, int64_t count) {
  if (count <= 0) {
    return;
  }
  int64_t clamped = nanos;
  if (nanos < kLowestNanos) {
    clamped = kLowestNanos;
    clamped_low_ += count;
  } else if (nanos > kHighestNanos) {
    clamped = kHighestNanos;
    clamped_high_ += count;
  }
  if (count_ == 0) {
    min_ = nanos;
    max_ = nanos;
  } else {
    min_ = std::min(min_, nanos);
    max_ = std::max(max_, nanos);
  }
  count_ += count;
  sum_ += static_cast<Int128>(nanos) * count;
  addAt(indexOf(clamped), count);
}

template <class F>
void Histogram::forEachBucket(F&& f) const {
  for (size_t c = 0; c < chunks_.size(); ++c) {
    const auto& chunk = chunks_[c];
    for (size_t k = 0; k < chunk.size(); ++k) {
      if (chunk[k] != 0) {
        f((c << chunk_bits_) + k, chunk[k]);
      }
    }
  }
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) {
    return;
  }
  if (other.digits_ == digits_) {
    other.forEachBucket([&](size_t index, int64_t n) { addAt(index, n); });
  } else {
    other.forEachBucket([&](size_t index, int64_t n) {
      addAt(indexOf(std::clamp(other.lowestAt(index), kLowestNanos, kHighestNanos)), n);
    });
  }
  if (count_ == 0) {
    min_ = other.min_;
    max_ = other.max_;
  } else {
    min_ = std::min(min_, other.min_);
    max_ = std::max(max_, other.max_);
  }
  count_ += other.count_;
  sum_ += other.sum_;
  clamped_low_ += other.clamped_low_;
  clamped_high_ += other.clamped_high_;
}

double Histogram::mean() const {
  if (count_ == 0) {
    return 0;
  }
  // Whole part exactly, then the remainder: exact to a double's precision even for huge sums.
  Int128 whole = sum_ / count_;
  Int128 rest = sum_ % count_;
  return static_cast<double>(whole) + static_cast<double>(rest) / static_cast<double>(count_);
}

int64_t Histogram::valueAtPercentile(double percentile) const {
  if (count_ == 0) {
    return 0;
  }
  double p = std::isnan(percentile) ? 0 : std::clamp(percentile, 0.0, 100.0);
  auto rank = static_cast<int64_t>(p / 100 * static_cast<double>(count_) + 0.5);
  rank = std::clamp<int64_t>(rank, 1, count_);
  int64_t seen = 0;
  int64_t found = max_;
  bool done = false;
  for (size_t c = 0; c < chunks_.size() && !done; ++c) {
    const auto& chunk = chunks_[c];
    for (size_t k = 0; k < chunk.size(); ++k) {
      seen += chunk[k];
      if (seen >= rank) {
        found = highestAt((c << chunk_bits_) + k);
        done = true;
        break;
      }
    }
  }
  return std::clamp(found, min_, max_);
}

std::vector<Histogram::Bucket> Histogram::buckets() const {
  std::vector<Bucket> out;
  forEachBucket([&](size_t index, int64_t n) {
    out.push_back(Bucket{lowestAt(index), highestAt(index), n});
  });
  return out;
}

size_t Histogram::allocatedChunks() const {
  return static_cast<size_t>(
      std::count_if(chunks_.begin(), chunks_.end(), [](const auto& chunk) { return !chunk.empty(); }));
}

std::string Histogram::encode() const {
  std::string bytes;
  bytes += static_cast<char>(kFormatVersion);
  bytes += static_cast<char>(digits_);
  putVarint(bytes, static_cast<UInt128>(count_));
  putVarint(bytes, static_cast<UInt128>(clamped_low_));
  putVarint(bytes, static_cast<UInt128>(clamped_high_));
  putVarint(bytes, zigzag(min()));
  putVarint(bytes, zigzag(max()));
  putVarint(bytes, zigzag(sum_));
  size_t next = 0;  // the index after the previous bucket: gaps are ≥ 0
  forEachBucket([&](size_t index, int64_t n) {
    putVarint(bytes, index - next);
    putVarint(bytes, static_cast<UInt128>(n));
    next = index + 1;
  });
  return encodeBase64(bytes);
}

std::optional<Histogram> Histogram::decode(std::string_view text, std::string* error) {
  auto bytes = decodeBase64(text, error);
  if (!bytes) {
    return std::nullopt;
  }
  ByteReader in(*bytes, error);
  uint8_t version = 0;
  uint8_t digits = 0;
  if (!in.byte("version", &version) || !in.byte("precision", &digits)) {
    return std::nullopt;
  }
  if (version != kFormatVersion) {
    in.fail("has format version " + std::to_string(version) + " (this build reads version " +
            std::to_string(kFormatVersion) + ")");
    return std::nullopt;
  }
  if (digits < kMinDigits || digits > kMaxDigits) {
    in.fail("has precision " + std::to_string(digits) + " (significant digits must be " +
            std::to_string(kMinDigits) + " to " + std::to_string(kMaxDigits) + ")");
    return std::nullopt;
  }
  Histogram h(digits);
  int64_t count = 0;
  int64_t low = 0;
  int64_t high = 0;
  int64_t min = 0;
  int64_t max = 0;
  Int128 sum = 0;
  if (!in.count("count", &count) || !in.count("clampedLow", &low) || !in.count("clampedHigh", &high) ||
      !in.signed64("min", &min) || !in.signed64("max", &max) || !in.signed128("sum", &sum)) {
    return std::nullopt;
  }
  const size_t max_index = h.indexOf(kHighestNanos);
  const size_t min_index = h.indexOf(kLowestNanos);
  size_t next = 0;
  size_t first = 0;
  size_t last = 0;
  int64_t total = 0;
  while (!in.atEnd()) {
    UInt128 gap = 0;
    int64_t n = 0;
    if (!in.varint("bucket index", kMax64Bytes, 64, &gap) || !in.count("bucket count", &n)) {
      return std::nullopt;
    }
    if (gap > max_index || next + static_cast<size_t>(gap) > max_index) {
      in.fail("has a bucket index beyond the range (at most " + std::to_string(max_index) + ")");
      return std::nullopt;
    }
    size_t index = next + static_cast<size_t>(gap);
    if (index < min_index) {
      in.fail("has bucket index " + std::to_string(index) + " below the range (at least " +
              std::to_string(min_index) + ")");
      return std::nullopt;
    }
    if (n == 0) {
      in.fail("has an empty bucket at index " + std::to_string(index));
      return std::nullopt;
    }
    if (__builtin_add_overflow(total, n, &total)) {
      in.fail("has bucket counts that overflow");
      return std::nullopt;
    }
    if (total == n) {
      first = index;
    }
    last = index;
    h.addAt(index, n);
    next = index + 1;
  }
  if (total != count) {
    in.fail("says count " + std::to_string(count) + " but its buckets hold " + std::to_string(total));
    return std::nullopt;
  }
  if (count == 0) {
    if (low != 0 || high != 0 || min != 0 || max != 0 || sum != 0) {
      in.fail("is empty but has a non-zero min, max, sum or clamp count");
      return std::nullopt;
    }
    return h;
  }
  // min and max must lie in the first and last non-empty buckets, the clamp counts must agree with them,
  // and the sum must lie between count·min and count·max.
  bool consistent = min <= max && h.indexOf(std::clamp(min, kLowestNanos, kHighestNanos)) == first &&
                    h.indexOf(std::clamp(max, kLowestNanos, kHighestNanos)) == last &&
                    (min < kLowestNanos) == (low > 0) && (max > kHighestNanos) == (high > 0) &&
                    low <= count && high <= count - low && sum >= static_cast<Int128>(min) * count &&
                    sum <= static_cast<Int128>(max) * count;
  if (!consistent) {
    in.fail("has min, max, sum or clamp counts that disagree with its buckets");
    return std::nullopt;
  }
  h.count_ = count;
  h.min_ = min;
  h.max_ = max;
  h.sum_ = sum;
  h.clamped_low_ = low;
  h.clamped_high_ = high;
  return h;
}

bool operator==(const Histogram& a, const Histogram& b) {
  if (a.digits_ != b.digits_ || a.count_ != b.count_ || a.min() != b.min() || a.max() != b.max() ||
      a.sum_ != b.sum_ || a.clamped_low_ != b.clamped_low_ || a.clamped_high_ != b.clamped_high_) {
    return false;
  }
  return a.buckets() == b.buckets();
}

}  // namespace tokenstorm::core
