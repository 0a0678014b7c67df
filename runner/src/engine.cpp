#include "tokenstorm/runner/engine.h"

#include <nlohmann/json.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <set>
#include <sstream>

#include "tokenstorm/core/validate.h"
#include "tokenstorm/runner/api.h"
#include "tokenstorm/runner/http_client.h"
#include "tokenstorm/runner/sse.h"
#include "tokenstorm/runner/workload.h"

namespace tokenstorm::runner {
namespace {

namespace asio = boost::asio;
using core::ErrorKind;
using core::MonoNanos;

constexpr size_t kMaxBodyBytes = 8u << 20;  // non-streamed answers and error bodies kept to be parsed
constexpr int64_t kClosedLoopTickNanos = 100'000'000;
constexpr int64_t kMaxRetryAfterNanos = 600'000'000'000;  // a retry-after beyond 10 min is not waited for

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

std::optional<core::RetryOn> retryClass(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Http429:
      return core::RetryOn::Http429;
    case ErrorKind::Http4xx:
      return core::RetryOn::Http4xx;
    case ErrorKind::Http5xx:
      return core::RetryOn::Http5xx;
    case ErrorKind::Timeout:
      return core::RetryOn::Timeout;
    case ErrorKind::Connect:
      return core::RetryOn::Connect;
    default:
      return std::nullopt;
  }
}

const char* errorName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::None:
      return "";
    case ErrorKind::Http429:
      return "http429";
    case ErrorKind::Http4xx:
      return "http4xx";
    case ErrorKind::Http5xx:
      return "http5xx";
    case ErrorKind::Timeout:
      return "timeout";
    case ErrorKind::Connect:
      return "connect";
    case ErrorKind::Tls:
      return "tls";
    case ErrorKind::StreamError:
      return "streamError";
    case ErrorKind::Protocol:
      return "protocol";
  }
  return "";
}

// A status other than 200 (LLM APIs answer 200 or an error; a redirect or a 204 is not an answer).
ErrorKind kindOfStatus(int status) {
  if (status == 429) {
    return ErrorKind::Http429;
  }
  if (status >= 500) {
    return ErrorKind::Http5xx;
  }
  return status >= 400 ? ErrorKind::Http4xx : ErrorKind::Protocol;
}

// retry-after (seconds; HTTP dates are rare from LLM APIs and are ignored) or retry-after-ms.
std::optional<int64_t> retryAfterNanos(const HeaderList& headers) {
  for (const auto& [name, value] : headers) {
    double number = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (ec != std::errc() || number < 0) {
      continue;
    }
    if (name == "retry-after-ms") {
      return static_cast<int64_t>(number * 1e6);
    }
    if (name == "retry-after") {
      return static_cast<int64_t>(number * 1e9);
    }
  }
  return std::nullopt;
}

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

// ---- Exchange
// -----------------------------------------------------------------------------------------------

Exchange::Exchange(EngineImpl& engine, PlannedRequest planned_request, MonoNanos t_sched, int stage,
                   uint64_t user_id)
    : planned(std::move(planned_request)),
      user(user_id),
      engine_(engine),
      timeout_(engine.io()),
      cancelTimer_(engine.io()) {
  rec_.tSched = t_sched;
  rec_.stage = stage;
  rec_.cls = planned.cls;
  rec_.attempts = 0;
}

void Exchange::begin() {
  endpoint_ = engine_.pickEndpoint();
  rec_.endpoint = endpoint_;
  bytes_ = std::make_shared<const std::string>(engine_.requestBytes(endpoint_, planned.request));
  sendAttempt();
}

void Exchange::sendAttempt() {
  ++rec_.attempts;
  status_ = 0;
  streaming_ = streamDone_ = false;
  body_.clear();
  doneAt_ = 0;
  usage_.reset();
  retryAfter_.reset();
  chunkTokens_ = outputChars_ = 0;
  answer_.clear();
  lastUsageCompletion_ = -1;
  rec_.tFirst = rec_.tFirstContent = rec_.tLast = 0;
  rec_.gaps.clear();
  resentOnFresh_ = false;
  // The endpoint's timeout covers the whole attempt, connecting and the TLS handshake included, so a
  // server that accepts and never answers cannot hold a request (or the end of the test) forever.
  auto self = shared_from_this();
  timeout_.expires_after(std::chrono::nanoseconds(engine_.endpoint(endpoint_).spec->timeout.nanos));
  timeout_.async_wait([self](const boost::system::error_code& ec) {
    if (!ec && !self->ended_) {
      self->fail(ErrorKind::Timeout, self->engine_.clock().monotonicNanos(), true);
    }
  });
  connection_ = engine_.acquire(endpoint_, &reusedConnection_);
  connection_->send(bytes_, this);
}

