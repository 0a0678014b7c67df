// The simulator over real sockets: wire formats, errors, faults, rate limits, cancellation, truth log.
#include "tokenstorm/sim/server.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "support/http_client.h"
#include "tokenstorm/core/text.h"
#include "tokenstorm/core/tls.h"

namespace tokenstorm::sim {
namespace {

using testing::HttpClient;
using testing::HttpResponse;
using Json = nlohmann::json;

// A fast, deterministic simulator: fixed output length unless max_tokens is smaller, tiny step times.
SimConfig fastConfig() {
  SimConfig c;
  c.serving.prefillOverhead = core::Duration::fromMillis(1);
  c.serving.decodeStepBase = core::Duration::fromMillis(1);
  c.serving.decodeStepPerSequence = core::Duration{};
  c.serving.outputTokens = core::Dist{};
  c.serving.outputTokens.fixed = 8;
  return c;
}

class SimServerTest : public ::testing::Test {
 protected:
  void startServer(SimConfig config) {
    truth_path_ = (std::filesystem::temp_directory_path() /
                   ("sim-truth-" + std::to_string(::getpid()) + "-" +
                    ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".jsonl"))
                      .string();
    server_ = std::make_unique<Server>(io_, std::move(config), core::RealClock::instance(), truth_path_);
    std::string error;
    ASSERT_TRUE(server_->listen("127.0.0.1", 0, &error)) << error;
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) {
      boost::asio::post(io_, [this] { server_->stop(); });
    }
    if (thread_.joinable()) {
      thread_.join();
    }
    server_.reset();
    std::filesystem::remove(truth_path_);
  }
  // Runs `f` on the server's thread and returns its result (the server is single-threaded).
  template <class F>
  auto onServer(F f) {
    std::promise<decltype(f())> p;
    boost::asio::post(io_, [&] { p.set_value(f()); });
    return p.get_future().get();
  }
  uint16_t port() { return server_->port(); }

  static std::vector<std::string> dataEvents(const std::string& body) {
    std::vector<std::string> out;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("data: ", 0) == 0) {
        out.push_back(line.substr(6));
      }
    }
    return out;
  }
  static std::vector<std::string> eventNames(const std::string& body) {
    std::vector<std::string> out;
    std::istringstream in(body);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("event: ", 0) == 0) {
        out.push_back(line.substr(7));
      }
    }
    return out;
  }

  boost::asio::io_context io_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::string truth_path_;
};

const char* kChat = R"({"model":"sim-llama-8b","messages":[{"role":"system","content":"be brief"},
  {"role":"user","content":[{"type":"text","text":"one two three"}]}],"max_tokens":5,"stream":true,
  "stream_options":{"include_usage":true}})";

