// The Job controller's decisions, on a ManualClock, without threads or a store: each test plays the part
// of the store and the kubelet by applying the decision to a list of pods and changing their phases.
#include "job_controller.h"

#include <gtest/gtest.h>

#include "support/manual_clock.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

constexpr int64_t kSecond = 1'000'000'000;

json makeJob(json spec) {
  if (!spec.contains("template")) {
    spec["template"] = {{"spec",
                         {{"restartPolicy", "Never"},
                          {"containers", json::array({{{"name", "runner"},
                                                       {"image", "tokenstorm"},
                                                       {"command", json::array({"sh", "-c", "true"})}}})}}}};
  }
  return {{"apiVersion", "batch/v1"},
          {"kind", "Job"},
          {"metadata", {{"name", "run"}, {"namespace", "ns"}, {"uid", "job-uid"}}},
          {"spec", spec}};
}

// The store and the kubelet, as far as the Job controller can tell.
class JobSim {
 public:
  explicit JobSim(json job) : job_(std::move(job)) {}

  JobDecision sync() {
    JobDecision decision = reconcileJob(job_, pods_, clock_.wallNow());
    for (const auto& name : decision.podsToDelete) {
      for (auto& pod : pods_) {
        if (pod["metadata"]["name"] == name) {
          pod["metadata"]["deletionTimestamp"] = formatTime(clock_.wallNow());  // graceful: terminating
        }
      }
    }
    for (auto pod : decision.podsToCreate) {
      pod["metadata"]["name"] =
          pod["metadata"]["generateName"].get<std::string>() + "x" + std::to_string(next_++);
      pod["metadata"]["uid"] = "pod-uid-" + std::to_string(next_);
      pod["status"] = {{"phase", "Pending"}};
      pods_.push_back(pod);
    }
    job_["status"] = decision.status;
    return decision;
  }

  // Index → the live (not terminal, not deleting) pod of that index.
  json* activePod(int index) {
    for (auto& pod : pods_) {
      const std::string phase = pod["status"]["phase"];
      if (!pod["metadata"].contains("deletionTimestamp") && phase != "Succeeded" && phase != "Failed" &&
          stringAt(pod, {"metadata", "annotations", kJobCompletionIndex}) == std::to_string(index)) {
        return &pod;
      }
    }
    return nullptr;
  }
  void setPhase(int index, const std::string& phase) {
    json* pod = activePod(index);
    ASSERT_NE(pod, nullptr) << "no active pod for index " << index;
    (*pod)["status"]["phase"] = phase;
  }
  // The kubelet finished every terminating pod.
  void finishTerminating() {
    std::erase_if(pods_, [](const json& pod) { return pod["metadata"].contains("deletionTimestamp"); });
  }
  size_t countActive() const {
    size_t n = 0;
    for (const auto& pod : pods_) {
      const std::string phase = pod["status"]["phase"];
      n += !pod["metadata"].contains("deletionTimestamp") && phase != "Succeeded" && phase != "Failed";
    }
    return n;
  }

  json& job() { return job_; }
  const json& status() const { return job_["status"]; }
  std::vector<json>& pods() { return pods_; }
  testing::ManualClock& clock() { return clock_; }

 private:
  json job_;
  std::vector<json> pods_;
  testing::ManualClock clock_;
  int next_ = 0;
};

// A copy of the condition (so the pointer outlives the status it came from), null when absent.
std::shared_ptr<json> condition(const json& status, const std::string& type) {
  const json* found = status.contains("conditions") ? findCondition(status["conditions"], type) : nullptr;
  return found == nullptr ? nullptr : std::make_shared<json>(*found);
}

