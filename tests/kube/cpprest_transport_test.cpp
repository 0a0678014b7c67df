// CpprestTransport over real sockets, against LocalServer (tests/kube/local_server.h): a JSON GET, a
// chunked body delivered piece by piece, cancellation, a cut stream, a timeout, a refused connection, and
// TLS with a CA and client certificate made by the openssl CLI for this test.
#include "tokenstorm/kube/cpprest_transport.h"

#include "tokenstorm/kube/client.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>

#include "kube/local_server.h"
#include "kube/temp_dir.h"
#include "support/case_file.h"

namespace tokenstorm::kube {
namespace {

constexpr core::MonoNanos kMs = 1'000'000;

std::unique_ptr<CpprestTransport> transportFor(const std::string& server, TransportOptions o = {}) {
  o.server = server;
  auto t = CpprestTransport::create(std::move(o));
  EXPECT_TRUE(t) << t.error();
  return t ? std::move(*t) : nullptr;
}

std::string http(const LocalServer& s) {
  return "http://127.0.0.1:" + std::to_string(s.port());
}

TEST(CpprestTransportTest, JsonGetAndPost) {
  LocalServer server([](const LocalServer::Request& r, LocalServer::Connection& c) {
    nlohmann::json echo = {{"method", std::string(r.method_string())},
                           {"target", std::string(r.target())},
                           {"auth", std::string(r["Authorization"])},
                           {"contentType", std::string(r["Content-Type"])},
                           {"body", r.body()}};
    c.write(LocalServer::response(200, echo.dump(), "application/json", "X-Thing: yes\r\n"));
  });
  auto t = transportFor(http(server));
  HttpRequest get;
  get.target = "/api/v1/namespaces/a/pods?labelSelector=app%3Dweb";
  get.headers["Authorization"] = "Bearer xyz";
  HttpResponse r = t->request(get);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(r.header("x-thing"), "yes");
  nlohmann::json body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["method"], "GET");
  EXPECT_EQ(body["target"], "/api/v1/namespaces/a/pods?labelSelector=app%3Dweb");
  EXPECT_EQ(body["auth"], "Bearer xyz");

  HttpRequest patch;
  patch.method = "PATCH";
  patch.target = "/api/v1/namespaces/a/configmaps/x";
  patch.headers["Content-Type"] = "application/merge-patch+json";
  patch.body = R"({"data":{"k":"v"}})";
  r = t->request(patch);
  ASSERT_EQ(r.status, 200) << r.error;
  body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["method"], "PATCH");
  EXPECT_EQ(body["contentType"], "application/merge-patch+json");
  EXPECT_EQ(body["body"], patch.body);
}

TEST(CpprestTransportTest, StreamDeliversChunksAsTheyArrive) {
  std::mutex mutex;
  std::condition_variable cv;
  int received = 0;
  bool server_waited_in_vain = false;
  LocalServer server([&](const LocalServer::Request&, LocalServer::Connection& c) {
    c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (int i = 1; i <= 3; ++i) {
      c.write(LocalServer::chunk("{\"event\":" + std::to_string(i) + "}\n"));
      // The next piece goes out only after the client has seen this one: delivery is incremental.
      std::unique_lock<std::mutex> lock(mutex);
      if (!cv.wait_for(lock, std::chrono::seconds(5), [&] { return received >= i; })) {
        server_waited_in_vain = true;
      }
    }
    c.write("0\r\n\r\n");
  });
  auto t = transportFor(http(server));
  HttpRequest watch;
  watch.target = "/api/v1/pods?watch=1";
  std::string all;
  Cancellation cancel;
  HttpResponse r = t->stream(
      watch,
      [&](std::string_view chunk) {
        std::lock_guard<std::mutex> lock(mutex);
        all += chunk;
        received = static_cast<int>(std::count(all.begin(), all.end(), '\n'));
        cv.notify_all();
        return true;
      },
      cancel);
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.error.empty()) << r.error;
  EXPECT_FALSE(r.cancelled);
  EXPECT_EQ(all, "{\"event\":1}\n{\"event\":2}\n{\"event\":3}\n");
  EXPECT_FALSE(server_waited_in_vain);
}

