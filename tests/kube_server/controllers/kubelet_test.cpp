// The process kubelet with real processes (/bin/sh), on its own threads against a real store.
#include "kubelet.h"
#include "tokenstorm/core/base64.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "cluster_fixture.h"
#include "util.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

class KubeletTest : public ClusterTest {
 protected:
  void SetUp() override { startControllers(/*job_controller=*/false, /*kubelet=*/true); }

  static json terminated(const json& pod) {
    return containerStatus(pod).value("state", json::object()).value("terminated", json::object());
  }

  // Whether any process of group `pgid` is alive (zombies waiting for init to reap them do not count).
  static bool groupAlive(pid_t pgid) {
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) {
        continue;
      }
      // /proc/<pid>/stat: pid (comm) state ppid pgrp ...; comm may hold spaces, so parse after the last ')'.
      const std::string stat = readFile(entry.path() / "stat");
      const size_t close = stat.rfind(')');
      if (close == std::string::npos) {
        continue;
      }
      std::istringstream fields(stat.substr(close + 1));
      char state = 0;
      long ppid = 0;
      long pgrp = 0;
      fields >> state >> ppid >> pgrp;
      if (pgrp == pgid && state != 'Z') {
        return true;
      }
    }
    return false;
  }

  pid_t waitForPid(const std::string& pod) {
    json p = waitFor(
        pods_, pod,
        [](const json& x) {
          return !stringAt(x, {"metadata", "annotations", kPidAnnotation}).empty();
        },
        "the pid annotation of " + pod);
    return static_cast<pid_t>(std::stol(stringAt(p, {"metadata", "annotations", kPidAnnotation})));
  }
};

TEST_F(KubeletTest, ExitCodeIsReflectedInPodStatus) {
  create(pods_, shellPod("exit3", "exit 3"));
  json pod = waitForPhase("exit3", "Failed");
  EXPECT_EQ(pod["spec"]["nodeName"], "kts-node");
  const json& t = terminated(pod);
  EXPECT_EQ(t["exitCode"], 3);
  EXPECT_EQ(t["reason"], "Error");
  EXPECT_TRUE(t.contains("startedAt"));
  EXPECT_TRUE(t.contains("finishedAt"));
  EXPECT_EQ(pod["status"]["podIP"], "127.0.0.1");
  EXPECT_EQ(pod["status"]["hostIP"], "127.0.0.1");
  EXPECT_TRUE(conditionTrue(pod["status"]["conditions"], "PodScheduled"));
  EXPECT_TRUE(conditionTrue(pod["status"]["conditions"], "Initialized"));
  EXPECT_FALSE(conditionTrue(pod["status"]["conditions"], "Ready"));
}

TEST_F(KubeletTest, RunningPodIsReadyAndSucceedsWithLogs) {
  create(pods_, shellPod("ok", "echo out; echo err >&2; while [ ! -f done ]; do sleep 0.02; done"));
  json running = waitFor(
      pods_, "ok", [](const json& p) { return podCondition(p, "Ready"); }, "Ready");
  EXPECT_EQ(running["status"]["phase"], "Running");
  const json& cs = running["status"]["containerStatuses"][0];
  EXPECT_EQ(cs["ready"], true);
  EXPECT_EQ(cs["restartCount"], 0);
  EXPECT_TRUE(cs["state"]["running"].contains("startedAt"));
  EXPECT_TRUE(conditionTrue(running["status"]["conditions"], "ContainersReady"));
  EXPECT_TRUE(running["status"].contains("startTime"));

  std::ofstream(podDir(running) / "work" / "done") << "";
  json done = waitForPhase("ok", "Succeeded");
  EXPECT_EQ(terminated(done)["exitCode"], 0);
  EXPECT_EQ(terminated(done)["reason"], "Completed");
  EXPECT_EQ((*findCondition(done["status"]["conditions"], "Ready"))["reason"], "PodCompleted");
  const std::string log = readFile(containerLogPath(dataDir_, done["metadata"]["uid"], "main", 0));
  EXPECT_NE(log.find("out\n"), std::string::npos) << log;
  EXPECT_NE(log.find("err\n"), std::string::npos) << log;
}

