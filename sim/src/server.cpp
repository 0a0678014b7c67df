#include "tokenstorm/sim/server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <deque>
#include <fstream>
#include <random>
#include <unordered_map>

#include "metrics.h"
#include "server_helpers.h"
#include "tokenstorm/core/decoder.h"
#include "tokenstorm/core/distribution.h"
#include "tokenstorm/core/text.h"
#include "tokenstorm/sim/config_fields.h"
#include "tokenstorm/sim/model.h"
#include "tokenstorm/sim/protocol.h"
#include "tokenstorm/sim/rate_limiter.h"

namespace tokenstorm::sim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kHeaderTimeout =
    std::chrono::seconds(10);  // slowloris: a request's headers must arrive by then
constexpr auto kIdleTimeout = std::chrono::seconds(120);  // keep-alive connections with no request
constexpr auto kWriteTimeout = std::chrono::seconds(60);  // a client that stops reading
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kPauseAboveBytes = 64 * 1024;  // unsent stream bytes that pause the sequence
constexpr size_t kResumeBelowBytes = 16 * 1024;

}  // namespace

// What the server needs of a connection, whatever its transport (plain TCP or TLS).
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void onTokens(int64_t tokens, bool reasoning, core::MonoNanos at) = 0;
  virtual void onFinish(const RequestOutcome& outcome, core::MonoNanos at) = 0;
  virtual void close() = 0;
};

class Server::Impl : public std::enable_shared_from_this<Server::Impl>, public ModelSink {
 public:
  Impl(asio::io_context& io, SimConfig config, const core::Clock& clock, std::string truth_path)
      : io_(io),
        acceptor_(io),
        timer_(io),
        flushTimer_(io),
        config_(std::move(config)),
        clock_(clock),
        start_(clock.monotonicNanos()),
        model_(config_.serving, config_.replicas, config_.prefixCache, static_cast<uint64_t>(config_.seed),
               start_),
        limiter_(config_.rateLimits),
        rng_(static_cast<uint64_t>(config_.seed) ^ 0x5eed5eedULL) {
    if (!truth_path.empty()) {
      truth_.open(truth_path, std::ios::out | std::ios::trunc);
    }
  }

  ~Impl() override {
    if (truth_.is_open()) {
      truth_.flush();
    }
  }

