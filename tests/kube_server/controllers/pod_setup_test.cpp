// Pod setup without a store or processes: field paths, $(VAR) expansion, environment order and errors,
// files under the pod directory.
#include "pod_setup.h"
#include "tokenstorm/core/base64.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "util.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json samplePod() {
  return {{"metadata",
           {{"name", "run-0-abcde"},
            {"namespace", "load"},
            {"uid", "u-1"},
            {"labels", {{"app", "tokenstorm"}}},
            {"annotations", {{"batch.kubernetes.io/job-completion-index", "0"}}}}},
          {"spec", {{"containers", json::array({{{"name", "runner"}}})}}}};
}

ObjectLookup mapLookup(std::map<std::string, json> objects) {
  return [objects](const std::string& kind, const std::string& ns,
                   const std::string& name) -> std::optional<json> {
    auto it = objects.find(kind + "/" + ns + "/" + name);
    if (it == objects.end()) {
      return std::nullopt;
    }
    return it->second;
  };
}

std::string valueOf(const EnvList& env, const std::string& name) {
  std::string value = "<unset>";
  for (const auto& [k, v] : env) {
    if (k == name) {
      value = v;
    }
  }
  return value;
}

TEST(PodSetupTest, FieldPaths) {
  const json pod = samplePod();
  EXPECT_EQ(podFieldValue(pod, "metadata.name", "n"), "run-0-abcde");
  EXPECT_EQ(podFieldValue(pod, "metadata.namespace", "n"), "load");
  EXPECT_EQ(podFieldValue(pod, "metadata.uid", "n"), "u-1");
  EXPECT_EQ(podFieldValue(pod, "metadata.labels['app']", "n"), "tokenstorm");
  EXPECT_EQ(podFieldValue(pod, "metadata.labels[\"app\"]", "n"), "tokenstorm");
  EXPECT_EQ(podFieldValue(pod, "metadata.labels['none']", "n"), "");
  EXPECT_EQ(podFieldValue(pod, "metadata.annotations['batch.kubernetes.io/job-completion-index']", "n"), "0");
  EXPECT_EQ(podFieldValue(pod, "spec.nodeName", "kts-node"), "kts-node");
  EXPECT_EQ(podFieldValue(pod, "spec.serviceAccountName", "n"), "default");
  EXPECT_EQ(podFieldValue(pod, "status.podIP", "n"), "127.0.0.1");
  EXPECT_EQ(podFieldValue(pod, "spec.bogus", "n"), std::nullopt);
  EXPECT_EQ(podFieldValue(pod, "metadata.labels['app'", "n"), std::nullopt);
}

TEST(PodSetupTest, ReferenceExpansion) {
  const EnvList env = {{"A", "1"}, {"B", "two"}};
  EXPECT_EQ(expandReferences("$(A)-$(B)", env), "1-two");
  EXPECT_EQ(expandReferences("$$(A) $(C) $", env), "$(A) $(C) $");
  EXPECT_EQ(expandReferences("$(A", env), "$(A");
}

TEST(PodSetupTest, ServerHostAndPort) {
  EXPECT_EQ(serverHostPort("https://127.0.0.1:6443"),
            (std::pair<std::string, std::string>{"127.0.0.1", "6443"}));
  EXPECT_EQ(serverHostPort("https://kts.local/"), (std::pair<std::string, std::string>{"kts.local", "443"}));
  EXPECT_EQ(serverHostPort("http://[::1]:8080"), (std::pair<std::string, std::string>{"::1", "8080"}));
}

TEST(PodSetupTest, EnvironmentOrderAndErrors) {
  PodContext context{"https://127.0.0.1:6443", "", "t", "kts-node", {{"PATH", "/bin"}, {"KTS_ROOT", "host"}}};
  auto lookup = mapLookup({{"ConfigMap/load/cm", {{"data", {{"A", "from-cm"}, {"B", "b"}}}}},
                           {"Secret/load/s", {{"data", {{"pw", core::encodeBase64("pw!")}}}}}});
  json container = {
      {"name", "runner"},
      {"envFrom", json::array({{{"configMapRef", {{"name", "cm"}}}}})},
      {"env",
       json::array({{{"name", "A"}, {"value", "explicit"}},
                    {{"name", "PW"}, {"valueFrom", {{"secretKeyRef", {{"name", "s"}, {"key", "pw"}}}}}},
                    {{"name", "REF"}, {"value", "$(B)$(PW)"}}})}};
  EnvList env;
  ASSERT_EQ(buildEnvironment(samplePod(), container, "/data/pods/u-1", context, lookup, &env), std::nullopt);
  EXPECT_EQ(valueOf(env, "PATH"), "/bin");
  EXPECT_EQ(valueOf(env, "KTS_ROOT"), "/data/pods/u-1/root");  // ours, not the host's
  EXPECT_EQ(valueOf(env, "A"), "explicit");                    // env wins over envFrom
  EXPECT_EQ(valueOf(env, "REF"), "bpw!");
  EXPECT_EQ(valueOf(env, "HOSTNAME"), "run-0-abcde");

  json missingKey = {
      {"name", "runner"},
      {"env", json::array(
                  {{{"name", "X"}, {"valueFrom", {{"configMapKeyRef", {{"name", "cm"}, {"key", "zz"}}}}}}})}};
  auto error = buildEnvironment(samplePod(), missingKey, "/d", context, lookup, &env);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->reason, "CreateContainerConfigError");
  EXPECT_EQ(error->message, "couldn't find key zz in ConfigMap load/cm");

  json missingSecret = {{"name", "runner"}, {"envFrom", json::array({{{"secretRef", {{"name", "gone"}}}}})}};
  error = buildEnvironment(samplePod(), missingSecret, "/d", context, lookup, &env);
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message, "secret \"gone\" not found");
}

