#include <poll.h>

#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "http/server_impl.h"

namespace tokenstorm::kts {

using nlohmann::json;

namespace {

constexpr auto kWatchSlice = std::chrono::milliseconds(500);  // how often an idle watch checks its client

// Whether the peer has hung up (an idle watch's only way to notice a client that went away).
bool peerGone(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace

bool Server::Impl::authenticated(const http::request<http::string_body>& req,
                                 const std::string& peer_user) const {
  auto it = req.find(http::field::authorization);
  if (it != req.end()) {
    std::string value(it->value());
    if (value.rfind("Bearer ", 0) == 0) {
      std::string token = value.substr(7);
      std::lock_guard lock(mutex);
      return std::find(tokens.begin(), tokens.end(), token) != tokens.end();
    }
    return false;
  }
  return !peer_user.empty();
}

template <class Stream>
void Server::Impl::serve(Connection& conn, Stream& stream, const std::string& peer_user) {
  beast::flat_buffer buffer;
  while (!stopping) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.maxHeaderBytes));
    parser.body_limit(options.maxBodyBytes);
    beast::error_code ec;
    conn.setDeadline(options.idleTimeout);
    http::read_header(stream, buffer, parser, ec);
    auto fail = [&](int code, const std::string& reason, const std::string& message) {
      auto r = errorReply(code, reason, message);
      http::response<http::string_body> res{static_cast<http::status>(code), 11};
      res.set(http::field::content_type, r.contentType);
      res.keep_alive(false);
      res.body() = r.body;
      res.prepare_payload();
      conn.setDeadline(options.ioTimeout);
      beast::error_code wec;
      http::write(stream, res, wec);
      if (options.verbose) {
        log("bad request: " + std::to_string(code) + " " + message);
      }
    };
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == asio::error::shut_down ||
        (ec && buffer.size() == 0 && !parser.got_some())) {
      return;
    }
    if (ec == http::error::body_limit) {  // a Content-Length over the limit is refused with the headers
      return fail(413, "RequestEntityTooLarge",
                  "the request body is larger than " + std::to_string(options.maxBodyBytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return fail(431, "RequestHeaderFieldsTooLarge",
                  "the request headers are larger than " + std::to_string(options.maxHeaderBytes) + " bytes");
    }
    if (ec) {
      return fail(400, "BadRequest", "malformed HTTP request: " + ec.message());
    }
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, 11};
      http::write(stream, cont, ec);
    }
    conn.setDeadline(options.ioTimeout);
    http::read(stream, buffer, parser, ec);
    if (ec == http::error::body_limit) {
      return fail(413, "RequestEntityTooLarge",
                  "the request body is larger than " + std::to_string(options.maxBodyBytes) + " bytes");
    }
    if (ec) {
      return fail(400, "BadRequest", "malformed HTTP request body: " + ec.message());
    }
    const auto& req = parser.get();
    auto started_at = SteadyClock::now();
    HttpRequestView view{std::string(req.method_string()), std::string(req.target()),
                         std::string(req[http::field::content_type]), std::string(req[http::field::accept]),
                         req.body()};
    ParsedTarget target = parseTarget(view.target);
    bool keep_alive = req.keep_alive();
    Routed routed;
    if (!isPublicPath(target.path) && !authenticated(req, peer_user)) {
      routed.reply = errorReply(401, "Unauthorized", "Unauthorized");
    } else if (target.path == "/_kts/faults") {
      json body = json::parse(view.body, nullptr, false);
      auto bad = view.method != "POST" ? std::optional<std::string>("POST a JSON body to /_kts/faults")
                 : body.is_discarded() ? std::optional<std::string>("the body is not valid JSON")
                                       : faults.apply(body);
      if (!bad && body.value("expireHistory", false)) {
        store.expireHistory();
      }
      if (!bad && body.value("dropWatches", false)) {
        store.closeAllWatches();
      }
      routed.reply = bad ? errorReply(400, "BadRequest", *bad) : jsonReply(200, {{"ok", true}});
    } else {
      bool api = target.path.rfind("/api", 0) == 0;
      InjectedFault fault = api ? faults.onRequest(view.method, target.path) : InjectedFault{};
      if (fault.delay.count() > 0) {
        std::this_thread::sleep_for(fault.delay);
      }
      if (fault.code != 0) {
        routed.reply = errorReply(fault.code, fault.reason, fault.message);
        if (fault.retryAfterSeconds > 0) {
          routed.reply->headers.emplace_back("Retry-After", std::to_string(fault.retryAfterSeconds));
          routed.reply->body = [&] {
            json status = json::parse(routed.reply->body);
            status["details"] = {{"retryAfterSeconds", fault.retryAfterSeconds}};
            return status.dump();
          }();
        }
      } else {
        routed = router->route(view);
      }
    }
    if (routed.watch) {
      if (options.verbose) {
        log(view.method + " " + view.target + " watch started");
      }
      if (!streamWatch(conn, stream, *routed.watch, keep_alive) || !keep_alive) {
        return;
      }
      continue;
    }
    const HttpReply& reply = *routed.reply;
    http::response<http::string_body> res{static_cast<http::status>(reply.status), req.version()};
    res.set(http::field::content_type, reply.contentType);
    res.set("Cache-Control", "no-cache, private");
    for (const auto& [k, v] : reply.headers) {
      res.set(k, v);
    }
    res.keep_alive(keep_alive);
    if (req.method() != http::verb::head) {
      res.body() = reply.body;
    }
    res.prepare_payload();
    conn.setDeadline(options.ioTimeout);
    http::write(stream, res, ec);
    if (options.verbose) {
      auto ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started_at).count();
      log(view.method + " " + view.target + " " + std::to_string(reply.status) + " " + std::to_string(ms) +
          "ms" + (reply.status >= 400 ? " " + reply.body : ""));
    }
    if (ec || !keep_alive) {
      return;
    }
  }
}