TEST(JobControllerTest, IndexedJobCreatesPodsUpToParallelism) {
  JobSim sim(makeJob({{"completionMode", "Indexed"}, {"completions", 5}, {"parallelism", 2}}));
  JobDecision first = sim.sync();
  ASSERT_EQ(first.podsToCreate.size(), 2u);
  EXPECT_TRUE(first.podsToDelete.empty());
  EXPECT_TRUE(first.statusChanged);
  EXPECT_EQ(sim.status()["active"], 2);
  EXPECT_EQ(sim.status()["startTime"], formatTime(sim.clock().wallNow()));
  EXPECT_EQ(sim.status()["completedIndexes"], "");

  const json& pod = first.podsToCreate[1];
  EXPECT_EQ(pod["metadata"]["generateName"], "run-1-");
  EXPECT_EQ(pod["metadata"]["namespace"], "ns");
  EXPECT_EQ(pod["metadata"]["annotations"][kJobCompletionIndex], "1");
  const json& labels = pod["metadata"]["labels"];
  EXPECT_EQ(labels[kJobCompletionIndex], "1");
  EXPECT_EQ(labels[kJobControllerUidLabel], "job-uid");
  EXPECT_EQ(labels[kJobNameLabel], "run");
  EXPECT_EQ(labels["controller-uid"], "job-uid");
  EXPECT_EQ(labels["job-name"], "run");
  const json& owner = pod["metadata"]["ownerReferences"][0];
  EXPECT_EQ(owner["kind"], "Job");
  EXPECT_EQ(owner["uid"], "job-uid");
  EXPECT_EQ(owner["controller"], true);
  EXPECT_EQ(owner["blockOwnerDeletion"], true);
  EXPECT_EQ(pod["spec"]["hostname"], "run-1");
  const json& env = pod["spec"]["containers"][0]["env"][0];
  EXPECT_EQ(env["name"], "JOB_COMPLETION_INDEX");
  EXPECT_EQ(env["valueFrom"]["fieldRef"]["fieldPath"],
            "metadata.annotations['batch.kubernetes.io/job-completion-index']");

  // Nothing changed: nothing to do (no duplicate pods, no status write).
  JobDecision again = sim.sync();
  EXPECT_TRUE(again.podsToCreate.empty());
  EXPECT_FALSE(again.statusChanged);

  // Index 0 succeeds: index 2 starts, the next pending one.
  sim.setPhase(0, "Succeeded");
  JobDecision next = sim.sync();
  ASSERT_EQ(next.podsToCreate.size(), 1u);
  EXPECT_EQ(next.podsToCreate[0]["metadata"]["generateName"], "run-2-");
  EXPECT_EQ(sim.status()["succeeded"], 1);
  EXPECT_EQ(sim.status()["completedIndexes"], "0");
}

TEST(JobControllerTest, ReadyCountsActivePodsWithReadyCondition) {
  JobSim sim(makeJob({{"completionMode", "Indexed"}, {"completions", 2}, {"parallelism", 2}}));
  sim.sync();
  EXPECT_EQ(sim.status()["ready"], 0);
  json* pod = sim.activePod(0);
  (*pod)["status"] = {{"phase", "Running"},
                      {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}};
  sim.sync();
  EXPECT_EQ(sim.status()["ready"], 1);
  EXPECT_EQ(sim.status()["active"], 2);
}

