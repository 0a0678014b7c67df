#include "tokenstorm/core/metrics.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <limits>
#include <set>
#include <tuple>

namespace tokenstorm::core {

namespace {

using Json = nlohmann::ordered_json;

constexpr int64_t kSnapshotVersion = 1;
constexpr int64_t kNanosPerSecond = 1'000'000'000;
// Bounds on what an untrusted snapshot may hold: generous next to any valid spec (30 days at most, 32
// classes, a few thousand stages, 100 thresholds), small enough that decoding stays cheap.
constexpr int64_t kMaxSeconds = 40LL * 24 * 3600;
constexpr size_t kMaxStages = 10'000;
constexpr size_t kMaxClasses = 1'000;
constexpr size_t kMaxStageClasses = 1'000;
constexpr int kMaxJsonDepth = 32;
// Counters and cost above these are refused, so that merging thousands of snapshots cannot overflow.
constexpr int64_t kMaxCount = int64_t{1} << Histogram::kMaxCountBits;
constexpr int64_t kMaxCostUnits = 1'000'000;  // USD

// Rounds a / b to the nearest integer (halves away from zero); b > 0.
int64_t divRound(int64_t a, int64_t b) {
  return a >= 0 ? (a + b / 2) / b : -((-a + b / 2) / b);
}

int64_t nonNegative(int64_t v) {
  return std::max<int64_t>(v, 0);
}

// ---- the tables that encode, decode and merge walk ----
struct CounterField {
  const char* name;
  int64_t MetricSet::*member;
};
constexpr std::array<CounterField, 15> kCounters{{
    {"requests", &MetricSet::requests},
    {"ok", &MetricSet::ok},
    {"failed", &MetricSet::failed},
    {"cancelled", &MetricSet::cancelled},
    {"attempts", &MetricSet::attempts},
    {"inputTokens", &MetricSet::inputTokens},
    {"outputTokens", &MetricSet::outputTokens},
    {"cachedTokens", &MetricSet::cachedTokens},
    {"estimatedTokenRequests", &MetricSet::estimatedTokenRequests},
    {"serverOutputTokensCompared", &MetricSet::serverOutputTokensCompared},
    {"clientOutputTokensCompared", &MetricSet::clientOutputTokensCompared},
    {"goodput", &MetricSet::goodput},
    {"finishLength", &MetricSet::finishLength},
    {"emptyOutput", &MetricSet::emptyOutput},
    {"droppedArrivals", &MetricSet::droppedArrivals},
}};

struct HistogramField {
  const char* name;
  Histogram MetricSet::*member;
};
constexpr std::array<HistogramField, 11> kHistograms{{
    {"ttft", &MetricSet::ttft},
    {"ttftSched", &MetricSet::ttftSched},
    {"ttfo", &MetricSet::ttfo},
    {"e2e", &MetricSet::e2e},
    {"e2eSched", &MetricSet::e2eSched},
    {"tpot", &MetricSet::tpot},
    {"ntpot", &MetricSet::ntpot},
    {"itl", &MetricSet::itl},
    {"interChunk", &MetricSet::interChunk},
    {"schedLag", &MetricSet::schedLag},
    {"outputLength", &MetricSet::outputLength},
}};

// By ErrorKind, in its order.
constexpr std::array<const char*, kErrorKindCount> kErrorNames{
    "unclassified", "http429", "http4xx", "http5xx", "timeout", "connect", "tls", "streamError", "protocol"};

struct TimePointField {
  const char* name;
  int64_t TimePoint::*member;
};
constexpr std::array<TimePointField, 6> kTimePointCounters{{
    {"requests", &TimePoint::requests},
    {"ok", &TimePoint::ok},
    {"errors", &TimePoint::errors},
    {"cancelled", &TimePoint::cancelled},
    {"inputTokens", &TimePoint::inputTokens},
    {"outputTokens", &TimePoint::outputTokens},
}};

// Records the metrics measured event by event, before any cancellation could distort them.
void addEventMetrics(MetricSet& m, const RequestRecord& r) {
  if (auto v = requestLatency(r, Metric::Ttft)) {
    m.ttft.record(*v);
  }
  if (auto v = requestLatency(r, Metric::TtftSched)) {
    m.ttftSched.record(*v);
  }
  if (auto v = requestLatency(r, Metric::Ttfo)) {
    m.ttfo.record(*v);
  }
  for (const ChunkGap& gap : r.gaps) {
    int64_t tokens = std::max<int64_t>(gap.tokens, 1);
    m.interChunk.record(gap.nanos);
    m.itl.record(divRound(gap.nanos, tokens), tokens);
  }
}

std::string joinRunnerIds(const std::string& a, const std::string& b) {
  std::set<std::string> ids;
  for (const std::string* list : {&a, &b}) {
    size_t start = 0;
    while (start <= list->size()) {
      size_t comma = std::min(list->find(',', start), list->size());
      if (comma > start) {
        ids.insert(list->substr(start, comma - start));
      }
      start = comma + 1;
    }
  }
  std::string out;
  for (const auto& id : ids) {
    out += (out.empty() ? "" : ",") + id;
  }
  return out;
}

// ---- JSON encoding ----
Json encodeSet(const MetricSet& m) {
  Json j = Json::object();
  for (const auto& c : kCounters) {
    j[c.name] = m.*c.member;
  }
  Json errors = Json::object();
  for (size_t k = 0; k < kErrorKindCount; ++k) {
    errors[kErrorNames[k]] = m.errors[k];
  }
  j["errors"] = std::move(errors);
  j["costUsd"] = m.cost.str();
  j["costEstimated"] = m.costEstimated;
  Json histograms = Json::object();
  for (const auto& h : kHistograms) {
    if ((m.*h.member).count() > 0) {
      histograms[h.name] = (m.*h.member).encode();
    }
  }
  j["histograms"] = std::move(histograms);
  return j;
}

// ---- JSON decoding: every failure names the field ----
class Decoder {
 public:
  explicit Decoder(std::string* error) : error_(error) {}

