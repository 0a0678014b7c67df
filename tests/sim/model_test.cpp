// The serving model on explicit time: queueing, batching, chunking, KV pressure, prefix cache, replicas.
#include "tokenstorm/sim/model.h"

#include <gtest/gtest.h>

#include <map>

namespace tokenstorm::sim {
namespace {

constexpr MonoNanos kMs = 1'000'000;

struct Recorder : ModelSink {
  struct Token {
    uint64_t id;
    int64_t tokens;
    bool reasoning;
    MonoNanos at;
  };
  std::vector<Token> tokens;
  std::map<uint64_t, RequestOutcome> finished;
  std::map<uint64_t, MonoNanos> finishedAt;

  void onTokens(uint64_t id, int64_t n, bool reasoning, MonoNanos at) override {
    tokens.push_back({id, n, reasoning, at});
  }
  void onFinish(uint64_t id, const RequestOutcome& outcome, MonoNanos at) override {
    finished[id] = outcome;
    finishedAt[id] = at;
  }
  MonoNanos firstTokenAt(uint64_t id) const {
    for (const auto& t : tokens) {
      if (t.id == id) {
        return t.at;
      }
    }
    return -1;
  }
  int64_t total(uint64_t id) const {
    int64_t n = 0;
    for (const auto& t : tokens) {
      n += t.id == id ? t.tokens : 0;
    }
    return n;
  }
};

// Round numbers: prefill 10 ms + 1 ms per 100 tokens; decode 10 ms + 1 ms per sequence.
ServingConfig simpleServing() {
  ServingConfig s;
  s.prefillOverhead = core::Duration::fromMillis(10);
  s.prefillTokensPerSecond = 100'000;
  s.decodeStepBase = core::Duration::fromMillis(10);
  s.decodeStepPerSequence = core::Duration::fromMillis(1);
  s.maxBatch = 8;
  s.kvCacheTokens = 100'000;
  s.outputTokens = core::Dist{};
  s.outputTokens.fixed = 1000;  // never stop early: output length = max_tokens
  return s;
}

ModelRequest request(uint64_t id, int64_t prompt, int64_t max_tokens) {
  ModelRequest r;
  r.id = id;
  r.promptTokens = prompt;
  r.maxTokens = max_tokens;
  return r;
}

void runAll(Model& m, Recorder& rec) {
  while (auto next = m.nextEventAt()) {
    m.advance(*next, rec);
  }
}

TEST(ModelTest, FirstTokenAfterPrefillAndOneDecodeStep) {
  Model m(simpleServing(), ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  m.submit(request(1, 1000, 3), 0);
  runAll(m, rec);
  // Step 1: prefill 10 + 1000/100k s = 20 ms, plus decode 10 + 1 = 11 ms → first token at 31 ms.
  EXPECT_EQ(rec.firstTokenAt(1), 31 * kMs);
  // Two more decode steps of 11 ms each.
  EXPECT_EQ(rec.finishedAt.at(1), 53 * kMs);
  EXPECT_EQ(rec.total(1), 3);
  EXPECT_EQ(rec.finished.at(1).finish, FinishReason::Length);
  EXPECT_EQ(rec.finished.at(1).completionTokens, 3);
}

TEST(ModelTest, TtftGrowsWithQueueingBeyondTheBatch) {
  ServingConfig s = simpleServing();
  s.maxBatch = 2;
  Model m(s, ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  for (uint64_t id = 1; id <= 4; ++id) {
    m.submit(request(id, 100, 5), 0);
  }
  runAll(m, rec);
  // Requests 3 and 4 wait until 1 and 2 finish, so their first token comes much later.
  EXPECT_LT(rec.firstTokenAt(1), rec.firstTokenAt(3));
  EXPECT_EQ(rec.firstTokenAt(1), rec.firstTokenAt(2));
  EXPECT_GE(rec.firstTokenAt(3), rec.finishedAt.at(1));
  EXPECT_EQ(rec.finished.size(), 4u);
  EXPECT_EQ(rec.finished.at(3).admittedAt, rec.finishedAt.at(1));
}

TEST(ModelTest, DecodeStepsSlowDownWithBatchSize) {
  auto gap = [](int batch) {
    Model m(simpleServing(), ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
    Recorder rec;
    for (int i = 0; i < batch; ++i) {
      m.submit(request(static_cast<uint64_t>(i + 1), 10, 4), 0);
    }
    runAll(m, rec);
    return rec.finishedAt.at(1) - rec.firstTokenAt(1);
  };
  EXPECT_EQ(gap(1), 3 * 11 * kMs);
  EXPECT_EQ(gap(4), 3 * 14 * kMs);
}

TEST(ModelTest, ChunksCarrySeveralTokensAndReasoningComesFirst) {
  ServingConfig s = simpleServing();
  s.tokensPerChunk = 4;
  s.reasoningTokens = 3;
  Model m(s, ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  m.submit(request(1, 10, 10), 0);
  runAll(m, rec);
  std::vector<std::pair<int64_t, bool>> chunks;
  for (const auto& t : rec.tokens) {
    chunks.emplace_back(t.tokens, t.reasoning);
  }
  // 3 reasoning tokens (flushed when the content starts), then content in chunks of 4, the last short.
  EXPECT_EQ(chunks, (std::vector<std::pair<int64_t, bool>>{{3, true}, {4, false}, {3, false}}));
  EXPECT_EQ(rec.finished.at(1).reasoningTokens, 3);
}

TEST(ModelTest, NaturalLengthStopsBeforeMaxTokensUnlessIgnoreEos) {
  ServingConfig s = simpleServing();
  s.outputTokens.fixed = 7;
  Model m(s, ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  m.submit(request(1, 10, 100), 0);
  ModelRequest forced = request(2, 10, 20);
  forced.ignoreEos = true;
  m.submit(forced, 0);
  ModelRequest min_tokens = request(3, 10, 100);
  min_tokens.minTokens = 12;
  m.submit(min_tokens, 0);
  runAll(m, rec);
  EXPECT_EQ(rec.finished.at(1).completionTokens, 7);
  EXPECT_EQ(rec.finished.at(1).finish, FinishReason::Stop);
  EXPECT_EQ(rec.finished.at(2).completionTokens, 20);
  EXPECT_EQ(rec.finished.at(2).finish, FinishReason::Length);
  EXPECT_EQ(rec.finished.at(3).completionTokens, 12);
}

TEST(ModelTest, KvPressurePreemptsAndStillFinishesEverything) {
  ServingConfig s = simpleServing();
  s.kvCacheTokens = 250;
  Model m(s, ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  m.submit(request(1, 100, 40), 0);
  m.submit(request(2, 100, 40), 0);
  runAll(m, rec);
  EXPECT_EQ(rec.finished.size(), 2u);
  EXPECT_GT(m.stats(0).preemptions, 0);
  EXPECT_EQ(rec.total(1), 40);
  EXPECT_EQ(rec.total(2), 40);
  EXPECT_EQ(m.stats(0).kvTokensUsed, 0);
}

TEST(ModelTest, PrefixCacheReportsCachedTokensAndShortensPrefill) {
  PrefixCacheConfig cache;
  cache.blockTokens = 100;
  Model m(simpleServing(), ReplicasConfig{}, cache, 1, 0);
  Recorder rec;
  ModelRequest a = request(1, 1000, 1);
  a.prefixBlocks = {11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
  m.submit(a, 0);
  runAll(m, rec);
  ModelRequest b = request(2, 1000, 1);
  b.prefixBlocks = {11, 12, 13, 14, 15, 16, 17, 99, 98, 97};  // shares 7 blocks
  MonoNanos t = rec.finishedAt.at(1);
  m.submit(b, t);
  runAll(m, rec);
  EXPECT_EQ(rec.finished.at(1).cachedTokens, 0);
  EXPECT_EQ(rec.finished.at(2).cachedTokens, 700);
  // Prefill of 300 uncached tokens: 10 + 3 ms, plus the 11 ms decode step.
  EXPECT_EQ(rec.firstTokenAt(2) - t, 24 * kMs);
}

TEST(ModelTest, CancelFreesTheSlotAndIsCounted) {
  ServingConfig s = simpleServing();
  s.maxBatch = 1;
  Model m(s, ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  m.submit(request(1, 10, 1000), 0);
  m.submit(request(2, 10, 2), 0);
  m.advance(50 * kMs, rec);
  EXPECT_TRUE(m.cancel(1, 50 * kMs));
  EXPECT_FALSE(m.cancel(1, 50 * kMs));
  runAll(m, rec);
  EXPECT_EQ(rec.finished.count(1), 0u);
  EXPECT_EQ(rec.finished.count(2), 1u);
  EXPECT_EQ(m.stats(0).cancellations, 1);
}

// The server cancels from inside callbacks (a client gone, an injected fault); the model must survive it.
TEST(ModelTest, CancelFromInsideACallback) {
  struct CancellingSink : Recorder {
    Model* model = nullptr;
    void onTokens(uint64_t id, int64_t n, bool reasoning, MonoNanos at) override {
      Recorder::onTokens(id, n, reasoning, at);
      if (id == 1 && total(id) >= 2) {
        model->cancel(1, at);
        model->cancel(2, at);  // and another one, still queued
      }
    }
  };
  ServingConfig s = simpleServing();
  s.maxBatch = 1;
  Model m(s, ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  CancellingSink sink;
  sink.model = &m;
  m.submit(request(1, 10, 50), 0);
  m.submit(request(2, 10, 50), 0);
  m.submit(request(3, 10, 3), 0);
  while (auto next = m.nextEventAt()) {
    m.advance(*next, sink);
  }
  EXPECT_EQ(sink.total(1), 2);
  EXPECT_EQ(sink.total(2), 0);
  EXPECT_EQ(sink.finished.count(3), 1u);
  EXPECT_EQ(m.stats(0).cancellations, 2);
  EXPECT_EQ(m.stats(0).kvTokensUsed, 0);
}

TEST(ModelTest, PausedSequencesHoldTheirSlotAndResume) {
  Model m(simpleServing(), ReplicasConfig{}, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  m.submit(request(1, 10, 10), 0);
  m.submit(request(2, 10, 10), 0);
  m.advance(50 * kMs, rec);
  int64_t before = rec.total(1);
  EXPECT_TRUE(m.pause(1));
  m.advance(500 * kMs, rec);
  EXPECT_EQ(rec.total(1), before);       // no progress while paused
  EXPECT_EQ(rec.finished.count(2), 1u);  // the other sequence went on
  EXPECT_EQ(m.stats(0).running, 1);      // still holds its slot
  m.resume(1);
  runAll(m, rec);
  EXPECT_EQ(rec.total(1), 10);
  EXPECT_FALSE(m.pause(99));
}

TEST(ModelTest, NewReplicasServeAfterWarmupAndShareLoad) {
  ReplicasConfig replicas;
  replicas.warmup = core::Duration::fromSeconds(30);
  ServingConfig s = simpleServing();
  s.maxBatch = 1;
  Model m(s, replicas, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  m.setReplicaCount(2, 0);
  EXPECT_EQ(m.stats(0).replicasReady, 1);
  EXPECT_EQ(m.stats(30'000 * kMs).replicasReady, 2);
  m.submit(request(1, 10, 5), 31'000 * kMs);
  m.submit(request(2, 10, 5), 31'000 * kMs);
  runAll(m, rec);
  EXPECT_NE(rec.finished.at(1).replica, rec.finished.at(2).replica);  // least-loaded dispatch
  EXPECT_EQ(rec.firstTokenAt(1), rec.firstTokenAt(2));
}

TEST(ModelTest, ScaleToZeroPaysTheColdStartOnce) {
  ReplicasConfig replicas;
  replicas.scaleToZero = true;
  replicas.coldStart = core::Duration::fromSeconds(20);
  replicas.idleTimeout = core::Duration::fromSeconds(60);
  Model m(simpleServing(), replicas, PrefixCacheConfig{false}, 1, 0);
  Recorder rec;
  EXPECT_EQ(m.stats(0).replicasTotal, 0);
  m.submit(request(1, 10, 1), 0);
  runAll(m, rec);
  EXPECT_GE(rec.firstTokenAt(1), 20'000 * kMs);  // waited for the cold start
  MonoNanos warm = rec.finishedAt.at(1) + kMs;
  m.submit(request(2, 10, 1), warm);
  m.advance(warm + 100 * kMs, rec);
  EXPECT_LT(rec.firstTokenAt(2) - warm, 100 * kMs);  // warm now
  m.advance(warm + 200'000 * kMs, rec);              // idle past the timeout
  EXPECT_EQ(m.stats(warm + 200'000 * kMs).replicasTotal, 0);
}

TEST(ModelTest, SameSeedSameOutputLengths) {
  ServingConfig s = simpleServing();
  s.outputTokens = core::Dist{};
  s.outputTokens.uniform = core::Range{1, 500};
  auto lengths = [&](uint64_t seed) {
    Model m(s, ReplicasConfig{}, PrefixCacheConfig{false}, seed, 0);
    Recorder rec;
    for (uint64_t id = 1; id <= 20; ++id) {
      m.submit(request(id, 10, 1000), 0);
    }
    runAll(m, rec);
    std::vector<int64_t> out;
    for (const auto& [id, o] : rec.finished) {
      out.push_back(o.completionTokens);
    }
    return out;
  };
  EXPECT_EQ(lengths(7), lengths(7));
  EXPECT_NE(lengths(7), lengths(8));
}

}  // namespace
}  // namespace tokenstorm::sim
