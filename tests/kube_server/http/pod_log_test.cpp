// pods/log (`kubectl logs`): the output the process kubelet wrote, by container and run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "http/test_server.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

constexpr const char* kPods = "/api/v1/namespaces/default/pods";

class PodLogTest : public ServerTest {
 protected:
  void SetUp() override {
    pods_ = std::filesystem::temp_directory_path() /
            ("kts-pod-log-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
             std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::create_directories(pods_);
    ServerOptions options;
    options.podsDir = pods_.string();
    startServer(options);
  }
  void TearDown() override {
    ServerTest::TearDown();
    std::filesystem::remove_all(pods_);
  }

  // A pod with containers `main` and `side`; `main` restarted once. Returns its uid.
  std::string createPod() {
    json pod = {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata", {{"name", "runner-0"}}},
        {"spec", {{"containers", {{{"name", "main"}, {"image", "x"}}, {{"name", "side"}, {"image", "x"}}}}}}};
    int status = 0;
    json created = callJson("POST", kPods, pod.dump(), {}, &status);
    EXPECT_EQ(status, 201) << created.dump();
    created["status"]["containerStatuses"] = {{{"name", "main"}, {"restartCount", 1}}};
    json updated = callJson("PUT", std::string(kPods) + "/runner-0/status", created.dump(), {}, &status);
    EXPECT_EQ(status, 200) << updated.dump();
    return created["metadata"]["uid"].get<std::string>();
  }

  void writeLog(const std::string& uid, const std::string& container, int run, const std::string& text) {
    auto dir = pods_ / uid / "logs" / container;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / (std::to_string(run) + ".log")) << text;
  }

  std::filesystem::path pods_;
};

TEST_F(PodLogTest, ServesTheCurrentRunOfTheFirstContainer) {
  std::string uid = createPod();
  writeLog(uid, "main", 0, "first run\n");
  writeLog(uid, "main", 1, "line 1\nline 2\nline 3\n");
  auto r = call("GET", std::string(kPods) + "/runner-0/log");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain");
  EXPECT_EQ(r.body, "line 1\nline 2\nline 3\n");
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?previous=true").body, "first run\n");
}

TEST_F(PodLogTest, TailLinesAndLimitBytes) {
  std::string uid = createPod();
  writeLog(uid, "main", 1, "line 1\nline 2\nline 3");  // the last line has no LF yet
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?tailLines=2").body, "line 2\nline 3");
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?tailLines=0").body, "");
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?tailLines=9").body, "line 1\nline 2\nline 3");
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?limitBytes=4").body, "line");
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?tailLines=-1").status, 400);
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?limitBytes=x").status, 400);
}

TEST_F(PodLogTest, ContainerChoiceAndErrors) {
  std::string uid = createPod();
  writeLog(uid, "side", 0, "from the side\n");
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?container=side").body, "from the side\n");
  auto unknown = callJson("GET", std::string(kPods) + "/runner-0/log?container=nope");
  EXPECT_EQ(unknown["code"], 400);
  EXPECT_EQ(unknown["message"], "container nope is not valid for pod runner-0");
  // No run yet: waiting to start; no previous run of `side`.
  auto waiting = callJson("GET", std::string(kPods) + "/runner-0/log");
  EXPECT_EQ(waiting["message"], "container \"main\" in pod \"runner-0\" is waiting to start");
  EXPECT_EQ(call("GET", std::string(kPods) + "/runner-0/log?container=side&previous=true").status, 400);
  EXPECT_EQ(call("GET", std::string(kPods) + "/missing/log").status, 404);
  EXPECT_EQ(call("POST", std::string(kPods) + "/runner-0/log").status, 405);
}

}  // namespace
}  // namespace tokenstorm::kts
