// The operator's HTTP listener: /healthz, /readyz and /metrics (Prometheus text format), plain HTTP/1.1
// over Boost.Beast on one thread. Each request is answered from the handlers and the connection closed;
// anything else is 404. Probes and scrapes are rare, so one request at a time is enough.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tokenstorm::op {

struct ProbeHandlers {
  std::function<bool()> healthy;         // /healthz: 200 "ok" or 500
  std::function<bool()> ready;           // /readyz: 200 "ok" or 503
  std::function<std::string()> metrics;  // /metrics: the text exposition
};

class ProbeServer {
 public:
  ~ProbeServer();  // stop()
  // Listens on host:port (port 0: any free port); nullptr with *error set when it cannot.
  static std::unique_ptr<ProbeServer> start(const std::string& host, uint16_t port, ProbeHandlers handlers,
                                            std::string* error);
  uint16_t port() const;
  void stop();

  struct Impl;

 private:
  explicit ProbeServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokenstorm::op