void Exchange::armCancelTimer() {
  auto self = shared_from_this();
  if (planned.cancel && planned.cancel->afterNanos) {
    cancelTimer_.expires_after(std::chrono::nanoseconds(*planned.cancel->afterNanos));
    cancelTimer_.async_wait([self](const boost::system::error_code& ec) {
      if (!ec && !self->ended_) {
        self->cancel(self->engine_.clock().monotonicNanos());
      }
    });
  }
}

void Exchange::onSent(MonoNanos at) {
  rec_.tSend = at;  // of the attempt that produces the record
  if (rec_.attempts == 1 && !resentOnFresh_) {
    engine_.sent();
  }
  armCancelTimer();
}

void Exchange::onHeaders(int status, const HeaderList& headers, MonoNanos) {
  status_ = status;
  rec_.httpStatus = status;
  retryAfter_ = retryAfterNanos(headers);
  for (const auto& [name, value] : headers) {
    if (name == "x-request-id" || name == "request-id" || name == "x-sim-request-id" ||
        name == "apim-request-id") {
      rec_.serverRequestId = value;
    }
  }
  if (status != 200) {
    return;
  }
  for (const auto& [name, value] : headers) {
    if (name == "content-type" && value.find("text/event-stream") != std::string::npos) {
      streaming_ = true;
    }
  }
  if (streaming_) {
    sse_.emplace([this](SseEvent& event) { onEvent(event); });
  }
}

void Exchange::onBody(std::string_view bytes, MonoNanos at) {
  if (ended_) {
    return;
  }
  if (streaming_) {
    std::string error;
    if (!sse_->feed(bytes, at, &error)) {
      rec_.finishReason.clear();
      fail(ErrorKind::Protocol, at, true);
    }
    return;
  }
  if (body_.size() + bytes.size() > kMaxBodyBytes) {
    return fail(ErrorKind::Protocol, at, true);
  }
  body_.append(bytes);
}

void Exchange::onEvent(SseEvent& event) {
  if (ended_ || streamDone_) {
    return;
  }
  Delta delta = engine_.endpoint(endpoint_).adapter->parseEvent(event);
  if (delta.protocolError) {
    return fail(ErrorKind::Protocol, event.at, true);
  }
  if (delta.error) {
    return fail(ErrorKind::StreamError, event.at, true);
  }
  applyDelta(delta, event.at, true);
  if (delta.done) {
    streamDone_ = true;
    doneAt_ = event.at;
  }
}

void Exchange::applyDelta(const Delta& delta, MonoNanos at, bool streamed) {
  int64_t tokens = 0;
  if (delta.usage) {
    usage_ = usage_.value_or(Usage{});
    if (delta.usage->promptTokens) {
      usage_->promptTokens = delta.usage->promptTokens;
    }
    if (delta.usage->cachedTokens) {
      usage_->cachedTokens = delta.usage->cachedTokens;
    }
    if (delta.usage->completionTokens) {
      usage_->completionTokens = delta.usage->completionTokens;
      if (delta.carriesOutput()) {
        // continuous usage stats: this chunk carried the growth of completion_tokens
        tokens = *delta.usage->completionTokens - std::max<int64_t>(0, lastUsageCompletion_);
      }
      lastUsageCompletion_ = *delta.usage->completionTokens;
    }
  }
  if (delta.finishReason) {
    rec_.finishReason = *delta.finishReason;
  }
  if (planned.turns > 1 && !delta.content.empty()) {
    answer_ += delta.content;
  }
  if (!streamed || !delta.carriesOutput()) {
    outputChars_ += delta.contentChars + delta.reasoningChars + delta.toolCallChars;
    return;
  }
  if (tokens <= 0) {
    tokens = 1;
  }
  outputChars_ += delta.contentChars + delta.reasoningChars + delta.toolCallChars;
  if (rec_.tFirst == 0) {
    rec_.tFirst = at;
  } else {
    rec_.gaps.push_back({at - rec_.tLast, tokens});
  }
  if (rec_.tFirstContent == 0 && (delta.contentChars > 0 || delta.toolCallChars > 0)) {
    rec_.tFirstContent = at;
  }
  rec_.tLast = at;
  chunkTokens_ += tokens;
  if (planned.cancel && planned.cancel->afterTokens && chunkTokens_ >= *planned.cancel->afterTokens) {
    cancel(at);
  }
}

