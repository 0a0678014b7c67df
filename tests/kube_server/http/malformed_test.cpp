// Hostile and broken HTTP input: every case gets a Status answer (or a closed connection) and the server
// keeps serving; nothing crashes or hangs.
#include <gtest/gtest.h>

#include "http/test_server.h"

namespace tokenstorm::kts {
namespace {

class MalformedTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.maxBodyBytes = 4096;
    options.maxHeaderBytes = 8192;
    options.ioTimeout = std::chrono::seconds(2);
    options.idleTimeout = std::chrono::seconds(2);
    startServer(options);
  }

  std::string raw(const std::string& bytes) {
    testing::HttpClient client(server_->port());
    return client.raw(bytes);
  }

  void expectStillServing() { EXPECT_EQ(call("GET", "/api").status, 200); }
};

TEST_F(MalformedTest, GarbageRequestLine) {
  std::string answer = raw("HELLO THERE\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  EXPECT_NE(answer.find("\"kind\":\"Status\""), std::string::npos) << answer;
  answer = raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n");  // TLS to HTTP
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  expectStillServing();
}

TEST_F(MalformedTest, BadContentLength) {
  std::string answer = raw("POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  answer =
      raw("POST /api/v1/namespaces HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}");
  EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
  expectStillServing();
}

TEST_F(MalformedTest, OversizedHeadersAndBody) {
  std::string answer = raw("GET /api HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
  auto big = call("POST", "/api/v1/namespaces/default/configmaps", std::string(10000, ' '));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("larger than 4096"), std::string::npos) << big.body;
  expectStillServing();
}

TEST_F(MalformedTest, InvalidJsonBodyNamesTheProblem) {
  auto r = call("POST", "/api/v1/namespaces/default/configmaps", "{\"metadata\": ");
  EXPECT_EQ(r.status, 400);
  auto status = nlohmann::json::parse(r.body);
  EXPECT_EQ(status["kind"], "Status");
  EXPECT_EQ(status["reason"], "BadRequest");
  EXPECT_NE(status["message"].get<std::string>().find("not valid JSON"), std::string::npos) << r.body;
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/configmaps", "[1,2]").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/configmaps", R"({"metadata":"x"})").status, 400);
  EXPECT_EQ(
      call("POST", "/api/v1/namespaces/default/configmaps", "{}", {{"Content-Type", "application/yaml"}})
          .status,
      415);
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/default/configmaps/x", "nope").status, 400);
  EXPECT_EQ(call("DELETE", "/api/v1/namespaces/default/configmaps/x?propagationPolicy=Sideways").status, 400);
  expectStillServing();
}

TEST_F(MalformedTest, OddTargets) {
  for (const char* target : {"/api/v1/namespaces/%zz", "/apis/a/b/c/d/e/f/g/h", "/..%2f..%2fetc/passwd",
                             "/api/v1/namespaces/default/configmaps?limit=-1", "/api/v1/pods?limit=abc"}) {
    auto r = call("GET", target);
    EXPECT_GE(r.status, 400) << target;
    EXPECT_LT(r.status, 500) << target;
  }
  std::string answer = raw("GET * HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.rfind("HTTP/1.1 4", 0), 0u) << answer;
  expectStillServing();
}

TEST_F(MalformedTest, SlowClientIsCutOff) {
  testing::HttpClient client(server_->port());
  auto started = std::chrono::steady_clock::now();
  std::string answer = client.raw("GET /api HTTP/1.1\r\nHost: x\r\n");  // headers never end
  EXPECT_TRUE(answer.empty()) << answer;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(6));
  expectStillServing();
}

}  // namespace
}  // namespace tokenstorm::kts