  bool fail(const std::string& path, const std::string& message) {
    if (error_ != nullptr) {
      *error_ = path + ": " + message;
    }
    return false;
  }

  // `j` is an object holding every `required` key, optionally the `optional` ones, and nothing else.
  bool object(const nlohmann::json& j, const std::string& path,
              std::initializer_list<std::string_view> required,
              std::initializer_list<std::string_view> optional = {}) {
    if (!j.is_object()) {
      return fail(path, std::string("must be an object (got ") + j.type_name() + ")");
    }
    for (const auto& [key, value] : j.items()) {
      bool known = std::find(required.begin(), required.end(), key) != required.end() ||
                   std::find(optional.begin(), optional.end(), key) != optional.end();
      if (!known) {
        return fail(path + "." + key, "is not a known field");
      }
    }
    for (std::string_view key : required) {
      if (!j.contains(key)) {
        return fail(path + "." + std::string(key), "is required");
      }
    }
    return true;
  }

  bool count(const nlohmann::json& j, const std::string& path, int64_t* out) {
    if (!j.is_number_integer()) {
      return fail(path, std::string("must be a whole number (got ") + j.type_name() + ")");
    }
    bool in_range = j.is_number_unsigned() ? j.get<uint64_t>() <= static_cast<uint64_t>(kMaxCount)
                                           : j.get<int64_t>() >= 0 && j.get<int64_t>() <= kMaxCount;
    if (!in_range) {
      return fail(path, "must be between 0 and 2^48 (got " + j.dump() + ")");
    }
    *out = j.get<int64_t>();
    return true;
  }
  bool count(const nlohmann::json& obj, const char* key, const std::string& path, int64_t* out) {
    return count(obj.at(key), path + "." + key, out);
  }
  bool boolean(const nlohmann::json& j, const std::string& path, bool* out) {
    if (!j.is_boolean()) {
      return fail(path, std::string("must be true or false (got ") + j.type_name() + ")");
    }
    *out = j.get<bool>();
    return true;
  }
  // Money as a decimal string ("0.25"), between 0 and kMaxCostUnits dollars.
  bool decimalCost(const nlohmann::json& j, const std::string& path, Decimal* out) {
    std::string text;
    if (!string(j, path, &text)) {
      return false;
    }
    std::string why;
    auto cost = Decimal::parse(text, &why);
    if (!cost || cost->nanos < 0 || *cost > Decimal::fromUnits(kMaxCostUnits)) {
      return fail(path, "must be a decimal between 0 and " + std::to_string(kMaxCostUnits) +
                            " such as \"0.25\" (got \"" + text + "\")");
    }
    *out = *cost;
    return true;
  }

  bool string(const nlohmann::json& j, const std::string& path, std::string* out) {
    if (!j.is_string()) {
      return fail(path, std::string("must be a string (got ") + j.type_name() + ")");
    }
    *out = j.get<std::string>();
    return true;
  }
  bool array(const nlohmann::json& j, const std::string& path, size_t max_items) {
    if (!j.is_array()) {
      return fail(path, std::string("must be a list (got ") + j.type_name() + ")");
    }
    if (j.size() > max_items) {
      return fail(path,
                  "has " + std::to_string(j.size()) + " items (at most " + std::to_string(max_items) + ")");
    }
    return true;
  }
  bool histogram(const nlohmann::json& j, const std::string& path, int digits, Histogram* out) {
    std::string text;
    if (!string(j, path, &text)) {
      return false;
    }
    std::string why;
    auto h = Histogram::decode(text, &why);
    if (!h) {
      return fail(path, why);
    }
    if (h->significantDigits() != digits) {
      return fail(path, "has " + std::to_string(h->significantDigits()) + " significant digits (expected " +
                            std::to_string(digits) + ")");
    }
    *out = std::move(*h);
    return true;
  }