void Exchange::onComplete(MonoNanos at) {
  if (ended_) {
    return;
  }
  bool reuse = connection_ && connection_->reusable();
  if (status_ != 200) {
    releaseConnection(reuse);
    return fail(kindOfStatus(status_), at, false, retryAfter_);
  }
  if (streaming_) {
    sse_->finish();
    if (!streamDone_) {
      // The body ended without [DONE] / message_stop: a cut stream.
      releaseConnection(false);
      return fail(ErrorKind::StreamError, at, false);
    }
    releaseConnection(reuse);
    return finish(core::Outcome::Ok, ErrorKind::None, doneAt_ != 0 ? doneAt_ : at);
  }
  Delta delta = engine_.endpoint(endpoint_).adapter->parseBody(body_);
  releaseConnection(reuse);
  if (delta.protocolError) {
    return fail(ErrorKind::Protocol, at, false);
  }
  if (delta.error) {
    return fail(ErrorKind::StreamError, at, false);
  }
  applyDelta(delta, at, false);
  finish(core::Outcome::Ok, ErrorKind::None, at);
}

void Exchange::onFailure(TransportError error, const std::string&, bool received, MonoNanos at) {
  if (ended_) {
    return;
  }
  connection_.reset();
  if (!received && reusedConnection_ && !resentOnFresh_ && error == TransportError::Closed) {
    // A keep-alive connection the server had already closed: send again on a fresh one, silently.
    resentOnFresh_ = true;
    reusedConnection_ = false;
    connection_ = engine_.endpoint(endpoint_).factory->create();
    connection_->send(bytes_, this);
    return;
  }
  switch (error) {
    case TransportError::Connect:
      return fail(ErrorKind::Connect, at, false);
    case TransportError::Tls:
      return fail(ErrorKind::Tls, at, false);
    case TransportError::Protocol:
      return fail(ErrorKind::Protocol, at, false);
    case TransportError::Closed:
      // Headers of a 200 and then a cut: a stream error; an error status cut short: that status; no answer
      // at all: a connection failure.
      if (status_ == 0) {
        return fail(ErrorKind::Connect, at, false);
      }
      return fail(status_ == 200 ? ErrorKind::StreamError : kindOfStatus(status_), at, false);
  }
}

void Exchange::releaseConnection(bool reuse) {
  if (!connection_) {
    return;
  }
  if (reuse) {
    engine_.release(endpoint_, std::move(connection_));
  } else {
    connection_->close();
  }
  connection_.reset();
}

void Exchange::fail(ErrorKind kind, MonoNanos at, bool close_connection, std::optional<int64_t> retry_after) {
  if (ended_) {
    return;
  }
  if (close_connection && connection_) {
    connection_->close();
    connection_.reset();
  }
  timeout_.cancel();
  cancelTimer_.cancel();
  engine_.endpointResult(endpoint_, false);
  const auto& retry = engine_.spec().workload.retry;
  auto cls = retryClass(kind);
  bool retriable = retry && cls && rec_.tFirst == 0 && rec_.attempts < retry->maxAttempts &&
                   !engine_.stopping() &&
                   std::find(retry->retryOn.begin(), retry->retryOn.end(), *cls) != retry->retryOn.end();
  if (!retriable) {
    rec_.error = kind;
    return finish(core::Outcome::Failed, kind, at);
  }
  // Backoff: initial × multiplier^(attempt−1), capped, ± jitter; a longer retry-after wins when honoured.
  const core::Backoff& b = retry->backoff;
  double delay = static_cast<double>(b.initial.nanos) * std::pow(b.multiplier, rec_.attempts - 1);
  delay = std::min(delay, static_cast<double>(b.max.nanos));
  delay *= 1 + std::uniform_real_distribution<double>(-b.jitter, b.jitter)(engine_.timingRng());
  auto wait = static_cast<int64_t>(std::max(0.0, delay));
  if (retry->respectRetryAfter && retry_after) {
    wait = std::max(wait, std::min(*retry_after, kMaxRetryAfterNanos));
  }
  auto self = shared_from_this();
  timeout_.expires_after(std::chrono::nanoseconds(wait));
  timeout_.async_wait([self](const boost::system::error_code& ec) {
    if (ec || self->ended_) {
      return;
    }
    if (self->engine_.stopping()) {
      return self->finish(core::Outcome::Cancelled, ErrorKind::None, self->engine_.clock().monotonicNanos());
    }
    self->sendAttempt();
  });
}

void Exchange::cancel(MonoNanos at) {
  if (ended_) {
    return;
  }
  if (connection_) {
    connection_->close();  // the server must see the client go away
    connection_.reset();
  }
  finish(core::Outcome::Cancelled, ErrorKind::None, at);
}

void Exchange::abort() {
  cancel(engine_.clock().monotonicNanos());
}