  bool listen(const std::string& host, uint16_t port, std::string* error) {
    beast::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec) {
      *error = "invalid listen address \"" + host + "\": " + ec.message();
      return false;
    }
    tcp::endpoint ep(address, port);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) {
      acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
      acceptor_.bind(ep, ec);
    }
    if (!ec) {
      acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      *error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
      return false;
    }
    accept();
    return true;
  }

  uint16_t port() const { return acceptor_.is_open() ? acceptor_.local_endpoint().port() : 0; }

  void stop();
  void accept();

  // ---- model plumbing ----
  void scheduleModel() {
    auto next = model_.nextEventAt();
    if (!next) {
      timer_.cancel();
      armedAt_.reset();
      return;
    }
    if (armedAt_ && *armedAt_ == *next) {
      return;
    }
    armedAt_ = *next;
    core::MonoNanos wait = std::max<core::MonoNanos>(0, *next - clock_.monotonicNanos());
    timer_.expires_after(std::chrono::nanoseconds(wait));
    timer_.async_wait([self = weak_from_this()](const beast::error_code& ec) {
      if (ec) {
        return;
      }
      if (auto s = self.lock()) {
        s->armedAt_.reset();
        s->model_.advance(s->clock_.monotonicNanos(), *s);
        s->scheduleModel();
      }
    });
  }

  // Truth lines are flushed within a second, not per line: a line per request must stay cheap at 10k req/s.
  void scheduleTruthFlush() {
    if (stopped_) {
      truth_.flush();  // no timers after stop: the io_context must be free to finish
      return;
    }
    if (flushArmed_) {
      return;
    }
    flushArmed_ = true;
    flushTimer_.expires_after(std::chrono::seconds(1));
    flushTimer_.async_wait([self = weak_from_this()](const beast::error_code&) {
      if (auto s = self.lock()) {
        s->flushArmed_ = false;
        s->truth_.flush();
      }
    });
  }

  // ModelSink
  void onTokens(uint64_t id, int64_t tokens, bool reasoning, core::MonoNanos at) override;
  void onFinish(uint64_t id, const RequestOutcome& outcome, core::MonoNanos at) override;

  void countOutcome(const std::string& outcome) { metrics_.countOutcome(outcome); }
  std::string metricsText() { return metrics_.render(model_.stats(clock_.monotonicNanos())); }

  bool applyConfig(std::string_view text, core::Diagnostics* errors) {
    core::ParsedDocuments parsed = core::parseDocuments(text);
    if (!parsed.errors.empty()) {
      *errors = parsed.errors;
      return false;
    }
    if (parsed.documents.size() != 1) {
      errors->push_back(core::Diagnostic{"", "expected one config document", {}});
      return false;
    }
    SimConfig next = config_;
    if (!core::decodeInto(parsed.documents[0], next, errors) || !validateSimConfig(next, errors)) {
      return false;
    }
    replaceConfig(std::move(next));
    return true;
  }

  void replaceConfig(SimConfig next) {
    core::MonoNanos now = clock_.monotonicNanos();
    model_.reconfigure(next.serving, next.replicas, next.prefixCache);
    if (next.replicas.count != config_.replicas.count) {
      model_.setReplicaCount(static_cast<int>(next.replicas.count), now);
    }
    limiter_.reconfigure(next.rateLimits);
    config_ = std::move(next);  // the seed stays: random streams continue rather than restart
    scheduleModel();
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  asio::steady_timer timer_;
  asio::steady_timer flushTimer_;
  bool flushArmed_ = false;
  std::optional<core::MonoNanos> armedAt_;
  SimConfig config_;
  const core::Clock& clock_;
  core::MonoNanos start_;
  Model model_;
  RateLimiter limiter_;
  std::mt19937_64 rng_;
  uint64_t nextId_ = 1;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> exchanges_;
  std::vector<std::weak_ptr<SessionBase>> sessions_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::ofstream truth_;
  ServerStats stats_;
  bool stopped_ = false;

  SimMetrics metrics_;
};

