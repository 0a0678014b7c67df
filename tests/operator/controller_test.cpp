// The probe listener over a real socket; the controller's reconcile() is tested over a fake API in
// controller_reconcile_test.cpp, and the whole controller runs end to end in
// tests/cli/operator_e2e_test.sh (kube-test-server, kubectl, runner processes).
#include "tokenstorm/operator/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace tokenstorm::op {
namespace {

std::string get(uint16_t port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof buffer)) > 0;) {
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return response;
}

TEST(ProbeServer, AnswersHealthReadinessAndMetrics) {
  bool ready = false;
  ProbeHandlers handlers;
  handlers.healthy = [] { return true; };
  handlers.ready = [&ready] { return ready; };
  handlers.metrics = [] { return std::string("tokenstorm_operator_reconciles_total 3\n"); };
  std::string error;
  auto server = ProbeServer::start("127.0.0.1", 0, handlers, &error);
  ASSERT_TRUE(server) << error;
  EXPECT_EQ(get(server->port(), "/healthz").rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(get(server->port(), "/readyz").rfind("HTTP/1.1 503", 0), 0u);
  ready = true;
  EXPECT_EQ(get(server->port(), "/readyz?verbose").rfind("HTTP/1.1 200", 0), 0u);
  const std::string metrics = get(server->port(), "/metrics");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_NE(metrics.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find("tokenstorm_operator_reconciles_total 3"), std::string::npos);
  EXPECT_EQ(get(server->port(), "/other").rfind("HTTP/1.1 404", 0), 0u);
  server->stop();
  EXPECT_EQ(get(server->port(), "/healthz"), "");
}

TEST(ProbeServer, RefusesABadAddress) {
  std::string error;
  EXPECT_FALSE(ProbeServer::start("not-an-ip", 0, {}, &error));
  EXPECT_NE(error.find("not-an-ip"), std::string::npos);
}

}  // namespace
}  // namespace tokenstorm::op
