// Credentials: the token file re-read on rotation (ManualClock, no sleeping), exec credential plugins
// (a fake runner for caching and expiry; /bin/sh for the real process runner).
#include "tokenstorm/kube/credentials.h"

#include <gtest/gtest.h>

#include "kube/temp_dir.h"
#include "support/manual_clock.h"

namespace tokenstorm::kube {
namespace {

constexpr core::MonoNanos kSecond = 1'000'000'000;

TEST(TokenSourceTest, RereadsAfterIntervalAndAfterInvalidate) {
  TempDir tmp;
  std::string path = tmp.write("token", "first\n");
  testing::ManualClock clock;
  TokenSource source(path, clock, 60 * kSecond);
  EXPECT_EQ(*source.token(), "first");
  tmp.write("token", "second");
  clock.advance(59 * kSecond);
  EXPECT_EQ(*source.token(), "first") << "re-read at most every 60 s";
  EXPECT_EQ(source.reads(), 1u);
  clock.advance(kSecond);
  EXPECT_EQ(*source.token(), "second");
  EXPECT_EQ(source.reads(), 2u);

  tmp.write("token", "third");
  source.invalidate();  // a 401: read at once
  EXPECT_EQ(*source.token(), "third");
}

TEST(TokenSourceTest, KeepsLastTokenWhileFileIsMissing) {
  TempDir tmp;
  testing::ManualClock clock;
  TokenSource missing(tmp.path() + "/none", clock);
  auto error = missing.token();
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error(), "token file " + tmp.path() + "/none: No such file or directory");

  std::string path = tmp.write("token", "good");
  TokenSource source(path, clock, kSecond);
  EXPECT_EQ(*source.token(), "good");
  std::filesystem::remove(path);
  clock.advance(2 * kSecond);
  EXPECT_EQ(*source.token(), "good");
}

TEST(TokenFileAuthTest, AuthorizationAndUnauthorized) {
  TempDir tmp;
  std::string path = tmp.write("token", "a");
  testing::ManualClock clock;
  TokenFileAuth auth(path, clock);
  EXPECT_EQ(*auth.authorization(), "Bearer a");
  tmp.write("token", "b");
  EXPECT_EQ(*auth.authorization(), "Bearer a");
  auth.unauthorized();
  EXPECT_EQ(*auth.authorization(), "Bearer b");
}

std::string credentialJson(const std::string& token, const std::string& expiry) {
  nlohmann::json status = {{"token", token}};
  if (!expiry.empty()) {
    status["expirationTimestamp"] = expiry;
  }
  return nlohmann::json{
      {"apiVersion", "client.authentication.k8s.io/v1"}, {"kind", "ExecCredential"}, {"status", status}}
      .dump();
}

TEST(ExecAuthTest, CachesUntilExpiryAndRerunsAfter401) {
  testing::ManualClock clock;  // wall time: a fixed day in 2026 (2026-11-17T...)
  auto wall = std::chrono::system_clock::to_time_t(clock.wallNow());
  std::tm tm{};
  gmtime_r(&wall, &tm);
  char expiry[64];
  wall += 60;
  gmtime_r(&wall, &tm);
  std::strftime(expiry, sizeof expiry, "%Y-%m-%dT%H:%M:%SZ", &tm);

  int runs = 0;
  std::string seen_info;
  ExecConfig exec{"client.authentication.k8s.io/v1", "get-token", {"--x"}, {}, true, ""};
  ExecAuth auth(exec, "https://k:6443", "CA", clock,
                [&](const ExecConfig& e, const std::string& info) -> Expected<std::string> {
                  EXPECT_EQ(e.command, "get-token");
                  seen_info = info;
                  return credentialJson("t" + std::to_string(++runs), expiry);
                });
  EXPECT_EQ(*auth.authorization(), "Bearer t1");
  EXPECT_EQ(*auth.authorization(), "Bearer t1");
  EXPECT_EQ(runs, 1);
  nlohmann::json info = nlohmann::json::parse(seen_info);
  EXPECT_EQ(info["kind"], "ExecCredential");
  EXPECT_EQ(info["spec"]["interactive"], false);
  EXPECT_EQ(info["spec"]["cluster"]["server"], "https://k:6443");
  EXPECT_EQ(info["spec"]["cluster"]["certificate-authority-data"], "Q0E=");

  clock.advance(59 * kSecond);
  EXPECT_EQ(*auth.authorization(), "Bearer t1");
  clock.advance(kSecond);
  EXPECT_EQ(*auth.authorization(), "Bearer t2") << "expired at expirationTimestamp";
  auth.unauthorized();
  EXPECT_EQ(*auth.authorization(), "Bearer t3");
  EXPECT_EQ(auth.runs(), 3u);
}

TEST(ExecAuthTest, ParsesAndRejects) {
  auto ok =
      parseExecCredential(R"({"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential",
      "status":{"clientCertificateData":"CERT","clientKeyData":"KEY","expirationTimestamp":"2026-01-02T03:04:05.5+01:00"}})",
                          "client.authentication.k8s.io/v1beta1");
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->clientCertificatePem, "CERT");
  EXPECT_EQ(ok->clientKeyPem, "KEY");
  EXPECT_EQ(*ok->expiration, *parseRfc3339("2026-01-02T02:04:05.5Z"));

  const std::string v1 = "client.authentication.k8s.io/v1";
  EXPECT_EQ(parseExecCredential("nope", v1).error(), "exec plugin: output is not a JSON object");
  EXPECT_EQ(
      parseExecCredential(
          R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":"x"}})",
          v1)
          .error(),
      "exec plugin: apiVersion is \"client.authentication.k8s.io/v1beta1\", want "
      "client.authentication.k8s.io/v1");
  EXPECT_EQ(parseExecCredential(
                R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{}})", v1)
                .error(),
            "exec plugin: status has neither token nor clientCertificateData");
  EXPECT_EQ(
      parseExecCredential(
          R"({"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"x","expirationTimestamp":"soon"}})",
          v1)
          .error(),
      "exec plugin: status.expirationTimestamp \"soon\" is not RFC 3339");
  EXPECT_FALSE(parseRfc3339("2026-01-02 03:04:05Z"));
}

