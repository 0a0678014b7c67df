// The simulator's /metrics: vLLM-like names (so dashboards and autoscalers built for vLLM read it) plus
// our own, rendered in the Prometheus text format by prometheus-cpp.
#pragma once

#include <memory>
#include <string>

#include "tokenstorm/sim/model.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace tokenstorm::sim {

class SimMetrics {
 public:
  SimMetrics();
  void countOutcome(const std::string& outcome);  // tokenstorm_sim_requests_total{outcome}
  std::string render(const ModelStats& stats);    // gauges and counters from the model, then the text

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* running_;
  prometheus::Gauge* waiting_;
  prometheus::Gauge* kvUsage_;
  prometheus::Gauge* replicasReady_;
  prometheus::Gauge* replicasTotal_;
  prometheus::Counter* promptTokens_;
  prometheus::Counter* generationTokens_;
  prometheus::Counter* preemptions_;
  prometheus::Family<prometheus::Counter>* requests_;
};

}  // namespace tokenstorm::sim