void Exchange::finish(core::Outcome outcome, ErrorKind kind, MonoNanos at) {
  if (ended_) {
    return;
  }
  ended_ = true;
  timeout_.cancel();
  cancelTimer_.cancel();
  rec_.outcome = outcome;
  rec_.error = kind;
  rec_.tEnd = at;
  if (usage_ && usage_->completionTokens) {
    rec_.outputTokens = *usage_->completionTokens;
    // What the estimator below would have said without usage: at least a token per output event.
    auto events = rec_.tFirst != 0 ? static_cast<int64_t>(rec_.gaps.size()) + 1 : 0;
    rec_.clientOutputEstimate = std::max(events, (outputChars_ + 3) / 4);
  } else {
    rec_.outputTokens =
        outcome == core::Outcome::Ok || rec_.tFirst != 0 ? std::max(chunkTokens_, (outputChars_ + 3) / 4) : 0;
    rec_.tokensEstimated = rec_.outputTokens > 0;
  }
  if (usage_ && usage_->promptTokens) {
    rec_.inputTokens = *usage_->promptTokens;
    rec_.cachedTokens = usage_->cachedTokens.value_or(0);
  } else {
    rec_.inputTokens = planned.promptTokensEstimate;
    rec_.tokensEstimated = true;
  }
  if (outcome == core::Outcome::Ok) {
    engine_.endpointResult(endpoint_, true);
  }
  engine_.finishExchange(shared_from_this(), rec_);
}

// ---- EngineImpl
// ---------------------------------------------------------------------------------------------

bool EngineImpl::init(core::Diagnostics* errors) {
  recorder_.emplace(spec_, plan_, 0, options_.runnerId);
  if (spec_.budget.maxCost) {
    budgetShare_ = core::Decimal{spec_.budget.maxCost->nanos / std::max<int64_t>(1, options_.share.count)};
  }
  bool ok = true;
  for (size_t i = 0; i < spec_.target.endpoints.size(); ++i) {
    const core::Endpoint& e = spec_.target.endpoints[i];
    std::string path = "spec.target.endpoints[" + std::to_string(i) + "]";
    std::string url_text = i < options_.urls.size() && !options_.urls[i].empty() ? options_.urls[i] : e.url;
    std::string error;
    auto url = parseUrl(url_text, &error);
    if (!url) {
      errors->push_back({path + ".url", error, {}});
      ok = false;
      continue;
    }
    std::shared_ptr<asio::ssl::context> tls;
    if (url->tls) {
      ClientTlsOptions tls_options;
      if (e.tls) {
        tls_options.insecureSkipVerify = e.tls->insecureSkipVerify;
        if (e.tls->caFile) {
          std::filesystem::path ca(*e.tls->caFile);
          tls_options.caFile = (ca.is_absolute() ? ca : options_.baseDir / ca).string();
        }
      }
      tls = makeClientTlsContext(tls_options, &error);
      if (!tls) {
        errors->push_back({path + ".tls", error, {}});
        ok = false;
        continue;
      }
    }
    auto addresses = ConnectionFactory::resolve(*url, &error);
    if (!addresses) {
      errors->push_back({path + ".url", error, {}});
      ok = false;
      continue;
    }
    EndpointState state;
    state.spec = &e;
    state.adapter = &adapterFor(e.api);
    bool default_port = (url->tls && url->port == 443) || (!url->tls && url->port == 80);
    state.hostHeader = url->host + (default_port ? "" : ":" + std::to_string(url->port));
    state.basePath = url->basePath;
    state.selfHosted = core::isInternalUrl(url_text);
    if (auto key = readApiKey(e, i, options_.baseDir, errors)) {
      auto [name, value] = state.adapter->authHeader(*key);
      if (e.auth && e.auth->header) {
        name = *e.auth->header;
        value = *key;
      }
      state.fixedHeaders += name + ": " + value + "\r\n";
    } else if (e.auth && (e.auth->env || e.auth->file)) {
      ok = false;  // readApiKey said why
    }
    for (const auto& [name, value] : e.headers) {
      if (name.find_first_of("\r\n:") != std::string::npos ||
          value.find_first_of("\r\n") != std::string::npos) {
        errors->push_back(
            {path + ".headers." + name, "header names and values may not contain CR, LF or ':'", {}});
        ok = false;
        continue;
      }
      state.fixedHeaders += name + ": " + value + "\r\n";
    }
    state.factory = std::make_unique<ConnectionFactory>(io_, clock_, *url, std::move(*addresses), tls);
    endpoints_.push_back(std::move(state));
    endpointWeights_.push_back((endpointWeights_.empty() ? 0 : endpointWeights_.back()) +
                               std::max<int64_t>(1, e.weight));
  }
  if (ok && endpoints_.empty()) {
    errors->push_back({"spec.target.endpoints", "no endpoint to send to", {}});
    ok = false;
  }
  return ok;
}