// One connection: reads requests, answers them, streams generations. HTTP/1.1 keep-alive, one exchange at
// a time (pipelined requests wait in the buffer until the current response is written).
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  explicit Session(std::shared_ptr<Server::Impl> server, Args&&... stream_args)
      : stream_(std::forward<Args>(stream_args)...),
        server_(std::move(server)),
        delay_(stream_.get_executor()) {}

  void start() {
    if constexpr (kTls) {
      lowest().expires_after(kHeaderTimeout);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  return self->close();  // not TLS, or a failed handshake: nothing to answer
                                }
                                self->readRequest();
                              });
    } else {
      readRequest();
    }
  }

  // SessionBase
  void close() override {
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().close();
  }
  void onTokens(int64_t tokens, bool reasoning, core::MonoNanos at) override;
  void onFinish(const RequestOutcome& outcome, core::MonoNanos at) override;

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void readRequest() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(static_cast<uint64_t>(server_->config_.maxBodyBytes));
    // A new connection must send its first request promptly (slowloris); a kept-alive one may idle longer.
    lowest().expires_after(buffer_.size() > 0 || requests_ == 0 ? kHeaderTimeout : kIdleTimeout);
    ++requests_;
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    if (ec) {
      return failRead(ec);
    }
    lowest().expires_after(kHeaderTimeout);  // the body must follow promptly too
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code e, size_t) { self->onRequest(e); });
  }

  void failRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return close();
    }
    // Malformed HTTP: a clear 400 (413 for an oversized body), then close: the stream cannot be resynced.
    int status = ec == http::error::body_limit ? 413 : (ec == http::error::header_limit ? 431 : 400);
    ProtocolError e{status, "invalid_request_error", "malformed HTTP request: " + ec.message(), ""};
    respond(static_cast<http::status>(status), errorBody(ApiKind::OpenAIChat, e), "application/json", false);
  }

  void onRequest(beast::error_code ec) {
    if (ec) {
      return failRead(ec);
    }
    request_ = parser_->release();
    keepAlive_ = request_.keep_alive();
    route();
  }

  void route();
  void handleGeneration(ApiKind api);
  void submit();
  void finishExchange();

  void respond(http::status status, std::string body, const char* content_type, bool keep_alive,
               std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(
        status, request_.version() ? request_.version() : 11);
    res->set(http::field::server, "tokenstorm-sim");
    res->set(http::field::content_type, content_type);
    for (auto& [k, v] : headers) {
      res->set(k, v);
    }
    res->keep_alive(keep_alive);
    res->body() = std::move(body);
    res->prepare_payload();
    lowest().expires_after(kWriteTimeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) {
                          return self->close();
                        }
                        self->readRequest();
                      });
  }

  // ---- streaming ----
  void enqueue(std::string data) {
    if (data.empty()) {
      return;
    }
    // The front buffer is in flight while writing_; anything behind it is coalesced into one buffer, so a
    // slow reader gets fewer, larger writes rather than an ever-longer queue of small ones.
    pendingBytes_ += data.size();
    if (!pending_.empty() && (!writing_ || pending_.size() >= 2)) {
      pending_.back() += data;
    } else {
      pending_.push_back(std::move(data));
    }
    // Backpressure: a client that reads slower than tokens come pauses its sequence in the model (it keeps
    // its batch slot, as a stalled stream does), so memory per stream stays bounded.
    if (!paused_ && !finished_ && pendingBytes_ > kPauseAboveBytes) {
      paused_ = server_->model_.pause(id_);
    }
    writeNext();
  }

  void writeNext() {
    if (writing_ || pending_.empty() || !headerSent_) {
      return;
    }
    writing_ = true;
    lowest().expires_after(kWriteTimeout);
    chunkWrites_.emplace_back(server_->clock_.monotonicNanos(), pendingTokens_);
    pendingTokens_ = 0;
    net_write(http::make_chunk(asio::buffer(pending_.front())));
  }

  template <class Buffers>
  void net_write(Buffers buffers) {
    asio::async_write(stream_, buffers, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (ec) {
        return self->clientGone();
      }
      self->pendingBytes_ -= self->pending_.front().size();
      self->pending_.pop_front();
      if (self->paused_ && self->pendingBytes_ < kResumeBelowBytes) {
        self->paused_ = false;
        self->server_->model_.resume(self->id_);
      }
      if (!self->pending_.empty()) {
        return self->writeNext();
      }
      if (self->ending_) {
        self->writeLast();
      }
    });
  }

  void writeLast() {
    if (lastWritten_) {
      return;
    }
    lastWritten_ = true;
    writing_ = true;
    asio::async_write(stream_, http::make_chunk_last(),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->writing_ = false;
                        self->endNs_ = self->server_->clock_.monotonicNanos();
                        self->writeTruth(self->cutByFault_ ? "cut" : self->outcome_);
                        if (ec || !self->keepAlive_) {
                          return self->close();
                        }
                        self->stopWatching();
                        self->readRequest();
                      });
  }

  // A read readiness while streaming is either the client closing (cancellation) or a pipelined request.
  void watchForClose() {
    watching_ = true;
    if constexpr (kTls) {
      // Under TLS the raw socket cannot be peeked; one TLS read may run beside the writes instead.
      stream_.async_read_some(buffer_.prepare(4096),
                              [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                                if (!self->watching_ || ec == asio::error::operation_aborted) {
                                  return;
                                }
                                self->buffer_.commit(n);
                                if (ec || n == 0) {
                                  self->clientGone();
                                }
                              });
      return;
    }
    lowest().socket().async_wait(tcp::socket::wait_read,
                                 [self = this->shared_from_this()](beast::error_code ec) {
                                   if (!self->watching_ || ec == asio::error::operation_aborted) {
                                     return;
                                   }
                                   beast::error_code rec;
                                   size_t n = 0;
                                   if (!ec) {
                                     n = self->lowest().socket().read_some(self->buffer_.prepare(4096), rec);
                                     self->buffer_.commit(n);
                                   }
                                   if (ec || rec || n == 0) {
                                     self->clientGone();
                                   }
                                 });
  }

  void stopWatching() {
    watching_ = false;
    beast::error_code ec;
    lowest().socket().cancel(ec);  // the pending wait completes with operation_aborted
  }

  void clientGone() {
    if (id_ != 0 && !finished_) {
      finished_ = true;
      server_->model_.cancel(id_, server_->clock_.monotonicNanos());
      server_->exchanges_.erase(id_);
      server_->stats_.cancelled++;
      server_->countOutcome("cancelled");
      endNs_ = server_->clock_.monotonicNanos();
      writeTruth("cancelled");
      server_->scheduleModel();
    }
    close();
  }

  void writeTruth(const std::string& outcome) {
    if (!server_->truth_.is_open() || id_ == 0 || truthWritten_) {
      return;
    }
    truthWritten_ = true;
    nlohmann::json j;
    j["id"] = std::to_string(id_);
    j["arrivalNs"] = arrivalNs_;
    j["queueNs"] = nullptr;
    if (outcomeInfo_.admittedAt > 0) {
      j["queueNs"] = outcomeInfo_.admittedAt - submittedNs_;
    }
    nlohmann::json first = nullptr;
    nlohmann::json chunks = nlohmann::json::array();
    for (const auto& [t, tokens] : chunkWrites_) {
      if (tokens > 0) {
        if (first.is_null()) {
          first = t;
        }
        chunks.push_back({t, tokens});
      }
    }
    j["firstTokenWriteNs"] = first;
    j["chunks"] = std::move(chunks);
    j["endNs"] = endNs_;
    j["outcome"] = outcome;
    j["promptTokens"] = request_sim_.promptTokens;
    j["cachedTokens"] = outcomeInfo_.cachedTokens;
    j["completionTokens"] = produced_;
    j["replica"] = outcomeInfo_.replica;
    server_->truth_ << j.dump() << '\n';
    server_->scheduleTruthFlush();
  }

  Stream stream_;
  std::shared_ptr<Server::Impl> server_;
  asio::steady_timer delay_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  bool keepAlive_ = true;
  int64_t requests_ = 0;

  // The generation in progress.
  uint64_t id_ = 0;
  SimRequest request_sim_;
  std::unique_ptr<StreamEncoder> encoder_;
  Fault fault_;
  uint64_t corpusOffset_ = 0;
  int64_t produced_ = 0;  // tokens produced (reasoning + content)
  int64_t contentTokens_ = 0;
  std::string text_;
  std::string reasoning_;
  std::deque<std::string> pending_;
  int64_t pendingTokens_ = 0;
  size_t pendingBytes_ = 0;
  bool paused_ = false;
  std::vector<std::pair<core::MonoNanos, int64_t>> chunkWrites_;
  core::MonoNanos arrivalNs_ = 0;
  core::MonoNanos submittedNs_ = 0;
  core::MonoNanos endNs_ = 0;
  std::vector<std::pair<std::string, std::string>> extraHeaders_;
  RequestOutcome outcomeInfo_;
  std::string outcome_ = "ok";
  bool headerSent_ = false;
  bool writing_ = false;
  bool ending_ = false;
  bool lastWritten_ = false;
  bool finished_ = false;
  bool watching_ = false;
  bool cutByFault_ = false;
  bool truthWritten_ = false;
  std::shared_ptr<http::response<http::empty_body>> header_;
  std::shared_ptr<http::response_serializer<http::empty_body>> serializer_;
};