  bool metricSet(const nlohmann::json& j, const std::string& path, MetricSet* out) {
    if (!object(j, path,
                {"requests", "ok", "failed", "cancelled", "attempts", "inputTokens", "outputTokens",
                 "cachedTokens", "estimatedTokenRequests", "serverOutputTokensCompared",
                 "clientOutputTokensCompared", "goodput", "finishLength", "emptyOutput", "droppedArrivals",
                 "errors", "costUsd", "costEstimated", "histograms"})) {
      return false;
    }
    MetricSet m;
    for (const auto& c : kCounters) {
      if (!count(j, c.name, path, &(m.*c.member))) {
        return false;
      }
    }
    const auto& errors = j.at("errors");
    std::string errors_path = path + ".errors";
    if (!object(errors, errors_path,
                {"unclassified", "http429", "http4xx", "http5xx", "timeout", "connect", "tls", "streamError",
                 "protocol"})) {
      return false;
    }
    int64_t error_sum = 0;
    for (size_t k = 0; k < kErrorKindCount; ++k) {
      if (!count(errors, kErrorNames[k], errors_path, &m.errors[k])) {
        return false;
      }
      if (__builtin_add_overflow(error_sum, m.errors[k], &error_sum)) {
        return fail(errors_path, "counts overflow");
      }
    }
    if (!decimalCost(j.at("costUsd"), path + ".costUsd", &m.cost)) {
      return false;
    }
    if (!boolean(j.at("costEstimated"), path + ".costEstimated", &m.costEstimated)) {
      return false;
    }
    const auto& histograms = j.at("histograms");
    std::string histograms_path = path + ".histograms";
    if (!object(histograms, histograms_path, {},
                {"ttft", "ttftSched", "ttfo", "e2e", "e2eSched", "tpot", "ntpot", "itl", "interChunk",
                 "schedLag", "outputLength"})) {
      return false;
    }
    for (const auto& h : kHistograms) {
      if (histograms.contains(h.name) && !histogram(histograms.at(h.name), histograms_path + "." + h.name,
                                                    Histogram::kMaxDigits, &(m.*h.member))) {
        return false;
      }
    }
    // Counters that disagree with each other mean a corrupt or forged snapshot.
    int64_t outcomes = 0;
    if (__builtin_add_overflow(m.ok, m.failed, &outcomes) ||
        __builtin_add_overflow(outcomes, m.cancelled, &outcomes) || outcomes != m.requests) {
      return fail(path + ".requests", "must equal ok + failed + cancelled");
    }
    if (error_sum != m.failed) {
      return fail(errors_path, "must add up to failed (" + std::to_string(m.failed) + ")");
    }
    if (m.attempts < m.requests) {
      return fail(path + ".attempts", "must be at least requests");
    }
    for (const auto& [value, name] :
         {std::pair{m.goodput, "goodput"}, std::pair{m.finishLength, "finishLength"},
          std::pair{m.emptyOutput, "emptyOutput"}}) {
      if (value > m.ok) {
        return fail(path + "." + name, "must not exceed ok");
      }
    }
    if (m.estimatedTokenRequests > m.requests) {
      return fail(path + ".estimatedTokenRequests", "must not exceed requests");
    }
    *out = std::move(m);
    return true;
  }

