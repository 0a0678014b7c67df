// The simulator's HTTP/1.1 server: real sockets, Boost.Asio/Beast, one event loop.
//
// Routes: POST /v1/chat/completions, /v1/completions, /v1/messages; GET /v1/models, /health, /health/ready,
// /metrics; POST /admin/config. Plain HTTP or, with a TLS context, HTTPS. Each generation request gets an id
// (response header x-sim-request-id) and, with a truth log, one JSONL line of what the server did and when,
// on the shared monotonic clock. Per-request faults can be forced with the header `x-sim-fault` (see
// docs/simulator.md).
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/sim/config.h"

namespace boost::asio::ssl {
class context;
}

namespace tokenstorm::sim {

struct ServerStats {
  int64_t requests = 0;
  int64_t cancelled = 0;  // clients that went away before the end
  int64_t rateLimited = 0;
  int64_t activeConnections = 0;
};

class Server {
 public:
  // `truth_path` empty: no ground-truth log. `tls` set: serve HTTPS (see core::makeServerTlsContext).
  Server(boost::asio::io_context& io, SimConfig config, const core::Clock& clock, std::string truth_path = "",
         std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts accepting. Port 0 picks a free port; returns the bound port, or an error message.
  bool listen(const std::string& host, uint16_t port, std::string* error);
  uint16_t port() const;
  // Stops accepting and closes connections; pending work ends with the io_context.
  void stop();

  // Applies a config document on top of the current config (fields absent keep their values), as
  // POST /admin/config does. Replica count changes take effect now; new replicas warm up first.
  bool applyConfig(std::string_view yaml_or_json, core::Diagnostics* errors);
  // Replaces the whole config (SIGHUP re-reading the --config file): fields absent from it are defaults.
  void replaceConfig(SimConfig config);
  ServerStats stats() const;

  class Impl;  // public only so that the connection type in server.cpp can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tokenstorm::sim
