// `tokenstorm run --in-cluster`: one runner pod of a LoadTest applied to a cluster, following
// docs/operator.md "The runner in a pod":
//
//   1. the cluster configuration: KUBECONFIG when set (the test server's kubelet sets it), else in-cluster;
//   2. the plan ConfigMap's loadtest.json, parsed and validated again (invalid: exit 2);
//   3. the share JOB_COMPLETION_INDEX of `runners`; API keys from TOKENSTORM_API_KEY_<i>, CA bundles from
//      TOKENSTORM_CA_FILE_<i> (the engine reads both, EngineOptions::inCluster);
//   4. `ready` into the shard, then a watch of the plan until `startAt` appears (on its own thread, so the
//      event loop keeps answering signals);
//   5. the engine starts at startAt, carried over to the monotonic clock; startSkewMs = actual − startAt;
//   6. snapshots to the shard every report.interval, written off the event loop (BackgroundSnapshotSink);
//   7. at the end or on SIGTERM/SIGINT: the final snapshot, outcome.json, this runner's table on stdout
//      (the pod log). Exit 0 finished or stopped, 1 could not run (or could not report), 2 invalid plan or
//      configuration.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "commands.h"
#include "run_support.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/core/validate.h"
#include "tokenstorm/kube/client.h"
#include "tokenstorm/kube/config.h"
#include "tokenstorm/kube/events.h"
#include "tokenstorm/runner/cluster.h"

