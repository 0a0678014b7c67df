#include "tokenstorm/sim/model.h"

#include <algorithm>
#include <cmath>

#include "tokenstorm/core/distribution.h"

namespace tokenstorm::sim {

Model::Model(const ServingConfig& serving, const ReplicasConfig& replicas,
             const PrefixCacheConfig& prefix_cache, uint64_t seed, MonoNanos start)
    : serving_(serving), replicasConfig_(replicas), prefixCache_(prefix_cache), rng_(seed) {
  if (!replicas.scaleToZero) {
    for (int64_t i = 0; i < replicas.count; ++i) {
      Replica r;
      r.readyAt = start;  // replicas present at start are warm
      r.idleSince = start;
      replicas_.push_back(std::move(r));
    }
  }
}

int64_t Model::kvOf(const Job& j) const {
  return j.request.promptTokens + j.generated;
}

int64_t Model::lookupCached(const Replica& r, const std::vector<uint64_t>& blocks) const {
  int64_t n = 0;
  for (uint64_t b : blocks) {
    if (r.prefixCache.count(b) == 0) {
      break;
    }
    ++n;
  }
  return n;
}

void Model::remember(Replica& r, const std::vector<uint64_t>& blocks) {
  if (!prefixCache_.enabled) {
    return;
  }
  for (uint64_t b : blocks) {
    if (r.prefixCache.insert(b).second) {
      r.prefixOrder.push_back(b);
    }
  }
  while (static_cast<int64_t>(r.prefixOrder.size()) > prefixCache_.capacityBlocks) {
    r.prefixCache.erase(r.prefixOrder.front());
    r.prefixOrder.pop_front();
  }
}

int Model::pickReplica(MonoNanos now) {
  int best = -1;
  size_t best_load = SIZE_MAX;
  MonoNanos best_ready = INT64_MAX;
  for (size_t i = 0; i < replicas_.size(); ++i) {
    const Replica& r = replicas_[i];
    if (r.retiring) {
      continue;
    }
    size_t load = r.running.size() + r.waiting.size();
    bool is_ready = r.readyAt <= now;
    // Ready replicas first, least loaded; otherwise the one that becomes ready soonest.
    MonoNanos ready_key = is_ready ? 0 : r.readyAt;
    if (ready_key < best_ready || (ready_key == best_ready && load < best_load)) {
      best = static_cast<int>(i);
      best_load = load;
      best_ready = ready_key;
    }
  }
  if (best < 0) {
    // Scaled to zero (or every replica removed): the first request starts a cold one.
    Replica r;
    r.readyAt = now + replicasConfig_.coldStart.nanos;
    r.idleSince = now;
    replicas_.push_back(std::move(r));
    best = static_cast<int>(replicas_.size() - 1);
  }
  return best;
}

void Model::submit(const ModelRequest& request, MonoNanos now) {
  Job job;
  job.request = request;
  int64_t natural = std::max<int64_t>(1, std::llround(core::sample(serving_.outputTokens, rng_)));
  if (request.ignoreEos) {
    job.target = request.maxTokens;
  } else {
    job.target = std::clamp(natural, std::max<int64_t>(1, request.minTokens), request.maxTokens);
  }
  job.finishedByLength = job.target >= request.maxTokens;
  job.reasoningTarget = std::min(serving_.reasoningTokens, std::max<int64_t>(0, job.target - 1));
  int index = pickReplica(now);
  job.replica = index;
  Replica& r = replicas_[static_cast<size_t>(index)];
  if (!r.stepEndsAt && r.waiting.empty()) {
    r.wakeAt = std::max(r.readyAt, now);
  }
  r.waiting.push_back(request.id);
  jobs_[request.id] = std::move(job);
  promptTokens_ += request.promptTokens;
  // The step starts at the next advance(), so requests arriving at one instant share a batch.
}

bool Model::cancel(uint64_t id, MonoNanos now) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.cancelRequested) {
    return false;
  }
  if (advancing_) {
    // Called from a sink callback (a client gone, a fault) while a step is being walked: mark it; the step
    // drops it after the callback returns, and advance() drops the rest when it ends.
    it->second.cancelRequested = true;
    deferredCancels_.push_back(id);
    return true;
  }
  Replica& r = replicas_[static_cast<size_t>(it->second.replica)];
  auto running = std::find(r.running.begin(), r.running.end(), id);
  if (running != r.running.end()) {
    r.kvUsed -= kvOf(it->second);
    r.running.erase(running);
    auto admitted = std::find(r.admittedThisStep.begin(), r.admittedThisStep.end(), id);
    if (admitted != r.admittedThisStep.end()) {
      r.admittedThisStep.erase(admitted);
    }
  } else {
    r.waiting.erase(std::remove(r.waiting.begin(), r.waiting.end(), id), r.waiting.end());
  }
  jobs_.erase(it);
  ++cancellations_;
  if (r.running.empty() && r.waiting.empty()) {
    r.idleSince = now;
  }
  return true;
}