std::string EngineImpl::requestBytes(int index, const GenerationRequest& request) const {
  const EndpointState& e = endpoints_[static_cast<size_t>(index)];
  GenerationRequest r = request;
  r.model = e.spec->model;
  r.selfHosted = e.selfHosted;
  HttpRequestParts parts = e.adapter->build(r);
  std::string out;
  out.reserve(parts.body.size() + 512);
  out += "POST " + e.basePath + parts.path + " HTTP/1.1\r\nHost: " + e.hostHeader +
         "\r\nUser-Agent: tokenstorm\r\nContent-Type: application/json\r\n";
  out += request.stream ? "Accept: text/event-stream\r\n" : "Accept: application/json\r\n";
  for (const auto& [name, value] : parts.headers) {
    out += name + ": " + value + "\r\n";
  }
  out += e.fixedHeaders;
  out += "Content-Length: " + std::to_string(parts.body.size()) + "\r\n\r\n";
  out += parts.body;
  return out;
}

int EngineImpl::pickEndpoint() {
  switch (spec_.target.routing.policy) {
    case core::RoutingPolicy::Single:
      return 0;
    case core::RoutingPolicy::Weighted: {
      int64_t pick = std::uniform_int_distribution<int64_t>(0, endpointWeights_.back() - 1)(rng_);
      return static_cast<int>(std::upper_bound(endpointWeights_.begin(), endpointWeights_.end(), pick) -
                              endpointWeights_.begin());
    }
    case core::RoutingPolicy::Failover:
      if (activeEndpoint_ != 0 &&
          clock_.monotonicNanos() - failedOverAt_ >= spec_.target.routing.failbackAfter.nanos) {
        activeEndpoint_ = 0;  // fail back: try the primary again
        consecutiveFailures_ = 0;
      }
      return activeEndpoint_;
  }
  return 0;
}

void EngineImpl::endpointResult(int index, bool ok) {
  if (spec_.target.routing.policy != core::RoutingPolicy::Failover || index != activeEndpoint_) {
    return;
  }
  consecutiveFailures_ = ok ? 0 : consecutiveFailures_ + 1;
  if (consecutiveFailures_ >= spec_.target.routing.failoverAfter) {
    activeEndpoint_ = (activeEndpoint_ + 1) % static_cast<int>(endpoints_.size());
    consecutiveFailures_ = 0;
    failedOverAt_ = clock_.monotonicNanos();
  }
}

std::shared_ptr<Connection> EngineImpl::acquire(int index, bool* reused) {
  EndpointState& e = endpoints_[static_cast<size_t>(index)];
  if (!e.idle.empty()) {
    auto c = std::move(e.idle.back());
    e.idle.pop_back();
    *reused = true;
    return c;
  }
  *reused = false;
  return e.factory->create();
}

void EngineImpl::release(int index, std::shared_ptr<Connection> connection) {
  if (stopping_) {
    connection->close();
    return;
  }
  endpoints_[static_cast<size_t>(index)].idle.push_back(std::move(connection));
}

int EngineImpl::stageAt(MonoNanos at) const {
  int64_t offset = at - startAt_;
  for (size_t i = 0; i < plan_.stages.size(); ++i) {
    if (offset < plan_.stages[i].start.nanos + plan_.stages[i].duration.nanos) {
      return static_cast<int>(i);
    }
  }
  return plan_.stages.empty() ? 0 : static_cast<int>(plan_.stages.size() - 1);
}

void EngineImpl::start(MonoNanos start_at) {
  startAt_ = start_at;
  started_ = true;
  cpuAtStart_ = core::threadCpuNanos();
  recorder_.emplace(spec_, plan_, start_at, options_.runnerId);
  if (spec_.limits.maxDuration) {
    deadlineTimer_.expires_after(
        std::chrono::nanoseconds(start_at + spec_.limits.maxDuration->nanos - clock_.monotonicNanos()));
    deadlineTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        stop(core::Phase::Aborted, "DeadlineExceeded",
             "limits.maxDuration (" + spec_.limits.maxDuration->str() + ") reached");
      }
    });
  }
  snapshotTick();
  if (plan_.mode == core::LoadMode::Open) {
    nextArrival_ = arrivals_.next();
    scheduleArrival();
  } else {
    tickTimer_.expires_after(
        std::chrono::nanoseconds(std::max<int64_t>(0, start_at - clock_.monotonicNanos())));
    tickTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        closedLoopTick();
      }
    });
  }
}

void EngineImpl::scheduleArrival() {
  if (!issuing_) {
    return;
  }
  if (!nextArrival_) {
    issuing_ = false;
    return checkDone();
  }
  MonoNanos due = startAt_ + nextArrival_->offsetNanos;
  arrivalTimer_.expires_after(std::chrono::nanoseconds(due - clock_.monotonicNanos()));
  arrivalTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      onArrivalTimer();
    }
  });
}