TEST_F(SimServerTest, OpenAIChatStreamHasTheRightEventSequence) {
  startServer(fastConfig());
  HttpClient client(port());
  HttpResponse r = client.request("POST", "/v1/chat/completions", kChat);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  EXPECT_FALSE(r.headers["x-sim-request-id"].empty());
  auto events = dataEvents(r.body);
  ASSERT_EQ(events.size(), 1u + 5 + 1 + 1 + 1);  // role, 5 content, finish, usage, [DONE]
  Json role = Json::parse(events[0]);
  EXPECT_EQ(role["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (size_t i = 1; i <= 5; ++i) {
    Json c = Json::parse(events[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    text += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  EXPECT_EQ(core::countWords(text), 5);  // one word per token: the documented token rule
  Json fin = Json::parse(events[6]);
  EXPECT_EQ(fin["choices"][0]["finish_reason"], "length");
  Json usage = Json::parse(events[7]);
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["prompt_tokens"], 5);  // "be brief" + "one two three"
  EXPECT_EQ(usage["usage"]["completion_tokens"], 5);
  EXPECT_EQ(usage["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(events[8], "[DONE]");
}

TEST_F(SimServerTest, ContinuousUsageStatsOnEveryChunk) {
  startServer(fastConfig());
  HttpClient client(port());
  HttpResponse r = client.request("POST", "/v1/chat/completions",
                                  R"({"model":"sim-llama-8b","messages":[{"role":"user","content":"hi"}],
      "max_tokens":3,"stream":true,"stream_options":{"continuous_usage_stats":true}})");
  auto events = dataEvents(r.body);
  ASSERT_EQ(events.size(), 1u + 3 + 1 + 1);
  for (size_t i = 1; i <= 3; ++i) {
    EXPECT_EQ(Json::parse(events[i])["usage"]["completion_tokens"], static_cast<int>(i));
  }
}

TEST_F(SimServerTest, NonStreamingAndStopBeforeMaxTokens) {
  startServer(fastConfig());
  HttpClient client(port());
  HttpResponse r = client.request(
      "POST", "/v1/chat/completions",
      R"({"model":"sim-llama-8b","messages":[{"role":"user","content":"hi"}],"max_tokens":100})");
  ASSERT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");  // natural length 8 < 100
  EXPECT_EQ(j["usage"]["completion_tokens"], 8);
  EXPECT_EQ(core::countWords(j["choices"][0]["message"]["content"].get<std::string>()), 8);
  // Keep-alive: a second request on the same connection.
  HttpResponse again =
      client.request("POST", "/v1/completions", R"({"model":"sim-llama-8b","prompt":"a b","max_tokens":2})");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(Json::parse(again.body)["object"], "text_completion");
}

TEST_F(SimServerTest, CompletionsStream) {
  startServer(fastConfig());
  HttpClient client(port());
  HttpResponse r =
      client.request("POST", "/v1/completions",
                     R"({"model":"sim-llama-8b","prompt":"once upon","max_tokens":2,"stream":true})");
  auto events = dataEvents(r.body);
  ASSERT_EQ(events.size(), 2u + 1 + 1);  // no role chunk in the completions API
  EXPECT_EQ(Json::parse(events[0])["object"], "text_completion");
  EXPECT_FALSE(Json::parse(events[0])["choices"][0]["text"].get<std::string>().empty());
  EXPECT_EQ(events.back(), "[DONE]");
}

TEST_F(SimServerTest, AnthropicMessagesStreamAndReasoning) {
  SimConfig c = fastConfig();
  c.serving.reasoningTokens = 2;
  startServer(c);
  HttpClient client(port());
  HttpResponse r = client.request("POST", "/v1/messages",
                                  R"({"model":"sim-claude","max_tokens":5,"stream":true,
      "messages":[{"role":"user","content":"hello"}]})");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(eventNames(r.body),
            (std::vector<std::string>{"message_start", "ping", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "content_block_start",
                                      "content_block_delta", "content_block_delta", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_NE(r.body.find("thinking_delta"), std::string::npos);
  EXPECT_NE(r.body.find("\"output_tokens\":5"), std::string::npos);
  EXPECT_NE(r.body.find("\"stop_reason\":\"max_tokens\""), std::string::npos);
}

TEST_F(SimServerTest, ErrorsHaveTheApisShapeAndNameTheField) {
  SimConfig c = fastConfig();
  c.models = {"sim-llama-8b", "sim-claude"};
  startServer(c);
  HttpClient client(port());
  HttpResponse bad_json = client.request("POST", "/v1/chat/completions", "{not json");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(Json::parse(bad_json.body)["error"]["type"], "invalid_request_error");
  HttpResponse no_model =
      client.request("POST", "/v1/chat/completions", R"({"model":"gpt-9","messages":[]})");
  EXPECT_EQ(no_model.status, 404);
  EXPECT_EQ(Json::parse(no_model.body)["error"]["code"], "model_not_found");
  HttpResponse bad_content = client.request(
      "POST", "/v1/chat/completions", R"({"model":"sim-llama-8b","messages":[{"role":"user","content":5}]})");
  EXPECT_EQ(bad_content.status, 400);
  EXPECT_EQ(Json::parse(bad_content.body)["error"]["param"], "messages[0].content");
  HttpResponse anthropic = client.request("POST", "/v1/messages", R"({"model":"sim-claude","messages":[]})");
  EXPECT_EQ(anthropic.status, 400);
  EXPECT_EQ(Json::parse(anthropic.body)["type"], "error");
  EXPECT_EQ(Json::parse(anthropic.body)["error"]["type"], "invalid_request_error");
  HttpResponse n2 =
      client.request("POST", "/v1/chat/completions",
                     R"({"model":"sim-llama-8b","n":2,"messages":[{"role":"user","content":"x"}]})");
  EXPECT_EQ(n2.status, 400);
  EXPECT_EQ(client.request("GET", "/nope").status, 404);
  EXPECT_EQ(client.request("GET", "/v1/chat/completions").status, 405);
}

TEST_F(SimServerTest, MalformedHttpGetsA400AndTheConnectionCloses) {
  startServer(fastConfig());
  std::string garbage = HttpClient(port()).raw("GARBAGE\x01\x02 / HTTP/9\r\n\r\n");
  EXPECT_NE(garbage.find("400"), std::string::npos) << garbage;
  std::string huge_body(20 << 20, 'x');
  std::string oversized = HttpClient(port()).raw(
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(huge_body.size()) +
      "\r\n\r\n");
  EXPECT_NE(oversized.find("413"), std::string::npos) << oversized;
  std::string huge_header =
      HttpClient(port()).raw("GET /health HTTP/1.1\r\nX-A: " + std::string(40000, 'a') + "\r\n\r\n");
  EXPECT_NE(huge_header.find("431"), std::string::npos) << huge_header.substr(0, 200);
}

TEST_F(SimServerTest, ForcedFaults) {
  startServer(fastConfig());
  std::string body =
      R"({"model":"sim-llama-8b","messages":[{"role":"user","content":"x"}],"max_tokens":6,"stream":true})";
  HttpResponse unavailable =
      HttpClient(port()).request("POST", "/v1/chat/completions", body, {{"x-sim-fault", "503"}});
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(Json::parse(unavailable.body)["error"]["type"], "server_error");
  HttpResponse cut =
      HttpClient(port()).request("POST", "/v1/chat/completions", body, {{"x-sim-fault", "cut:2"}});
  EXPECT_TRUE(cut.truncated);
  EXPECT_EQ(cut.body.find("[DONE]"), std::string::npos);
  HttpResponse in_stream =
      HttpClient(port()).request("POST", "/v1/chat/completions", body, {{"x-sim-fault", "stream-error:2"}});
  EXPECT_EQ(in_stream.status, 200);
  EXPECT_NE(in_stream.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(in_stream.body.find("finish_reason\":\"length"), std::string::npos);
  HttpResponse refused =
      HttpClient(port()).request("POST", "/v1/chat/completions", body, {{"x-sim-fault", "refuse"}});
  EXPECT_TRUE(refused.closedWithoutResponse);
  HttpResponse unknown =
      HttpClient(port()).request("POST", "/v1/chat/completions", body, {{"x-sim-fault", "boom"}});
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(Json::parse(unknown.body)["error"]["param"], "x-sim-fault");
}

TEST_F(SimServerTest, OutageWindowsAnswer503OrRefuse) {
  SimConfig c = fastConfig();
  c.faults.outages.push_back(
      OutageWindow{core::Duration{}, core::Duration::fromSeconds(3600), OutageMode::Unavailable});
  startServer(c);
  std::string body = R"({"model":"sim-llama-8b","messages":[{"role":"user","content":"x"}],"max_tokens":1})";
  HttpResponse r = HttpClient(port()).request("POST", "/v1/chat/completions", body);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(HttpClient(port()).request("GET", "/health").status,
            200);  // the outage is of the model, not the pod
}

TEST_F(SimServerTest, RefusingOutageClosesConnections) {
  SimConfig c = fastConfig();
  c.faults.outages.push_back(
      OutageWindow{core::Duration{}, core::Duration::fromSeconds(3600), OutageMode::Refuse});
  startServer(c);
  EXPECT_TRUE(HttpClient(port()).request("GET", "/health").closedWithoutResponse);
}

TEST_F(SimServerTest, ForcedDelayHoldsTheFirstToken) {
  startServer(fastConfig());
  std::string body = R"({"model":"sim-llama-8b","messages":[{"role":"user","content":"x"}],"max_tokens":1})";
  auto start = std::chrono::steady_clock::now();
  HttpResponse r =
      HttpClient(port()).request("POST", "/v1/chat/completions", body, {{"x-sim-fault", "delay:200ms"}});
  EXPECT_EQ(r.status, 200);
  // A lower bound only: the delay is a minimum, so this cannot fail on a slow machine.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
}

// HTTPS with a certificate made for the test (openssl, installed by scripts/setup.sh): a verifying client
// with SNI gets the same stream as over plain HTTP; a plain-HTTP client gets nothing.
TEST_F(SimServerTest, ServesHttpsWithAVerifiedCertificate) {
  std::string dir = std::filesystem::temp_directory_path() / ("sim-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = dir + "/cert.pem";
  std::string key = dir + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl is needed for this test (scripts/setup.sh installs it)";
  std::string error;
  auto tls = core::makeServerTlsContext(cert, key, &error);
  ASSERT_TRUE(tls) << error;
  server_ = std::make_unique<Server>(io_, fastConfig(), core::RealClock::instance(), "", tls);
  ASSERT_TRUE(server_->listen("127.0.0.1", 0, &error)) << error;
  thread_ = std::thread([this] { io_.run(); });

  namespace ssl = boost::asio::ssl;
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  ssl::context client_ctx(ssl::context::tls_client);
  client_ctx.load_verify_file(cert);
  client_ctx.set_verify_mode(ssl::verify_peer);
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream(io, client_ctx);
  ASSERT_TRUE(SSL_set_tlsext_host_name(stream.native_handle(), "localhost"));
  stream.set_verify_callback(ssl::host_name_verification("localhost"));
  boost::beast::get_lowest_layer(stream).connect(
      boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port()));
  stream.handshake(ssl::stream_base::client);
  http::request<http::string_body> req(http::verb::post, "/v1/chat/completions", 11);
  req.set(http::field::host, "localhost");
  req.body() = R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":3,"stream":true})";
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(dataEvents(res.body()).size(), 1u + 3 + 1 + 1);
  EXPECT_TRUE(HttpClient(port()).request("GET", "/health").closedWithoutResponse);
  std::filesystem::remove_all(dir);
}

TEST_F(SimServerTest, RateLimitsAnswer429WithProviderHeaders) {
  SimConfig c = fastConfig();
  c.rateLimits.requestsPerMinute = 2;
  startServer(c);
  HttpClient client(port());
  std::string body = R"({"model":"sim-llama-8b","messages":[{"role":"user","content":"x"}],"max_tokens":1})";
  std::map<std::string, std::string> key{{"authorization", "Bearer test-key"}};
  EXPECT_EQ(client.request("POST", "/v1/chat/completions", body, key).status, 200);
  HttpResponse second = client.request("POST", "/v1/chat/completions", body, key);
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.headers["x-ratelimit-limit-requests"], "2");
  EXPECT_EQ(second.headers["x-ratelimit-remaining-requests"], "0");
  HttpResponse third = client.request("POST", "/v1/chat/completions", body, key);
  EXPECT_EQ(third.status, 429);
  EXPECT_GE(std::stoi(third.headers["retry-after"]), 1);
  EXPECT_EQ(Json::parse(third.body)["error"]["type"], "rate_limit_error");
  // Another key has its own buckets.
  EXPECT_EQ(client.request("POST", "/v1/chat/completions", body, {{"authorization", "Bearer other"}}).status,
            200);
}

TEST_F(SimServerTest, ClientDisconnectCancelsGeneration) {
  SimConfig c = fastConfig();
  c.serving.decodeStepBase = core::Duration::fromMillis(5);
  startServer(c);
  HttpClient client(port());
  std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ";
  std::string body =
      R"({"model":"sim-llama-8b","messages":[{"role":"user","content":"x"}],"max_tokens":100000,"ignore_eos":true,"stream":true})";
  client.connect();
  boost::asio::write(client.socket(),
                     boost::asio::buffer(req + std::to_string(body.size()) + "\r\n\r\n" + body));
  char buf[512];
  client.socket().read_some(boost::asio::buffer(buf));  // the stream has started
  client.close();
  int64_t cancelled = 0;
  for (int i = 0; i < 200 && cancelled == 0; ++i) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(10));  // waiting on another process's event, not timing
    cancelled = onServer([this] { return server_->stats().cancelled; });
  }
  EXPECT_EQ(cancelled, 1);
}

TEST_F(SimServerTest, ReadinessFollowsReplicasAndAdminConfig) {
  SimConfig c = fastConfig();
  c.replicas.count = 0;
  startServer(c);
  HttpClient client(port());
  EXPECT_EQ(client.request("GET", "/health").status, 200);
  EXPECT_EQ(client.request("GET", "/health/ready").status, 503);
  HttpResponse bad = client.request("POST", "/admin/config", R"({"replicas":{"cuont":1}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("did you mean"), std::string::npos) << bad.body;
  EXPECT_EQ(client.request("POST", "/admin/config", R"({"replicas":{"count":1}})").status, 200);
  EXPECT_EQ(client.request("GET", "/health/ready").status, 200);
  std::string metrics = client.request("GET", "/metrics").body;
  for (const char* name :
       {"vllm:num_requests_running", "vllm:num_requests_waiting", "vllm:gpu_cache_usage_perc",
        "vllm:prompt_tokens_total", "vllm:generation_tokens_total", "vllm:num_preemptions_total",
        "tokenstorm_sim_replicas_ready 1"}) {
    EXPECT_NE(metrics.find(name), std::string::npos) << name;
  }
  EXPECT_NE(client.request("GET", "/v1/models").body.find("sim-llama-8b"), std::string::npos);
}

TEST_F(SimServerTest, PrefixCacheShowsInUsage) {
  startServer(fastConfig());
  std::string prompt;
  for (int i = 0; i < 64; ++i) {
    prompt += "word" + std::to_string(i) + " ";
  }
  std::string body =
      R"({"model":"sim-llama-8b","max_tokens":1,"messages":[{"role":"user","content":")" + prompt + R"("}]})";
  HttpClient client(port());
  Json first = Json::parse(client.request("POST", "/v1/chat/completions", body).body);
  Json second = Json::parse(client.request("POST", "/v1/chat/completions", body).body);
  EXPECT_EQ(first["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
  EXPECT_EQ(second["usage"]["prompt_tokens_details"]["cached_tokens"], 64);  // 4 blocks of 16
}

TEST_F(SimServerTest, TruthLogJoinsOnTheRequestId) {
  startServer(fastConfig());
  HttpClient client(port());
  HttpResponse r = client.request("POST", "/v1/chat/completions", kChat);
  HttpResponse e = client.request("POST", "/v1/chat/completions", kChat, {{"x-sim-fault", "500"}});
  boost::asio::post(io_, [this] { server_->stop(); });  // flushes the log
  thread_.join();
  std::ifstream in(truth_path_);
  std::vector<Json> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(Json::parse(line));
  }
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["id"], r.headers["x-sim-request-id"]);
  EXPECT_EQ(lines[0]["outcome"], "ok");
  EXPECT_EQ(lines[0]["completionTokens"], 5);
  int64_t tokens = 0;
  int64_t previous = 0;
  for (const auto& c : lines[0]["chunks"]) {
    tokens += c[1].get<int64_t>();
    EXPECT_GE(c[0].get<int64_t>(), previous);  // write times never go back
    previous = c[0].get<int64_t>();
  }
  EXPECT_EQ(tokens, 5);
  EXPECT_LE(lines[0]["arrivalNs"].get<int64_t>(), lines[0]["firstTokenWriteNs"].get<int64_t>());
  EXPECT_LE(lines[0]["firstTokenWriteNs"].get<int64_t>(), lines[0]["endNs"].get<int64_t>());
  EXPECT_EQ(lines[1]["id"], e.headers["x-sim-request-id"]);
  EXPECT_EQ(lines[1]["outcome"], "error:500");
}

}  // namespace
}  // namespace tokenstorm::sim
