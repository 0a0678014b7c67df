// Small LoadTests shared by tests.
#pragma once

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

}  // namespace tokenstorm::testing
