// Credentials and TLS against the test server: a token file that rotates (one 401, a re-read, success),
// client certificates issued by the server's CA (no token), a CA that does not match (refused before any
// request), and no credentials at all (401 as unauthorized()).
#include <gtest/gtest.h>

#include "kube/integration/server_fixture.h"
#include "tokenstorm/kube/credentials.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;

class AuthServerTest : public ServerFixture {};

TEST_F(AuthServerTest, KubeconfigWithTheServersTokenWorks) {
  ClusterConfig cfg = config();
  EXPECT_EQ(cfg.server, server_->url());
  EXPECT_EQ(cfg.bearerToken, kServerToken);
  EXPECT_FALSE(cfg.caPem.empty());
  auto c = clientFor(cfg);
  ASSERT_TRUE(c);
  auto namespaces = c->list(resources::kNamespaces, "");
  ASSERT_TRUE(namespaces.ok()) << namespaces.error().str();
  auto listed = names(*namespaces);
  EXPECT_NE(std::find(listed.begin(), listed.end(), "default"), listed.end());
}

TEST_F(AuthServerTest, ARotatedTokenFileIsReadAgainAfterOne401) {
  std::string token_file = dir_.write("token", "first-token\n");
  server_->setTokens({"first-token"});
  auto auth = std::make_shared<TokenFileAuth>(token_file, core::RealClock::instance());
  std::shared_ptr<RecordingTransport> recorder;
  auto c = recordingClient(&recorder, {}, auth);
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->get(resources::kNamespaces, "", "default").ok());
  EXPECT_EQ(auth->source().reads(), 1u);

  // The kubelet rotates the projected token: the server accepts only the new one, the file has it.
  server_->setTokens({"second-token"});
  dir_.write("token", "second-token\n");
  auto after = c->get(resources::kNamespaces, "", "default");
  ASSERT_TRUE(after.ok()) << after.error().str();
  EXPECT_EQ(auth->source().reads(), 2u) << "re-read once, right after the 401";
  auto exchanges = recorder->exchanges();
  ASSERT_EQ(exchanges.size(), 3u);
  EXPECT_EQ(exchanges[0].status, 200);
  EXPECT_EQ(exchanges[1].status, 401);
  EXPECT_EQ(exchanges[2].status, 200);
  EXPECT_EQ(exchanges[1].target, exchanges[2].target);

  ASSERT_TRUE(c->get(resources::kNamespaces, "", "default").ok());
  EXPECT_EQ(auth->source().reads(), 2u) << "no re-read without a 401 (or the refresh interval)";
}

TEST_F(AuthServerTest, AStaleTokenThatStaysStaleIsUnauthorized) {
  std::string token_file = dir_.write("token", "old-token\n");
  server_->setTokens({"new-token"});
  auto auth = std::make_shared<TokenFileAuth>(token_file, core::RealClock::instance());
  std::shared_ptr<RecordingTransport> recorder;
  auto c = recordingClient(&recorder, {}, auth);
  ASSERT_TRUE(c);
  auto refused = c->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().unauthorized()) << refused.error().str();
  EXPECT_EQ(recorder->exchanges().size(), 2u) << "one re-read and one more try, not a loop";
}

TEST_F(AuthServerTest, ClientCertificateAuthenticatesWithoutAToken) {
  std::string error;
  kts::KubeconfigOptions options;
  options.certificate = server_->issueClientCertificate("alice", {"system:masters"}, &error);
  ASSERT_TRUE(options.certificate) << error;
  ClusterConfig cfg = config(options);
  EXPECT_TRUE(cfg.bearerToken.empty());
  EXPECT_TRUE(cfg.tokenFile.empty());
  EXPECT_FALSE(cfg.clientCertPem.empty());
  EXPECT_FALSE(cfg.clientKeyPem.empty());
  auto c = clientFor(cfg);
  ASSERT_TRUE(c);
  auto created = c->create(resources::kConfigMaps, "default", configMap("by-cert"));
  ASSERT_TRUE(created.ok()) << created.error().str();
  auto got = c->get(resources::kConfigMaps, "default", "by-cert");
  ASSERT_TRUE(got.ok()) << got.error().str();

  // A certificate from another CA is no credential.
  auto other = kts::CertificateAuthority::create("someone-else", &error);
  ASSERT_TRUE(other) << error;
  auto stranger = other->issueClient("mallory", {}, &error);
  ASSERT_TRUE(stranger) << error;
  ClusterConfig strange = cfg;
  strange.clientCertPem = stranger->certPem;
  strange.clientKeyPem = stranger->keyPem;
  ClientOptions once;
  once.retry.max_attempts = 1;  // a refused handshake is a network error, which GETs retry
  auto refused = clientFor(strange, once)->get(resources::kConfigMaps, "default", "by-cert");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().unauthorized() || refused.error().networkError()) << refused.error().str();
}

TEST_F(AuthServerTest, AServerCertificateFromAnotherCaIsRefused) {
  std::string error;
  auto other = kts::CertificateAuthority::create("not-the-servers-ca", &error);
  ASSERT_TRUE(other) << error;
  ClusterConfig cfg = config();
  cfg.caPem = other->certPem();
  ClientOptions options;
  options.retry.max_attempts = 1;
  auto c = clientFor(cfg, options);
  ASSERT_TRUE(c);
  auto refused = c->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().networkError()) << refused.error().str();
  EXPECT_EQ(refused.error().code, 0);
}

TEST_F(AuthServerTest, NoCredentialsIsUnauthorized) {
  ClusterConfig cfg = config();
  cfg.bearerToken.clear();
  auto c = clientFor(cfg);
  ASSERT_TRUE(c);
  auto refused = c->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(refused.error().unauthorized()) << refused.error().str();
  EXPECT_EQ(refused.error().reason, "Unauthorized");
  EXPECT_EQ(refused.error().attempts, 1u) << "401 is not retried";

  cfg.bearerToken = "wrong";
  auto wrong = clientFor(cfg)->get(resources::kNamespaces, "", "default");
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.error().unauthorized()) << wrong.error().str();
}

}  // namespace
}  // namespace tokenstorm::kube
