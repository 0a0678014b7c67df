// A minimal streaming load client for benchmarking the simulator (not the product's engine): N keep-alive
// connections, each sending streamed chat requests back to back, counting SSE events as they arrive.
// One thread, one event loop: run it on its own core, the simulator on another.
//
//   sim_stream_load --port P [--connections 2000] [--seconds 20] [--max-tokens 2000]
//
// Prints one JSON line: events/s, streams completed, bytes/s, errors.
#include <utility>  // before Asio: its C++20 awaitable uses std::exchange

#include <boost/asio.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Totals {
  uint64_t events = 0;
  uint64_t streams = 0;
  uint64_t bytes = 0;
  uint64_t errors = 0;
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(asio::io_context& io, tcp::endpoint ep, std::string request, Totals& totals)
      : socket_(io), ep_(ep), request_(std::move(request)), totals_(totals) {}

  void start() {
    socket_.async_connect(ep_, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) {
        self->totals_.errors++;
        return;
      }
      self->socket_.set_option(tcp::no_delay(true));
      self->send();
    });
  }
  void stop() {
    boost::system::error_code ec;
    socket_.close(ec);
  }

 private:
  void send() {
    asio::async_write(socket_, asio::buffer(request_),
                      [self = shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) {
                          self->totals_.errors++;
                          return;
                        }
                        self->read();
                      });
  }
  void read() {
    socket_.async_read_some(asio::buffer(buf_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              if (ec) {
                                return;
                              }
                              self->totals_.bytes += n;
                              self->scan(n);
                              self->read();
                            });
  }
  // Counts "data: " lines; a response ends with the terminating zero-length chunk "\r\n0\r\n\r\n".
  void scan(size_t n) {
    std::string_view chunk(buf_, n);
    tail_.append(chunk);
    size_t pos = 0;
    while ((pos = tail_.find("data: ", pos)) != std::string::npos) {
      totals_.events++;
      pos += 6;
    }
    if (tail_.find("\r\n0\r\n\r\n") != std::string::npos) {
      totals_.streams++;
      tail_.clear();
      send();  // the next request on the same connection
      return;
    }
    // Keep only a short tail: enough to find a marker split across reads.
    if (tail_.size() > 16) {
      tail_.erase(0, tail_.size() - 16);
    }
  }

  tcp::socket socket_;
  tcp::endpoint ep_;
  std::string request_;
  Totals& totals_;
  char buf_[16384];
  std::string tail_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  int connections = 2000;
  int seconds = 20;
  int max_tokens = 2000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--port") {
      port = v;
    } else if (a == "--connections") {
      connections = v;
    } else if (a == "--seconds") {
      seconds = v;
    } else if (a == "--max-tokens") {
      max_tokens = v;
    }
  }
  if (port <= 0) {
    std::fprintf(stderr,
                 "usage: sim_stream_load --port P [--connections N] [--seconds S] [--max-tokens M]\n");
    return 2;
  }
  std::string body = "{\"model\":\"sim-llama-8b\",\"stream\":true,\"ignore_eos\":true,\"max_tokens\":" +
                     std::to_string(max_tokens) +
                     ",\"messages\":[{\"role\":\"user\",\"content\":\"benchmark\"}]}";
  std::string request =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  asio::io_context io;
  Totals totals;
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
  std::vector<std::shared_ptr<Conn>> conns;
  for (int i = 0; i < connections; ++i) {
    conns.push_back(std::make_shared<Conn>(io, ep, request, totals));
    conns.back()->start();
  }
  // Warm up 3 s (connections open, batch fills), then measure.
  asio::steady_timer timer(io);
  Totals start;
  auto t0 = std::chrono::steady_clock::now();
  timer.expires_after(std::chrono::seconds(3));
  timer.async_wait([&](boost::system::error_code) {
    start = totals;
    t0 = std::chrono::steady_clock::now();
    timer.expires_after(std::chrono::seconds(seconds));
    timer.async_wait([&](boost::system::error_code) {
      double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::printf(
          "{\"connections\":%d,\"seconds\":%.1f,\"eventsPerSecond\":%.0f,\"streamsCompleted\":%llu,"
          "\"mbPerSecond\":%.1f,\"errors\":%llu}\n",
          connections, s, static_cast<double>(totals.events - start.events) / s,
          static_cast<unsigned long long>(totals.streams - start.streams),
          static_cast<double>(totals.bytes - start.bytes) / s / 1e6,
          static_cast<unsigned long long>(totals.errors));
      for (auto& c : conns) {
        c->stop();
      }
      io.stop();
    });
  });
  io.run();
  return 0;
}