template <class Stream>
bool Server::Impl::streamWatch(Connection& conn, Stream& stream, const WatchPlan& plan, bool keep_alive) {
  ApiError error;
  auto sub = store.watch(plan.type, plan.ns, plan.options, &error);
  beast::error_code ec;
  if (!sub && error.code != 410) {
    auto r = errorReply(error);
    http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
    res.set(http::field::content_type, r.contentType);
    res.keep_alive(keep_alive);
    res.body() = r.body;
    res.prepare_payload();
    conn.setDeadline(options.ioTimeout);
    http::write(stream, res, ec);
    return !ec;
  }
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::content_type,
          plan.table ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json");
  res.set("Cache-Control", "no-cache, private");
  res.keep_alive(keep_alive);
  res.chunked(true);
  http::response_serializer<http::empty_body> serializer{res};
  conn.setDeadline(options.ioTimeout);
  http::write_header(stream, serializer, ec);
  auto send = [&](const json& event) {
    std::string line = event.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    conn.setDeadline(options.ioTimeout);
    asio::write(stream, http::make_chunk(asio::buffer(line)), ec);
    conn.clearDeadline();
    return !ec;
  };
  if (ec) {
    return false;
  }
  if (!sub) {  // 410 at the start: kube-apiserver answers 200 and one ERROR event
    send({{"type", "ERROR"}, {"object", error.toStatus()}});
  } else {
    {
      std::lock_guard lock(conn.mutex);
      conn.watch = sub;
    }
    auto now = SteadyClock::now();
    SteadyClock::duration timeout = options.watchTimeout;
    if (plan.timeout) {
      timeout = *plan.timeout;
    } else {
      std::lock_guard lock(mutex);
      auto jitter_ms = std::chrono::duration_cast<std::chrono::milliseconds>(options.watchTimeout).count();
      timeout += std::chrono::milliseconds(
          jitter_ms > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(jitter_ms)) : 0);
    }
    auto deadline = now + timeout;
    auto last_sent = now;
    bool first = true;
    conn.clearDeadline();
    while (!stopping) {
      now = SteadyClock::now();
      if (now >= deadline) {
        break;
      }
      auto wake = std::min(deadline, now + kWatchSlice);
      if (plan.options.allowBookmarks) {
        wake = std::min(wake, last_sent + options.bookmarkInterval);
      }
      auto event = sub->next(wake);
      if (event) {
        if (!send(router->renderEvent(plan, std::move(*event), first))) {
          break;
        }
        first = false;
        last_sent = SteadyClock::now();
        continue;
      }
      if (sub->closed()) {
        break;
      }
      now = SteadyClock::now();
      if (plan.options.allowBookmarks && now >= last_sent + options.bookmarkInterval) {
        if (!send(sub->bookmark())) {
          break;
        }
        last_sent = now;
      }
      if (peerGone(conn.fd)) {
        ec = asio::error::connection_reset;
        break;
      }
    }
    sub->close();
    std::lock_guard lock(conn.mutex);
    conn.watch.reset();
  }
  if (ec || stopping) {
    return false;
  }
  conn.setDeadline(options.ioTimeout);
  asio::write(stream, http::make_chunk_last(), ec);
  return !ec;
}

template void Server::Impl::serve(Connection&, tcp::socket&, const std::string&);
template void Server::Impl::serve(Connection&, asio::ssl::stream<tcp::socket>&, const std::string&);

}  // namespace tokenstorm::kts
