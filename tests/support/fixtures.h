// Small LoadTests shared by tests.
#pragma once

#include <string>

namespace tokenstorm::testing {

// The smallest valid LoadTest (simulator target, one class, one stage).
inline constexpr const char* kMinimalLoadTest = R"(apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata:
  name: minimal
spec:
  target:
    endpoints:
      - {name: sim, url: "sim://", model: sim-llama}
  workload:
    classes:
      - name: chat
        prompt: {synthetic: {inputTokens: {fixed: 100}}}
        maxOutputTokens: {fixed: 50}
  load:
    stages: [{duration: 10s, rate: 10, hold: true}]
)";

// The spec the metric and report tests compute against: classes chat (100 tokens in, 50 out) and long
// (1,000 in, 200 out); stages low (10 s at 10/s) and high (10 s at 20/s) after a 2 s warm-up; a $10
// budget priced by `pricing` (a YAML flow map); `thresholds` is the thresholds list (YAML, flow or block).
inline std::string twoStageLoadTest(const std::string& name, const std::string& pricing,
                                    const std::string& thresholds) {
  return R"(apiVersion: tokenstorm.dev/v1alpha1
kind: LoadTest
metadata: {name: )" +
         name + R"(}
spec:
  target:
    endpoints: [{name: sim, url: "sim://", model: sim-llama}]
  workload:
    classes:
      - {name: chat, prompt: {synthetic: {inputTokens: {fixed: 100}}}, maxOutputTokens: {fixed: 50}}
      - {name: long, prompt: {synthetic: {inputTokens: {fixed: 1000}}}, maxOutputTokens: {fixed: 200}}
  load:
    stages:
      - {name: low, duration: 10s, rate: 10, hold: true}
      - {name: high, duration: 10s, rate: 20, hold: true}
    warmup: 2s
  budget:
    maxCost: "10.00"
    pricing: )" +
         pricing + R"(
  thresholds: )" +
         thresholds + "\n";
}

}  // namespace tokenstorm::testing