void Model::startStep(Replica& r, int index, MonoNanos at) {
  (void)index;
  r.admittedThisStep.clear();
  double step_nanos = 0;
  // Admit FIFO while the batch and the KV cache have room; a request under a forced delay holds its place.
  while (!r.waiting.empty() && static_cast<int64_t>(r.running.size()) < serving_.maxBatch) {
    Job& j = jobs_[r.waiting.front()];
    int64_t need = kvOf(j) + 1;
    if (r.kvUsed + need > serving_.kvCacheTokens && !r.running.empty()) {
      break;
    }
    r.waiting.pop_front();
    int64_t cached_blocks = 0;
    int64_t uncached = kvOf(j);
    if (!j.prefilled && prefixCache_.enabled && !j.request.prefixBlocks.empty()) {
      cached_blocks = lookupCached(r, j.request.prefixBlocks);
    }
    if (!j.prefilled) {
      j.cached = std::min(j.request.promptTokens, cached_blocks * prefixCache_.blockTokens);
      uncached -= j.cached;
      j.admittedAt = at;
    }
    step_nanos += static_cast<double>(serving_.prefillOverhead.nanos) +
                  static_cast<double>(uncached) / serving_.prefillTokensPerSecond * 1e9;
    r.kvUsed += kvOf(j);
    r.running.push_back(j.request.id);
    r.admittedThisStep.push_back(j.request.id);
  }
  // Growth by one token per sequence must fit; otherwise preempt the newest sequences (vLLM's recompute).
  while (r.running.size() > 1 && r.kvUsed + static_cast<int64_t>(r.running.size()) > serving_.kvCacheTokens) {
    uint64_t victim = r.running.back();
    r.running.pop_back();
    Job& j = jobs_[victim];
    r.kvUsed -= kvOf(j);
    j.prefilled = j.prefilled || std::find(r.admittedThisStep.begin(), r.admittedThisStep.end(), victim) ==
                                     r.admittedThisStep.end();
    r.admittedThisStep.erase(std::remove(r.admittedThisStep.begin(), r.admittedThisStep.end(), victim),
                             r.admittedThisStep.end());
    r.waiting.push_front(victim);
    ++preemptions_;
  }
  if (r.running.empty()) {
    r.stepEndsAt.reset();
    return;
  }
  step_nanos +=
      static_cast<double>(serving_.decodeStepBase.nanos) +
      static_cast<double>(serving_.decodeStepPerSequence.nanos) * static_cast<double>(r.running.size());
  r.stepEndsAt = at + static_cast<MonoNanos>(std::llround(step_nanos));
}

void Model::endStep(Replica& r, int index, MonoNanos at, ModelSink& sink) {
  r.stepEndsAt.reset();
  std::vector<uint64_t> still_running;
  still_running.reserve(r.running.size());
  for (uint64_t id : r.running) {
    Job& j = jobs_[id];
    if (j.paused && j.prefilled) {
      still_running.push_back(id);  // its client is not reading: it holds its slot and makes no progress
      continue;
    }
    if (!j.prefilled) {
      j.prefilled = true;
      remember(r, j.request.prefixBlocks);
      cachedTokens_ += j.cached;
    }
    ++j.generated;
    ++r.kvUsed;
    ++generationTokens_;
    // Chunks of tokensPerChunk tokens; reasoning and content never share a chunk; the last may be short.
    bool reasoning = j.generated <= j.reasoningTarget;
    if (j.pending > 0 && reasoning != j.pendingReasoning) {
      flush(id, j, at, sink);
    }
    j.pendingReasoning = reasoning;
    ++j.pending;
    if (!j.cancelRequested && (j.pending >= serving_.tokensPerChunk || j.generated >= j.target)) {
      flush(id, j, at, sink);
    }
    if (j.cancelRequested) {
      r.kvUsed -= kvOf(j);
      ++cancellations_;
      jobs_.erase(id);
      continue;
    }
    if (j.generated >= j.target) {
      RequestOutcome out;
      out.promptTokens = j.request.promptTokens;
      out.cachedTokens = j.cached;
      out.completionTokens = j.generated;
      out.reasoningTokens = j.reasoningTarget;
      out.finish = j.finishedByLength ? FinishReason::Length : FinishReason::Stop;
      out.replica = index;
      out.admittedAt = j.admittedAt;
      r.kvUsed -= kvOf(j);
      ++finished_;
      jobs_.erase(id);
      sink.onFinish(id, out, at);
      continue;
    }
    still_running.push_back(id);
  }
  r.running = std::move(still_running);
  if (r.running.empty() && r.waiting.empty()) {
    r.idleSince = at;
  }
}

void Model::flush(uint64_t id, Job& j, MonoNanos at, ModelSink& sink) {
  sink.onTokens(id, j.pending, j.pendingReasoning, at);
  j.pending = 0;
}