TEST(JobControllerTest, FailedIndexIsReplacedUntilBackoffLimit) {
  JobSim sim(
      makeJob({{"completionMode", "Indexed"}, {"completions", 2}, {"parallelism", 2}, {"backoffLimit", 1}}));
  sim.sync();
  sim.setPhase(0, "Failed");
  JobDecision replaced = sim.sync();
  ASSERT_EQ(replaced.podsToCreate.size(), 1u);
  EXPECT_EQ(replaced.podsToCreate[0]["metadata"]["generateName"], "run-0-");
  EXPECT_EQ(sim.status()["failed"], 1);
  EXPECT_EQ(sim.status()["active"], 2);
  EXPECT_EQ(condition(sim.status(), "FailureTarget"), nullptr);

  // A second failure passes backoffLimit 1: the other pods are deleted, Failed waits for them.
  sim.setPhase(0, "Failed");
  JobDecision failing = sim.sync();
  EXPECT_TRUE(failing.podsToCreate.empty());
  ASSERT_EQ(failing.podsToDelete.size(), 1u);
  EXPECT_EQ(sim.status()["failed"], 2);
  ASSERT_NE(condition(sim.status(), "FailureTarget"), nullptr);
  EXPECT_EQ((*condition(sim.status(), "FailureTarget"))["reason"], "BackoffLimitExceeded");
  EXPECT_EQ(condition(sim.status(), "Failed"), nullptr);
  EXPECT_EQ(sim.status()["terminating"], 1);

  sim.finishTerminating();
  sim.clock().advance(kSecond);
  sim.sync();
  auto failed = condition(sim.status(), "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ((*failed)["status"], "True");
  EXPECT_EQ((*failed)["reason"], "BackoffLimitExceeded");
  EXPECT_EQ((*failed)["message"], "Job has reached the specified backoff limit");
  EXPECT_EQ((*failed)["lastTransitionTime"], formatTime(sim.clock().wallNow()));
  EXPECT_FALSE(sim.status().contains("completionTime"));

  // Failed is final: later time and pod changes do nothing.
  sim.clock().advance(kSecond);
  sim.pods().clear();
  JobDecision after = sim.sync();
  EXPECT_FALSE(after.statusChanged);
  EXPECT_TRUE(after.podsToCreate.empty());
}

TEST(JobControllerTest, OnFailureRestartsCountTowardsBackoffLimit) {
  json job = makeJob({{"completionMode", "Indexed"}, {"completions", 1}, {"backoffLimit", 2}});
  job["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure";
  JobSim sim(job);
  sim.sync();
  (*sim.activePod(0))["status"] = {
      {"phase", "Running"}, {"containerStatuses", json::array({{{"name", "runner"}, {"restartCount", 3}}})}};
  JobDecision decision = sim.sync();
  ASSERT_EQ(decision.podsToDelete.size(), 1u);
  EXPECT_EQ((*condition(sim.status(), "FailureTarget"))["reason"], "BackoffLimitExceeded");
}

TEST(JobControllerTest, IndexedJobCompletesWhenEveryIndexSucceeded) {
  JobSim sim(makeJob({{"completionMode", "Indexed"}, {"completions", 3}, {"parallelism", 3}}));
  sim.sync();
  sim.setPhase(0, "Succeeded");
  sim.setPhase(2, "Succeeded");
  JobDecision partial = sim.sync();
  EXPECT_TRUE(partial.podsToCreate.empty());
  EXPECT_EQ(sim.status()["completedIndexes"], "0,2");
  EXPECT_EQ(sim.status()["succeeded"], 2);
  EXPECT_EQ(sim.status()["active"], 1);
  EXPECT_EQ(condition(sim.status(), "Complete"), nullptr);

  sim.clock().advance(5 * kSecond);
  sim.setPhase(1, "Succeeded");
  sim.sync();
  EXPECT_EQ(sim.status()["completedIndexes"], "0-2");
  EXPECT_EQ(sim.status()["succeeded"], 3);
  EXPECT_FALSE(sim.status().contains("active"));
  ASSERT_NE(condition(sim.status(), "SuccessCriteriaMet"), nullptr);
  auto complete = condition(sim.status(), "Complete");
  ASSERT_NE(complete, nullptr);
  EXPECT_EQ((*complete)["status"], "True");
  EXPECT_EQ((*complete)["reason"], "CompletionsReached");
  EXPECT_EQ(sim.status()["completionTime"], formatTime(sim.clock().wallNow()));

  // The succeeded pods may go away (TTL, manual delete): the count stays.
  sim.pods().clear();
  JobDecision after = sim.sync();
  EXPECT_FALSE(after.statusChanged);
}

TEST(JobControllerTest, ActiveDeadlineFailsTheJobAndDeletesItsPods) {
  JobSim sim(makeJob({{"completionMode", "Indexed"},
                      {"completions", 2},
                      {"parallelism", 2},
                      {"activeDeadlineSeconds", 10}}));
  JobDecision first = sim.sync();
  ASSERT_TRUE(first.requeueAfter.has_value());
  EXPECT_EQ(*first.requeueAfter, std::chrono::seconds(10));

  sim.clock().advance(9 * kSecond);
  JobDecision early = sim.sync();
  EXPECT_TRUE(early.podsToDelete.empty());
  EXPECT_EQ(*early.requeueAfter, std::chrono::seconds(1));

  sim.clock().advance(kSecond);
  JobDecision late = sim.sync();
  EXPECT_EQ(late.podsToDelete.size(), 2u);
  EXPECT_TRUE(late.podsToCreate.empty());
  EXPECT_EQ((*condition(sim.status(), "FailureTarget"))["reason"], "DeadlineExceeded");
  EXPECT_EQ(condition(sim.status(), "Failed"), nullptr);
  EXPECT_EQ(sim.status()["terminating"], 2);

  sim.finishTerminating();
  sim.sync();
  auto failed = condition(sim.status(), "Failed");
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ((*failed)["reason"], "DeadlineExceeded");
  EXPECT_EQ((*failed)["message"], "Job was active longer than specified deadline");
  EXPECT_EQ(sim.status()["terminating"], 0);
}

TEST(JobControllerTest, SuspendDeletesPodsAndResumeRestartsTheDeadline) {
  json job = makeJob({{"completionMode", "Indexed"},
                      {"completions", 2},
                      {"parallelism", 2},
                      {"suspend", true},
                      {"activeDeadlineSeconds", 60}});
  JobSim sim(job);
  JobDecision created = sim.sync();
  EXPECT_TRUE(created.podsToCreate.empty());
  EXPECT_FALSE(sim.status().contains("startTime"));
  auto suspended = condition(sim.status(), "Suspended");
  ASSERT_NE(suspended, nullptr);
  EXPECT_EQ((*suspended)["status"], "True");
  EXPECT_EQ((*suspended)["reason"], "JobSuspended");

  sim.clock().advance(100 * kSecond);  // suspended time does not count towards the deadline
  sim.job()["spec"]["suspend"] = false;
  JobDecision resumed = sim.sync();
  EXPECT_EQ(resumed.podsToCreate.size(), 2u);
  EXPECT_EQ((*condition(sim.status(), "Suspended"))["status"], "False");
  EXPECT_EQ((*condition(sim.status(), "Suspended"))["reason"], "JobResumed");
  EXPECT_EQ(sim.status()["startTime"], formatTime(sim.clock().wallNow()));

  sim.clock().advance(10 * kSecond);
  sim.job()["spec"]["suspend"] = true;
  JobDecision again = sim.sync();
  EXPECT_EQ(again.podsToDelete.size(), 2u);
  EXPECT_EQ((*condition(sim.status(), "Suspended"))["status"], "True");
  EXPECT_FALSE(sim.status().contains("active"));
  EXPECT_EQ(condition(sim.status(), "Failed"), nullptr);
}

TEST(JobControllerTest, TtlAfterFinishedDeletesTheJob) {
  JobSim sim(makeJob({{"ttlSecondsAfterFinished", 30}}));
  sim.sync();
  sim.pods()[0]["status"]["phase"] = "Succeeded";
  sim.sync();
  ASSERT_NE(condition(sim.status(), "Complete"), nullptr);
  JobDecision waiting = sim.sync();
  EXPECT_FALSE(waiting.deleteJob);
  ASSERT_TRUE(waiting.requeueAfter.has_value());
  EXPECT_EQ(*waiting.requeueAfter, std::chrono::seconds(30));
  sim.clock().advance(30 * kSecond);
  EXPECT_TRUE(sim.sync().deleteJob);
}

TEST(JobControllerTest, NonIndexedJobRunsCompletionsPods) {
  JobSim sim(makeJob({{"completions", 3}, {"parallelism", 2}}));
  JobDecision first = sim.sync();
  ASSERT_EQ(first.podsToCreate.size(), 2u);
  const json& pod = first.podsToCreate[0];
  EXPECT_EQ(pod["metadata"]["generateName"], "run-");
  EXPECT_FALSE(pod["metadata"]["labels"].contains(kJobCompletionIndex));
  EXPECT_FALSE(pod["spec"]["containers"][0].contains("env"));

  sim.pods()[0]["status"]["phase"] = "Succeeded";
  EXPECT_EQ(sim.sync().podsToCreate.size(), 1u);
  for (auto& p : sim.pods()) {
    p["status"]["phase"] = "Succeeded";
  }
  sim.sync();
  EXPECT_EQ(sim.status()["succeeded"], 3);
  EXPECT_NE(condition(sim.status(), "Complete"), nullptr);
}

TEST(JobControllerTest, DefaultsToOneCompletion) {
  JobSim sim(makeJob(json::object()));
  EXPECT_EQ(sim.sync().podsToCreate.size(), 1u);
  sim.pods()[0]["status"]["phase"] = "Succeeded";
  sim.sync();
  EXPECT_NE(condition(sim.status(), "Complete"), nullptr);
}

TEST(JobControllerTest, LoweredParallelismDeletesHighestIndexes) {
  JobSim sim(makeJob({{"completionMode", "Indexed"}, {"completions", 4}, {"parallelism", 3}}));
  sim.sync();
  sim.job()["spec"]["parallelism"] = 1;
  JobDecision lowered = sim.sync();
  ASSERT_EQ(lowered.podsToDelete.size(), 2u);
  EXPECT_EQ(sim.countActive(), 1u);
  EXPECT_NE(sim.activePod(0), nullptr);
}

TEST(JobControllerTest, CompletedIndexesText) {
  EXPECT_EQ(formatIndexes({}), "");
  EXPECT_EQ(formatIndexes({0, 1, 2, 4}), "0-2,4");
  EXPECT_EQ(formatIndexes({1, 2}), "1-2");
  EXPECT_EQ(formatIndexes({3, 5, 7}), "3,5,7");
  EXPECT_EQ(parseIndexes("0-2,4"), (std::vector<int64_t>{0, 1, 2, 4}));
  EXPECT_EQ(parseIndexes("x,3,-,5-4,6"), (std::vector<int64_t>{3, 6}));
}

}  // namespace
}  // namespace tokenstorm::kts
