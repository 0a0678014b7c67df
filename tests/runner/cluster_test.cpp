// runner/src/cluster.cpp: the runner pod's environment and share, the start instant on a ManualClock, and
// against the Kubernetes API test server (in-process, HTTPS, the real kube::Client): the shard's snapshot
// sink (writes, a failed write and the one after it, the ConfigMap size limit) and the wait for startAt.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <sstream>
#include <thread>

#include "http/test_server.h"
#include "support/manual_clock.h"
#include "tokenstorm/kube/client.h"
#include "tokenstorm/kube/config.h"
#include "tokenstorm/kube/events.h"
#include "tokenstorm/runner/cluster.h"

namespace tokenstorm::runner {
namespace {

using nlohmann::json;
using std::chrono::system_clock;

kube::EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional(it->second);
  };
}

// ---- environment and share --------------------------------------------------------------------------

TEST(RunnerEnvTest, ReadsTheOperatorsVariables) {
  auto env = runnerEnvFrom(envOf({{"TOKENSTORM_PLAN", "lt-plan"},
                                  {"TOKENSTORM_NAMESPACE", "ns"},
                                  {"JOB_COMPLETION_INDEX", "1"},
                                  {"TOKENSTORM_POD", "lt-runners-1-abc"}}));
  ASSERT_TRUE(env.ok()) << env.error();
  EXPECT_EQ(env->plan, "lt-plan");
  EXPECT_EQ(env->ns, "ns");
  EXPECT_EQ(env->indexText, "1");
  EXPECT_EQ(env->pod, "lt-runners-1-abc");
}

TEST(RunnerEnvTest, AMissingVariableIsNamed) {
  auto no_index = runnerEnvFrom(envOf({{"TOKENSTORM_PLAN", "p"}, {"TOKENSTORM_NAMESPACE", "ns"}}));
  ASSERT_FALSE(no_index.ok());
  EXPECT_NE(no_index.error().find("JOB_COMPLETION_INDEX is not set"), std::string::npos) << no_index.error();
  auto no_plan = runnerEnvFrom(envOf({{"TOKENSTORM_NAMESPACE", "ns"}, {"JOB_COMPLETION_INDEX", "0"}}));
  ASSERT_FALSE(no_plan.ok());
  EXPECT_NE(no_plan.error().find("TOKENSTORM_PLAN"), std::string::npos);
  auto empty_ns = runnerEnvFrom(
      envOf({{"TOKENSTORM_PLAN", "p"}, {"TOKENSTORM_NAMESPACE", ""}, {"JOB_COMPLETION_INDEX", "0"}}));
  ASSERT_FALSE(empty_ns.ok());
  EXPECT_NE(empty_ns.error().find("TOKENSTORM_NAMESPACE"), std::string::npos);
}

TEST(RunnerShareTest, IndexOfRunners) {
  auto share = runnerShare("2", "3");
  ASSERT_TRUE(share.ok()) << share.error();
  EXPECT_EQ(share->index, 2);
  EXPECT_EQ(share->count, 3);
}

TEST(RunnerShareTest, BadValuesGiveClearErrors) {
  struct Case {
    std::string index, runners, want;
  };
  for (const Case& c : std::vector<Case>{
           {"2", "2", "JOB_COMPLETION_INDEX 2 is out of range: the plan has 2 runner(s), indexes 0 to 1"},
           {"x", "2", "JOB_COMPLETION_INDEX: must be a whole number (got \"x\")"},
           {"-1", "2", "JOB_COMPLETION_INDEX: must be a whole number (got \"-1\")"},
           {"99999999999999999999", "2", "JOB_COMPLETION_INDEX: must be a whole number"},
           {"0", "", "plan data.runners: must be a whole number of at least 1 (got \"\")"},
           {"0", "0", "plan data.runners: must be a whole number of at least 1 (got \"0\")"},
           {"0", "two", "plan data.runners: must be a whole number of at least 1 (got \"two\")"},
       }) {
    auto share = runnerShare(c.index, c.runners);
    ASSERT_FALSE(share.ok()) << c.index << " of " << c.runners;
    EXPECT_NE(share.error().find(c.want), std::string::npos) << share.error();
  }
}

