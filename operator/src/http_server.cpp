#include "tokenstorm/operator/http_server.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <thread>

namespace tokenstorm::op {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// A client that sends nothing cannot hold the listener longer than this.
constexpr int kReadTimeout_s = 5;

struct ProbeServer::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  ProbeHandlers handlers;
  uint16_t port = 0;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) {
        return;
      }
      if (!ec) {
        serve(socket);
      }
      accept();
    });
  }

  void serve(tcp::socket& socket) {
    timeval timeout{kReadTimeout_s, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    boost::system::error_code ec;
    http::read(socket, buffer, request, ec);
    if (ec) {
      return;
    }
    http::response<http::string_body> response;
    response.version(request.version());
    response.keep_alive(false);
    response.set(http::field::content_type, "text/plain; charset=utf-8");
    std::string target(request.target());
    target = target.substr(0, target.find('?'));
    if (target == "/healthz") {
      const bool ok = !handlers.healthy || handlers.healthy();
      response.result(ok ? http::status::ok : http::status::internal_server_error);
      response.body() = ok ? "ok\n" : "unhealthy\n";
    } else if (target == "/readyz") {
      const bool ok = !handlers.ready || handlers.ready();
      response.result(ok ? http::status::ok : http::status::service_unavailable);
      response.body() = ok ? "ok\n" : "not ready: informers not synced\n";
    } else if (target == "/metrics" && handlers.metrics) {
      response.result(http::status::ok);
      response.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response.body() = handlers.metrics();
    } else {
      response.result(http::status::not_found);
      response.body() = "not found\n";
    }
    if (request.method() == http::verb::head) {
      response.content_length(response.body().size());
      response.body().clear();
    }
    response.prepare_payload();
    http::write(socket, response, ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
  }
};

ProbeServer::ProbeServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ProbeServer::~ProbeServer() {
  stop();
}

std::unique_ptr<ProbeServer> ProbeServer::start(const std::string& host, uint16_t port,
                                                ProbeHandlers handlers, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->handlers = std::move(handlers);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    *error = "--listen: \"" + host + "\" is not an IP address";
    return nullptr;
  }
  tcp::endpoint endpoint(address, port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) {
    impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    impl->acceptor.bind(endpoint, ec);
  }
  if (!ec) {
    impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    *error = "--listen " + host + ":" + std::to_string(port) + ": " + ec.message();
    return nullptr;
  }
  impl->port = impl->acceptor.local_endpoint(ec).port();
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<ProbeServer>(new ProbeServer(std::move(impl)));
}

uint16_t ProbeServer::port() const {
  return impl_->port;
}

void ProbeServer::stop() {
  if (impl_ && impl_->thread.joinable()) {
    impl_->io.stop();
    impl_->thread.join();
    boost::system::error_code ec;
    impl_->acceptor.close(ec);  // connections are refused from now on
  }
}

}  // namespace tokenstorm::op
