// Private to the HTTP front: the server's state and one connection's, shared by server.cpp (listener,
// TLS setup, reaper, the public Server API) and connection.cpp (reading requests, authentication, faults,
// replies and watch streams).
#pragma once

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <iostream>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "http/router.h"
#include "http/server.h"

namespace tokenstorm::kts {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

// One accepted connection: its thread, its socket's descriptor (for the reaper) and its open watch.
struct Connection {
  std::mutex mutex;
  int fd = -1;
  std::atomic<int64_t> deadline{INT64_MAX};  // steady-clock nanoseconds; the reaper shuts the socket after
  std::atomic<bool> done{false};
  std::shared_ptr<WatchSubscription> watch;
  std::thread thread;

  void setDeadline(SteadyClock::duration from_now) {
    deadline = (SteadyClock::now() + from_now).time_since_epoch().count();
  }
  void clearDeadline() { deadline = INT64_MAX; }
  void shutdown() {
    std::lock_guard lock(mutex);
    if (fd >= 0) {
      ::shutdown(fd, SHUT_RDWR);
    }
    if (watch) {
      watch->close();
    }
  }
};

struct Server::Impl {
  Impl(ApiStore& s, const core::Clock& c, ServerOptions o)
      : store(s), clock(c), options(std::move(o)), acceptor(io), rng(std::random_device{}()) {}

  ApiStore& store;
  const core::Clock& clock;
  ServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor;
  std::optional<Router> router;
  Faults faults;
  std::optional<CertificateAuthority> ca;
  std::shared_ptr<asio::ssl::context> tls;
  mutable std::mutex mutex;  // tokens, connections, rng, log
  std::vector<std::string> tokens;
  std::list<std::shared_ptr<Connection>> connections;
  std::mt19937_64 rng;
  std::thread acceptThread, reaperThread;
  std::atomic<bool> stopping{false};
  bool started = false;
  uint16_t boundPort = 0;

  bool setupTls(std::string* error);
  void acceptLoop();
  void reaperLoop();
  template <class Stream>
  void serve(Connection& conn, Stream& stream, const std::string& peer_user);
  template <class Stream>
  bool streamWatch(Connection& conn, Stream& stream, const WatchPlan& plan, bool keep_alive);
  bool authenticated(const http::request<http::string_body>& req, const std::string& peer_user) const;
  void log(const std::string& line) {
    std::lock_guard lock(mutex);
    std::cerr << "kube-test-server: " << line << std::endl;
  }
};

}  // namespace tokenstorm::kts
