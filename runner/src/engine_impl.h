// Internal to the runner library: the engine's implementation classes, shared by engine.cpp (EngineImpl:
// arrivals, users, budget, stop conditions, snapshots) and exchange.cpp (Exchange: one logical request, its
// attempts and the response as it streams in). Not installed; include only from runner/src.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tokenstorm/runner/api.h"
#include "tokenstorm/runner/arrivals.h"
#include "tokenstorm/runner/engine.h"
#include "tokenstorm/runner/http_client.h"
#include "tokenstorm/runner/sse.h"
#include "tokenstorm/runner/workload.h"

namespace tokenstorm::runner::detail {

namespace asio = boost::asio;
using core::ErrorKind;
using core::MonoNanos;

struct EndpointState {
  const core::Endpoint* spec = nullptr;
  const ApiAdapter* adapter = nullptr;
  std::unique_ptr<ConnectionFactory> factory;
  std::vector<std::shared_ptr<Connection>> idle;
  std::string hostHeader;
  std::string fixedHeaders;  // auth and custom headers, formatted "name: value\r\n"
  std::string basePath;
  bool selfHosted = true;  // an internal URL: vLLM-style extensions are welcome (see GenerationRequest)
};

class EngineImpl;

// One logical request: its attempts (retries), the response of the current attempt as it streams in, its
// timers, and the RequestRecord it produces.
class Exchange final : public ResponseHandler, public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(EngineImpl& engine, PlannedRequest planned, MonoNanos t_sched, int stage, uint64_t user);

  void begin();
  void abort();  // the engine is stopping: counted as cancelled

  // ResponseHandler
  void onSent(MonoNanos at) override;
  void onHeaders(int status, const HeaderList& headers, MonoNanos at) override;
  void onBody(std::string_view bytes, MonoNanos at) override;
  void onComplete(MonoNanos at) override;
  void onFailure(TransportError error, const std::string& message, bool received, MonoNanos at) override;

  PlannedRequest planned;
  uint64_t user = 0;  // closed loop: the virtual user; 0 in open loop
  const std::string& answer() const { return answer_; }

 private:
  void sendAttempt();
  void onEvent(SseEvent& event);
  void applyDelta(const Delta& delta, MonoNanos at, bool streamed);
  void fail(ErrorKind kind, MonoNanos at, bool close_connection, std::optional<int64_t> retry_after = {});
  void cancel(MonoNanos at);
  void finish(core::Outcome outcome, ErrorKind kind, MonoNanos at);
  void releaseConnection(bool reuse);
  void armCancelTimer();
  // Only conversations need the answer's text (their next turn sends it back).
  AnswerText answerText() const { return planned.turns > 1 ? AnswerText::kKeep : AnswerText::kCountOnly; }

  EngineImpl& engine_;
  core::RequestRecord rec_;
  int endpoint_ = 0;
  std::shared_ptr<Connection> connection_;
  bool reusedConnection_ = false;
  bool resentOnFresh_ = false;
  std::shared_ptr<const std::string> bytes_;
  asio::steady_timer timeout_;
  asio::steady_timer cancelTimer_;
  // Per attempt:
  std::optional<SseParser> sse_;
  int status_ = 0;
  bool streaming_ = false;
  bool streamDone_ = false;
  bool ended_ = false;
  std::string body_;
  MonoNanos doneAt_ = 0;
  int64_t chunkTokens_ = 0;  // output tokens so far, from usage when streamed, else one per chunk
  int64_t lastUsageCompletion_ = -1;
  int64_t outputChars_ = 0;
  std::optional<Usage> usage_;
  std::optional<int64_t> retryAfter_;
  std::string answer_;  // kept only for conversations, whose next turn sends it back
};

class EngineImpl final : public Engine {
 public:
  EngineImpl(asio::io_context& io, const core::Clock& clock, const core::LoadTestSpec& spec,
             const core::LoadPlan& plan, EngineOptions options, Workload workload)
      : io_(io),
        clock_(clock),
        spec_(spec),
        plan_(plan),
        options_(std::move(options)),
        workload_(std::move(workload)),
        rules_(core::MetricRules::fromSpec(spec, plan)),
        rng_(options_.seed * 0x2545F4914F6CDD1DULL + static_cast<uint64_t>(options_.share.index)),
        timingRng_(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(options_.share.index) + 1),
        arrivals_(plan_, spec.load.arrival, options_.seed, options_.share),
        arrivalTimer_(io),
        tickTimer_(io),
        snapshotTimer_(io),
        deadlineTimer_(io) {}

