// The engine's HTTP client against a scripted server on a real socket: bodies by Content-Length, chunked
// and close-delimited, every byte split, keep-alive reuse, and broken servers (garbage status lines,
// oversized headers, cuts mid-body). Plus URL parsing.
#include "tokenstorm/runner/http_client.h"

#include <gtest/gtest.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include <thread>

namespace tokenstorm::runner {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Accepts connections and answers each request with the next scripted reply, written in the given pieces;
// `close` after a reply closes the connection.
struct Reply {
  std::vector<std::string> pieces;
  bool close = false;
  int gapMs = 1;  // pause between pieces, so that the client reads them separately
};

class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<Reply> replies)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), replies_(std::move(replies)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  int connections() const { return connections_; }

 private:
  void serve() {
    size_t next = 0;
    while (next < replies_.size()) {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec) {
        return;
      }
      ++connections_;
      socket.set_option(tcp::no_delay(true));
      std::string buffer;
      while (next < replies_.size()) {
        size_t end = asio::read_until(socket, asio::dynamic_buffer(buffer), "\r\n\r\n", ec);
        if (ec) {
          break;
        }
        buffer.erase(0, end);  // requests in these tests have no body
        const Reply& reply = replies_[next++];
        for (const auto& piece : reply.pieces) {
          asio::write(socket, asio::buffer(piece), ec);
          std::this_thread::sleep_for(std::chrono::milliseconds(reply.gapMs));
        }
        if (reply.close) {
          break;
        }
      }
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<Reply> replies_;
  std::thread thread_;
  std::atomic<int> connections_{0};
};

struct Recorded {
  int status = 0;
  HeaderList headers;
  std::string body;
  std::vector<core::MonoNanos> bodyTimes;
  bool complete = false;
  std::optional<TransportError> error;
  std::string message;
  bool received = false;
};

class Recorder final : public ResponseHandler {
 public:
  Recorded r;
  // ResponseHandler
  void onSent(core::MonoNanos) override {}
  void onHeaders(int status, const HeaderList& headers, core::MonoNanos) override {
    r.status = status;
    r.headers = headers;
  }
  void onBody(std::string_view bytes, core::MonoNanos at) override {
    r.body.append(bytes);
    r.bodyTimes.push_back(at);
  }
  void onComplete(core::MonoNanos) override { r.complete = true; }
  void onFailure(TransportError error, const std::string& message, bool received, core::MonoNanos) override {
    r.error = error;
    r.message = message;
    r.received = received;
  }
};

class HttpClientTest : public ::testing::Test {
 protected:
  // Sends `count` requests one after another on one connection (while it stays reusable).
  std::vector<Recorded> exchange(ScriptedServer& server, int count = 1) {
    std::string error;
    auto url = parseUrl("http://127.0.0.1:" + std::to_string(server.port()), &error);
    auto addresses = ConnectionFactory::resolve(*url, &error);
    ConnectionFactory factory(io_, core::RealClock::instance(), *url, *addresses, nullptr);
    auto request = std::make_shared<const std::string>("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::vector<Recorded> out;
    std::shared_ptr<Connection> connection = factory.create();
    for (int i = 0; i < count; ++i) {
      Recorder handler;
      if (!connection->reusable() && i > 0) {
        connection = factory.create();
      }
      connection->send(request, &handler);
      io_.restart();
      io_.run();
      out.push_back(handler.r);
    }
    return out;
  }
  asio::io_context io_;
};

TEST_F(HttpClientTest, ContentLengthBodyArrivesInPiecesWithReadTimes) {
  // 200 ms between the halves: only a client stalled that long could read them together, and then the
  // times would not be 150 ms apart.
  Reply reply{{"HTTP/1.1 200 OK\r\nContent-Length: 10\r\nX-A: b\r\n\r\n01234", "56789"}, false, 200};
  ScriptedServer server({reply});
  auto r = exchange(server).at(0);
  EXPECT_TRUE(r.complete) << r.message;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "0123456789");
  ASSERT_EQ(r.bodyTimes.size(), 2u);
  EXPECT_GE(r.bodyTimes[1] - r.bodyTimes[0], 150'000'000);  // each piece carries its own read's time
  bool found = false;
  for (const auto& [name, value] : r.headers) {
    found = found || (name == "x-a" && value == "b");  // names arrive in lower case
  }
  EXPECT_TRUE(found);
}

TEST_F(HttpClientTest, ChunkedBodySplitAtEveryByte) {
  std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
      "6\r\ndata: \r\n3\r\nab\n\r\n0\r\n\r\n";
  std::vector<std::string> bytes;
  for (char c : wire) {
    bytes.emplace_back(1, c);
  }
  ScriptedServer server({{bytes}});
  auto r = exchange(server).at(0);
  EXPECT_TRUE(r.complete) << r.message;
  EXPECT_EQ(r.body, "data: ab\n");
}

TEST_F(HttpClientTest, CloseDelimitedBodyEndsAtEof) {
  ScriptedServer server({{{"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello", " world"}, true}});
  auto r = exchange(server).at(0);
  EXPECT_TRUE(r.complete) << r.message;
  EXPECT_EQ(r.body, "hello world");
}

TEST_F(HttpClientTest, KeepAliveConnectionIsReused) {
  ScriptedServer server({{{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"}},
                         {{"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"}}});
  auto r = exchange(server, 2);
  EXPECT_EQ(r.at(0).body, "a");
  EXPECT_EQ(r.at(1).body, "b");
  EXPECT_EQ(server.connections(), 1);
}

TEST_F(HttpClientTest, GarbageStatusLineIsAProtocolError) {
  ScriptedServer server({{{"SMTP ready\r\n\r\n"}, true}});
  auto r = exchange(server).at(0);
  EXPECT_FALSE(r.complete);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, TransportError::Protocol);
  EXPECT_NE(r.message.find("bad HTTP response"), std::string::npos);
}

TEST_F(HttpClientTest, OversizedHeadersAreAProtocolError) {
  std::string header = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(100 * 1024, 'x') + "\r\n\r\n";
  ScriptedServer server({{{header}, true}});
  auto r = exchange(server).at(0);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, TransportError::Protocol);
}

TEST_F(HttpClientTest, CutMidBodyIsClosedAfterBytesArrived) {
  ScriptedServer server({{{"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial"}, true}});
  auto r = exchange(server).at(0);
  EXPECT_FALSE(r.complete);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, TransportError::Closed);
  EXPECT_TRUE(r.received);
  EXPECT_EQ(r.body, "partial");
}

