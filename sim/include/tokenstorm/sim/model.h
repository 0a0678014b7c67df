// The simulator's serving model: GPU-like continuous batching with queueing, on injected time.
//
// A discrete-event model, free of sockets and clocks: the server submits requests and calls advance(now);
// the model emits tokens and finishes through a sink. Tests drive it with explicit times.
//
// Per replica, work proceeds in steps (as in vLLM's scheduler):
//   step time = decodeStepBase + decodeStepPerSequence × running sequences
//             + Σ over requests admitted this step (prefillOverhead + uncached prompt tokens ÷ prefill rate)
// At the end of a step every running sequence has produced one more token (a newly admitted one its first).
// Admission is FIFO while the batch has room (maxBatch) and the KV cache holds the sequences
// (kvCacheTokens, counting prompt + generated tokens); when growth overflows the cache the newest sequence is
// preempted back to the queue and later re-prefilled (counted). So TTFT grows with load, as on a real server.
// Replicas are chosen least-loaded; a new replica serves only after its warm-up; with scale-to-zero the
// first request starts a replica and waits out the cold start.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/sim/config.h"

namespace tokenstorm::sim {

using core::MonoNanos;

enum class FinishReason : uint8_t { Stop, Length, Cancelled };

struct ModelRequest {
  uint64_t id = 0;
  int64_t promptTokens = 0;
  std::vector<uint64_t> prefixBlocks;  // hash of each full block-aligned prompt prefix, for the prefix cache
  int64_t maxTokens = 16;
  int64_t minTokens = 0;
  bool ignoreEos = false;
};

// What a request did, for responses, usage and the ground-truth log.
struct RequestOutcome {
  int64_t promptTokens = 0;
  int64_t cachedTokens = 0;
  int64_t completionTokens = 0;
  int64_t reasoningTokens = 0;
  FinishReason finish = FinishReason::Stop;
  int replica = -1;
  MonoNanos admittedAt = 0;  // first admission into a batch (end of queueing)
};

class ModelSink {
 public:
  virtual ~ModelSink() = default;
  // `tokens` new tokens of request `id` are ready at `at` (reasoning tokens come before content tokens).
  virtual void onTokens(uint64_t id, int64_t tokens, bool reasoning, MonoNanos at) = 0;
  virtual void onFinish(uint64_t id, const RequestOutcome& outcome, MonoNanos at) = 0;
};

struct ModelStats {
  int64_t running = 0;
  int64_t waiting = 0;
  int64_t kvTokensUsed = 0;
  int64_t kvTokensCapacity = 0;
  int64_t replicasReady = 0;
  int64_t replicasTotal = 0;
  int64_t preemptions = 0;
  int64_t cancellations = 0;
  int64_t promptTokens = 0;
  int64_t generationTokens = 0;
  int64_t cachedTokens = 0;
  int64_t finished = 0;
};

class Model {
 public:
  Model(const ServingConfig& serving, const ReplicasConfig& replicas, const PrefixCacheConfig& prefix_cache,
        uint64_t seed, MonoNanos start);

  // Queues a request; it joins a batch at the next advance(). Its output length is drawn now
  // (deterministic under the seed, in submit order).
  void submit(const ModelRequest& request, MonoNanos now);
  // Drops a request (client went away). Returns false if it is unknown or already finished. Safe to call
  // from a ModelSink callback.
  bool cancel(uint64_t id, MonoNanos now);
  // Backpressure: a paused sequence keeps its batch slot and KV but produces nothing until resumed. Safe to
  // call from a ModelSink callback. pause() returns false for an unknown request.
  bool pause(uint64_t id);
  void resume(uint64_t id);
  // Runs every event due at or before `now`, in time order.
  void advance(MonoNanos now, ModelSink& sink);
  // When the next event is due, or nullopt when idle.
  std::optional<MonoNanos> nextEventAt() const;

  // Replicas can change at run time; new ones become ready after the warm-up.
  void setReplicaCount(int count, MonoNanos now);
  void reconfigure(const ServingConfig& serving, const ReplicasConfig& replicas,
                   const PrefixCacheConfig& prefix_cache);
  bool ready(MonoNanos now) const;  // at least one replica is ready
  ModelStats stats(MonoNanos now) const;

 private:
  struct Job {
    ModelRequest request;
    int64_t target = 0;           // tokens to generate
    int64_t reasoningTarget = 0;  // of which the first ones are reasoning
    int64_t generated = 0;
    int64_t cached = 0;
    bool finishedByLength = false;
    bool prefilled = false;
    int replica = -1;
    MonoNanos admittedAt = 0;
    bool cancelRequested = false;  // cancelled from a callback during advance()
    bool paused = false;           // the client is not reading (backpressure)
    int64_t pending = 0;           // generated tokens not yet emitted as a chunk
    bool pendingReasoning = false;
  };
  struct Replica {
    MonoNanos readyAt = 0;
    MonoNanos wakeAt = 0;  // when an idle replica with queued work starts its next step
    bool retiring = false;
    std::vector<uint64_t> running;
    std::deque<uint64_t> waiting;
    std::vector<uint64_t> admittedThisStep;
    std::optional<MonoNanos> stepEndsAt;
    int64_t kvUsed = 0;
    std::unordered_set<uint64_t> prefixCache;
    std::deque<uint64_t> prefixOrder;  // FIFO eviction
    MonoNanos idleSince = 0;
  };

  int pickReplica(MonoNanos now);
  void compactReplicas();  // drops drained retiring replicas and renumbers
  void startStep(Replica& r, int index, MonoNanos at);
  void endStep(Replica& r, int index, MonoNanos at, ModelSink& sink);
  int64_t kvOf(const Job& j) const;
  void flush(uint64_t id, Job& j, MonoNanos at, ModelSink& sink);
  void remember(Replica& r, const std::vector<uint64_t>& blocks);
  int64_t lookupCached(const Replica& r, const std::vector<uint64_t>& blocks) const;

  ServingConfig serving_;
  ReplicasConfig replicasConfig_;
  PrefixCacheConfig prefixCache_;
  std::mt19937_64 rng_;
  std::vector<Replica> replicas_;
  std::unordered_map<uint64_t, Job> jobs_;
  bool advancing_ = false;
  std::vector<uint64_t> deferredCancels_;
  int64_t preemptions_ = 0;
  int64_t cancellations_ = 0;
  int64_t promptTokens_ = 0;
  int64_t generationTokens_ = 0;
  int64_t cachedTokens_ = 0;
  int64_t finished_ = 0;
};

}  // namespace tokenstorm::sim
