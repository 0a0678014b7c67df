#include "engine_impl.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "tokenstorm/core/validate.h"

namespace tokenstorm::runner::detail {
namespace {

constexpr size_t kMaxBodyBytes = 8u << 20;  // non-streamed answers and error bodies kept to be parsed
constexpr int64_t kMaxRetryAfterNanos = 600'000'000'000;  // a retry-after beyond 10 min is not waited for

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

}  // namespace

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
  Delta delta = engine_.endpoint(endpoint_).adapter->parseEvent(event, answerText());
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
  Delta delta = engine_.endpoint(endpoint_).adapter->parseBody(body_, answerText());
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

}  // namespace tokenstorm::runner::detail
