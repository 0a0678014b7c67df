// Both controllers on their threads against a real store, with pods as real /bin/sh processes.
#include "controllers.h"

#include <gtest/gtest.h>
#include <signal.h>

#include "cluster_fixture.h"
#include "util.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

json shellJob(const std::string& name, const std::string& script, int completions,
              json extra = json::object()) {
  json spec = {{"completionMode", "Indexed"},
               {"completions", completions},
               {"parallelism", completions},
               {"backoffLimit", 0},
               {"template",
                {{"spec",
                  {{"restartPolicy", "Never"},
                   {"terminationGracePeriodSeconds", 5},
                   {"containers", json::array({{{"name", "runner"},
                                                {"image", "tokenstorm"},
                                                {"command", json::array({"/bin/sh", "-c", script})}}})}}}}}};
  spec.update(extra);
  return {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", {{"name", name}}}, {"spec", spec}};
}

class ControllersTest : public ClusterTest {
 protected:
  void SetUp() override { startControllers(); }

  json jobPods(const std::string& job) {
    ListOptions options;
    options.labelSelector = "batch.kubernetes.io/job-name=" + job;
    Result listed = store_.list(pods_, "default", options);
    EXPECT_TRUE(listed.ok());
    return listed.object["items"];
  }

  json waitForJobCondition(const std::string& job, const std::string& type) {
    return waitFor(
        jobs_, job,
        [&](const json& j) {
          return conditionTrue(j.value("status", json::object()).value("conditions", json::array()), type);
        },
        "job " + job + " condition " + type);
  }
};

TEST_F(ControllersTest, IndexedJobRunsToComplete) {
  create(jobs_, shellJob("three", "echo \"$JOB_COMPLETION_INDEX\" > index.txt", 3));
  json job = waitForJobCondition("three", "Complete");
  EXPECT_EQ(job["status"]["succeeded"], 3);
  EXPECT_EQ(job["status"]["completedIndexes"], "0-2");
  EXPECT_TRUE(job["status"].contains("completionTime"));
  EXPECT_TRUE(job["status"].contains("startTime"));

  json pods = jobPods("three");
  ASSERT_EQ(pods.size(), 3u);
  std::set<std::string> indexes;
  for (const auto& pod : pods) {
    EXPECT_EQ(pod["status"]["phase"], "Succeeded");
    const std::string index = stringAt(pod, {"metadata", "annotations", kJobCompletionIndex});
    EXPECT_EQ(pod["metadata"]["name"].get<std::string>().rfind("three-" + index + "-", 0), 0u);
    EXPECT_EQ(readFile(podDir(pod) / "work" / "index.txt"), index + "\n");
    indexes.insert(index);
  }
  EXPECT_EQ(indexes, (std::set<std::string>{"0", "1", "2"}));
}

TEST_F(ControllersTest, FinishedJobIsDeletedAfterItsTtl) {
  create(jobs_, shellJob("brief", "true", 1, {{"ttlSecondsAfterFinished", 1}}));
  waitForJobCondition("brief", "Complete");
  EXPECT_TRUE(waitGone(jobs_, "brief"));
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (!jobPods("brief").empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(jobPods("brief").empty());
}

TEST_F(ControllersTest, FailedPodFailsTheJobPastBackoffLimit) {
  create(jobs_, shellJob("fails", "exit 2", 1));
  json job = waitForJobCondition("fails", "Failed");
  EXPECT_EQ(job["status"]["failed"], 1);
  EXPECT_EQ((*findCondition(job["status"]["conditions"], "Failed"))["reason"], "BackoffLimitExceeded");
}

TEST_F(ControllersTest, ActiveDeadlineTerminatesRunningPods) {
  create(jobs_, shellJob("slow", "trap 'exit 143' TERM; while true; do sleep 0.02; done", 2,
                         {{"activeDeadlineSeconds", 1}}));
  json job = waitForJobCondition("slow", "Failed");
  EXPECT_EQ((*findCondition(job["status"]["conditions"], "Failed"))["reason"], "DeadlineExceeded");
  EXPECT_TRUE(jobPods("slow").empty());  // deleted, and the kubelet finished their deletion
}

TEST_F(ControllersTest, DeletingTheJobRemovesItsPodsAndProcesses) {
  create(jobs_, shellJob("doomed", "while true; do sleep 0.02; done", 2));
  std::vector<pid_t> pids;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (pids.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    pids.clear();
    for (const auto& pod : jobPods("doomed")) {
      const std::string pid = stringAt(pod, {"metadata", "annotations", kPidAnnotation});
      if (!pid.empty()) {
        pids.push_back(static_cast<pid_t>(std::stol(pid)));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(pids.size(), 2u);

  DeleteOptions background;
  background.propagationPolicy = "Background";
  ASSERT_TRUE(store_.remove(jobs_, "default", "doomed", background).ok());
  const auto until = std::chrono::steady_clock::now() + kWait;
  while (!jobPods("doomed").empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(jobPods("doomed").empty());
  for (pid_t pid : pids) {
    EXPECT_NE(::kill(pid, 0), 0) << pid;
  }
}

}  // namespace
}  // namespace tokenstorm::kts
