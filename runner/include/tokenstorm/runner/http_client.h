// The engine's HTTP/1.1 client: one connection per in-flight request, kept alive and reused, plain TCP or
// TLS (SNI, certificate and host name verification, a custom CA, or verification off on request).
//
// Responses are delivered as they arrive: each callback carries the monotonic time taken first thing in
// the read handler that received those bytes, so every timestamp the metrics use is a socket read time,
// never a time after queueing or parsing (docs/metrics.md).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenstorm/core/clock.h"

namespace boost::asio::ssl {
class context;
}

namespace tokenstorm::runner {

struct Url {
  bool tls = false;
  std::string host;
  uint16_t port = 0;
  std::string basePath;  // without a trailing slash ("" or "/v1beta/openai")
};

// http://host[:port][/path] or https://...; nullopt with *error naming what is wrong.
std::optional<Url> parseUrl(std::string_view text, std::string* error);

struct ClientTlsOptions {
  bool insecureSkipVerify = false;
  std::string caFile;  // PEM bundle; empty: the system's trust store
};

// A client TLS context (TLS 1.2+); nullptr with *error naming the file or what OpenSSL said.
std::shared_ptr<boost::asio::ssl::context> makeClientTlsContext(const ClientTlsOptions& options,
                                                                std::string* error);

enum class TransportError : uint8_t {
  Connect,   // resolve/connect failed or was refused
  Tls,       // handshake or certificate verification failed
  Protocol,  // the bytes were not HTTP/1.1
  Closed,    // the peer closed (or reset) before the response was complete
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;  // names in lower case

// Receives one response. Callbacks run on the connection's event loop.
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  virtual void onSent(core::MonoNanos at) = 0;  // just before the request's first byte is written
  virtual void onHeaders(int status, const HeaderList& headers, core::MonoNanos at) = 0;
  virtual void onBody(std::string_view bytes, core::MonoNanos at) = 0;
  virtual void onComplete(core::MonoNanos at) = 0;
  // `received` says whether any byte of the response arrived (a reused keep-alive connection that the
  // server had closed fails with received == false, and the request may be sent again safely).
  virtual void onFailure(TransportError error, const std::string& message, bool received,
                         core::MonoNanos at) = 0;
};

// One HTTP/1.1 connection. Not thread-safe: used from its io_context's thread only.
class Connection {
 public:
  virtual ~Connection() = default;
  // Sends `request` (complete bytes: request line, headers, body) and streams the response to `handler`,
  // connecting first if needed. The handler must outlive the exchange or call close() first.
  virtual void send(std::shared_ptr<const std::string> request, ResponseHandler* handler) = 0;
  // Closes the socket now (a cancelled request): no callback follows.
  virtual void close() = 0;
  // Whether the last response allows reuse (HTTP/1.1 keep-alive, body complete, not closed).
  virtual bool reusable() const = 0;
};

// Opens connections to one resolved endpoint.
class ConnectionFactory {
 public:
  ConnectionFactory(boost::asio::io_context& io, const core::Clock& clock, Url url,
                    std::vector<boost::asio::ip::tcp::endpoint> addresses,
                    std::shared_ptr<boost::asio::ssl::context> tls);
  std::shared_ptr<Connection> create();
  const Url& url() const { return url_; }

  // Resolves the URL's host now (blocking; done once before a test starts).
  static std::optional<std::vector<boost::asio::ip::tcp::endpoint>> resolve(const Url& url,
                                                                            std::string* error);

 private:
  boost::asio::io_context& io_;
  const core::Clock& clock_;
  Url url_;
  std::vector<boost::asio::ip::tcp::endpoint> addresses_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace tokenstorm::runner
