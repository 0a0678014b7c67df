// A small blocking HTTP/1.1 client over real sockets, for tests that talk to our servers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace tokenstorm::testing {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  bool closedWithoutResponse = false;          // the server closed the connection instead of answering
  bool truncated = false;                      // the body ended early (a cut stream)
};

class HttpClient {
 public:
  explicit HttpClient(uint16_t port, std::string host = "127.0.0.1");
  // Sends a request on this client's connection (opened on first use, reused while kept alive).
  HttpResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {});
  // Sends raw bytes and returns whatever the server answers until it closes or `max_bytes` arrive.
  std::string raw(const std::string& bytes, size_t max_bytes = 65536);
  void close();
  void connect();  // opens the connection now (request() does it on first use)
  boost::asio::ip::tcp::socket& socket() { return socket_; }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  std::string host_;
  uint16_t port_;
  std::string buffer_;
};

}  // namespace tokenstorm::testing