TEST(CpprestTransportTest, StreamErrorsCancelAndCuts) {
  LocalServer server([](const LocalServer::Request& r, LocalServer::Connection& c) {
    std::string target(r.target());
    if (target == "/gone") {
      c.write(LocalServer::response(410, R"({"kind":"Status","code":410,"reason":"Expired"})"));
      return;
    }
    c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    c.write(LocalServer::chunk("{\"a\":1}\n"));
    if (target == "/cut") {
      return;  // the connection closes without the last chunk
    }
    while (!c.stopping()) {  // /hold: stays open until the client goes away or the server stops
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (!c.write(LocalServer::chunk("\n"))) {
        return;
      }
    }
  });
  auto t = transportFor(http(server));
  Cancellation cancel;
  auto any = [](std::string_view) { return true; };

  HttpRequest gone;
  gone.target = "/gone";
  HttpResponse g = t->stream(gone, any, cancel);
  EXPECT_EQ(g.status, 410);
  EXPECT_EQ(nlohmann::json::parse(g.body)["reason"], "Expired");

  HttpRequest cut;
  cut.target = "/cut";
  HttpResponse c = t->stream(cut, any, cancel);
  EXPECT_EQ(c.status, 200);
  EXPECT_FALSE(c.error.empty()) << "a body cut before its last chunk is an error";

  HttpRequest hold;
  hold.target = "/hold";
  std::atomic<bool> got{false};
  std::thread canceller([&] {
    while (!got) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    cancel.cancel();
  });
  auto started = std::chrono::steady_clock::now();
  HttpResponse h = t->stream(
      hold,
      [&](std::string_view) {
        got = true;
        return true;
      },
      cancel);
  canceller.join();
  EXPECT_TRUE(h.cancelled) << h.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));

  Cancellation stop_early;
  HttpResponse s = t->stream(
      hold, [](std::string_view) { return false; }, stop_early);
  EXPECT_TRUE(s.cancelled);
}

TEST(CpprestTransportTest, TimeoutAndRefused) {
  LocalServer silent([](const LocalServer::Request&, LocalServer::Connection& c) {
    while (!c.stopping()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  auto t = transportFor(http(silent));
  HttpRequest r;
  r.target = "/slow";
  r.timeout_ns = 300 * kMs;
  auto started = std::chrono::steady_clock::now();
  HttpResponse slow = t->request(r);
  EXPECT_EQ(slow.status, 0);
  EXPECT_FALSE(slow.error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));

  uint16_t closed_port = 0;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    closed_port = a.local_endpoint().port();
  }
  auto refused = transportFor("http://127.0.0.1:" + std::to_string(closed_port));
  HttpResponse no = refused->request(r);
  EXPECT_EQ(no.status, 0);
  EXPECT_FALSE(no.error.empty());
}

// The whole chain over real sockets: a kubeconfig file -> ClusterConfig -> Client::fromConfig -> a GET
// and a watch whose events arrive through CpprestTransport and the decoder.
TEST(CpprestTransportTest, ClientFromKubeconfigOverRealSockets) {
  LocalServer server([](const LocalServer::Request& r, LocalServer::Connection& c) {
    if (r["Authorization"] != "Bearer from-kubeconfig") {
      c.write(LocalServer::response(401, R"({"kind":"Status","code":401,"reason":"Unauthorized"})"));
      return;
    }
    std::string target(r.target());
    if (target.find("watch=1") == std::string::npos) {
      c.write(LocalServer::response(200, R"({"kind":"ConfigMap","metadata":{"name":"cm"}})"));
      return;
    }
    c.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
    c.write(LocalServer::chunk(R"({"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"2"}}})"
                               "\n{\"type\":\"BOOK"));
    c.write(LocalServer::chunk(R"(MARK","object":{"metadata":{"resourceVersion":"3"}}})"
                               "\n"));
    c.write("0\r\n\r\n");
  });
  TempDir tmp;
  std::string path =
      tmp.write("config", "current-context: t\nclusters:\n- {name: t, cluster: {server: \"" + http(server) +
                              "\"}}\nusers:\n- {name: t, user: {token: from-kubeconfig}}\n"
                              "contexts:\n- {name: t, context: {cluster: t, user: t, namespace: ns}}\n");
  auto config = loadKubeconfigFiles({path});
  ASSERT_TRUE(config) << config.error();
  auto client = Client::fromConfig(*config);
  ASSERT_TRUE(client) << client.error();
  EXPECT_EQ((*client)->defaultNamespace(), "ns");
  auto cm = (*client)->get(resources::kConfigMaps, "ns", "cm");
  ASSERT_TRUE(cm) << cm.error().str();
  EXPECT_EQ((*cm)["metadata"]["name"], "cm");

  std::vector<std::string> seen;
  Cancellation cancel;
  auto end = (*client)->watch(
      resources::kConfigMaps, "ns", {},
      [&](const WatchEvent& e) {
        seen.push_back(std::string(eventTypeName(e.type)) + " " + e.resourceVersion);
        return true;
      },
      cancel);
  ASSERT_TRUE(end) << end.error().str();
  EXPECT_EQ(seen, (std::vector<std::string>{"ADDED 2", "BOOKMARK 3"}));
}