  bool timePoint(const nlohmann::json& j, const std::string& path, int64_t* second, TimePoint* out) {
    if (!object(j, path,
                {"tS", "requests", "ok", "errors", "cancelled", "inputTokens", "outputTokens", "ttft"},
                {"stepS"})) {
      return false;
    }
    if (!count(j, "tS", path, second)) {
      return false;
    }
    if (*second > kMaxSeconds) {
      return fail(path + ".tS", "is beyond " + std::to_string(kMaxSeconds) + " seconds");
    }
    TimePoint p;
    if (j.contains("stepS")) {
      if (!count(j, "stepS", path, &p.stepS)) {
        return false;
      }
      if (p.stepS < 1 || p.stepS > kMaxTimeSeriesStepS || (p.stepS & (p.stepS - 1)) != 0) {
        return fail(path + ".stepS", "must be a power of two between 1 and " +
                                         std::to_string(kMaxTimeSeriesStepS) + " (got " +
                                         std::to_string(p.stepS) + ")");
      }
      if (*second % p.stepS != 0) {
        return fail(path + ".tS", "must be a multiple of stepS " + std::to_string(p.stepS) + " (got " +
                                      std::to_string(*second) + ")");
      }
    }
    for (const auto& c : kTimePointCounters) {
      if (!count(j, c.name, path, &(p.*c.member))) {
        return false;
      }
    }
    if (!histogram(j.at("ttft"), path + ".ttft", kTimeSeriesDigits, &p.ttft)) {
      return false;
    }
    int64_t outcomes = 0;
    if (__builtin_add_overflow(p.ok, p.errors, &outcomes) ||
        __builtin_add_overflow(outcomes, p.cancelled, &outcomes) || outcomes != p.requests) {
      return fail(path + ".requests", "must equal ok + errors + cancelled");
    }
    *out = std::move(p);
    return true;
  }

  bool spend(const nlohmann::json& j, const std::string& path, Spend* out) {
    if (!object(j, path, {"costUsd", "inputTokens", "outputTokens", "estimated"})) {
      return false;
    }
    Spend s;
    if (!decimalCost(j.at("costUsd"), path + ".costUsd", &s.cost) ||
        !count(j, "inputTokens", path, &s.inputTokens) || !count(j, "outputTokens", path, &s.outputTokens) ||
        !boolean(j.at("estimated"), path + ".estimated", &s.estimated)) {
      return false;
    }
    *out = s;
    return true;
  }

  bool snapshot(const nlohmann::json& j, Snapshot* out) {
    const std::string path = "snapshot";
    if (!object(j, path,
                {"version", "runnerId", "sequence", "final", "elapsedS", "warmupExcluded", "total", "stages",
                 "classes", "stageClasses", "timeseries"},
                {"warmupSpend"})) {
      return false;
    }
    int64_t version = 0;
    if (!count(j, "version", path, &version)) {
      return false;
    }
    if (version != kSnapshotVersion) {
      return fail(path + ".version", "is " + std::to_string(version) + " (this build reads " +
                                         std::to_string(kSnapshotVersion) + ")");
    }
    Snapshot s;
    if (!string(j.at("runnerId"), path + ".runnerId", &s.runnerId) ||
        !count(j, "sequence", path, &s.sequence) || !boolean(j.at("final"), path + ".final", &s.final) ||
        !count(j, "warmupExcluded", path, &s.warmupExcluded)) {
      return false;
    }
    const auto& elapsed = j.at("elapsedS");
    if (!elapsed.is_number() || !std::isfinite(elapsed.get<double>()) || elapsed.get<double>() < 0 ||
        elapsed.get<double>() > static_cast<double>(kMaxSeconds)) {
      return fail(path + ".elapsedS", "must be a number of seconds between 0 and " +
                                          std::to_string(kMaxSeconds) + " (got " + elapsed.dump() + ")");
    }
    s.elapsedS = elapsed.get<double>();
    if (j.contains("warmupSpend") && !spend(j.at("warmupSpend"), path + ".warmupSpend", &s.warmupSpend)) {
      return false;
    }
    if (!metricSet(j.at("total"), path + ".total", &s.total)) {
      return false;
    }
    for (const auto& [key, list, limit] :
         {std::tuple{"stages", &s.stages, kMaxStages}, std::tuple{"classes", &s.classes, kMaxClasses}}) {
      const auto& items = j.at(key);
      std::string list_path = path + "." + key;
      if (!array(items, list_path, limit)) {
        return false;
      }
      list->resize(items.size());
      for (size_t i = 0; i < items.size(); ++i) {
        if (!metricSet(items[i], list_path + "[" + std::to_string(i) + "]", &(*list)[i])) {
          return false;
        }
      }
    }
    const auto& pairs = j.at("stageClasses");
    if (!array(pairs, path + ".stageClasses", kMaxStageClasses)) {
      return false;
    }
    for (size_t i = 0; i < pairs.size(); ++i) {
      std::string item_path = path + ".stageClasses[" + std::to_string(i) + "]";
      int64_t stage = 0;
      int64_t cls = 0;
      MetricSet m;
      if (!object(pairs[i], item_path, {"stage", "class", "metrics"}) ||
          !count(pairs[i], "stage", item_path, &stage) || !count(pairs[i], "class", item_path, &cls) ||
          !metricSet(pairs[i].at("metrics"), item_path + ".metrics", &m)) {
        return false;
      }
      if (static_cast<size_t>(stage) >= s.stages.size()) {
        return fail(item_path + ".stage",
                    "names no stage of this snapshot (got " + std::to_string(stage) + ")");
      }
      if (static_cast<size_t>(cls) >= s.classes.size()) {
        return fail(item_path + ".class",
                    "names no class of this snapshot (got " + std::to_string(cls) + ")");
      }
      auto key = std::pair{static_cast<int>(stage), static_cast<int>(cls)};
      if (s.stageClasses.count(key) != 0) {
        return fail(item_path,
                    "repeats stage " + std::to_string(stage) + " and class " + std::to_string(cls));
      }
      s.stageClasses.emplace(key, std::move(m));
    }
    const auto& points = j.at("timeseries");
    if (!array(points, path + ".timeseries", static_cast<size_t>(kMaxSeconds) + 1)) {
      return false;
    }
    int64_t previous = -1;
    int64_t previous_end = 0;  // the first second after the previous point
    for (size_t i = 0; i < points.size(); ++i) {
      std::string item_path = path + ".timeseries[" + std::to_string(i) + "]";
      int64_t second = 0;
      TimePoint p;
      if (!timePoint(points[i], item_path, &second, &p)) {
        return false;
      }
      if (second < previous_end) {
        return fail(item_path + ".tS",
                    "must be greater than the previous point's (" + std::to_string(previous) +
                        (previous_end - previous > 1
                             ? ", which covers " + std::to_string(previous_end - previous) + " s"
                             : std::string()) +
                        ")");
      }
      previous = second;
      previous_end = second + p.stepS;
      s.timeseries.emplace_hint(s.timeseries.end(), second, std::move(p));
    }
    *out = std::move(s);
    return true;
  }