void EngineImpl::onArrivalTimer() {
  // Every arrival already due is sent now (a late timer must not thin the load); each keeps its own t_sched,
  // so lateness shows up as scheduling lag and in ttftSched, never as a lower rate.
  MonoNanos now = clock_.monotonicNanos();
  while (issuing_ && nextArrival_ && startAt_ + nextArrival_->offsetNanos <= now) {
    MonoNanos t_sched = startAt_ + nextArrival_->offsetNanos;
    int stage = nextArrival_->stage;
    nextArrival_ = arrivals_.next();
    if (static_cast<int64_t>(inFlight_.size()) >= spec_.load.maxInFlight) {
      ++progress_.dropped;
      recorder_->droppedArrival(stage, t_sched);
      continue;
    }
    launch(workload_.next(rng_), t_sched, stage, 0);
  }
  scheduleArrival();
}

void EngineImpl::launch(PlannedRequest planned, MonoNanos t_sched, int stage, uint64_t user) {
  auto exchange = std::make_shared<Exchange>(*this, std::move(planned), t_sched, stage, user);
  inFlight_.push_back(exchange);
  exchange->begin();
}

void EngineImpl::closedLoopTick() {
  if (!issuing_) {
    return;
  }
  MonoNanos now = clock_.monotonicNanos();
  core::Duration offset{now - startAt_};
  if (offset >= plan_.total) {
    issuing_ = false;
    return checkDone();
  }
  // This runner's share of the users: the total split as evenly as whole users allow.
  auto total = static_cast<int64_t>(std::llround(core::targetAt(plan_, offset)));
  int64_t share =
      total / options_.share.count + (options_.share.index < total % options_.share.count ? 1 : 0);
  int64_t active = users_ - retiring_;
  for (; active < share; ++active) {
    if (retiring_ > 0) {
      --retiring_;  // a leaving user stays instead
      continue;
    }
    startUser();
  }
  if (active > share) {
    retiring_ += active - share;
  }
  tickTimer_.expires_after(std::chrono::nanoseconds(kClosedLoopTickNanos));
  tickTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      closedLoopTick();
    }
  });
}

void EngineImpl::startUser() {
  ++users_;
  userReady(nextUserId_++, clock_.monotonicNanos());
}

void EngineImpl::userReady(uint64_t user, MonoNanos at) {
  if (!issuing_ || retiring_ > 0) {
    if (retiring_ > 0) {
      --retiring_;
    }
    --users_;
    return checkDone();
  }
  launch(workload_.next(rng_), at, stageAt(at), user);
}

void EngineImpl::finishExchange(const std::shared_ptr<Exchange>& exchange,
                                const core::RequestRecord& record) {
  // The exchange may be deep in its own call stack (an SSE callback that cancelled it): it is kept alive
  // until the next turn of the event loop.
  asio::post(io_, [keep = exchange] {});
  auto it = std::find(inFlight_.begin(), inFlight_.end(), exchange);
  if (it != inFlight_.end()) {
    *it = std::move(inFlight_.back());
    inFlight_.pop_back();
  }
  recorder_->record(record);
  if (options_.requestLog != nullptr) {
    logRequest(record);
  }
  ++progress_.finished;
  if (record.outcome == core::Outcome::Failed) {
    ++progress_.failed;
  } else if (record.outcome == core::Outcome::Cancelled) {
    ++progress_.cancelled;
  }
  progress_.outputTokens += record.outputTokens;
  spent_ = spent_ + rules_.costOf(record);
  inputTokens_ += record.inputTokens;
  outputTokens_ += record.outputTokens;
  checkBudget();
  if (record.outcome != core::Outcome::Cancelled) {
    checkErrorRate(record.tEnd, record.outcome == core::Outcome::Failed);
  }
  // Conversations: the next turn follows after the think time, as the same user.
  PlannedRequest& planned = exchange->planned;
  const core::WorkloadClass& cls = spec_.workload.classes[static_cast<size_t>(planned.cls)];
  if (record.outcome == core::Outcome::Ok && planned.turns > 1 && cls.conversation && planRunning()) {
    PlannedRequest next_turn = planned;
    next_turn.turns -= 1;
    workload_.nextTurn(next_turn, exchange->answer(), record.outputTokens, rng_);
    int64_t think = core::sample(cls.conversation->thinkTime, timingRng_).nanos;
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::nanoseconds(think));
    turnTimers_.insert(timer);
    ++pendingTurns_;
    uint64_t user = exchange->user;
    timer->async_wait(
        [this, timer, next_turn = std::move(next_turn), user](const boost::system::error_code& ec) mutable {
          --pendingTurns_;
          turnTimers_.erase(timer);
          if (ec || !planRunning()) {
            if (user != 0) {
              --users_;
            }
            return checkDone();
          }
          MonoNanos now = clock_.monotonicNanos();
          launch(std::move(next_turn), now, stageAt(now), user);
        });
    return;
  }
  if (exchange->user != 0) {
    MonoNanos now = clock_.monotonicNanos();
    uint64_t user = exchange->user;
    // The user's next request begins on the next turn of the event loop, never inside this callback.
    asio::post(io_, [this, user, now] { userReady(user, now); });
    return;
  }
  checkDone();
}

