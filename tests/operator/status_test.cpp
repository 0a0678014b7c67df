// Status: setCondition's transition rule, pod failures told apart, times, and status scenarios
// (tests/data/operator/status/*.case, scripts as in world_script.h ending in `status`: observed state in,
// phase, conditions and reasons out).
#include "tokenstorm/operator/status.h"

#include <gtest/gtest.h>

#include "world_script.h"

namespace tokenstorm::op {
namespace {

using nlohmann::json;

WallTime at(const char* text) {
  return *parseTime(text);
}

TEST(StatusCasesTest, EachObservedStateGivesExactlyItsStatus) {
  tokenstorm::testing::checkCases("operator/status", testing::runScript);
}

TEST(StatusTest, TimesAreRfc3339InUtc) {
  WallTime t = at("2025-01-15T10:00:05.123456Z");
  EXPECT_EQ(formatTime(t), "2025-01-15T10:00:05Z");
  EXPECT_EQ(formatTimeMillis(t), "2025-01-15T10:00:05.123Z");
  EXPECT_EQ(formatTime(at("2025-01-15T12:00:05+02:00")), "2025-01-15T10:00:05Z");
  EXPECT_FALSE(parseTime("yesterday").has_value());
  EXPECT_FALSE(parseTime("2025-01-15T10:00:05").has_value());
}

TEST(StatusTest, SetConditionKeepsTheTransitionTimeUnlessTheStatusChanges) {
  std::vector<core::Condition> c;
  EXPECT_TRUE(setCondition(&c, "Ready", "False", "WaitingForRunners", "0/2", at("2025-01-15T10:00:00Z"), 1));
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].lastTransitionTime, "2025-01-15T10:00:00Z");
  // Same status, new reason and message: not a transition.
  EXPECT_TRUE(setCondition(&c, "Ready", "False", "Running", "stage 1/1", at("2025-01-15T10:00:10Z"), 2));
  EXPECT_EQ(c[0].lastTransitionTime, "2025-01-15T10:00:00Z");
  EXPECT_EQ(c[0].reason, "Running");
  EXPECT_EQ(c[0].observedGeneration, 2);
  // Nothing new at all: no change reported.
  EXPECT_FALSE(setCondition(&c, "Ready", "False", "Running", "stage 1/1", at("2025-01-15T10:00:20Z"), 2));
  EXPECT_EQ(c[0].lastTransitionTime, "2025-01-15T10:00:00Z");
  // The status flips: a transition.
  EXPECT_TRUE(setCondition(&c, "Ready", "True", "ThresholdsMet", "", at("2025-01-15T10:00:30Z"), 2));
  EXPECT_EQ(c[0].lastTransitionTime, "2025-01-15T10:00:30Z");
  // Another type is appended, the first untouched.
  EXPECT_TRUE(setCondition(&c, "Complete", "True", "ThresholdsMet", "", at("2025-01-15T10:00:40Z"), 2));
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(findCondition(c, "Complete")->lastTransitionTime, "2025-01-15T10:00:40Z");
  EXPECT_EQ(findCondition(c, "Stalled"), nullptr);
}

json pod(const char* name, json status, const char* index = "0") {
  return {
      {"metadata", {{"name", name}, {"annotations", {{"batch.kubernetes.io/job-completion-index", index}}}}},
      {"status", std::move(status)}};
}

TEST(StatusTest, RunnerPodFailuresAreToldApart) {
  auto terminated = [](const char* reason, int code) {
    return json::array({{{"state", {{"terminated", {{"reason", reason}, {"exitCode", code}}}}}}});
  };
  auto waiting = [](const char* reason) {
    return json::array({{{"state", {{"waiting", {{"reason", reason}, {"message", "m"}}}}}}});
  };
  std::vector<json> pods{
      pod("p0", {{"phase", "Failed"}, {"containerStatuses", terminated("OOMKilled", 137)}}, "0"),
      pod("p1", {{"phase", "Pending"}, {"containerStatuses", waiting("ErrImagePull")}}, "1"),
      pod("p2", {{"phase", "Failed"}, {"containerStatuses", terminated("Error", 1)}}, "2"),
      pod("p3", {{"phase", "Pending"}, {"containerStatuses", waiting("CreateContainerConfigError")}}, "3"),
      pod("p4", {{"phase", "Running"}, {"containerStatuses", waiting("CrashLoopBackOff")}}, "4"),
      pod("p5", {{"phase", "Failed"}, {"reason", "Evicted"}, {"message", "low on memory"}}, "5"),
      pod("p6",
          {{"phase", "Running"}, {"conditions", json::array({{{"type", "Ready"}, {"status", "True"}}})}},
          "6"),
      pod("p7", {{"phase", "Succeeded"}, {"containerStatuses", terminated("Completed", 0)}}, "7"),
  };
  RunnerPods r = observeRunnerPods(pods, 8);
  EXPECT_EQ(r.desired, 8);
  EXPECT_EQ(r.ready, 1);
  EXPECT_EQ(r.active, 4);  // p1, p3, p4, p6
  EXPECT_EQ(r.succeeded, 1);
  EXPECT_EQ(r.failed, 3);
  ASSERT_EQ(r.failures.size(), 6u);
  EXPECT_EQ(describe(r.failures[0]),
            "runner 0 (pod p0): OOMKilled: out of memory (raise spec.runners.resources.limits.memory), exit "
            "code 137 (SIGKILL)");
  EXPECT_EQ(describe(r.failures[1]), "runner 1 (pod p1): image pull failed (ErrImagePull): m");
  EXPECT_EQ(describe(r.failures[2]), "runner 2 (pod p2): crashed (Error), exit code 1");
  EXPECT_EQ(
      describe(r.failures[3]),
      "runner 3 (pod p3): container could not be configured (CreateContainerConfigError; a missing Secret or "
      "key?): m");
  EXPECT_EQ(r.failures[4].kind, FailureKind::Crash);
  EXPECT_EQ(r.failures[4].reason, "CrashLoopBackOff");
  EXPECT_EQ(describe(r.failures[5]), "runner 5 (pod p5): evicted: low on memory");
}

TEST(StatusTest, HostilePodAndJobObjectsDoNotCrash) {
  std::vector<json> pods{json(), json::array(), json{{"status", 5}},
                         json{{"metadata", "x"}, {"status", {{"phase", 3}}}},
                         pod("p", {{"containerStatuses", json::array({1, json::object(), {{"state", 2}}})}})};
  RunnerPods r = observeRunnerPods(pods, 1);
  EXPECT_TRUE(r.failures.empty());
  JobState j = observeJob(json{{"status", {{"conditions", "nope"}}}});
  EXPECT_TRUE(j.exists);
  EXPECT_FALSE(j.failed);
}

TEST(StatusTest, JobConditions) {
  EXPECT_FALSE(observeJob(std::nullopt).exists);
  JobState failed = observeJob(json{{"status",
                                     {{"conditions", json::array({{{"type", "Failed"},
                                                                   {"status", "True"},
                                                                   {"reason", "DeadlineExceeded"},
                                                                   {"message", "late"}}})}}}});
  EXPECT_TRUE(failed.failed);
  EXPECT_EQ(failed.reason, "DeadlineExceeded");
  JobState done = observeJob(
      json{{"status", {{"conditions", json::array({{{"type", "Complete"}, {"status", "True"}}})}}}});
  EXPECT_TRUE(done.complete);
}

}  // namespace
}  // namespace tokenstorm::op