TEST(ExecAuthTest, RunsARealProcess) {
  testing::ManualClock clock;
  // The plugin echoes its environment back as the token: our env var and KUBERNETES_EXEC_INFO's kind.
  ExecConfig exec{"client.authentication.k8s.io/v1",
                  "/bin/sh",
                  {"-c",
                   "kind=$(echo \"$KUBERNETES_EXEC_INFO\" | grep -o ExecCredential); printf "
                   "'{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                   "\"status\":{\"token\":\"%s-%s\"}}' \"$PLUGIN_VAR\" \"$kind\""},
                  {{"PLUGIN_VAR", "hello"}},
                  false,
                  ""};
  ExecAuth auth(exec, "https://k", "", clock);
  auto header = auth.authorization();
  ASSERT_TRUE(header) << header.error();
  EXPECT_EQ(*header, "Bearer hello-ExecCredential");

  ExecConfig failing{"client.authentication.k8s.io/v1", "/bin/sh", {"-c", "exit 3"}, {}, false, "install it"};
  ExecAuth bad(failing, "https://k", "", clock);
  auto error = bad.authorization();
  ASSERT_FALSE(error);
  EXPECT_EQ(error.error(), "exec plugin /bin/sh exited with status 3 (install it)");

  ExecConfig absent{"client.authentication.k8s.io/v1", "no-such-plugin-xyz", {}, {}, false, ""};
  ExecAuth none(absent, "https://k", "", clock);
  EXPECT_EQ(none.authorization().error(), "exec plugin no-such-plugin-xyz: No such file or directory");
}

}  // namespace
}  // namespace tokenstorm::kube