class PodFilesTest : public ::testing::Test {
 protected:
  PodFilesTest() {
    std::string pattern = (fs::temp_directory_path() / "kts-podfiles-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) {
      dir_ = pattern;
    }
  }
  ~PodFilesTest() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

TEST_F(PodFilesTest, VolumesMountsAndServiceAccount) {
  json pod = samplePod();
  pod["spec"]["volumes"] = json::array(
      {{{"name", "cfg"},
        {"configMap", {{"name", "cm"}, {"items", json::array({{{"key", "A"}, {"path", "sub/a.txt"}}})}}}},
       {{"name", "proj"},
        {"projected",
         {{"sources",
           json::array(
               {{{"serviceAccountToken", {{"path", "tok"}}}},
                {{"secret", {{"name", "s"}}}},
                {{"downwardAPI",
                  {{"items", json::array({{{"path", "labels"},
                                           {"fieldRef", {{"fieldPath", "metadata.labels"}}}}})}}}}})}}}},
       {{"name", "scratch"}, {"emptyDir", json::object()}}});
  pod["spec"]["containers"][0]["volumeMounts"] =
      json::array({{{"name", "cfg"}, {"mountPath", "/etc/cfg"}},
                   {{"name", "cfg"}, {"mountPath", "/one.txt"}, {"subPath", "sub/a.txt"}},
                   {{"name", "proj"}, {"mountPath", "/var/proj"}},
                   {{"name", "scratch"}, {"mountPath", "/tmp/x"}}});
  PodContext context{"https://127.0.0.1:6443", "CA", "tok", "kts-node", {}};
  auto lookup = mapLookup({{"ConfigMap/load/cm", {{"data", {{"A", "aaa"}}}}},
                           {"Secret/load/s", {{"data", {{"pw", core::encodeBase64("pw!")}}}}}});
  ASSERT_EQ(preparePodFiles(pod, dir_, context, lookup), std::nullopt);
  EXPECT_EQ(read(dir_ / "root/etc/cfg/sub/a.txt"), "aaa");
  EXPECT_EQ(read(dir_ / "root/one.txt"), "aaa");
  EXPECT_EQ(read(dir_ / "root/var/proj/tok"), "tok");
  EXPECT_EQ(read(dir_ / "root/var/proj/pw"), "pw!");
  EXPECT_EQ(read(dir_ / "root/var/proj/labels"), "app=\"tokenstorm\"\n");
  EXPECT_TRUE(fs::is_directory(dir_ / "root/tmp/x"));
  EXPECT_EQ(read(dir_ / "root/var/run/secrets/kubernetes.io/serviceaccount/token"), "tok");
  EXPECT_EQ(read(dir_ / "root/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"), "CA");
  EXPECT_EQ(read(dir_ / "root/var/run/secrets/kubernetes.io/serviceaccount/namespace"), "load");
  EXPECT_EQ(json::parse(read(dir_ / "kubeconfig"))["contexts"][0]["context"]["namespace"], "load");
  // Running it again (a retry after an error) is fine.
  EXPECT_EQ(preparePodFiles(pod, dir_, context, lookup), std::nullopt);
}

TEST_F(PodFilesTest, MissingVolumeSourceAndHostilePaths) {
  json pod = samplePod();
  pod["spec"]["automountServiceAccountToken"] = false;
  pod["spec"]["volumes"] = json::array({{{"name", "cfg"}, {"configMap", {{"name", "nope"}}}}});
  PodContext context{"https://127.0.0.1:6443", "", "tok", "kts-node", {}};
  auto error = preparePodFiles(pod, dir_, context, mapLookup({}));
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->message, "MountVolume.SetUp failed for volume \"cfg\" : configmap \"nope\" not found");

  pod["spec"]["volumes"] =
      json::array({{{"name", "cfg"},
                    {"configMap",
                     {{"name", "cm"}, {"items", json::array({{{"key", "A"}, {"path", "../../escape"}}})}}}}});
  error = preparePodFiles(pod, dir_, context, mapLookup({{"ConfigMap/load/cm", {{"data", {{"A", "x"}}}}}}));
  ASSERT_TRUE(error.has_value());
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "escape"));
  EXPECT_FALSE(fs::exists(dir_ / "root/var/run/secrets"));
}

}  // namespace
}  // namespace tokenstorm::kts
