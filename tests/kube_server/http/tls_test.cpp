// HTTPS with the generated CA: server certificate verification, bearer tokens (wrong, missing, rotated),
// client certificates, the data directory and the kubeconfig.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <filesystem>
#include <fstream>

#include "http/test_server.h"
#include "tokenstorm/core/base64.h"

namespace tokenstorm::kts {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct TlsResult {
  int status = 0;
  std::string body;
  bool failed = false;  // the handshake or the exchange failed
};

TlsResult tlsGet(uint16_t port, const std::string& ca_pem, const std::string& target,
                 const std::string& token, const std::optional<ClientCertificate>& cert = std::nullopt) {
  TlsResult out;
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx.add_certificate_authority(asio::buffer(ca_pem), ec);
  ctx.set_verify_mode(ssl::verify_peer);
  if (cert) {
    ctx.use_certificate(asio::buffer(cert->certPem), ssl::context::pem, ec);
    ctx.use_private_key(asio::buffer(cert->keyPem), ssl::context::pem, ec);
  }
  ssl::stream<tcp::socket> stream(io, ctx);
  stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  stream.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) {
    out.failed = true;
    return out;
  }
  http::request<http::string_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1");
  if (!token.empty()) {
    req.set(http::field::authorization, "Bearer " + token);
  }
  http::write(stream, req, ec);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) {
    http::read(stream, buffer, res, ec);
  }
  if (ec) {
    out.failed = true;
    return out;
  }
  out.status = res.result_int();
  out.body = res.body();
  return out;
}

class TlsTest : public ServerTest {
 protected:
  void SetUp() override {
    tls_ = true;
    dir_ = std::filesystem::temp_directory_path() /
           ("kts-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    ServerOptions options;
    options.dataDir = dir_.string();
    startServer(options);
  }
  void TearDown() override {
    ServerTest::TearDown();
    std::filesystem::remove_all(dir_);
  }
  std::string ca() const { return server_->certificateAuthority()->certPem(); }

  std::filesystem::path dir_;
};

TEST_F(TlsTest, TokensAreCheckedAndCanRotate) {
  EXPECT_EQ(server_->url(), "https://127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/api", kTestToken).status, 200);
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/api", "").status, 401);
  auto wrong = tlsGet(server_->port(), ca(), "/api", "wrong");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("\"reason\":\"Unauthorized\""), std::string::npos) << wrong.body;
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/version", "").status, 200);

  server_->addToken("next");
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/api", "next").status, 200);
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/api", kTestToken).status, 200) << "both valid while rotating";
  server_->setTokens({"next"});
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/api", kTestToken).status, 401);
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/api", "next").status, 200);
}

TEST_F(TlsTest, ClientCertificatesAuthenticate) {
  std::string error;
  auto cert = server_->issueClientCertificate("alice", {"system:masters", "team"}, &error);
  ASSERT_TRUE(cert) << error;
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/api/v1/namespaces", "", cert).status, 200);

  auto other = CertificateAuthority::create("someone-else", &error);
  ASSERT_TRUE(other) << error;
  auto stranger = other->issueClient("mallory", {}, &error);
  ASSERT_TRUE(stranger);
  auto r = tlsGet(server_->port(), ca(), "/api/v1/namespaces", "", stranger);
  EXPECT_TRUE(r.failed || r.status == 401) << r.status;
}

TEST_F(TlsTest, ServerCertificateIsVerifiedAgainstTheCa) {
  std::string error;
  auto other = CertificateAuthority::create("someone-else", &error);
  ASSERT_TRUE(other);
  EXPECT_TRUE(tlsGet(server_->port(), other->certPem(), "/version", "").failed);
  EXPECT_EQ(tlsGet(server_->port(), ca(), "/version", "").status, 200);
}

TEST_F(TlsTest, DataDirectoryAndKubeconfig) {
  for (const char* file : {"ca.crt", "ca.key", "server.crt", "server.key", "token"}) {
    EXPECT_TRUE(std::filesystem::exists(dir_ / file)) << file;
  }
  std::ifstream in(dir_ / "ca.crt");
  std::string ca_file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(ca_file, ca());
  std::string config = server_->kubeconfig();
  EXPECT_NE(config.find("server: " + server_->url()), std::string::npos) << config;
  EXPECT_NE(config.find("certificate-authority-data: " + core::encodeBase64(ca())), std::string::npos);
  EXPECT_NE(config.find(std::string("token: ") + kTestToken), std::string::npos);
  EXPECT_NE(config.find("current-context: kube-test-server"), std::string::npos);
  std::string error;
  KubeconfigOptions with_cert;
  with_cert.certificate = server_->issueClientCertificate("bob", {}, &error);
  std::string cert_config = server_->kubeconfig(with_cert);
  EXPECT_NE(cert_config.find("client-certificate-data: "), std::string::npos);
  EXPECT_EQ(cert_config.find("token:"), std::string::npos);
}

}  // namespace
}  // namespace tokenstorm::kts