template <class Stream>
void Session<Stream>::route() {
  const auto target = std::string(request_.target());
  const auto method = request_.method();
  std::string path = target.substr(0, target.find('?'));
  if (method == http::verb::post && path == "/v1/chat/completions") {
    return handleGeneration(ApiKind::OpenAIChat);
  }
  if (method == http::verb::post && path == "/v1/completions") {
    return handleGeneration(ApiKind::OpenAICompletions);
  }
  if (method == http::verb::post && path == "/v1/messages") {
    return handleGeneration(ApiKind::AnthropicMessages);
  }
  auto created =
      std::chrono::duration_cast<std::chrono::seconds>(server_->clock_.wallNow().time_since_epoch()).count();
  if (method == http::verb::get && path == "/v1/models") {
    return respond(http::status::ok, modelsBody(server_->config_, created), "application/json", keepAlive_);
  }
  if (method == http::verb::get && path == "/health") {
    return respond(http::status::ok, "{\"status\":\"ok\"}", "application/json", keepAlive_);
  }
  if (method == http::verb::get && path == "/health/ready") {
    bool ready = server_->model_.ready(server_->clock_.monotonicNanos());
    return respond(ready ? http::status::ok : http::status::service_unavailable,
                   ready ? "{\"status\":\"ready\"}" : "{\"status\":\"warming up\"}", "application/json",
                   keepAlive_);
  }
  if (method == http::verb::get && path == "/metrics") {
    return respond(http::status::ok, server_->metricsText(), "text/plain; version=0.0.4", keepAlive_);
  }
  if (method == http::verb::post && path == "/admin/config") {
    core::Diagnostics errors;
    if (!server_->applyConfig(request_.body(), &errors)) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& e : errors) {
        list.push_back(e.str());
      }
      return respond(http::status::bad_request, nlohmann::json{{"errors", list}}.dump(), "application/json",
                     keepAlive_);
    }
    return respond(http::status::ok, "{\"status\":\"applied\"}", "application/json", keepAlive_);
  }
  bool known = path == "/v1/chat/completions" || path == "/v1/completions" || path == "/v1/messages" ||
               path == "/v1/models" || path == "/health" || path == "/health/ready" || path == "/metrics" ||
               path == "/admin/config";
  ProtocolError e{known ? 405 : 404, "invalid_request_error",
                  (known ? "method not allowed for " : "no route for ") + path, ""};
  respond(known ? http::status::method_not_allowed : http::status::not_found,
          errorBody(ApiKind::OpenAIChat, e), "application/json", keepAlive_);
}

