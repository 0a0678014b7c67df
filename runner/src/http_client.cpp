#include "tokenstorm/runner/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fstream>
#include <limits>

namespace tokenstorm::runner {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t kReadChunkBytes = 16 * 1024;
constexpr size_t kHeaderLimitBytes = 64 * 1024;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Beast's HTTP/1.1 response parser, fed by our own reads so that each piece of the body reaches the handler
// with the time of the read that brought it. Callbacks stop as soon as the connection is closed from one.
class ResponseParser final : public http::basic_parser<false> {
 public:
  explicit ResponseParser(ResponseHandler*& handler) : handler_(handler) {
    eager(true);
    header_limit(static_cast<std::uint32_t>(kHeaderLimitBytes));
    // The engine bounds what it keeps; a stream may be long. (Not boost::none: Boost 1.74 compares the
    // content length with the optional and `len > none` is true, refusing every sized body.)
    body_limit(std::numeric_limits<std::uint64_t>::max());
  }
  core::MonoNanos at = 0;

 private:
  // http::basic_parser
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int, beast::error_code&) override {
  }
  void on_response_impl(int code, beast::string_view, int, beast::error_code&) override { status_ = code; }
  void on_field_impl(http::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    headers_.emplace_back(lower(std::string_view(name.data(), name.size())),
                          std::string(value.data(), value.size()));
  }
  void on_header_impl(beast::error_code&) override {
    if (handler_ != nullptr) {
      handler_->onHeaders(status_, headers_, at);
    }
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
  std::size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    if (handler_ != nullptr) {
      handler_->onBody(std::string_view(body.data(), body.size()), at);
    }
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    return on_body_impl(body, ec_unused_);
  }
  void on_finish_impl(beast::error_code&) override {}

  ResponseHandler*& handler_;
  int status_ = 0;
  HeaderList headers_;
  beast::error_code ec_unused_;
};

template <class Stream>
class ConnectionImpl final : public Connection, public std::enable_shared_from_this<ConnectionImpl<Stream>> {
 public:
  template <class... Args>
  ConnectionImpl(const core::Clock& clock, const Url& url, const std::vector<tcp::endpoint>& addresses,
                 Args&&... stream_args)
      : clock_(clock), url_(url), addresses_(addresses), stream_(std::forward<Args>(stream_args)...) {}

  // Connection
  void send(std::shared_ptr<const std::string> request, ResponseHandler* handler) override {
    request_ = std::move(request);
    handler_ = handler;
    received_ = false;
    keepAlive_ = false;
    used_ = 0;
    parser_.emplace(handler_);
    if (connected_) {
      return write();
    }
    connect();
  }
  void close() override {
    handler_ = nullptr;
    keepAlive_ = false;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
  }
  bool reusable() const override { return keepAlive_ && connected_ && handler_ == nullptr; }

 private:
  void connect() {
    asio::async_connect(beast::get_lowest_layer(stream_), addresses_,
                        [self = this->shared_from_this()](const beast::error_code& ec, const tcp::endpoint&) {
                          if (self->handler_ == nullptr) {
                            return;
                          }
                          if (ec) {
                            return self->fail(TransportError::Connect, "connect to " + self->url_.host + ":" +
                                                                           std::to_string(self->url_.port) +
                                                                           ": " + ec.message());
                          }
                          beast::error_code ignored;
                          beast::get_lowest_layer(self->stream_).set_option(tcp::no_delay(true), ignored);
                          self->handshake();
                        });
  }

  void handshake() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      connected_ = true;
      write();
    } else {
      if (!SSL_set_tlsext_host_name(stream_.native_handle(), url_.host.c_str())) {
        return fail(TransportError::Tls, "cannot set the TLS server name (SNI) to " + url_.host);
      }
      stream_.set_verify_callback(ssl::host_name_verification(url_.host));
      stream_.async_handshake(
          ssl::stream_base::client, [self = this->shared_from_this()](const beast::error_code& ec) {
            if (self->handler_ == nullptr) {
              return;
            }
            if (ec) {
              return self->fail(TransportError::Tls,
                                "TLS handshake with " + self->url_.host + ": " + ec.message());
            }
            self->connected_ = true;
            self->write();
          });
    }
  }

  void write() {
    handler_->onSent(clock_.monotonicNanos());
    if (handler_ == nullptr) {
      return;
    }
    asio::async_write(stream_, asio::buffer(*request_),
                      [self = this->shared_from_this()](const beast::error_code& ec, std::size_t) {
                        if (self->handler_ == nullptr) {
                          return;
                        }
                        if (ec) {
                          return self->fail(TransportError::Closed, "write: " + ec.message());
                        }
                      });
    read();  // reading starts at once: a server may answer before it has read the whole body
  }

  void read() {
    if (buffer_.size() < used_ + kReadChunkBytes) {
      buffer_.resize(used_ + kReadChunkBytes);
    }
    stream_.async_read_some(asio::buffer(buffer_.data() + used_, buffer_.size() - used_),
                            [self = this->shared_from_this()](const beast::error_code& ec, std::size_t n) {
                              core::MonoNanos at = self->clock_.monotonicNanos();
                              self->onRead(ec, n, at);
                            });
  }

  void onRead(const beast::error_code& ec, std::size_t n, core::MonoNanos at) {
    if (handler_ == nullptr) {
      return;
    }
    if (ec) {
      if (ec == asio::error::eof || ec == ssl::error::stream_truncated) {
        // A body delimited by the end of the connection is complete at EOF. (Beast calls a parser that saw
        // no byte at all "done" at EOF, hence received_.)
        beast::error_code eof_ec;
        parser_->at = at;
        parser_->put_eof(eof_ec);
        if (handler_ != nullptr && !eof_ec && received_ && parser_->is_header_done() && parser_->is_done()) {
          return finish(at, false);
        }
      }
      if (handler_ != nullptr) {
        fail(TransportError::Closed, "connection closed by the server: " + ec.message());
      }
      return;
    }
    received_ = true;
    used_ += n;
    parser_->at = at;
    size_t offset = 0;
    while (offset < used_ && !parser_->is_done()) {
      beast::error_code parse_ec;
      size_t consumed = parser_->put(asio::buffer(buffer_.data() + offset, used_ - offset), parse_ec);
      if (handler_ == nullptr) {
        return;  // closed from a callback (a cancellation)
      }
      offset += consumed;
      if (parse_ec == http::error::need_more) {
        break;
      }
      if (parse_ec) {
        return fail(TransportError::Protocol, "bad HTTP response: " + parse_ec.message());
      }
      if (consumed == 0) {
        break;
      }
    }
    if (offset > 0) {
      std::memmove(buffer_.data(), buffer_.data() + offset, used_ - offset);
      used_ -= offset;
    }
    if (parser_->is_done()) {
      return finish(at, parser_->keep_alive() && used_ == 0);
    }
    read();
  }

  void finish(core::MonoNanos at, bool keep_alive) {
    ResponseHandler* handler = handler_;
    handler_ = nullptr;
    keepAlive_ = keep_alive;
    if (!keep_alive) {
      beast::error_code ignored;
      beast::get_lowest_layer(stream_).close(ignored);
      connected_ = false;
    }
    handler->onComplete(at);
  }

  void fail(TransportError error, const std::string& message) {
    ResponseHandler* handler = handler_;
    handler_ = nullptr;
    keepAlive_ = false;
    connected_ = false;
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
    handler->onFailure(error, message, received_, clock_.monotonicNanos());
  }

  const core::Clock& clock_;
  Url url_;
  std::vector<tcp::endpoint> addresses_;
  Stream stream_;
  ResponseHandler* handler_ = nullptr;
  std::shared_ptr<const std::string> request_;
  std::optional<ResponseParser> parser_;
  std::vector<char> buffer_;
  size_t used_ = 0;
  bool connected_ = false;
  bool received_ = false;
  bool keepAlive_ = false;
};

}  // namespace