 private:
  std::string* error_;
};

// Deepest nesting of arrays and objects in JSON text (strings skipped), stopping early past `limit`.
int jsonDepth(std::string_view text, int limit) {
  int depth = 0;
  int deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size() && deepest <= limit; ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

}  // namespace

// ---- per-request values ----
std::optional<int64_t> requestLatency(const RequestRecord& r, Metric metric) {
  const int64_t n_out = r.outputTokens;
  switch (metric) {
    case Metric::Ttft:
      return r.tFirst != 0 && r.tSend != 0 ? std::optional(r.tFirst - r.tSend) : std::nullopt;
    case Metric::TtftSched:
      return r.tFirst != 0 ? std::optional(r.tFirst - r.tSched) : std::nullopt;
    case Metric::Ttfo:
      return r.tFirstContent != 0 && r.tSend != 0 ? std::optional(r.tFirstContent - r.tSend) : std::nullopt;
    case Metric::E2e:
      return r.tEnd != 0 && r.tSend != 0 ? std::optional(r.tEnd - r.tSend) : std::nullopt;
    case Metric::E2eSched:
      return r.tEnd != 0 ? std::optional(r.tEnd - r.tSched) : std::nullopt;
    case Metric::Tpot:
      if (n_out <= 1 || r.tFirst == 0 || r.tLast == 0) {
        return std::nullopt;
      }
      return divRound(r.tLast - r.tFirst, n_out - 1);
    case Metric::Ntpot:
      if (n_out <= 0 || r.tEnd == 0 || r.tSend == 0) {
        return std::nullopt;
      }
      return divRound(r.tEnd - r.tSend, n_out);
    case Metric::Itl:
    case Metric::InterChunk: {
      std::optional<int64_t> largest;
      for (const ChunkGap& gap : r.gaps) {
        int64_t v = metric == Metric::Itl ? divRound(gap.nanos, std::max<int64_t>(gap.tokens, 1)) : gap.nanos;
        largest = largest ? std::max(*largest, v) : v;
      }
      return largest;
    }
    case Metric::SchedLag:
      return r.tSend != 0 ? std::optional(r.tSend - r.tSched) : std::nullopt;
    default:
      return std::nullopt;
  }
}

std::optional<int> findClass(const LoadTestSpec& spec, std::string_view name) {
  const auto& classes = spec.workload.classes;
  for (size_t i = 0; i < classes.size(); ++i) {
    if (classes[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

std::optional<int> findStage(const LoadPlan& plan, std::string_view name) {
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    if (plan.stages[i].name == name) {
      return static_cast<int>(i);
    }
  }
  return std::nullopt;
}

// ---- MetricRules ----
MetricRules MetricRules::fromSpec(const LoadTestSpec& spec, const LoadPlan& plan) {
  MetricRules rules;
  rules.pricing = spec.budget.pricing;
  for (const Threshold& t : spec.thresholds) {
    if (!isLatencyMetric(t.metric) || !t.max || !t.max->duration) {
      continue;
    }
    LatencyLimit limit{t.metric, t.max->duration->nanos, std::nullopt, std::nullopt};
    if (t.className) {
      limit.cls = findClass(spec, *t.className);
      if (!limit.cls) {
        continue;  // a class nobody sends (validation refuses it): the limit binds no request
      }
    }
    if (t.stage) {
      limit.stage = findStage(plan, *t.stage);
      if (!limit.stage) {
        continue;
      }
    }
    rules.goodput.push_back(limit);
  }
  return rules;
}

bool MetricRules::isGood(const RequestRecord& r) const {
  if (r.outcome != Outcome::Ok) {
    return false;
  }
  for (const LatencyLimit& limit : goodput) {
    if ((limit.cls && *limit.cls != r.cls) || (limit.stage && *limit.stage != r.stage)) {
      continue;
    }
    auto v = requestLatency(r, limit.metric);
    if (v && *v > limit.maxNanos) {
      return false;
    }
  }
  return true;
}

Decimal MetricRules::costOf(const RequestRecord& r) const {
  if (!pricing) {
    return Decimal{};
  }
  auto input = static_cast<uint64_t>(nonNegative(r.inputTokens));
  auto cached = std::min(static_cast<uint64_t>(nonNegative(r.cachedTokens)), input);
  auto output = static_cast<uint64_t>(nonNegative(r.outputTokens));
  return costOfTokens(input - cached, pricing->input) +
         costOfTokens(cached, pricing->cachedInput.value_or(pricing->input)) +
         costOfTokens(output, pricing->output);
}

// ---- MetricSet ----
void MetricSet::add(const RequestRecord& r) {
  static const MetricRules kNoRules;
  add(r, kNoRules);
}

void MetricSet::add(const RequestRecord& r, const MetricRules& rules) {
  ++requests;
  attempts += std::max(r.attempts, 1);
  inputTokens += nonNegative(r.inputTokens);
  outputTokens += nonNegative(r.outputTokens);
  cachedTokens += nonNegative(r.cachedTokens);
  if (r.tokensEstimated) {
    ++estimatedTokenRequests;
  } else if (r.clientOutputEstimate >= 0) {
    serverOutputTokensCompared += nonNegative(r.outputTokens);
    clientOutputTokensCompared += r.clientOutputEstimate;
  }
  if (rules.pricing) {
    cost = cost + rules.costOf(r);
    costEstimated = costEstimated || r.tokensEstimated;
  }
  if (auto lag = requestLatency(r, Metric::SchedLag)) {
    schedLag.record(*lag);
  }
  switch (r.outcome) {
    case Outcome::Failed: {
      ++failed;
      auto kind = static_cast<size_t>(r.error);
      ++errors[kind < kErrorKindCount ? kind : 0];
      return;
    }
    case Outcome::Cancelled:
      ++cancelled;
      addEventMetrics(*this, r);
      return;
    case Outcome::Ok:
      break;
  }
  ++ok;
  addEventMetrics(*this, r);
  for (auto [metric, h] : {std::pair{Metric::E2e, &e2e}, std::pair{Metric::E2eSched, &e2eSched},
                           std::pair{Metric::Tpot, &tpot}, std::pair{Metric::Ntpot, &ntpot}}) {
    if (auto v = requestLatency(r, metric)) {
      h->record(*v);
    }
  }
  if (r.outputTokens <= 0) {
    ++emptyOutput;
  } else {
    constexpr int64_t kMaxTokens = std::numeric_limits<int64_t>::max() / kOutputLengthScale;
    outputLength.record(std::min(r.outputTokens, kMaxTokens) * kOutputLengthScale);
  }
  if (r.finishReason == "length") {
    ++finishLength;
  }
  if (rules.isGood(r)) {
    ++goodput;
  }
}

void MetricSet::merge(const MetricSet& other) {
  for (const auto& c : kCounters) {
    this->*c.member += other.*c.member;
  }
  for (size_t k = 0; k < kErrorKindCount; ++k) {
    errors[k] += other.errors[k];
  }
  cost = cost + other.cost;
  costEstimated = costEstimated || other.costEstimated;
  for (const auto& h : kHistograms) {
    (this->*h.member).merge(other.*h.member);
  }
}

const Histogram* MetricSet::histogram(Metric metric) const {
  switch (metric) {
    case Metric::Ttft:
      return &ttft;
    case Metric::TtftSched:
      return &ttftSched;
    case Metric::Ttfo:
      return &ttfo;
    case Metric::E2e:
      return &e2e;
    case Metric::E2eSched:
      return &e2eSched;
    case Metric::Tpot:
      return &tpot;
    case Metric::Ntpot:
      return &ntpot;
    case Metric::Itl:
      return &itl;
    case Metric::InterChunk:
      return &interChunk;
    case Metric::SchedLag:
      return &schedLag;
    default:
      return nullptr;
  }
}

// ---- TimePoint ----
void TimePoint::add(const RequestRecord& r) {
  ++requests;
  switch (r.outcome) {
    case Outcome::Ok:
      ++ok;
      break;
    case Outcome::Failed:
      ++errors;
      break;
    case Outcome::Cancelled:
      ++cancelled;
      break;
  }
  inputTokens += nonNegative(r.inputTokens);
  outputTokens += nonNegative(r.outputTokens);
  if (r.outcome != Outcome::Failed) {
    if (auto v = requestLatency(r, Metric::Ttft)) {
      ttft.record(*v);
    }
  }
}

void TimePoint::merge(const TimePoint& other) {
  stepS = std::max(stepS, other.stepS);
  for (const auto& c : kTimePointCounters) {
    this->*c.member += other.*c.member;
  }
  ttft.merge(other.ttft);
}

void addTimePoint(std::map<int64_t, TimePoint>& series, int64_t second, TimePoint point) {
  point.stepS = std::max<int64_t>(point.stepS, 1);
  // A point starting at or before `second` that reaches past it overlaps, so it nests with `point`.
  auto after = series.upper_bound(second);
  if (after != series.begin()) {
    auto before = std::prev(after);
    if (before->first + before->second.stepS > second && before->second.stepS >= point.stepS) {
      before->second.merge(point);
      return;
    }
  }
  // Otherwise `point` contains every point that starts inside it (one of them may start at `second`).
  auto first = series.lower_bound(second);
  auto last = series.lower_bound(second + point.stepS);
  for (auto it = first; it != last; ++it) {
    point.merge(it->second);
  }
  series.erase(first, last);
  series.emplace(second, std::move(point));
}

// ---- Spend ----
void Spend::add(const RequestRecord& r, const MetricRules& rules) {
  cost = cost + rules.costOf(r);
  inputTokens += r.inputTokens;
  outputTokens += r.outputTokens;
  estimated = estimated || (r.tokensEstimated && rules.pricing.has_value());
}

void Spend::merge(const Spend& other) {
  cost = cost + other.cost;
  inputTokens += other.inputTokens;
  outputTokens += other.outputTokens;
  estimated = estimated || other.estimated;
}

// ---- Snapshot ----
Spend Snapshot::spent() const {
  Spend s = warmupSpend;
  s.merge(Spend{total.cost, total.inputTokens, total.outputTokens, total.costEstimated});
  return s;
}

void Snapshot::merge(const Snapshot& other) {
  runnerId = joinRunnerIds(runnerId, other.runnerId);
  sequence = std::max(sequence, other.sequence);
  final = final && other.final;
  elapsedS = std::max(elapsedS, other.elapsedS);
  warmupExcluded += other.warmupExcluded;
  warmupSpend.merge(other.warmupSpend);
  total.merge(other.total);
  for (auto [mine, theirs] : {std::pair{&stages, &other.stages}, std::pair{&classes, &other.classes}}) {
    if (mine->size() < theirs->size()) {
      mine->resize(theirs->size());
    }
    for (size_t i = 0; i < theirs->size(); ++i) {
      (*mine)[i].merge((*theirs)[i]);
    }
  }
  for (const auto& [key, set] : other.stageClasses) {
    stageClasses[key].merge(set);
  }
  for (const auto& [second, point] : other.timeseries) {
    addTimePoint(timeseries, second, point);
  }
}

Snapshot merge(const std::vector<Snapshot>& snapshots) {
  if (snapshots.empty()) {
    return Snapshot{};
  }
  Snapshot out = snapshots.front();
  for (size_t i = 1; i < snapshots.size(); ++i) {
    out.merge(snapshots[i]);
  }
  return out;
}

Json toJson(const Snapshot& s) {
  Json j = Json::object();
  j["version"] = kSnapshotVersion;
  j["runnerId"] = s.runnerId;
  j["sequence"] = s.sequence;
  j["final"] = s.final;
  j["elapsedS"] = s.elapsedS;
  j["warmupExcluded"] = s.warmupExcluded;
  j["warmupSpend"] = Json{{"costUsd", s.warmupSpend.cost.str()},
                          {"inputTokens", s.warmupSpend.inputTokens},
                          {"outputTokens", s.warmupSpend.outputTokens},
                          {"estimated", s.warmupSpend.estimated}};
  j["total"] = encodeSet(s.total);
  for (auto [key, list] : {std::pair{"stages", &s.stages}, std::pair{"classes", &s.classes}}) {
    Json items = Json::array();
    for (const auto& m : *list) {
      items.push_back(encodeSet(m));
    }
    j[key] = std::move(items);
  }
  Json pairs = Json::array();
  for (const auto& [key, m] : s.stageClasses) {
    pairs.push_back(Json{{"stage", key.first}, {"class", key.second}, {"metrics", encodeSet(m)}});
  }
  j["stageClasses"] = std::move(pairs);
  Json points = Json::array();
  for (const auto& [second, p] : s.timeseries) {
    Json point = Json::object();
    point["tS"] = second;
    for (const auto& c : kTimePointCounters) {
      point[c.name] = p.*c.member;
    }
    point["ttft"] = p.ttft.encode();
    if (p.stepS != 1) {
      point["stepS"] = p.stepS;
    }
    points.push_back(std::move(point));
  }
  j["timeseries"] = std::move(points);
  return j;
}

std::optional<Snapshot> decodeSnapshot(const nlohmann::json& json, std::string* error) {
  Snapshot s;
  Decoder decoder(error);
  if (!decoder.snapshot(json, &s)) {
    return std::nullopt;
  }
  return s;
}

std::optional<Snapshot> parseSnapshot(std::string_view text, std::string* error) {
  if (jsonDepth(text, kMaxJsonDepth) > kMaxJsonDepth) {
    if (error != nullptr) {
      *error = "snapshot: nests deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    }
    return std::nullopt;
  }
  auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) {
    if (error != nullptr) {
      *error = "snapshot: is not valid JSON";
    }
    return std::nullopt;
  }
  return decodeSnapshot(json, error);
}

// ---- Recorder ----
Recorder::Recorder(const LoadTestSpec& spec, const LoadPlan& plan, MonoNanos test_start,
                   std::string runner_id)
    : rules_(MetricRules::fromSpec(spec, plan)),
      test_start_(test_start),
      warmup_nanos_(spec.load.warmup.nanos),
      time_series_(spec.report.timeSeries) {
  state_.runnerId = std::move(runner_id);
  state_.stages.resize(plan.stages.size());
  state_.classes.resize(spec.workload.classes.size());
  for (const Threshold& t : spec.thresholds) {
    if (t.className && t.stage) {
      auto cls = findClass(spec, *t.className);
      auto stage = findStage(plan, *t.stage);
      if (cls && stage) {
        state_.stageClasses[{*stage, *cls}];
      }
    }
  }
}

bool Recorder::inWarmup(MonoNanos t_sched) const {
  return warmup_nanos_ > 0 && t_sched - test_start_ < warmup_nanos_;
}

void Recorder::record(const RequestRecord& r) {
  if (inWarmup(r.tSched)) {
    ++state_.warmupExcluded;
    state_.warmupSpend.add(r, rules_);
    return;
  }
  state_.total.add(r, rules_);
  if (r.stage >= 0 && static_cast<size_t>(r.stage) < state_.stages.size()) {
    state_.stages[static_cast<size_t>(r.stage)].add(r, rules_);
  }
  if (r.cls >= 0 && static_cast<size_t>(r.cls) < state_.classes.size()) {
    state_.classes[static_cast<size_t>(r.cls)].add(r, rules_);
  }
  if (!state_.stageClasses.empty()) {
    auto it = state_.stageClasses.find({r.stage, r.cls});
    if (it != state_.stageClasses.end()) {
      it->second.add(r, rules_);
    }
  }
  if (time_series_) {
    // Keyed by the second the request ended in: throughput is what completed in each second.
    MonoNanos at = r.tEnd != 0 ? r.tEnd : r.tSched;
    int64_t second = std::clamp<int64_t>((at - test_start_) / kNanosPerSecond, 0, kMaxSeconds);
    state_.timeseries[second].add(r);
  }
}

void Recorder::droppedArrival(int stage, MonoNanos t_sched) {
  if (inWarmup(t_sched)) {
    ++state_.warmupExcluded;
    return;
  }
  ++state_.total.droppedArrivals;
  if (stage >= 0 && static_cast<size_t>(stage) < state_.stages.size()) {
    ++state_.stages[static_cast<size_t>(stage)].droppedArrivals;
  }
}

Snapshot Recorder::snapshot(bool final, MonoNanos now) {
  ++state_.sequence;
  Snapshot s = state_;
  s.final = final;
  s.elapsedS =
      std::clamp(static_cast<double>(now - test_start_) / 1e9, 0.0, static_cast<double>(kMaxSeconds));
  return s;
}

}  // namespace tokenstorm::core