template <class Stream>
void Session<Stream>::handleGeneration(ApiKind api) {
  Server::Impl& s = *server_;
  core::MonoNanos now = s.clock_.monotonicNanos();
  // Reset the per-exchange state (keep-alive connections carry many).
  id_ = s.nextId_++;
  s.stats_.requests++;
  arrivalNs_ = now;
  produced_ = contentTokens_ = 0;
  text_.clear();
  reasoning_.clear();
  chunkWrites_.clear();
  pending_.clear();
  pendingTokens_ = 0;
  pendingBytes_ = 0;
  paused_ = false;
  outcomeInfo_ = RequestOutcome{};
  outcome_ = "ok";
  headerSent_ = writing_ = ending_ = lastWritten_ = finished_ = cutByFault_ = truthWritten_ = false;
  fault_ = Fault{};
  std::vector<std::pair<std::string, std::string>> headers{{"x-sim-request-id", std::to_string(id_)}};

  auto fail = [&](const ProtocolError& e, const std::string& outcome,
                  std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.insert(extra.end(), headers.begin(), headers.end());
    s.countOutcome(outcome);
    endNs_ = s.clock_.monotonicNanos();
    writeTruth(outcome);
    respond(static_cast<http::status>(e.status), errorBody(api, e), "application/json", keepAlive_,
            std::move(extra));
  };

  auto fault_header = request_.find("x-sim-fault");
  if (fault_header != request_.end()) {
    std::string why;
    auto v = fault_header->value();
    if (!parseFault(std::string_view(v.data(), v.size()), &fault_, &why)) {
      return fail(ProtocolError{400, "invalid_request_error", why, "x-sim-fault"}, "error:400");
    }
  }
  auto parsed = parseRequest(api, request_.body(), s.config_);
  if (auto* e = std::get_if<ProtocolError>(&parsed)) {
    return fail(*e, "error:" + std::to_string(e->status));
  }
  request_sim_ = std::get<SimRequest>(parsed);
  if (fault_.refuse) {
    s.countOutcome("refused");
    endNs_ = now;
    writeTruth("refused");
    return close();
  }
  // Outage windows answer 503 as an overloaded or restarting server would.
  core::MonoNanos since = now - s.start_;
  for (const auto& o : s.config_.faults.outages) {
    if (since >= o.at.nanos && since < (o.at + o.duration).nanos) {
      if (o.mode == OutageMode::Refuse) {
        s.countOutcome("refused");
        return close();
      }
      return fail(ProtocolError{503, "server_error", "the simulated server is in an outage window", ""},
                  "error:503");
    }
  }
  // Random faults from the config, drawn in arrival order from the seeded stream.
  std::uniform_real_distribution<double> unit(0, 1);
  if (fault_.status == 0) {
    for (const auto& [code, p] : s.config_.faults.errorRates) {
      if (p > 0 && unit(s.rng_) < p) {
        fault_.status = std::atoi(code.c_str());
        break;
      }
    }
  }
  if (fault_.status != 0) {
    auto status = fault_.status;
    ProtocolError e{
        status,
        status == 429 ? "rate_limit_error" : (status >= 500 ? "server_error" : "invalid_request_error"),
        "injected fault: status " + std::to_string(status), ""};
    std::vector<std::pair<std::string, std::string>> extra;
    if (status == 429) {
      extra.emplace_back("retry-after", "1");
    }
    return fail(e, "error:" + std::to_string(status), extra);
  }
  // Cut points fall within the typical output, not within max_tokens, so the configured rate is the real one.
  auto typical = std::max<int64_t>(
      1, std::min(request_sim_.maxTokens, static_cast<int64_t>(core::mean(s.config_.serving.outputTokens))));
  if (s.config_.faults.cutStreamProbability > 0 && unit(s.rng_) < s.config_.faults.cutStreamProbability) {
    fault_.cutAfter = std::uniform_int_distribution<int64_t>(0, typical - 1)(s.rng_);
  }
  if (s.config_.faults.streamErrorProbability > 0 && unit(s.rng_) < s.config_.faults.streamErrorProbability) {
    fault_.errorAfter = std::uniform_int_distribution<int64_t>(0, typical - 1)(s.rng_);
  }
  if (s.config_.faults.latencySpikeProbability > 0 &&
      unit(s.rng_) < s.config_.faults.latencySpikeProbability) {
    fault_.delayNanos += s.config_.faults.latencySpike.nanos;
  }
  // Provider-like rate limits, per API key.
  if (s.limiter_.enabled()) {
    std::string key = "anonymous";
    if (auto a = request_.find(http::field::authorization); a != request_.end()) {
      key = std::string(a->value());
    } else if (auto x = request_.find("x-api-key"); x != request_.end()) {
      key = std::string(x->value());
    }
    RateDecision d = s.limiter_.check(key, request_sim_.promptTokens + request_sim_.maxTokens, now);
    if (d.limitRequests > 0) {
      headers.emplace_back("x-ratelimit-limit-requests", std::to_string(d.limitRequests));
      headers.emplace_back("x-ratelimit-remaining-requests", std::to_string(d.remainingRequests));
      headers.emplace_back("x-ratelimit-reset-requests", formatSeconds(d.resetRequestsSeconds));
    }
    if (d.limitTokens > 0) {
      headers.emplace_back("x-ratelimit-limit-tokens", std::to_string(d.limitTokens));
      headers.emplace_back("x-ratelimit-remaining-tokens", std::to_string(d.remainingTokens));
      headers.emplace_back("x-ratelimit-reset-tokens", formatSeconds(d.resetTokensSeconds));
    }
    if (!d.allowed) {
      s.stats_.rateLimited++;
      auto retry = static_cast<int64_t>(std::ceil(d.retryAfterSeconds));
      return fail(ProtocolError{429, "rate_limit_error",
                                "Rate limit reached; retry after " + std::to_string(retry) + "s", ""},
                  "rate_limited", {{"retry-after", std::to_string(std::max<int64_t>(1, retry))}});
    }
  }
  corpusOffset_ = id_ * 7919;
  auto created =
      std::chrono::duration_cast<std::chrono::seconds>(s.clock_.wallNow().time_since_epoch()).count();
  encoder_ = std::make_unique<StreamEncoder>(request_sim_, std::to_string(id_), created);
  if (request_sim_.stream) {
    header_ = std::make_shared<http::response<http::empty_body>>(http::status::ok, request_.version());
    header_->set(http::field::server, "tokenstorm-sim");
    header_->set(http::field::content_type, "text/event-stream");
    header_->set(http::field::cache_control, "no-cache");
    for (auto& [k, v] : headers) {
      header_->set(k, v);
    }
    header_->keep_alive(keepAlive_);
    header_->chunked(true);
    serializer_ = std::make_shared<http::response_serializer<http::empty_body>>(*header_);
    lowest().expires_after(kWriteTimeout);
    http::async_write_header(stream_, *serializer_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               if (ec) {
                                 return self->clientGone();
                               }
                               self->headerSent_ = true;
                               self->lowest().expires_never();
                               self->writeNext();
                             });
    Usage usage{request_sim_.promptTokens, 0, 0, 0};
    std::string start = encoder_->start(usage);
    if (!start.empty()) {
      pendingBytes_ += start.size();
      pending_.push_back(std::move(start));
    }
    watchForClose();
  } else {
    extraHeaders_ = std::move(headers);
    watchForClose();
  }
  s.exchanges_[id_] = this->weak_from_this();
  if (fault_.delayNanos > 0) {
    delay_.expires_after(std::chrono::nanoseconds(fault_.delayNanos));
    delay_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec && !self->finished_) {
        self->submit();
      }
    });
    return;
  }
  submit();
}