TEST(ShardNameTest, FromTheLoadTestOrThePlan) {
  EXPECT_EQ(shardName("quickstart", "quickstart-plan", 1), "quickstart-shard-1");
  EXPECT_EQ(shardName("", "quickstart-plan", 0), "quickstart-shard-0");
  EXPECT_EQ(shardName("", "odd", 0), "odd-shard-0");
}

// ---- the start instant ------------------------------------------------------------------------------

TEST(StartInstantTest, AFutureWallInstantBecomesTheSameDistanceOnTheMonotonicClock) {
  testing::ManualClock clock(5'000'000'000);
  auto start_at = clock.wallNow() + std::chrono::milliseconds(1500);
  clock.advance(250'000'000);  // read later: the distance is what is left then
  StartInstant instant = startInstant(start_at, clock);
  EXPECT_EQ(instant.monoNanos, 5'000'000'000 + 1'500'000'000);
  EXPECT_EQ(instant.lateNanos, 0);
}

TEST(StartInstantTest, AnInstantAlreadyPastStartsAtOnceAndSaysHowLate) {
  testing::ManualClock clock(5'000'000'000);
  auto start_at = clock.wallNow();
  clock.advance(40'000'000);
  StartInstant instant = startInstant(start_at, clock);
  EXPECT_EQ(instant.monoNanos, 5'040'000'000);
  EXPECT_EQ(instant.lateNanos, 40'000'000);
  StartInstant exact = startInstant(clock.wallNow(), clock);
  EXPECT_EQ(exact.monoNanos, clock.monotonicNanos());
  EXPECT_EQ(exact.lateNanos, 0);
}

// ---- against the API test server --------------------------------------------------------------------

class ClusterServerTest : public kts::ServerTest {
 protected:
  ClusterServerTest() { tls_ = true; }
  void SetUp() override {
    kts::ServerTest::SetUp();
    client_ = clientWith({});
    ASSERT_TRUE(client_);
  }

  // Snapshot writes use a client without retries, as the runner does.
  std::unique_ptr<kube::Client> clientWith(kube::ClientOptions options) {
    auto config = kube::parseKubeconfig(server_->kubeconfig(), "test-kubeconfig");
    EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error());
    if (!config.ok()) {
      return nullptr;
    }
    options.qps = 0;
    auto made = kube::Client::fromConfig(*config, std::move(options));
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error());
    return made.ok() ? std::move(*made) : nullptr;
  }

  void createConfigMap(const std::string& name, json data) {
    json cm = {{"apiVersion", "v1"},
               {"kind", "ConfigMap"},
               {"metadata", {{"name", name}, {"namespace", "default"}}},
               {"data", std::move(data)}};
    auto created = client_->create(kube::resources::kConfigMaps, "default", cm);
    ASSERT_TRUE(created.ok()) << created.error().str();
  }
  json dataOf(const std::string& name) {
    auto got = client_->get(kube::resources::kConfigMaps, "default", name);
    EXPECT_TRUE(got.ok()) << got.error().str();
    return got.ok() ? got->value("data", json::object()) : json::object();
  }

  static core::Snapshot snapshot(int64_t sequence, bool final = false) {
    core::Snapshot s;
    s.runnerId = "runner-0";
    s.sequence = sequence;
    s.final = final;
    return s;
  }

  std::unique_ptr<kube::Client> client_;
};

TEST_F(ClusterServerTest, TheSinkWritesSnapshotJsonAndLeavesTheOtherKeys) {
  createConfigMap("lt-shard-0", {{"ready", "2026-01-01T00:00:00Z"}});
  auto no_retry = [] {
    kube::ClientOptions o;
    o.retry.max_attempts = 1;
    return o;
  };
  auto client = clientWith(no_retry());
  ShardConfigMap shard(*client, "default", "lt-shard-0");
  ConfigMapSnapshotSink sink(shard);
  std::string error;
  ASSERT_TRUE(sink.write(snapshot(1), &error)) << error;
  ASSERT_TRUE(sink.write(snapshot(2, true), &error)) << error;
  json data = dataOf("lt-shard-0");
  EXPECT_EQ(data["ready"], "2026-01-01T00:00:00Z");
  json written = json::parse(data["snapshot.json"].get<std::string>());
  EXPECT_EQ(written["sequence"], 2);
  EXPECT_EQ(written["final"], true);
  EXPECT_EQ(written["runnerId"], "runner-0");
}

TEST_F(ClusterServerTest, AFailedWriteReturnsFalseAndTheNextOneSucceeds) {
  createConfigMap("lt-shard-1", json::object());
  kube::ClientOptions options;
  options.retry.max_attempts = 1;
  auto client = clientWith(options);
  ShardConfigMap shard(*client, "default", "lt-shard-1");
  ConfigMapSnapshotSink sink(shard);
  server_->faults().failNext(1, 500, "PATCH", "", 0);
  std::string error;
  EXPECT_FALSE(sink.write(snapshot(1), &error));
  EXPECT_NE(error.find("lt-shard-1"), std::string::npos) << error;
  EXPECT_NE(error.find("500"), std::string::npos) << error;
  EXPECT_FALSE(dataOf("lt-shard-1").contains("snapshot.json"));
  error.clear();
  ASSERT_TRUE(sink.write(snapshot(2), &error)) << error;
  EXPECT_EQ(json::parse(dataOf("lt-shard-1")["snapshot.json"].get<std::string>())["sequence"], 2);
}

TEST_F(ClusterServerTest, AMissingShardIsAnErrorNamingIt) {
  ShardConfigMap shard(*client_, "default", "nobody-shard-0");
  ConfigMapSnapshotSink sink(shard);
  std::string error;
  EXPECT_FALSE(sink.write(snapshot(1), &error));
  EXPECT_NE(error.find("default/nobody-shard-0"), std::string::npos) << error;
  EXPECT_NE(error.find("404"), std::string::npos) << error;
}

TEST_F(ClusterServerTest, ASnapshotTooLargeForAConfigMapIsNotSentAndOneNearTheLimitWarns) {
  createConfigMap("lt-shard-2", json::object());
  ShardConfigMap shard(*client_, "default", "lt-shard-2");
  std::ostringstream warnings;
  ConfigMapSnapshotSink sink(shard, &warnings);
  core::Snapshot big = snapshot(1);
  big.runnerId.assign(1100 * 1024, 'x');
  std::string error;
  EXPECT_FALSE(sink.write(big, &error));
  EXPECT_NE(error.find("snapshot.json is 11"), std::string::npos) << error;
  EXPECT_NE(error.find("bytes, over what a ConfigMap holds"), std::string::npos) << error;

  core::Snapshot near = snapshot(2);
  near.runnerId.assign(950 * 1024, 'y');
  error.clear();
  EXPECT_TRUE(sink.write(near, &error)) << error;
  EXPECT_NE(warnings.str().find("near the 1 MiB"), std::string::npos) << warnings.str();
  EXPECT_TRUE(sink.write(near, &error)) << error;
  EXPECT_EQ(warnings.str().find("near the 1 MiB"), warnings.str().rfind("near the 1 MiB")) << "warned once";
}

TEST_F(ClusterServerTest, ASnapshotTooLargeForAConfigMapIsWrittenWithItsTimeSeriesCompacted) {
  createConfigMap("lt-shard-4", json::object());
  ShardConfigMap shard(*client_, "default", "lt-shard-4");
  std::ostringstream warnings;
  ConfigMapSnapshotSink sink(shard, &warnings);
  // Six hours of a time series with a spread of TTFTs each second: several MiB uncompacted.
  core::Snapshot big = snapshot(1);
  constexpr int64_t kSeconds = 6 * 3600;
  for (int64_t t = 0; t < kSeconds; ++t) {
    core::TimePoint& p = big.timeseries[t];
    for (int64_t i = 0; i < 20; ++i) {
      p.ttft.record((100 + (t * 7 + i * 131) % 900) * 1'000'000);
    }
    p.requests = p.ok = 20;
    p.outputTokens = 20 * 150;
    big.total.requests += 20;
    big.total.ok += 20;
    big.total.attempts += 20;
  }
  ASSERT_GT(core::toJson(big).dump().size(), 2 * static_cast<size_t>(kSnapshotMaxBytes));
  std::string error;
  ASSERT_TRUE(sink.write(big, &error)) << error;
  EXPECT_NE(warnings.str().find("its time series is compacted to fit"), std::string::npos) << warnings.str();
  std::string text = dataOf("lt-shard-4")["snapshot.json"].get<std::string>();
  EXPECT_LE(static_cast<int64_t>(text.size()), kSnapshotMaxBytes);
  auto written = core::parseSnapshot(text, &error);
  ASSERT_TRUE(written) << error;
  EXPECT_EQ(written->total, big.total);
  EXPECT_LT(written->timeseries.size(), big.timeseries.size());
  EXPECT_EQ(written->timeseries.rbegin()->first, kSeconds - 1) << "the last second kept at 1 s";
  EXPECT_EQ(written->timeseries.rbegin()->second, big.timeseries.rbegin()->second);
  int64_t requests = 0;
  for (const auto& [second, point] : written->timeseries) {
    requests += point.requests;
  }
  EXPECT_EQ(requests, big.total.requests);
  ASSERT_TRUE(sink.write(big, &error)) << error;
  EXPECT_EQ(warnings.str().find("compacted"), warnings.str().rfind("compacted")) << "said once";
}

TEST_F(ClusterServerTest, TheSinkBehindABackgroundSinkReportsTheLastFailureAtTheNextWrite) {
  createConfigMap("lt-shard-3", json::object());
  kube::ClientOptions options;
  options.retry.max_attempts = 1;
  auto client = clientWith(options);
  ShardConfigMap shard(*client, "default", "lt-shard-3");
  ConfigMapSnapshotSink inner(shard);
  BackgroundSnapshotSink sink(inner);
  server_->faults().failNext(1, 503, "PATCH", "", 0);
  std::string error;
  EXPECT_TRUE(sink.write(snapshot(1), &error)) << "handed over; nothing failed yet";
  EXPECT_FALSE(sink.flush(&error));
  EXPECT_NE(error.find("503"), std::string::npos) << error;
  error.clear();
  EXPECT_FALSE(sink.write(snapshot(2), &error)) << "the previous write failed";
  EXPECT_TRUE(sink.flush(&error)) << error;
  EXPECT_EQ(json::parse(dataOf("lt-shard-3")["snapshot.json"].get<std::string>())["sequence"], 2);
}

TEST_F(ClusterServerTest, WaitForStartAtSeesTheInstantWrittenWhileWatching) {
  createConfigMap("lt-plan", {{"runners", "2"}});
  auto start_at = system_clock::now() + std::chrono::seconds(3);
  std::string start_text = kube::formatMicroTime(start_at);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto patched = client_->patch(kube::resources::kConfigMaps, "default", "lt-plan", kube::PatchType::kMerge,
                                  {{"data", {{"startAt", start_text}}}});
    EXPECT_TRUE(patched.ok()) << patched.error().str();
  });
  kube::Cancellation cancellation;
  auto seen = waitForStartAt(*client_, "default", "lt-plan", cancellation);
  writer.join();
  ASSERT_TRUE(seen.ok()) << seen.error();
  ASSERT_TRUE(seen->has_value());
  EXPECT_EQ(kube::formatMicroTime(**seen), start_text);
}