std::optional<Url> parseUrl(std::string_view text, std::string* error) {
  Url url;
  std::string_view rest;
  if (text.substr(0, 7) == "http://") {
    rest = text.substr(7);
    url.port = 80;
  } else if (text.substr(0, 8) == "https://") {
    rest = text.substr(8);
    url.tls = true;
    url.port = 443;
  } else {
    *error = "\"" + std::string(text) + "\": the scheme must be http:// or https://";
    return std::nullopt;
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) {
    *error = "\"" + std::string(text) + "\": credentials in the URL are not allowed (use auth)";
    return std::nullopt;
  }
  size_t colon = authority.rfind(':');
  bool bracketed = !authority.empty() && authority.front() == '[';
  if (colon != std::string_view::npos && (!bracketed || authority.find(']') < colon)) {
    std::string_view port_text = authority.substr(colon + 1);
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
      *error = "\"" + std::string(text) + "\": the port must be a number from 1 to 65535";
      return std::nullopt;
    }
    url.port = static_cast<uint16_t>(port);
    authority = authority.substr(0, colon);
  }
  if (bracketed && authority.size() >= 2 && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  if (authority.empty()) {
    *error = "\"" + std::string(text) + "\": the host is missing";
    return std::nullopt;
  }
  url.host = std::string(authority);
  url.basePath = std::string(path);
  while (!url.basePath.empty() && url.basePath.back() == '/') {
    url.basePath.pop_back();
  }
  if (url.basePath.find_first_of("?# ") != std::string::npos) {
    *error = "\"" + std::string(text) + "\": the URL may not carry a query, a fragment or spaces";
    return std::nullopt;
  }
  return url;
}

std::shared_ptr<ssl::context> makeClientTlsContext(const ClientTlsOptions& options, std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (options.insecureSkipVerify) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  beast::error_code ec;
  if (options.caFile.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      *error = "cannot load the system's CA certificates: " + ec.message();
      return nullptr;
    }
    return ctx;
  }
  if (!std::ifstream(options.caFile)) {
    *error = options.caFile + ": cannot read the CA file";
    return nullptr;
  }
  ctx->load_verify_file(options.caFile, ec);
  if (ec) {
    *error = options.caFile + ": cannot load the CA certificates: " + ec.message();
    return nullptr;
  }
  return ctx;
}

ConnectionFactory::ConnectionFactory(asio::io_context& io, const core::Clock& clock, Url url,
                                     std::vector<tcp::endpoint> addresses, std::shared_ptr<ssl::context> tls)
    : io_(io), clock_(clock), url_(std::move(url)), addresses_(std::move(addresses)), tls_(std::move(tls)) {}

std::shared_ptr<Connection> ConnectionFactory::create() {
  if (url_.tls) {
    return std::make_shared<ConnectionImpl<ssl::stream<tcp::socket>>>(clock_, url_, addresses_, io_, *tls_);
  }
  return std::make_shared<ConnectionImpl<tcp::socket>>(clock_, url_, addresses_, io_);
}

std::optional<std::vector<tcp::endpoint>> ConnectionFactory::resolve(const Url& url, std::string* error) {
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::error_code ec;
  auto results = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec || results.empty()) {
    *error = "cannot resolve " + url.host + ": " + (ec ? ec.message() : "no addresses");
    return std::nullopt;
  }
  std::vector<tcp::endpoint> out;
  for (const auto& entry : results) {
    out.push_back(entry.endpoint());
  }
  return out;
}

}  // namespace tokenstorm::runner