template <class Stream>
void Session<Stream>::submit() {
  Server::Impl& s = *server_;
  ModelRequest m;
  m.id = id_;
  m.promptTokens = request_sim_.promptTokens;
  m.maxTokens = request_sim_.maxTokens;
  m.minTokens = request_sim_.minTokens;
  m.ignoreEos = request_sim_.ignoreEos;
  if (s.config_.prefixCache.enabled) {
    m.prefixBlocks = prefixBlocks(request_sim_.prompt, s.config_.prefixCache.blockTokens);
  }
  submittedNs_ = s.clock_.monotonicNanos();
  s.model_.submit(m, submittedNs_);
  s.model_.advance(submittedNs_, s);
  s.scheduleModel();
}

template <class Stream>
void Session<Stream>::onTokens(int64_t tokens, bool reasoning, core::MonoNanos) {
  if (finished_) {
    return;
  }
  std::string words = core::corpusText(corpusOffset_ + static_cast<uint64_t>(produced_), tokens,
                                       reasoning ? !reasoning_.empty() : !text_.empty());
  produced_ += tokens;
  (reasoning ? reasoning_ : text_) += words;
  if (!reasoning) {
    contentTokens_ += tokens;
  }
  if (!request_sim_.stream) {
    return;
  }
  Usage usage{request_sim_.promptTokens, produced_, 0, 0};
  if (fault_.errorAfter >= 0 && produced_ >= fault_.errorAfter) {
    // An error object inside the 200 stream, then the stream ends without a finish reason.
    finished_ = true;
    server_->model_.cancel(id_, server_->clock_.monotonicNanos());
    server_->exchanges_.erase(id_);
    server_->countOutcome("stream_error");
    outcome_ = "stream_error";
    pendingTokens_ += tokens;
    enqueue(encoder_->delta(words, reasoning, usage) +
            encoder_->errorEvent("injected fault: error in stream"));
    ending_ = true;
    if (!writing_ && pending_.empty()) {
      writeLast();
    }
    server_->scheduleModel();
    return;
  }
  if (fault_.cutAfter >= 0 && produced_ > fault_.cutAfter) {
    // A stream cut mid-way: the connection closes with no terminating chunk.
    finished_ = true;
    cutByFault_ = true;
    server_->model_.cancel(id_, server_->clock_.monotonicNanos());
    server_->exchanges_.erase(id_);
    server_->countOutcome("cut");
    endNs_ = server_->clock_.monotonicNanos();
    writeTruth("cut");
    server_->scheduleModel();
    return close();
  }
  pendingTokens_ += tokens;
  enqueue(encoder_->delta(words, reasoning, usage));
}