void EngineImpl::logRequest(const core::RequestRecord& r) {
  nlohmann::json gaps = nlohmann::json::array();
  for (const auto& g : r.gaps) {
    gaps.push_back({g.nanos, g.tokens});
  }
  nlohmann::json line = {{"stage", r.stage},
                         {"class", spec_.workload.classes[static_cast<size_t>(r.cls)].name},
                         {"endpoint", spec_.target.endpoints[static_cast<size_t>(r.endpoint)].name},
                         {"outcome", r.outcome == core::Outcome::Ok       ? "ok"
                                     : r.outcome == core::Outcome::Failed ? "failed"
                                                                          : "cancelled"},
                         {"error", errorName(r.error)},
                         {"status", r.httpStatus},
                         {"attempts", r.attempts},
                         {"serverRequestId", r.serverRequestId},
                         {"tSched", r.tSched},
                         {"tSend", r.tSend},
                         {"tFirst", r.tFirst},
                         {"tFirstContent", r.tFirstContent},
                         {"tLast", r.tLast},
                         {"tEnd", r.tEnd},
                         {"inputTokens", r.inputTokens},
                         {"outputTokens", r.outputTokens},
                         {"cachedTokens", r.cachedTokens},
                         {"tokensEstimated", r.tokensEstimated},
                         {"finishReason", r.finishReason},
                         {"gaps", std::move(gaps)}};
  *options_.requestLog << line.dump() << '\n';
}

void EngineImpl::checkBudget() {
  const core::Budget& b = spec_.budget;
  auto share = [this](int64_t total) { return total / std::max<int64_t>(1, options_.share.count); };
  std::string why;
  if (budgetShare_ && spent_ >= *budgetShare_) {
    why = "budget.maxCost share of this runner ($" + budgetShare_->money() + ") spent";
  } else if (b.maxInputTokens && inputTokens_ >= share(*b.maxInputTokens)) {
    why = "budget.maxInputTokens share of this runner reached";
  } else if (b.maxOutputTokens && outputTokens_ >= share(*b.maxOutputTokens)) {
    why = "budget.maxOutputTokens share of this runner reached";
  }
  if (why.empty() || !issuing_ || pendingReason_ == "BudgetExceeded") {
    return;
  }
  // Stop issuing; requests already in flight finish (their cost is the overshoot, reported).
  issuing_ = false;
  arrivalTimer_.cancel();
  tickTimer_.cancel();
  pendingPhase_ = core::Phase::Aborted;
  pendingReason_ = "BudgetExceeded";
  pendingMessage_ = why;
}

void EngineImpl::checkErrorRate(MonoNanos now, bool failed) {
  const auto& rule = spec_.limits.abortOnErrorRate;
  if (!rule) {
    return;
  }
  errorWindow_.emplace_back(now, failed);
  windowFailed_ += failed ? 1 : 0;
  while (!errorWindow_.empty() && errorWindow_.front().first < now - rule->window.nanos) {
    windowFailed_ -= errorWindow_.front().second ? 1 : 0;
    errorWindow_.pop_front();
  }
  auto n = static_cast<int64_t>(errorWindow_.size());
  if (n >= options_.errorRateMinSamples &&
      static_cast<double>(windowFailed_) / static_cast<double>(n) > rule->threshold) {
    std::ostringstream msg;
    msg << "error rate " << static_cast<double>(windowFailed_) / static_cast<double>(n) << " over the last "
        << rule->window.str() << " exceeded limits.abortOnErrorRate.threshold " << rule->threshold;
    stop(core::Phase::Aborted, "ErrorRateExceeded", msg.str());
  }
}

void EngineImpl::snapshotTick() {
  if (finished_) {
    return;
  }
  if (options_.sink != nullptr && started_ && clock_.monotonicNanos() >= startAt_) {
    std::string error;
    options_.sink->write(recorder_->snapshot(false, clock_.monotonicNanos()), &error);
  }
  snapshotTimer_.expires_after(
      std::chrono::nanoseconds(std::max<int64_t>(spec_.report.interval.nanos, 100'000'000)));
  snapshotTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      snapshotTick();
    }
  });
}