TEST_F(HttpClientTest, ClosedWithoutAnswerIsClosedWithNothingReceived) {
  Reply silent;
  silent.close = true;
  ScriptedServer server({silent});
  auto r = exchange(server).at(0);
  ASSERT_TRUE(r.error) << "complete " << r.complete << " status " << r.status << " body " << r.body;
  EXPECT_EQ(*r.error, TransportError::Closed);
  EXPECT_FALSE(r.received);
  EXPECT_EQ(r.status, 0);
}

TEST(UrlTest, ParsesWhatEndpointsUse) {
  std::string error;
  auto a = parseUrl("http://vllm.ml.svc:8000", &error);
  ASSERT_TRUE(a) << error;
  EXPECT_FALSE(a->tls);
  EXPECT_EQ(a->host, "vllm.ml.svc");
  EXPECT_EQ(a->port, 8000);
  EXPECT_EQ(a->basePath, "");
  auto b = parseUrl("https://generativelanguage.googleapis.com/v1beta/openai/", &error);
  ASSERT_TRUE(b) << error;
  EXPECT_TRUE(b->tls);
  EXPECT_EQ(b->port, 443);
  EXPECT_EQ(b->basePath, "/v1beta/openai");
  auto c = parseUrl("http://[::1]:9000/x", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->host, "::1");
  EXPECT_EQ(c->port, 9000);
}

TEST(UrlTest, RejectsWithAReason) {
  for (const char* bad : {"ftp://x", "http://", "http://h:0", "http://h:70000", "http://h:8x", "http://u:p@h",
                          "http://h/p?q=1", "vllm:8000"}) {
    std::string error;
    EXPECT_FALSE(parseUrl(bad, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

}  // namespace
}  // namespace tokenstorm::runner