  bool init(core::Diagnostics* errors);

  // Engine
  void start(MonoNanos start_at) override;
  void stop(core::Phase phase, const std::string& reason, const std::string& message) override;
  bool finished() const override { return finished_; }
  EngineProgress progress() const override;
  core::Snapshot snapshotNow() override { return recorder_->snapshot(false, clock_.monotonicNanos()); }
  const EngineResult& result() const override { return result_; }
  void onFinished(std::function<void()> callback) override { onFinished_ = std::move(callback); }

  // For exchanges.
  asio::io_context& io() { return io_; }
  const core::Clock& clock() const { return clock_; }
  const core::LoadTestSpec& spec() const { return spec_; }
  EndpointState& endpoint(int index) { return endpoints_[static_cast<size_t>(index)]; }
  int pickEndpoint();
  void endpointResult(int index, bool ok);
  std::shared_ptr<Connection> acquire(int index, bool* reused);
  void release(int index, std::shared_ptr<Connection> connection);
  // Retry jitter and think times draw from their own stream, so that they never shift which prompts and
  // lengths a seed produces.
  core::Rng& timingRng() { return timingRng_; }
  bool stopping() const { return stopping_; }
  void finishExchange(const std::shared_ptr<Exchange>& exchange, const core::RequestRecord& record);
  std::string requestBytes(int endpoint, const GenerationRequest& request) const;
  void sent() { ++progress_.sent; }

 private:
  void scheduleArrival();
  void onArrivalTimer();
  void launch(PlannedRequest planned, MonoNanos t_sched, int stage, uint64_t user);
  void closedLoopTick();
  void startUser();
  void userReady(uint64_t user, MonoNanos at);
  void snapshotTick();
  void checkDone();
  void complete(core::Phase phase, std::string reason, std::string message);
  void checkBudget();
  void logRequest(const core::RequestRecord& r);
  void checkErrorRate(MonoNanos now, bool failed);
  int stageAt(MonoNanos at) const;
  // Conversations go on after the last arrival until the plan's time is up, unless a stop condition hit.
  bool planRunning() const {
    return !stopping_ && pendingReason_.empty() && clock_.monotonicNanos() - startAt_ < plan_.total.nanos;
  }

  asio::io_context& io_;
  const core::Clock& clock_;
  const core::LoadTestSpec& spec_;
  const core::LoadPlan& plan_;
  EngineOptions options_;
  Workload workload_;
  core::MetricRules rules_;
  core::Rng rng_;        // what is sent: classes, prompts, lengths, cancellations, endpoint choice
  core::Rng timingRng_;  // when: retry jitter, think times
  ArrivalSchedule arrivals_;
  std::optional<core::Recorder> recorder_;
  std::vector<EndpointState> endpoints_;
  std::vector<int64_t> endpointWeights_;
  int activeEndpoint_ = 0;
  int64_t consecutiveFailures_ = 0;
  MonoNanos failedOverAt_ = 0;

  asio::steady_timer arrivalTimer_;
  asio::steady_timer tickTimer_;
  asio::steady_timer snapshotTimer_;
  asio::steady_timer deadlineTimer_;
  std::optional<PlannedArrival> nextArrival_;
  MonoNanos startAt_ = 0;
  int64_t cpuAtStart_ = 0;
  bool started_ = false;
  bool issuing_ = true;  // false once the plan is over or a stop condition hit
  bool stopping_ = false;
  bool finished_ = false;
  std::vector<std::shared_ptr<Exchange>> inFlight_;
  int64_t pendingTurns_ = 0;  // conversations between turns (think time)
  std::set<std::shared_ptr<asio::steady_timer>> turnTimers_;
  // Closed loop: users alive, users asked to leave after their current request.
  int64_t users_ = 0;
  int64_t retiring_ = 0;
  uint64_t nextUserId_ = 1;

  core::Decimal spent_;
  int64_t inputTokens_ = 0;
  int64_t outputTokens_ = 0;
  std::optional<core::Decimal> budgetShare_;
  std::deque<std::pair<MonoNanos, bool>> errorWindow_;
  int64_t windowFailed_ = 0;

  EngineProgress progress_;
  EngineResult result_;
  std::string pendingReason_;
  std::string pendingMessage_;
  core::Phase pendingPhase_ = core::Phase::Succeeded;
  std::function<void()> onFinished_;
};

}  // namespace tokenstorm::runner::detail