template <class Stream>
void Session<Stream>::onFinish(const RequestOutcome& outcome, core::MonoNanos) {
  if (finished_) {
    return;
  }
  finished_ = true;
  outcomeInfo_ = outcome;
  server_->countOutcome("ok");
  Usage usage{outcome.promptTokens, outcome.completionTokens, outcome.cachedTokens, outcome.reasoningTokens};
  Finish finish = outcome.finish == FinishReason::Length ? Finish::Length : Finish::Stop;
  if (!request_sim_.stream) {
    stopWatching();
    endNs_ = server_->clock_.monotonicNanos();
    chunkWrites_.emplace_back(endNs_, produced_);
    auto created =
        std::chrono::duration_cast<std::chrono::seconds>(server_->clock_.wallNow().time_since_epoch())
            .count();
    writeTruth("ok");
    return respond(http::status::ok,
                   fullResponse(request_sim_, std::to_string(id_), created, text_, reasoning_, finish, usage),
                   "application/json", keepAlive_, extraHeaders_);
  }
  ending_ = true;
  enqueue(encoder_->finish(finish, usage));
}

void Server::Impl::accept() {
  acceptor_.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec != asio::error::operation_aborted && !self->stopped_) {
        self->accept();
      }
      return;
    }
    socket.set_option(tcp::no_delay(true));
    // Outage windows in "refuse" mode close connections at once, as a dead server's would.
    core::MonoNanos since = self->clock_.monotonicNanos() - self->start_;
    for (const auto& o : self->config_.faults.outages) {
      if (o.mode == OutageMode::Refuse && since >= o.at.nanos && since < (o.at + o.duration).nanos) {
        beast::error_code ignored;
        socket.close(ignored);
        return self->accept();
      }
    }
    std::shared_ptr<SessionBase> session;
    if (self->tls_) {
      auto tls = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          self, beast::tcp_stream(std::move(socket)), *self->tls_);
      tls->start();
      session = tls;
    } else {
      auto plain = std::make_shared<Session<beast::tcp_stream>>(self, std::move(socket));
      plain->start();
      session = plain;
    }
    self->sessions_.push_back(session);
    if (self->sessions_.size() > 1024) {
      std::erase_if(self->sessions_, [](const std::weak_ptr<SessionBase>& w) { return w.expired(); });
    }
    self->accept();
  });
}