void Model::advance(MonoNanos now, ModelSink& sink) {
  advancing_ = true;
  for (;;) {
    // The earliest due event across replicas: a step's end, or a replica becoming ready with work queued.
    int due = -1;
    MonoNanos due_at = INT64_MAX;
    for (size_t i = 0; i < replicas_.size(); ++i) {
      const Replica& r = replicas_[i];
      MonoNanos t = INT64_MAX;
      if (r.stepEndsAt) {
        t = *r.stepEndsAt;
      } else if (!r.waiting.empty()) {
        t = r.wakeAt;
      }
      if (t <= now && t < due_at) {
        due = static_cast<int>(i);
        due_at = t;
      }
    }
    if (due < 0) {
      break;
    }
    Replica& r = replicas_[static_cast<size_t>(due)];
    if (r.stepEndsAt) {
      endStep(r, due, due_at, sink);
    }
    startStep(r, due, due_at);
  }
  advancing_ = false;
  // Cancels requested from callbacks for requests outside the steps walked (queued, or on other replicas).
  std::vector<uint64_t> deferred;
  deferred.swap(deferredCancels_);
  for (uint64_t id : deferred) {
    auto it = jobs_.find(id);
    if (it != jobs_.end()) {
      it->second.cancelRequested = false;
      cancel(id, now);
    }
  }
  // Scale-to-zero: idle replicas stop after the idle timeout.
  if (replicasConfig_.scaleToZero) {
    for (auto& r : replicas_) {
      if (r.running.empty() && r.waiting.empty() && r.readyAt <= now &&
          now - r.idleSince >= replicasConfig_.idleTimeout.nanos) {
        r.retiring = true;
      }
    }
    compactReplicas();
  }
}

std::optional<MonoNanos> Model::nextEventAt() const {
  std::optional<MonoNanos> next;
  auto consider = [&next](MonoNanos t) {
    if (!next || t < *next) {
      next = t;
    }
  };
  for (const auto& r : replicas_) {
    if (r.stepEndsAt) {
      consider(*r.stepEndsAt);
    } else if (!r.waiting.empty()) {
      consider(r.wakeAt);
    } else if (replicasConfig_.scaleToZero && r.running.empty()) {
      consider(r.idleSince + replicasConfig_.idleTimeout.nanos);
    }
  }
  return next;
}

bool Model::pause(uint64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) {
    return false;
  }
  it->second.paused = true;
  return true;
}

void Model::resume(uint64_t id) {
  auto it = jobs_.find(id);
  if (it != jobs_.end()) {
    it->second.paused = false;
  }
}

void Model::setReplicaCount(int count, MonoNanos now) {
  int active = 0;
  for (auto& r : replicas_) {
    active += r.retiring ? 0 : 1;
  }
  while (active < count) {
    Replica r;
    r.readyAt = now + replicasConfig_.warmup.nanos;
    r.idleSince = now;
    replicas_.push_back(std::move(r));
    ++active;
  }
  // Removing: the newest replicas stop taking work and leave when drained.
  for (size_t i = replicas_.size(); i-- > 0 && active > count;) {
    Replica& r = replicas_[i];
    if (!r.retiring) {
      r.retiring = true;
      --active;
    }
  }
  compactReplicas();
}

void Model::compactReplicas() {
  replicas_.erase(
      std::remove_if(replicas_.begin(), replicas_.end(),
                     [](const Replica& r) { return r.retiring && r.running.empty() && r.waiting.empty(); }),
      replicas_.end());
  for (size_t i = 0; i < replicas_.size(); ++i) {  // jobs refer to their replica by index
    for (uint64_t id : replicas_[i].running) {
      jobs_.at(id).replica = static_cast<int>(i);
    }
    for (uint64_t id : replicas_[i].waiting) {
      jobs_.at(id).replica = static_cast<int>(i);
    }
  }
}

void Model::reconfigure(const ServingConfig& serving, const ReplicasConfig& replicas,
                        const PrefixCacheConfig& prefix_cache) {
  serving_ = serving;
  replicasConfig_ = replicas;
  if (prefix_cache.blockTokens != prefixCache_.blockTokens || !prefix_cache.enabled) {
    for (auto& r : replicas_) {  // hashes of another block size mean nothing: start cold
      r.prefixCache.clear();
      r.prefixOrder.clear();
    }
  }
  prefixCache_ = prefix_cache;
}

bool Model::ready(MonoNanos now) const {
  for (const auto& r : replicas_) {
    if (!r.retiring && r.readyAt <= now) {
      return true;
    }
  }
  return replicasConfig_.scaleToZero;  // scale-to-zero is "ready": it starts a replica on demand
}

ModelStats Model::stats(MonoNanos now) const {
  ModelStats s;
  for (const auto& r : replicas_) {
    s.running += static_cast<int64_t>(r.running.size());
    s.waiting += static_cast<int64_t>(r.waiting.size());
    s.kvTokensUsed += r.kvUsed;
    s.kvTokensCapacity += serving_.kvCacheTokens;
    s.replicasTotal += 1;
    s.replicasReady += r.readyAt <= now ? 1 : 0;
  }
  s.preemptions = preemptions_;
  s.cancellations = cancellations_;
  s.promptTokens = promptTokens_;
  s.generationTokens = generationTokens_;
  s.cachedTokens = cachedTokens_;
  s.finished = finished_;
  return s;
}

}  // namespace tokenstorm::sim