void EngineImpl::stop(core::Phase phase, const std::string& reason, const std::string& message) {
  if (finished_ || stopping_) {
    return;
  }
  stopping_ = true;
  issuing_ = false;
  pendingPhase_ = phase;
  pendingReason_ = reason;
  pendingMessage_ = message;
  arrivalTimer_.cancel();
  tickTimer_.cancel();
  for (const auto& timer : turnTimers_) {
    timer->cancel();
  }
  auto in_flight = inFlight_;  // abort() removes each from inFlight_
  for (auto& exchange : in_flight) {
    exchange->abort();
  }
  checkDone();
}

void EngineImpl::checkDone() {
  if (finished_ || issuing_ || !inFlight_.empty() || pendingTurns_ > 0) {
    return;
  }
  if (plan_.mode == core::LoadMode::Closed && users_ > 0 && !stopping_) {
    return;
  }
  if (pendingReason_.empty()) {
    complete(core::Phase::Succeeded, "Completed", "the load plan ran to its end");
  } else {
    complete(pendingPhase_, pendingReason_, pendingMessage_);
  }
}

void EngineImpl::complete(core::Phase phase, std::string reason, std::string message) {
  finished_ = true;
  arrivalTimer_.cancel();
  tickTimer_.cancel();
  snapshotTimer_.cancel();
  deadlineTimer_.cancel();
  for (auto& e : endpoints_) {
    for (auto& c : e.idle) {
      c->close();
    }
    e.idle.clear();
  }
  MonoNanos now = clock_.monotonicNanos();
  result_.phase = phase;
  result_.reason = std::move(reason);
  result_.message = std::move(message);
  result_.elapsedS = static_cast<double>(now - startAt_) / 1e9;
  result_.snapshot = recorder_->snapshot(true, now);
  if (now > startAt_) {
    result_.cpuPercent = static_cast<double>(core::threadCpuNanos() - cpuAtStart_) * 100.0 /
                         static_cast<double>(now - startAt_);
  }
  if (budgetShare_ && spent_ > *budgetShare_) {
    result_.overshootUsd = spent_ - *budgetShare_;
  }
  if (options_.sink != nullptr) {
    std::string error;
    options_.sink->write(result_.snapshot, &error);
  }
  if (onFinished_) {
    onFinished_();
  }
}

EngineProgress EngineImpl::progress() const {
  EngineProgress p = progress_;
  MonoNanos now = clock_.monotonicNanos();
  p.elapsedS = started_ ? static_cast<double>(now - startAt_) / 1e9 : 0;
  p.stage = started_ ? stageAt(now) : 0;
  p.inFlight = static_cast<int64_t>(inFlight_.size());
  p.spentUsd = spent_;
  return p;
}

}  // namespace

std::unique_ptr<Engine> Engine::create(asio::io_context& io, const core::Clock& clock,
                                       const core::LoadTestSpec& spec, const core::LoadPlan& plan,
                                       EngineOptions options, core::Diagnostics* errors) {
  auto workload = Workload::create(spec, options.baseDir, options.wordsPerToken, errors);
  if (!workload) {
    return nullptr;
  }
  auto engine = std::make_unique<EngineImpl>(io, clock, spec, plan, std::move(options), std::move(*workload));
  if (!engine->init(errors)) {
    return nullptr;
  }
  return engine;
}

std::optional<std::string> readApiKey(const core::Endpoint& endpoint, size_t index,
                                      const std::filesystem::path& base_dir, core::Diagnostics* errors) {
  if (!endpoint.auth) {
    return std::nullopt;
  }
  std::string path = "spec.target.endpoints[" + std::to_string(index) + "].auth";
  std::string key;
  if (endpoint.auth->env) {
    const char* value = std::getenv(endpoint.auth->env->c_str());
    if (value == nullptr || *value == '\0') {
      errors->push_back(
          {path + ".env", "the environment variable " + *endpoint.auth->env + " is not set", {}});
      return std::nullopt;
    }
    key = value;
  } else if (endpoint.auth->file) {
    std::filesystem::path file(*endpoint.auth->file);
    if (!file.is_absolute()) {
      file = base_dir / file;
    }
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    key = text.str();
    while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) {
      key.pop_back();
    }
    if (!in || key.empty()) {
      errors->push_back({path + ".file", "cannot read an API key from " + file.string(), {}});
      return std::nullopt;
    }
  } else {
    return std::nullopt;  // secretRef: in-cluster only, mounted as an environment variable by the operator
  }
  if (key.find_first_of("\r\n") != std::string::npos) {
    errors->push_back({path, "the API key contains a line break", {}});
    return std::nullopt;
  }
  return key;
}

}  // namespace tokenstorm::runner
