#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace tokenstorm::sim {
namespace {

prometheus::Gauge* gauge(prometheus::Registry& r, const char* name, const char* help) {
  return &prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

prometheus::Counter* counter(prometheus::Registry& r, const char* name, const char* help) {
  return &prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

// Counters only go up; set one to a total the model keeps.
void setTotal(prometheus::Counter* c, int64_t total) {
  double delta = static_cast<double>(total) - c->Value();
  if (delta > 0) {
    c->Increment(delta);
  }
}

}  // namespace

SimMetrics::SimMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::Registry& r = *registry_;
  running_ = gauge(r, "vllm:num_requests_running", "Requests in a batch");
  waiting_ = gauge(r, "vllm:num_requests_waiting", "Requests queued for a batch");
  kvUsage_ = gauge(r, "vllm:gpu_cache_usage_perc", "KV cache usage, 0 to 1");
  replicasReady_ = gauge(r, "tokenstorm_sim_replicas_ready", "Replicas serving");
  replicasTotal_ = gauge(r, "tokenstorm_sim_replicas", "Replicas, warming up included");
  promptTokens_ = counter(r, "vllm:prompt_tokens_total", "Prompt tokens processed");
  generationTokens_ = counter(r, "vllm:generation_tokens_total", "Tokens generated");
  preemptions_ = counter(r, "vllm:num_preemptions_total", "Sequences preempted by KV cache pressure");
  requests_ = &prometheus::BuildCounter()
                   .Name("tokenstorm_sim_requests_total")
                   .Help("Generation requests by outcome")
                   .Register(r);
}

void SimMetrics::countOutcome(const std::string& outcome) {
  requests_->Add({{"outcome", outcome}}).Increment();
}

std::string SimMetrics::render(const ModelStats& s) {
  running_->Set(static_cast<double>(s.running));
  waiting_->Set(static_cast<double>(s.waiting));
  kvUsage_->Set(s.kvTokensCapacity > 0
                    ? static_cast<double>(s.kvTokensUsed) / static_cast<double>(s.kvTokensCapacity)
                    : 0.0);
  replicasReady_->Set(static_cast<double>(s.replicasReady));
  replicasTotal_->Set(static_cast<double>(s.replicasTotal));
  setTotal(promptTokens_, s.promptTokens);
  setTotal(generationTokens_, s.generationTokens);
  setTotal(preemptions_, s.preemptions);
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace tokenstorm::sim