// Certificates for the TLS tests, made once: a CA, a server certificate for 127.0.0.1 and localhost, one
// for another name, a client certificate, and an unrelated CA.
class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string d = dir_->path();
    std::string script =
        "set -e; cd " + d +
        "\n"
        "key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out $1; }\n"
        "ca() { key $1.key; openssl req -x509 -new -key $1.key -subj /CN=$1 -days 1 -out $1.crt; }\n"
        "leaf() { key $1.key; openssl req -new -key $1.key -subj /CN=$1 -out $1.csr;"
        " printf \"$2\" > $1.ext;"
        " openssl x509 -req -in $1.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -extfile $1.ext -out "
        "$1.crt; }\n"
        "ca ca; ca other-ca\n"
        "leaf server 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n'\n"
        "leaf wrong-name 'subjectAltName=DNS:other.example\\nextendedKeyUsage=serverAuth\\n'\n"
        "leaf tokenstorm-client 'extendedKeyUsage=clientAuth\\n'\n";
    std::string path = dir_->write("make.sh", script);
    ok_ = std::system(("bash " + path + " >" + d + "/make.log 2>&1").c_str()) == 0;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(ok_) << testing::readFile(dir_->path() + "/make.log"); }

  static std::string file(const std::string& name) { return testing::readFile(dir_->path() + "/" + name); }
  static std::shared_ptr<boost::asio::ssl::context> serverContext(const std::string& leaf,
                                                                  bool require_client) {
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(dir_->path() + "/" + leaf + ".crt");
    ctx->use_private_key_file(dir_->path() + "/" + leaf + ".key", boost::asio::ssl::context::pem);
    if (require_client) {
      ctx->load_verify_file(dir_->path() + "/ca.crt");
      ctx->set_verify_mode(boost::asio::ssl::verify_peer | boost::asio::ssl::verify_fail_if_no_peer_cert);
    }
    return ctx;
  }
  static LocalServer::Handler whoami() {
    return [](const LocalServer::Request&, LocalServer::Connection& c) {
      c.write(LocalServer::response(200, nlohmann::json{{"client", c.peerCertificateSubject}}.dump()));
    };
  }
  static HttpResponse get(const std::string& server, TransportOptions o) {
    auto t = transportFor(server, std::move(o));
    HttpRequest r;
    r.target = "/version";
    r.timeout_ns = 5'000 * kMs;
    return t ? t->request(r) : HttpResponse{};
  }

  static inline TempDir* dir_ = nullptr;
  static inline bool ok_ = false;
};

TEST_F(TlsTest, ClientCertificateAgainstTheClusterCa) {
  LocalServer server(whoami(), serverContext("server", true));
  std::string url = "https://127.0.0.1:" + std::to_string(server.port());
  TransportOptions o;
  o.caPem = file("ca.crt");
  o.clientCertPem = file("tokenstorm-client.crt");
  o.clientKeyPem = file("tokenstorm-client.key");
  HttpResponse r = get(url, o);
  ASSERT_EQ(r.status, 200) << r.error;
  EXPECT_EQ(nlohmann::json::parse(r.body)["client"], "/CN=tokenstorm-client");

  TransportOptions no_cert;
  no_cert.caPem = file("ca.crt");
  HttpResponse refused = get(url, no_cert);
  EXPECT_EQ(refused.status, 0) << "the server requires a client certificate";
  EXPECT_FALSE(refused.error.empty());
}

TEST_F(TlsTest, ServerVerification) {
  LocalServer server(whoami(), serverContext("server", false));
  std::string ip = "https://127.0.0.1:" + std::to_string(server.port());
  std::string name = "https://localhost:" + std::to_string(server.port());
  TransportOptions trusted;
  trusted.caPem = file("ca.crt");
  EXPECT_EQ(get(ip, trusted).status, 200);
  EXPECT_EQ(get(name, trusted).status, 200);

  TransportOptions other;
  other.caPem = file("other-ca.crt");
  EXPECT_EQ(get(ip, other).status, 0) << "only the configured CA is trusted";

  TransportOptions insecure;
  insecure.insecureSkipTlsVerify = true;
  EXPECT_EQ(get(ip, insecure).status, 200);

  LocalServer wrong(whoami(), serverContext("wrong-name", false));
  EXPECT_EQ(get("https://127.0.0.1:" + std::to_string(wrong.port()), trusted).status, 0)
      << "a certificate for another name is refused";
}

TEST_F(TlsTest, BadPemIsAConfigurationError) {
  TransportOptions o;
  o.server = "https://127.0.0.1:1";
  o.caPem = "not a certificate";
  EXPECT_EQ(CpprestTransport::create(o).error(), "certificate-authority: no PEM certificate found");
  o.caPem = file("ca.crt");
  o.clientCertPem = file("tokenstorm-client.crt");
  o.clientKeyPem = file("server.key");
  EXPECT_EQ(CpprestTransport::create(o).error(), "client-key: does not match client-certificate");
  o.clientKeyPem = "";
  EXPECT_EQ(CpprestTransport::create(o).error(), "client-certificate given without client-key");
  o.clientCertPem = "";
  o.server = "ftp://x";
  EXPECT_EQ(CpprestTransport::create(o).error(), "server \"ftp://x\": not an http:// or https:// URL");
}

}  // namespace
}  // namespace tokenstorm::kube
