// A TCP proxy for the integration tests: forwards each connection to the test server (TLS passes through
// as bytes) and can drop every open connection at once, which is what a network failure looks like to
// the client: the stream it was reading breaks.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace tokenstorm::kube {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target_port) : target_port_(target_port) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr = loopback(0);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      return;
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { acceptLoop(); });
  }
  ~TcpProxy() {
    stopping_ = true;
    if (acceptor_.joinable()) {
      acceptor_.join();
    }
    dropConnections();
    std::vector<std::shared_ptr<Link>> links;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      links.swap(links_);
    }
    for (auto& link : links) {
      link->join();
    }
    ::close(listen_fd_);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }  // 0 when the proxy could not listen
  size_t accepted() const { return accepted_.load(); }

  // Shuts down both sides of every open connection; new connections are forwarded as before.
  void dropConnections() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& link : links_) {
      ::shutdown(link->client, SHUT_RDWR);
      ::shutdown(link->server, SHUT_RDWR);
    }
  }

 private:
  struct Link {
    int client = -1;
    int server = -1;
    std::thread up, down;
    void join() {
      if (up.joinable()) {
        up.join();
      }
      if (down.joinable()) {
        down.join();
      }
      ::close(client);
      ::close(server);
    }
  };

  static sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
  }

  // Copies bytes one way until either side closes, then shuts the other side down too.
  static void pump(int from, int to) {
    char buffer[16 * 1024];
    while (true) {
      ssize_t n = ::recv(from, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        break;
      }
      ssize_t sent = 0;
      while (sent < n) {
        ssize_t w = ::send(to, buffer + sent, static_cast<size_t>(n - sent), MSG_NOSIGNAL);
        if (w <= 0) {
          ::shutdown(from, SHUT_RDWR);
          return;
        }
        sent += w;
      }
    }
    ::shutdown(to, SHUT_RDWR);
  }

  void acceptLoop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        continue;
      }
      int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0) {
        continue;
      }
      int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr = loopback(target_port_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      auto link = std::make_shared<Link>();
      link->client = client;
      link->server = server;
      link->up = std::thread([client, server] { pump(client, server); });
      link->down = std::thread([client, server] { pump(server, client); });
      ++accepted_;
      std::lock_guard<std::mutex> lock(mutex_);
      links_.push_back(std::move(link));
    }
  }

  uint16_t target_port_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> accepted_{0};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<Link>> links_;
};

}  // namespace tokenstorm::kube
