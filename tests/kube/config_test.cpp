// kubeconfig and in-cluster configuration. Data-driven cases (tests/data/kube/kubeconfig/*.case): the
// input is one kubeconfig document (an optional line `#! context NAME` names the context), the expected
// lines describe the ClusterConfig loaded, or `error MESSAGE`; the cases' folder reads as $DIR. Merging
// of several files and the in-cluster loader are tested on temporary folders.
#include "tokenstorm/kube/config.h"

#include <gtest/gtest.h>

#include <map>

#include "kube/temp_dir.h"
#include "support/case_file.h"

namespace tokenstorm::kube {
namespace {

std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}

std::vector<std::string> describe(const ClusterConfig& c) {
  std::vector<std::string> out{"source " + c.source, "server " + c.server};
  if (!c.caPem.empty()) {
    out.push_back("ca " + quoted(c.caPem));
  }
  if (c.insecureSkipTlsVerify) {
    out.push_back("insecure");
  }
  if (!c.bearerToken.empty()) {
    out.push_back("token " + quoted(c.bearerToken));
  }
  if (!c.tokenFile.empty()) {
    out.push_back("tokenFile " + c.tokenFile);
  }
  if (!c.clientCertPem.empty()) {
    out.push_back("cert " + quoted(c.clientCertPem));
  }
  if (!c.clientKeyPem.empty()) {
    out.push_back("key " + quoted(c.clientKeyPem));
  }
  out.push_back("namespace " + c.ns);
  if (c.exec) {
    std::string line = "exec " + c.exec->apiVersion + " " + c.exec->command + " " +
                       nlohmann::json(c.exec->args).dump() + " env";
    for (const auto& [k, v] : c.exec->env) {
      line += " " + k + "=" + v;
    }
    if (c.exec->provideClusterInfo) {
      line += " cluster-info";
    }
    out.push_back(line);
  }
  return out;
}

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

TEST(KubeconfigTest, Cases) {
  const std::string dir = testing::sourcePath("tests/data/kube/kubeconfig");
  for (const auto& c : testing::loadCases("kube/kubeconfig")) {
    SCOPED_TRACE(c.path);
    std::string context;
    if (auto at = c.input.find("\n#! context "); at != std::string::npos) {
      auto end = c.input.find('\n', at + 1);
      context = c.input.substr(at + 12, end - at - 12);
    }
    auto config = parseKubeconfig(c.input, dir + "/" + c.name + ".case", context);
    std::vector<std::string> got;
    if (config) {
      got = describe(*config);
    } else {
      got.push_back("error " + config.error());
    }
    for (auto& line : got) {
      line = replaceAll(line, dir, "$DIR");
    }
    if (testing::rewriteRequested()) {
      testing::rewriteExpected(c, got);
      continue;
    }
    EXPECT_EQ(got, c.expected);
  }
}

constexpr const char* kFirst = R"(
current-context: from-first
clusters:
- {name: shared, cluster: {server: "https://first:6443"}}
users:
- {name: shared, user: {token: first-token}}
contexts:
- {name: from-first, context: {cluster: shared, user: shared, namespace: one}}
- {name: both, context: {cluster: shared, user: shared, namespace: first-wins}}
)";
constexpr const char* kSecond = R"(
current-context: from-second
clusters:
- {name: shared, cluster: {server: "https://second:6443"}}
- {name: only-second, cluster: {server: "https://only-second:6443", certificate-authority: ca.crt}}
users:
- {name: shared, user: {token: second-token}}
contexts:
- {name: from-second, context: {cluster: only-second, user: shared}}
- {name: both, context: {cluster: shared, user: shared, namespace: second-loses}}
)";

TEST(KubeconfigTest, MergesFilesFirstWins) {
  TempDir tmp;
  std::string first = tmp.write("a/config", kFirst);
  std::string second = tmp.write("b/config", kSecond);
  tmp.write("b/ca.crt", "second-ca");
  std::map<std::string, std::string> env{{"KUBECONFIG", first + "::" + tmp.path() + "/missing:" + second}};
  auto lookup = [&](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto config = loadKubeconfig(lookup);
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->server, "https://first:6443");  // current-context from the first file that sets it
  EXPECT_EQ(config->bearerToken, "first-token");
  EXPECT_EQ(config->ns, "one");
  EXPECT_EQ(config->source, "kubeconfig " + first + ":" + second + " context from-first");

  auto both = loadKubeconfig(lookup, "both");
  ASSERT_TRUE(both) << both.error();
  EXPECT_EQ(both->ns, "first-wins");

  // An entry from the second file reads its relative CA path against the second file's folder.
  auto second_only = loadKubeconfig(lookup, "from-second");
  ASSERT_TRUE(second_only) << second_only.error();
  EXPECT_EQ(second_only->server, "https://only-second:6443");
  EXPECT_EQ(second_only->caPem, "second-ca");
  EXPECT_EQ(second_only->bearerToken, "first-token");  // user "shared" comes from the first file
}

TEST(KubeconfigTest, HomeConfigAndMissingFile) {
  TempDir tmp;
  tmp.write(".kube/config", kFirst);
  auto home = [&](const std::string& name) -> std::optional<std::string> {
    return name == "HOME" ? std::optional<std::string>(tmp.path()) : std::nullopt;
  };
  auto config = loadKubeconfig(home);
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->server, "https://first:6443");

  auto missing = loadKubeconfigFiles({tmp.path() + "/nope"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "kubeconfig cannot read " + tmp.path() + "/nope: No such file or directory");
}

TEST(InClusterTest, ReadsServiceAccountUnderKtsRoot) {
  TempDir tmp;
  const std::string sa = "var/run/secrets/kubernetes.io/serviceaccount/";
  tmp.write(sa + "token", "sa-token\n");
  tmp.write(sa + "ca.crt", "cluster-ca");
  tmp.write(sa + "namespace", "loadtests\n");
  std::map<std::string, std::string> env{
      {"KUBERNETES_SERVICE_HOST", "10.96.0.1"}, {"KUBERNETES_SERVICE_PORT", "443"}, {"KTS_ROOT", tmp.path()}};
  auto lookup = [&](const std::string& name) -> std::optional<std::string> {
    auto it = env.find(name);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto config = loadInCluster(lookup);
  ASSERT_TRUE(config) << config.error();
  EXPECT_EQ(config->server, "https://10.96.0.1:443");
  EXPECT_EQ(config->tokenFile, tmp.path() + "/" + sa + "token");
  EXPECT_EQ(config->caPem, "cluster-ca");
  EXPECT_EQ(config->ns, "loadtests");
  EXPECT_EQ(config->source, "in-cluster");

  env["KUBERNETES_SERVICE_HOST"] = "fd00::1";
  auto v6 = loadInCluster(lookup);
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->server, "https://[fd00::1]:443");

  // loadDefaultConfig: no KUBECONFIG, a service host: in-cluster.
  auto chosen = loadDefaultConfig(lookup);
  ASSERT_TRUE(chosen);
  EXPECT_EQ(chosen->source, "in-cluster");

  env["KTS_ROOT"] = tmp.path() + "/elsewhere";
  auto missing = loadInCluster(lookup);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "in-cluster: token: cannot read " + tmp.path() + "/elsewhere/" + sa +
                                 "token: No such file or directory");

  env.erase("KUBERNETES_SERVICE_PORT");
  EXPECT_FALSE(loadInCluster(lookup));
}

}  // namespace
}  // namespace tokenstorm::kube
