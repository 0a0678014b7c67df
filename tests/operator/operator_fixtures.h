// Helpers shared by the operator tests: flattening JSON into `path = value` lines for case files, runner
// snapshots and outcomes as a runner would write them, and loading LoadTests the way the API returns them.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <string>
#include <vector>

#include "support/case_file.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/metrics.h"
#include "tokenstorm/core/stages.h"
#include "tokenstorm/core/validate.h"

namespace tokenstorm::op::testing {

// Every leaf of `j` as "PREFIX.path = JSON" (keys that are not identifiers in brackets: ["a/b"]).
inline void flatten(const nlohmann::json& j, const std::string& path, std::vector<std::string>* out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [key, value] : j.items()) {
      bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
      });
      flatten(value, plain ? path + "." + key : path + "[\"" + key + "\"]", out);
    }
    return;
  }
  if (j.is_array() && !j.empty()) {
    for (size_t i = 0; i < j.size(); ++i) {
      flatten(j[i], path + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  out->push_back(path + " = " + j.dump());
}

// A LoadTest from YAML as the API would hold it: namespace, uid and generation filled in when absent.
inline core::LoadTest loadTest(const std::string& yaml, int64_t generation = 1) {
  core::LoadResult r = core::parseLoadTests(yaml);
  EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front().str());
  EXPECT_EQ(r.tests.size(), 1u);
  if (r.tests.empty()) {
    return {};
  }
  core::LoadTest t = r.tests.front();
  if (t.metadata.ns.empty()) {
    t.metadata.ns = "default";
  }
  if (t.metadata.uid.empty()) {
    t.metadata.uid = "6f1d2c9e-0000-4000-8000-000000000001";
  }
  t.metadata.generation = generation;
  return t;
}

inline core::LoadTest exampleTest(const std::string& file) {
  return loadTest(tokenstorm::testing::readFile(tokenstorm::testing::sourcePath(file)));
}

// What a runner measured: `ok` answered requests (TTFT `ttft_ms`, 50 ms per later token) and `failed`
// ones of `kind`, all in stage 0 and class 0, one per 100 ms from the start, each with `in`/`out`
// tokens (the cost follows the spec's pricing).
struct Traffic {
  int ok = 0;
  int failed = 0;
  core::ErrorKind kind = core::ErrorKind::Http5xx;
  int64_t ttft_ms = 100;
  int64_t in = 100;
  int64_t out = 20;
  int first = 0;  // index of the first request (so that two runners' requests differ)
};

inline std::vector<core::RequestRecord> records(const core::LoadTestSpec& spec, const Traffic& t) {
  constexpr int64_t kMs = 1'000'000;
  const core::MonoNanos start = 1'000'000'000'000;
  std::vector<core::RequestRecord> out;
  const int64_t warmup_ms = spec.load.warmup.nanos / kMs;
  for (int i = 0; i < t.ok + t.failed; ++i) {
    core::RequestRecord r;
    r.stage = 0;
    r.tSched = start + (warmup_ms + (t.first + i) * 100) * kMs;
    r.tSend = r.tSched + 1 * kMs;
    r.inputTokens = t.in;
    if (i < t.ok) {
      r.tFirst = r.tSend + t.ttft_ms * kMs;
      r.tFirstContent = r.tFirst;
      r.tLast = r.tFirst + (t.out - 1) * 50 * kMs;
      r.tEnd = r.tLast + 1 * kMs;
      r.outputTokens = t.out;
      r.gaps.assign(static_cast<size_t>(t.out - 1), core::ChunkGap{50 * kMs, 1});
      r.finishReason = "stop";
    } else {
      r.outcome = core::Outcome::Failed;
      r.error = t.kind;
      r.tEnd = r.tSend + 5 * kMs;
    }
    out.push_back(std::move(r));
  }
  return out;
}

inline core::Snapshot snapshot(const core::LoadTestSpec& spec, const std::string& runner, const Traffic& t,
                               bool final) {
  core::LoadPlan plan = core::expandLoad(spec);
  const core::MonoNanos start = 1'000'000'000'000;
  core::Recorder recorder(spec, plan, start, runner);
  core::MonoNanos last = start;
  for (const auto& r : records(spec, t)) {
    recorder.record(r);
    last = std::max(last, r.tEnd);
  }
  return recorder.snapshot(final, last);
}

inline std::string outcomeJson(const std::string& phase, const std::string& reason, double skew_ms = 3) {
  return nlohmann::json{
      {"phase", phase},        {"reason", reason},   {"message", reason.empty() ? "" : "stopped: " + reason},
      {"elapsedS", 10.5},      {"cpuPercent", 12.5}, {"startedAt", "2025-01-15T10:00:05.003Z"},
      {"startSkewMs", skew_ms}}
      .dump();
}

}  // namespace tokenstorm::op::testing
