// A tiny HTTP(S) server for the CpprestTransport's tests: one thread accepting, one per connection, one
// request per connection (answers should say `Connection: close`). The handler gets the parsed request
// and writes raw bytes, so a test can send exactly what it wants: chunked bodies piece by piece, nothing
// at all, a cut stream. With a TLS context the server does the handshake first (and, if the context asks
// for peer verification, requires a client certificate).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace tokenstorm::kube {

class LocalServer {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;
  // write() sends bytes (false once the peer is gone); stopping() turns true when the server shuts down.
  struct Connection {
    std::function<bool(const std::string&)> write;
    std::function<bool()> stopping;
    std::string peerCertificateSubject;  // TLS with a client certificate: its subject, one line
  };
  using Handler = std::function<void(const Request&, Connection&)>;

  explicit LocalServer(Handler handler, std::shared_ptr<boost::asio::ssl::context> tls = nullptr)
      : handler_(std::move(handler)), tls_(std::move(tls)), acceptor_(io_) {
    using boost::asio::ip::tcp;
    tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept_thread_ = std::thread([this] { acceptLoop(); });
  }

  ~LocalServer() {
    stopping_ = true;
    // Wake the blocking accept with a connection of our own.
    try {
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket s(io);
      s.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
    } catch (const std::exception&) {
    }
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) {
      t.join();
    }
  }

  uint16_t port() const { return port_; }
  int connections() const { return connections_.load(); }

  static std::string response(int status, const std::string& body,
                              const std::string& content_type = "application/json",
                              const std::string& extra_headers = "") {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
           extra_headers + "\r\n" + body;
  }
  static std::string chunk(const std::string& data) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", data.size());
    return std::string(size) + "\r\n" + data + "\r\n";
  }

 private:
  void acceptLoop() {
    while (!stopping_) {
      auto socket = std::make_shared<boost::asio::ip::tcp::socket>(io_);
      boost::system::error_code ec;
      acceptor_.accept(*socket, ec);
      if (ec || stopping_) {
        continue;
      }
      ++connections_;
      std::lock_guard<std::mutex> lock(mutex_);
      threads_.emplace_back([this, socket] { serve(socket); });
    }
  }

  template <typename Stream>
  void handle(Stream& stream, Connection& c) {
    boost::beast::flat_buffer buffer;
    Request request;
    boost::system::error_code ec;
    boost::beast::http::read(stream, buffer, request, ec);
    if (ec) {
      return;
    }
    c.write = [&stream](const std::string& bytes) {
      boost::system::error_code wec;
      boost::asio::write(stream, boost::asio::buffer(bytes), wec);
      return !wec;
    };
    c.stopping = [this] { return stopping_.load(); };
    handler_(request, c);
  }

  void serve(std::shared_ptr<boost::asio::ip::tcp::socket> socket) {
    Connection c;
    if (!tls_) {
      handle(*socket, c);
      boost::system::error_code ec;
      socket->shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      return;
    }
    boost::asio::ssl::stream<boost::asio::ip::tcp::socket&> stream(*socket, *tls_);
    boost::system::error_code ec;
    stream.handshake(boost::asio::ssl::stream_base::server, ec);
    if (ec) {
      return;  // the client refused our certificate, or sent none when one is required
    }
    if (X509* peer = SSL_get0_peer_certificate(stream.native_handle())) {
      char subject[256];
      X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof subject);
      c.peerCertificateSubject = subject;
    }
    handle(stream, c);
    stream.shutdown(ec);
  }

  Handler handler_;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::thread accept_thread_;
};

}  // namespace tokenstorm::kube