void Server::Impl::stop() {
  stopped_ = true;
  beast::error_code ec;
  acceptor_.close(ec);
  timer_.cancel();
  flushTimer_.cancel();
  if (truth_.is_open()) {
    truth_.flush();
  }
  for (auto& w : sessions_) {
    if (auto s = w.lock()) {
      s->close();
    }
  }
  sessions_.clear();
}

void Server::Impl::onTokens(uint64_t id, int64_t tokens, bool reasoning, core::MonoNanos at) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) {
    return;
  }
  if (auto s = it->second.lock()) {
    s->onTokens(tokens, reasoning, at);
  }
}

void Server::Impl::onFinish(uint64_t id, const RequestOutcome& outcome, core::MonoNanos at) {
  auto it = exchanges_.find(id);
  if (it == exchanges_.end()) {
    return;
  }
  auto s = it->second.lock();
  exchanges_.erase(it);
  if (s) {
    s->onFinish(outcome, at);
  }
}

Server::Server(asio::io_context& io, SimConfig config, const core::Clock& clock, std::string truth_path,
               std::shared_ptr<asio::ssl::context> tls)
    : impl_(std::make_shared<Impl>(io, std::move(config), clock, std::move(truth_path))) {
  impl_->tls_ = std::move(tls);
}
Server::~Server() {
  impl_->stop();
}
bool Server::listen(const std::string& host, uint16_t port, std::string* error) {
  return impl_->listen(host, port, error);
}
uint16_t Server::port() const {
  return impl_->port();
}
void Server::stop() {
  impl_->stop();
}
bool Server::applyConfig(std::string_view text, core::Diagnostics* errors) {
  return impl_->applyConfig(text, errors);
}
void Server::replaceConfig(SimConfig config) {
  impl_->replaceConfig(std::move(config));
}
ServerStats Server::stats() const {
  return impl_->stats_;
}

}  // namespace tokenstorm::sim