TEST_F(ClusterServerTest, WaitForStartAtReturnsAtOnceWhenItIsThereAndFailsOnABadValue) {
  createConfigMap("ready-plan", {{"startAt", "2026-01-02T03:04:05Z"}});
  kube::Cancellation cancellation;
  auto seen = waitForStartAt(*client_, "default", "ready-plan", cancellation);
  ASSERT_TRUE(seen.ok()) << seen.error();
  EXPECT_TRUE(seen->has_value());

  createConfigMap("bad-plan", {{"startAt", "soon"}});
  auto bad = waitForStartAt(*client_, "default", "bad-plan", cancellation);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("data.startAt is not an RFC 3339 time (got \"soon\")"), std::string::npos)
      << bad.error();

  auto missing = waitForStartAt(*client_, "default", "no-plan", cancellation);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().find("not found"), std::string::npos) << missing.error();
}

TEST_F(ClusterServerTest, WaitForStartAtEndsEmptyWhenCancelled) {
  createConfigMap("idle-plan", {{"runners", "1"}});
  kube::Cancellation cancellation;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancellation.cancel();
  });
  auto seen = waitForStartAt(*client_, "default", "idle-plan", cancellation);
  canceller.join();
  ASSERT_TRUE(seen.ok()) << seen.error();
  EXPECT_FALSE(seen->has_value());
}

}  // namespace
}  // namespace tokenstorm::runner