TEST_F(KubeletTest, EnvironmentFromConfigMapSecretAndFields) {
  create(configMaps_,
         {{"metadata", {{"name", "settings"}}}, {"data", {{"greeting", "hello"}, {"level", "3"}}}});
  create(secrets_, {{"metadata", {{"name", "keys"}}}, {"data", {{"apiKey", core::encodeBase64("s3cret")}}}});
  json pod = shellPod("env", "env > env.txt");
  pod["metadata"]["labels"] = {{"app", "tokenstorm"}};
  pod["spec"]["serviceAccountName"] = "runner";
  pod["spec"]["containers"][0]["env"] = json::array({
      {{"name", "PLAIN"}, {"value", "x"}},
      {{"name", "DERIVED"}, {"value", "$(PLAIN)-y"}},
      {{"name", "GREETING"},
       {"valueFrom", {{"configMapKeyRef", {{"name", "settings"}, {"key", "greeting"}}}}}},
      {{"name", "API_KEY"}, {"valueFrom", {{"secretKeyRef", {{"name", "keys"}, {"key", "apiKey"}}}}}},
      {{"name", "MISSING"},
       {"valueFrom", {{"secretKeyRef", {{"name", "keys"}, {"key", "nope"}, {"optional", true}}}}}},
      {{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
      {{"name", "POD_NS"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}},
      {{"name", "POD_UID"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.uid"}}}}}},
      {{"name", "APP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.labels['app']"}}}}}},
      {{"name", "NODE"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}},
      {{"name", "SA"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.serviceAccountName"}}}}}},
      {{"name", "POD_IP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "status.podIP"}}}}}},
  });
  pod["spec"]["containers"][0]["envFrom"] =
      json::array({{{"configMapRef", {{"name", "settings"}}}, {"prefix", "CM_"}},
                   {{"secretRef", {{"name", "absent"}, {"optional", true}}}}});
  json created = create(pods_, pod);
  json done = waitForPhase("env", "Succeeded");
  const std::string env = "\n" + readFile(podDir(done) / "work" / "env.txt");
  const std::string dir = podDir(done).string();
  for (const std::string& line :
       {std::string("PLAIN=x"), std::string("DERIVED=x-y"), std::string("GREETING=hello"),
        std::string("API_KEY=s3cret"), std::string("POD_NAME=env"), std::string("POD_NS=default"),
        "POD_UID=" + created["metadata"]["uid"].get<std::string>(), std::string("APP=tokenstorm"),
        std::string("NODE=kts-node"), std::string("SA=runner"), std::string("POD_IP=127.0.0.1"),
        std::string("CM_greeting=hello"), std::string("CM_level=3"), "KTS_ROOT=" + dir + "/root",
        "KUBECONFIG=" + dir + "/kubeconfig", std::string("KUBERNETES_SERVICE_HOST=127.0.0.1"),
        std::string("KUBERNETES_SERVICE_PORT=6443"), std::string("HOSTNAME=env")}) {
    EXPECT_NE(env.find("\n" + line + "\n"), std::string::npos) << line << " not in:\n" << env;
  }
  EXPECT_EQ(env.find("MISSING="), std::string::npos);
}

TEST_F(KubeletTest, ConfigMapVolumeAndServiceAccountFilesUnderKtsRoot) {
  create(configMaps_,
         {{"metadata", {{"name", "plan"}}}, {"data", {{"plan.json", "{\"runners\":3}"}, {"other", "o"}}}});
  create(secrets_, {{"metadata", {{"name", "creds"}}}, {"data", {{"key", core::encodeBase64("k")}}}});
  json pod = shellPod(
      "volumes",
      "cat \"$KTS_ROOT/etc/plan/plan.json\" > out.txt; echo >> out.txt;"
      "cat \"$KTS_ROOT/secrets/renamed\" >> out.txt; echo >> out.txt;"
      "cat \"$KTS_ROOT/var/run/secrets/kubernetes.io/serviceaccount/namespace\" >> out.txt; echo >> out.txt;"
      "cat \"$KTS_ROOT/var/run/secrets/kubernetes.io/serviceaccount/token\" >> out.txt; echo >> out.txt;"
      "cat \"$KTS_ROOT/info/name\" >> out.txt; echo >> out.txt;"
      "cat \"$KUBECONFIG\" > kubeconfig.txt");
  pod["spec"]["volumes"] = json::array(
      {{{"name", "plan"}, {"configMap", {{"name", "plan"}}}},
       {{"name", "creds"},
        {"secret",
         {{"secretName", "creds"}, {"items", json::array({{{"key", "key"}, {"path", "renamed"}}})}}}},
       {{"name", "info"},
        {"downwardAPI",
         {{"items", json::array({{{"path", "name"}, {"fieldRef", {{"fieldPath", "metadata.name"}}}}})}}}}});
  pod["spec"]["containers"][0]["volumeMounts"] = json::array({{{"name", "plan"}, {"mountPath", "/etc/plan"}},
                                                              {{"name", "creds"}, {"mountPath", "/secrets"}},
                                                              {{"name", "info"}, {"mountPath", "/info"}}});
  create(pods_, pod);
  json done = waitForPhase("volumes", "Succeeded");
  EXPECT_EQ(readFile(podDir(done) / "work" / "out.txt"),
            "{\"runners\":3}\nk\ndefault\ntest-token\nvolumes\n");
  json kubeconfig = json::parse(readFile(podDir(done) / "work" / "kubeconfig.txt"));
  EXPECT_EQ(kubeconfig["current-context"], "kts");
  EXPECT_EQ(kubeconfig["clusters"][0]["cluster"]["server"], "https://127.0.0.1:6443");
  EXPECT_EQ(core::decodeBase64(
                kubeconfig["clusters"][0]["cluster"]["certificate-authority-data"].get<std::string>()),
            "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(kubeconfig["users"][0]["user"]["token"], "test-token");
  EXPECT_EQ(kubeconfig["contexts"][0]["context"]["namespace"], "default");
}

TEST_F(KubeletTest, MissingConfigMapKeepsPodPendingUntilItExists) {
  json pod = shellPod("waits", "echo \"$V\" > v.txt");
  pod["spec"]["containers"][0]["env"] =
      json::array({{{"name", "V"}, {"valueFrom", {{"configMapKeyRef", {{"name", "late"}, {"key", "v"}}}}}}});
  create(pods_, pod);
  json pending = waitFor(
      pods_, "waits",
      [](const json& p) {
        return stringAt(containerStatus(p), {"state", "waiting", "reason"}) == "CreateContainerConfigError";
      },
      "CreateContainerConfigError");
  EXPECT_EQ(pending["status"]["phase"], "Pending");
  EXPECT_EQ(stringAt(pending["status"]["containerStatuses"][0], {"state", "waiting", "message"}),
            "configmap \"late\" not found");

  create(configMaps_, {{"metadata", {{"name", "late"}}}, {"data", {{"v", "arrived"}}}});
  json done = waitForPhase("waits", "Succeeded");
  EXPECT_EQ(readFile(podDir(done) / "work" / "v.txt"), "arrived\n");
}

TEST_F(KubeletTest, DeleteSendsSigtermToTheProcessGroup) {
  create(pods_, shellPod("graceful",
                         "trap 'echo term > term.txt; exit 0' TERM; touch started;"
                         " while true; do sleep 0.02; done"));
  json running = waitForPhase("graceful", "Running");
  const pid_t pid = waitForPid("graceful");
  ASSERT_TRUE(waitForFile(podDir(running) / "work" / "started"));

  Result deleted = store_.remove(pods_, "default", "graceful", DeleteOptions{});
  ASSERT_TRUE(deleted.ok()) << deleted.error->message;
  EXPECT_TRUE(waitGone(pods_, "graceful"));
  EXPECT_EQ(readFile(podDir(running) / "work" / "term.txt"), "term\n");
  EXPECT_NE(::kill(pid, 0), 0);  // reaped
}

TEST_F(KubeletTest, DeleteEscalatesToSigkillAfterTheGracePeriod) {
  json pod = shellPod("stubborn", "trap '' TERM; touch started; while true; do sleep 0.02; done");
  pod["spec"]["terminationGracePeriodSeconds"] = 1;
  create(pods_, pod);
  json running = waitForPhase("stubborn", "Running");
  const pid_t pid = waitForPid("stubborn");
  ASSERT_TRUE(waitForFile(podDir(running) / "work" / "started"));

  const auto start = std::chrono::steady_clock::now();
  Result deleted = store_.remove(pods_, "default", "stubborn", DeleteOptions{});
  ASSERT_TRUE(deleted.ok()) << deleted.error->message;
  EXPECT_TRUE(deleted.object["metadata"].contains("deletionTimestamp"));
  EXPECT_TRUE(waitGone(pods_, "stubborn"));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(900));
  EXPECT_NE(::kill(pid, 0), 0);
  EXPECT_FALSE(groupAlive(pid));  // the sleeps went with it
}

TEST_F(KubeletTest, ProcessKilledFromOutsideIsError137) {
  create(pods_, shellPod("victim", "while true; do sleep 0.02; done"));
  waitForPhase("victim", "Running");
  const pid_t pid = waitForPid("victim");
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  json failed = waitForPhase("victim", "Failed");
  EXPECT_EQ(terminated(failed)["exitCode"], 137);
  EXPECT_EQ(terminated(failed)["reason"], "Error");
  EXPECT_EQ(terminated(failed)["signal"], 9);
}

TEST_F(KubeletTest, OomKillAnnotationIsReportedAsOomKilled) {
  create(pods_, shellPod("hungry", "while true; do sleep 0.02; done"));
  waitForPhase("hungry", "Running");
  waitForPid("hungry");
  Result annotated = store_.patch(pods_, "default", "hungry", PatchType::kMerge,
                                  R"({"metadata":{"annotations":{"kts.tokenstorm.dev/oom-kill":"1"}}})");
  ASSERT_TRUE(annotated.ok());
  json failed = waitForPhase("hungry", "Failed");
  EXPECT_EQ(terminated(failed)["exitCode"], 137);
  EXPECT_EQ(terminated(failed)["reason"], "OOMKilled");
}

TEST_F(KubeletTest, RestartPolicyOnFailureRestartsWithRestartCount) {
  create(pods_, shellPod("flaky", "if [ -f once ]; then exit 0; fi; touch once; exit 7", "OnFailure"));
  json done = waitForPhase("flaky", "Succeeded");
  const json& cs = done["status"]["containerStatuses"][0];
  EXPECT_EQ(cs["restartCount"], 1);
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 7);
  EXPECT_EQ(cs["state"]["terminated"]["exitCode"], 0);
  EXPECT_TRUE(std::filesystem::exists(containerLogPath(dataDir_, done["metadata"]["uid"], "main", 1)));
}

TEST_F(KubeletTest, ExecReadinessProbeDecidesReady) {
  json pod = shellPod("probed", "while true; do sleep 0.02; done");
  pod["spec"]["containers"][0]["readinessProbe"] = {
      {"exec", {{"command", json::array({"/bin/sh", "-c", "test -f ready"})}}}, {"periodSeconds", 1}};
  json created = create(pods_, pod);
  json running = waitForPhase("probed", "Running");
  EXPECT_FALSE(conditionTrue(running["status"]["conditions"], "Ready"));
  EXPECT_EQ(running["status"]["containerStatuses"][0]["ready"], false);
  std::ofstream(podDir(created) / "work" / "ready") << "";
  waitFor(
      pods_, "probed", [](const json& p) { return podCondition(p, "Ready"); }, "Ready");
}

TEST_F(KubeletTest, ProgramThatCannotStartIsStartError) {
  json pod = shellPod("nothing", "");
  pod["spec"]["containers"][0]["command"] = json::array({"/no/such/program"});
  create(pods_, pod);
  json failed = waitForPhase("nothing", "Failed");
  EXPECT_EQ(terminated(failed)["exitCode"], 128);
  EXPECT_EQ(terminated(failed)["reason"], "StartError");
}

}  // namespace
}  // namespace tokenstorm::kts
