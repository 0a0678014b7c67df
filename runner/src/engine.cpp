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

#include "engine_impl.h"
#include "tokenstorm/core/cluster_contract.h"
#include "tokenstorm/core/validate.h"
#include "tokenstorm/runner/api.h"
#include "tokenstorm/runner/http_client.h"
#include "tokenstorm/runner/sse.h"
#include "tokenstorm/runner/workload.h"

namespace tokenstorm::runner {
namespace detail {
namespace {

constexpr int64_t kClosedLoopTickNanos = 100'000'000;

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

}  // namespace

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
        } else if (e.tls->caSecretRef && options_.inCluster) {
          const char* file = std::getenv(caFileEnvName(i).c_str());
          if (file == nullptr || *file == '\0') {
            errors->push_back({path + ".tls.caSecretRef",
                               caFileEnvName(i) +
                                   " is not set (the operator mounts the Secret's key and names "
                                   "the file there)",
                               {}});
            ok = false;
            continue;
          }
          tls_options.caFile = file;
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
    if (auto key = readApiKey(e, i, options_.baseDir, errors, options_.inCluster)) {
      auto [name, value] = state.adapter->authHeader(*key);
      if (e.auth && e.auth->header) {
        name = *e.auth->header;
        value = *key;
      }
      state.fixedHeaders += name + ": " + value + "\r\n";
    } else if (e.auth && (e.auth->env || e.auth->file || (e.auth->secretRef && options_.inCluster))) {
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

}  // namespace detail

using detail::EngineImpl;

std::unique_ptr<Engine> Engine::create(boost::asio::io_context& io, const core::Clock& clock,
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

std::string apiKeyEnvName(size_t index) {
  return contract::kApiKeyEnvPrefix + std::to_string(index);
}

std::string caFileEnvName(size_t index) {
  return contract::kCaFileEnvPrefix + std::to_string(index);
}

std::optional<std::string> readApiKey(const core::Endpoint& endpoint, size_t index,
                                      const std::filesystem::path& base_dir, core::Diagnostics* errors,
                                      bool in_cluster) {
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
  } else if (endpoint.auth->secretRef && in_cluster) {
    // The operator maps the Secret's key to this variable (secretKeyRef): the key never passes through
    // the operator, a ConfigMap or a log.
    std::string name = apiKeyEnvName(index);
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') {
      errors->push_back({path + ".secretRef",
                         "the environment variable " + name + " is not set (the runner pod gets Secret " +
                             endpoint.auth->secretRef->name + " key " + endpoint.auth->secretRef->key +
                             " there)",
                         {}});
      return std::nullopt;
    }
    key = value;
  } else {
    return std::nullopt;  // secretRef outside a cluster: `tokenstorm run` refuses it for real endpoints
  }
  if (key.find_first_of("\r\n") != std::string::npos) {
    errors->push_back({path, "the API key contains a line break", {}});
    return std::nullopt;
  }
  return key;
}

}  // namespace tokenstorm::runner
