#include "support/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <cctype>

namespace tokenstorm::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

HttpClient::HttpClient(uint16_t port, std::string host) : socket_(io_), host_(std::move(host)), port_(port) {}

void HttpClient::connect() {
  if (socket_.is_open()) {
    return;
  }
  socket_.connect(tcp::endpoint(boost::asio::ip::make_address(host_), port_));
  socket_.set_option(tcp::no_delay(true));
}

void HttpClient::close() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

HttpResponse HttpClient::request(const std::string& method, const std::string& target,
                                 const std::string& body, const std::map<std::string, std::string>& headers) {
  connect();
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, host_);
  req.set(http::field::content_type, "application/json");
  for (const auto& [k, v] : headers) {
    req.set(k, v);
  }
  req.body() = body;
  req.prepare_payload();
  HttpResponse out;
  beast::error_code ec;
  http::write(socket_, req, ec);
  if (ec) {
    out.closedWithoutResponse = true;
    close();
    return out;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read_header(socket_, buffer, parser, ec);
  if (ec) {
    out.closedWithoutResponse = true;
    close();
    return out;
  }
  http::read(socket_, buffer, parser, ec);
  auto& res = parser.get();
  out.status = res.result_int();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    out.headers[name] = std::string(f.value());
  }
  out.body = res.body();
  if (ec) {
    out.truncated = true;  // e.g. the server closed mid-stream; the body holds what arrived
    close();
  } else if (!res.keep_alive()) {
    close();
  }
  return out;
}

std::string HttpClient::raw(const std::string& bytes, size_t max_bytes) {
  connect();
  boost::asio::write(socket_, boost::asio::buffer(bytes));
  std::string out;
  char buf[4096];
  beast::error_code ec;
  while (out.size() < max_bytes) {
    size_t n = socket_.read_some(boost::asio::buffer(buf), ec);
    if (ec) {
      break;
    }
    out.append(buf, n);
  }
  close();
  return out;
}

}  // namespace tokenstorm::testing