namespace tokenstorm::app {
namespace {

namespace asio = boost::asio;
using std::chrono::system_clock;

constexpr int kExitDone = 0;
constexpr int kExitCannotRun = 1;
constexpr int kExitInvalid = 2;
constexpr const char* kPrefix = "tokenstorm run --in-cluster: ";

// Snapshot writes are not retried by the client: the next interval is the retry, and a write held up by
// retries would only delay a newer snapshot. The final one is tried again here, within the pod's
// termination grace period (30 s).
constexpr core::MonoNanos kSnapshotTimeoutNs = 10'000'000'000;
constexpr int kFinalSnapshotAttempts = 3;
constexpr auto kFinalSnapshotPause = std::chrono::milliseconds(500);

int fail(int code, const std::string& message) {
  std::cerr << kPrefix << message << "\n";
  return code;
}

std::string phaseName(core::Phase phase) {
  return std::string(core::enumName(phase));
}

}  // namespace

int runInCluster(const InClusterOptions& options) {
  const core::Clock& clock = core::RealClock::instance();
  // 1. Where and who this runner is, and the cluster configuration.
  auto env = runner::runnerEnvFrom(kube::processEnv());
  if (!env.ok()) {
    return fail(kExitInvalid, env.error());
  }
  auto config = kube::loadDefaultConfig(kube::processEnv());
  if (!config.ok()) {
    return fail(kExitInvalid, "cluster configuration: " + config.error());
  }
  auto client = kube::Client::fromConfig(*config);
  kube::ClientOptions snapshot_options;
  snapshot_options.retry.max_attempts = 1;
  snapshot_options.timeout_ns = kSnapshotTimeoutNs;
  auto snapshot_client = kube::Client::fromConfig(*config, snapshot_options);
  if (!client.ok() || !snapshot_client.ok()) {
    return fail(kExitInvalid,
                "cluster configuration: " + (client.ok() ? snapshot_client.error() : client.error()));
  }

  // 2. The plan, validated here too: a runner never trusts the operator's copy blindly.
  const std::string plan_ref = "configmap/" + env->ns + "/" + env->plan;
  auto plan_cm = (*client)->get(kube::resources::kConfigMaps, env->ns, env->plan);
  if (!plan_cm.ok()) {
    return fail(kExitCannotRun, "reading the plan: " + plan_cm.error().str());
  }
  const nlohmann::json data = plan_cm->value("data", nlohmann::json::object());
  auto text_of = [&](const char* key) -> std::optional<std::string> {
    auto it = data.find(key);
    return it != data.end() && it->is_string() ? std::optional(it->get<std::string>()) : std::nullopt;
  };
  auto loadtest_json = text_of(contract::kPlanKey);
  if (!loadtest_json) {
    return fail(kExitInvalid, plan_ref + ": no data." + contract::kPlanKey);
  }
  const std::string source = plan_ref + ":" + contract::kPlanKey;
  core::LoadResult loaded = core::parseLoadTests(*loadtest_json);
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) {
      std::cerr << e.str(source) << "\n";
    }
    return fail(kExitInvalid, "invalid plan");
  }
  if (loaded.tests.size() != 1) {
    return fail(kExitInvalid, source + ": holds " + std::to_string(loaded.tests.size()) +
                                  " LoadTests; a plan holds exactly one");
  }
  const core::LoadTest test = loaded.tests.front();
  core::Diagnostics invalid;
  if (!core::validate(test, &invalid)) {
    for (const auto& e : invalid) {
      std::cerr << e.str(source) << "\n";
    }
    return fail(kExitInvalid, "invalid plan");
  }
  const core::LoadTestSpec& spec = test.spec;
  if (spec.budget.pricingRef && !spec.budget.pricing) {
    return fail(kExitInvalid,
                source +
                    ": spec.budget.pricingRef: the operator resolves it into budget.pricing; "
                    "without prices no cost is counted and budget.maxCost could not stop the run");
  }

  // 3. This runner's share.
  auto share = runner::runnerShare(env->indexText, text_of(contract::kRunnersKey).value_or(""));
  if (!share.ok()) {
    return fail(kExitInvalid, plan_ref + ": " + share.error());
  }
  const std::string shard_name = runner::shardName(test.metadata.name, env->plan, share->index);
  core::LoadPlan plan = core::expandLoad(spec);

  std::vector<bool> simulated = simulatedEndpoints(spec, options.sim);
  bool all_sim = std::find(simulated.begin(), simulated.end(), false) == simulated.end();
  InProcessSim sim;
  std::vector<std::string> urls;
  std::string error;
  if (!routeToSimulator(simulated, sim::SimConfig{}, "", &sim, &urls, &error)) {
    return fail(kExitCannotRun, "cannot start the simulator: " + error);
  }

  runner::ShardConfigMap shard(**client, env->ns, shard_name);
  runner::ShardConfigMap snapshot_shard(**snapshot_client, env->ns, shard_name);
  runner::ConfigMapSnapshotSink configmap_sink(snapshot_shard, &std::cerr);
  runner::BackgroundSnapshotSink sink(configmap_sink);

  asio::io_context io;
  runner::EngineOptions engine_options;
  engine_options.share = *share;
  engine_options.seed = options.seed;
  engine_options.runnerId = env->pod.empty() ? "runner-" + std::to_string(share->index) : env->pod;
  engine_options.baseDir = std::filesystem::current_path();
  engine_options.urls = urls;
  engine_options.wordsPerToken = all_sim ? 1.0 : 0.75;
  engine_options.sink = &sink;
  engine_options.inCluster = true;
  core::Diagnostics errors;
  auto engine = runner::Engine::create(io, clock, spec, plan, engine_options, &errors);
  if (!engine) {
    for (const auto& e : errors) {
      std::cerr << e.str(source) << "\n";
    }
    return fail(kExitInvalid, "cannot set up the engine");
  }

  // 4.–7. on one event loop; the wait for startAt runs on its own thread and posts what it saw.
  auto guard = asio::make_work_guard(io);
  kube::Cancellation waiting;
  asio::steady_timer start_timer(io);
  bool started = false;
  system_clock::time_point started_wall{};
  std::optional<double> skew_ms;  // absent when a signal came before the start instant
  std::string wait_error;
  auto start_now = [&](core::MonoNanos at) {
    started = true;
    started_wall = clock.wallNow();
    engine->start(at);
  };
  // A signal while waiting still ends with a final (empty) snapshot and an outcome: start, then stop.
  StopOnSignal stop_on_signal(io, *engine, [&](int) {
    if (!started) {
      waiting.cancel();
      start_timer.cancel();
      start_now(clock.monotonicNanos());
    }
  });
  LiveProgress live(io, *engine, plan, spec);
  engine->onFinished([&] {
    stop_on_signal.cancel();
    if (!options.quiet) {
      live.finish();
    }
    guard.reset();
  });

  if (!shard.put(contract::kReadyKey, kube::formatMicroTime(clock.wallNow()), &error)) {
    return fail(kExitCannotRun, error);
  }
  std::cerr << kPrefix << env->ns << "/" << shard_name << ": runner " << share->index << " of "
            << share->count << ", ready; waiting for startAt in " << plan_ref << "\n";

  auto on_start_at = [&](const kube::Expected<std::optional<system_clock::time_point>>& seen) {
    if (started) {
      return;
    }
    if (!seen.ok()) {
      wait_error = seen.error();
      stop_on_signal.cancel();
      guard.reset();
      return;
    }
    if (!seen->has_value()) {
      return;  // cancelled: a signal is stopping the runner
    }
    system_clock::time_point start_at = **seen;
    runner::StartInstant instant = runner::startInstant(start_at, clock);
    start_timer.expires_after(std::chrono::nanoseconds(instant.monoNanos - clock.monotonicNanos()));
    start_timer.async_wait([&, start_at, instant](const boost::system::error_code& ec) {
      if (ec || started) {
        return;
      }
      // t = 0 is the planned instant: a timer that woke late shows as scheduling lag, and as skew here.
      start_now(instant.monoNanos);
      skew_ms = std::chrono::duration<double, std::milli>(started_wall - start_at).count();
      std::cerr << kPrefix << "started at " << kube::formatMicroTime(started_wall) << " (startAt "
                << kube::formatMicroTime(start_at) << ", skew " << *skew_ms << " ms)\n";
      if (!options.quiet) {
        live.start();
      }
    });
  };
  std::thread waiter([&] {
    auto seen = runner::waitForStartAt(**client, env->ns, env->plan, waiting, [](const std::string& why) {
      std::cerr << kPrefix << "waiting for startAt: " << why << " (trying again)\n";
    });
    asio::post(io, [&on_start_at, seen = std::move(seen)] { on_start_at(seen); });
  });
  io.run();
  waiting.cancel();
  waiter.join();
  if (!wait_error.empty()) {
    return fail(kExitCannotRun, wait_error);
  }

  // 7. The final snapshot (handed to the sink when the engine finished), then the outcome.
  const runner::EngineResult& result = engine->result();
  int code = kExitDone;
  bool wrote = sink.flush(&error);
  for (int attempt = 1; !wrote && attempt < kFinalSnapshotAttempts; ++attempt) {
    std::this_thread::sleep_for(kFinalSnapshotPause);
    wrote = configmap_sink.write(result.snapshot, &error);
  }
  if (!wrote) {
    std::cerr << kPrefix << "the final snapshot was not written: " << error << "\n";
    code = kExitCannotRun;
  }
  std::string message = result.message;
  if (result.overshootUsd) {
    message += " (overshoot $" + result.overshootUsd->money() + ")";
  }
  nlohmann::json outcome = {{"phase", phaseName(result.phase)},
                            {"reason", result.reason},
                            {"message", message},
                            {"elapsedS", result.elapsedS},
                            {"cpuPercent", result.cpuPercent},
                            {"startedAt", kube::formatMicroTime(started_wall)},
                            {"startSkewMs", skew_ms ? nlohmann::json(*skew_ms) : nlohmann::json(nullptr)}};
  if (!shard.put(contract::kOutcomeKey, outcome.dump(), &error)) {
    std::cerr << kPrefix << error << "\n";
    code = kExitCannotRun;
  }

  core::Report report = core::buildReport(spec, plan, result.snapshot, runOutcome(result));
  std::cout << "Runner " << share->index << " of " << share->count << " (" << env->ns << "/" << shard_name
            << "): this runner's share only; the operator merges the shards.\n"
            << core::renderTerminal(report);
  return code;
}

}  // namespace tokenstorm::app
