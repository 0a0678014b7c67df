// `tokenstorm run FILE`: one LoadTest, in-process, against its endpoints or the built-in simulator.
#include <nlohmann/json.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "commands.h"
#include "run_support.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/core/stages.h"
#include "tokenstorm/core/validate.h"
#include "tokenstorm/runner/engine.h"

namespace tokenstorm::app {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

constexpr int kExitInvalid = 2;
constexpr int kExitAborted = 3;
constexpr int kExitInternal = 4;
constexpr const char* kSimConfigAnnotation = "tokenstorm.dev/sim-config";

constexpr const char* kRunUsage =
    R"(Usage: tokenstorm run FILE [--out DIR] [--sim] [--sim-config FILE] [--sim-truth FILE]
                      [--seed N] [--quiet]
       tokenstorm run --in-cluster [--sim] [--seed N] [--quiet]

Runs one LoadTest here, in-process (spec.runners is ignored: this process is the one runner), against its
endpoints. An endpoint whose url is sim:// is the built-in simulator, started on a loopback port; its
config comes from --sim-config or the LoadTest's annotation tokenstorm.dev/sim-config (a file path
relative to the LoadTest file), else the simulator's defaults.

While it runs: a live status line on a terminal, a line per report.interval otherwise. Ctrl-C stops the
test cleanly and still writes the report (phase Aborted). At the end: a summary table, and in DIR
(default ./tokenstorm-out/NAME): report.json (docs/metrics.md), junit.xml (one test case per threshold)
and snapshots.jsonl (the runner's snapshots, one per report.interval).

  --out DIR           where the report files go
  --sim               send every endpoint's traffic to the built-in simulator instead (a rehearsal)
  --sim-config FILE   simulator config (YAML or JSON, docs/simulator.md)
  --sim-truth FILE    the simulator's ground-truth log (one JSON line per request)
  --snapshots FILE    where the runner's snapshots go (default DIR/snapshots.jsonl; '-' is stdout)
  --request-log FILE  one JSON line per finished request: outcome, error, every timestamp (monotonic ns),
                      tokens, and the server's request id (to join with its logs); no prompts or keys
  --seed N            seed of every random draw (arrivals, prompts, lengths); default 1
  --quiet             no live status, only the final table
  --in-cluster        be one runner pod of a LoadTest applied to a cluster (what the operator's Job runs;
                      docs/operator.md): the plan comes from the ConfigMap named by TOKENSTORM_PLAN in
                      TOKENSTORM_NAMESPACE, the share from JOB_COMPLETION_INDEX; it waits for the plan's
                      startAt, writes snapshots and outcome.json to its shard ConfigMap and prints its
                      share's table. No FILE. Exit codes then: 0 finished or stopped (SIGTERM), 1 could
                      not run, 2 invalid plan or configuration.

Exit codes: 0 Pass, 1 Fail (a threshold), 2 invalid input, 3 aborted (budget, deadline, error rate,
signal), 4 internal error.
)";

struct RunArgs {
  std::string file;
  std::string outDir;
  bool sim = false;
  std::string simConfig;
  std::string simTruth;
  std::string requestLog;
  std::string snapshots;
  uint64_t seed = 1;
  bool quiet = false;
  bool inCluster = false;
};

// Parses argv; returns -1 to go on, else the exit code.
int parseArgs(const std::vector<std::string>& args, RunArgs* out) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kRunUsage;
      return 0;
    }
    if (a == "--sim") {
      out->sim = true;
      continue;
    }
    if (a == "--quiet" || a == "-q") {
      out->quiet = true;
      continue;
    }
    if (a == "--in-cluster") {
      out->inCluster = true;
      continue;
    }
    std::string* value = a == "--out"           ? &out->outDir
                         : a == "--sim-config"  ? &out->simConfig
                         : a == "--sim-truth"   ? &out->simTruth
                         : a == "--request-log" ? &out->requestLog
                         : a == "--snapshots"   ? &out->snapshots
                                                : nullptr;
    if (value != nullptr) {
      if (i + 1 == args.size()) {
        std::cerr << "tokenstorm run: " << a << " needs a value\n";
        return kExitInvalid;
      }
      *value = args[++i];
      continue;
    }
    if (a == "--seed") {
      if (i + 1 == args.size() || args[i + 1].empty() ||
          args[i + 1].find_first_not_of("0123456789") != std::string::npos || args[i + 1].size() > 18) {
        std::cerr << "tokenstorm run: --seed needs a whole number\n";
        return kExitInvalid;
      }
      out->seed = std::stoull(args[++i]);
      continue;
    }
    if (a.size() > 1 && a[0] == '-') {
      std::cerr << "tokenstorm run: unknown option " << a << "\n\n" << kRunUsage;
      return kExitInvalid;
    }
    if (!out->file.empty()) {
      std::cerr << "tokenstorm run: one LoadTest file at a time (got " << out->file << " and " << a << ")\n";
      return kExitInvalid;
    }
    out->file = a;
  }
  if (out->inCluster) {
    if (!out->file.empty()) {
      std::cerr << "tokenstorm run: --in-cluster takes no FILE (the plan comes from the ConfigMap that "
                   "TOKENSTORM_PLAN names)\n";
      return kExitInvalid;
    }
    for (const auto& [flag, value] : {std::pair{"--out", &out->outDir},
                                      {"--sim-config", &out->simConfig},
                                      {"--sim-truth", &out->simTruth},
                                      {"--request-log", &out->requestLog},
                                      {"--snapshots", &out->snapshots}}) {
      if (!value->empty()) {
        std::cerr << "tokenstorm run: " << flag
                  << " does not apply with --in-cluster (results go to the shard ConfigMap)\n";
        return kExitInvalid;
      }
    }
    return -1;
  }
  if (out->file.empty()) {
    std::cerr << kRunUsage;
    return kExitInvalid;
  }
  return -1;
}

bool writeFile(const fs::path& path, const std::string& text, std::string* error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) {
    *error = path.string() + ": cannot write";
    return false;
  }
  return true;
}

// References to cluster objects (Secrets, ConfigMaps) cannot be read by a local run. Rather than run
// without a key, without a CA or without prices (and so without a budget), say which field to use instead.
// Endpoints served by the simulator need neither a key nor a CA.
core::Diagnostics clusterOnlyReferences(const core::LoadTestSpec& spec, const std::vector<bool>& to_sim) {
  core::Diagnostics errors;
  for (size_t i = 0; i < spec.target.endpoints.size(); ++i) {
    const core::Endpoint& e = spec.target.endpoints[i];
    std::string path = "spec.target.endpoints[" + std::to_string(i) + "]";
    if (to_sim[i]) {
      continue;
    }
    if (e.auth && e.auth->secretRef && !e.auth->env && !e.auth->file) {
      errors.push_back({path + ".auth.secretRef",
                        "a Secret is read in-cluster only; for tokenstorm run give auth.env or auth.file",
                        {}});
    }
    if (e.tls && e.tls->caSecretRef && !e.tls->caFile) {
      errors.push_back({path + ".tls.caSecretRef",
                        "a Secret is read in-cluster only; for tokenstorm run give tls.caFile",
                        {}});
    }
  }
  if (spec.budget.pricingRef && !spec.budget.pricing) {
    errors.push_back(
        {"spec.budget.pricingRef",
         "a ConfigMap is read in-cluster only; for tokenstorm run give budget.pricing (without prices "
         "no cost is counted and budget.maxCost could not stop the run)",
         {}});
  }
  return errors;
}

}  // namespace

int cmdRun(const std::vector<std::string>& argv) {
  RunArgs args;
  if (int code = parseArgs(argv, &args); code >= 0) {
    return code;
  }
  if (args.inCluster) {
    InClusterOptions options;
    options.sim = args.sim;
    options.seed = args.seed;
    options.quiet = args.quiet;
    return runInCluster(options);
  }
  std::string text;
  std::string error;
  if (!readInput(args.file, &text, &error)) {
    std::cerr << "tokenstorm run: " << args.file << ": " << error << "\n";
    return kExitInvalid;
  }
  core::LoadResult loaded = core::parseLoadTests(text);
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) {
      std::cerr << e.str(args.file) << "\n";
    }
    return kExitInvalid;
  }
  if (loaded.tests.size() != 1) {
    std::cerr << "tokenstorm run: " << args.file << ": holds " << loaded.tests.size()
              << " LoadTests; run takes exactly one\n";
    return kExitInvalid;
  }
  const core::LoadTest test = loaded.tests.front();
  core::Diagnostics invalid;
  if (!core::validate(test, &invalid)) {
    for (const auto& e : invalid) {
      std::cerr << e.str(args.file) << "\n";
    }
    return kExitInvalid;
  }
  const core::LoadTestSpec& spec = test.spec;
  const std::string name = test.metadata.name.empty() ? "loadtest" : test.metadata.name;
  if (spec.suspend) {
    std::cerr << "tokenstorm run: spec.suspend is true: nothing to run\n";
    return kExitAborted;
  }
  fs::path base_dir = args.file == "-" ? fs::current_path() : fs::absolute(args.file).parent_path();
  core::LoadPlan plan = core::expandLoad(spec);

  // The simulator, when an endpoint is sim:// or --sim sends everything there.
  std::vector<bool> to_sim = simulatedEndpoints(spec, args.sim);
  bool need_sim = std::find(to_sim.begin(), to_sim.end(), true) != to_sim.end();
  bool all_sim = std::find(to_sim.begin(), to_sim.end(), false) == to_sim.end();
  if (auto refs = clusterOnlyReferences(spec, to_sim); !refs.empty()) {
    for (const auto& e : refs) {
      std::cerr << e.str(args.file) << "\n";
    }
    return kExitInvalid;
  }
  sim::SimConfig sim_config;
  std::string config_path = args.simConfig;
  if (config_path.empty()) {
    auto it = test.metadata.annotations.find(kSimConfigAnnotation);
    if (it != test.metadata.annotations.end()) {
      config_path = fs::path(it->second).is_absolute() ? it->second : (base_dir / it->second).string();
    }
  }
  if (need_sim && !config_path.empty()) {
    std::string config_text;
    if (!readInput(config_path, &config_text, &error)) {
      std::cerr << "tokenstorm run: simulator config " << config_path << ": " << error << "\n";
      return kExitInvalid;
    }
    core::Diagnostics errors;
    auto parsed = sim::parseSimConfig(config_text, &errors);
    if (!parsed) {
      for (const auto& e : errors) {
        std::cerr << e.str(config_path) << "\n";
      }
      return kExitInvalid;
    }
    sim_config = *parsed;
  }
  InProcessSim sim;
  std::vector<std::string> urls;
  if (!routeToSimulator(to_sim, sim_config, args.simTruth, &sim, &urls, &error)) {
    std::cerr << "tokenstorm run: cannot start the simulator: " << error << "\n";
    return kExitInternal;
  }

  fs::path out_dir = args.outDir.empty() ? fs::path("tokenstorm-out") / name : fs::path(args.outDir);
  std::error_code fs_error;
  fs::create_directories(out_dir, fs_error);
  if (fs_error) {
    std::cerr << "tokenstorm run: cannot create " << out_dir.string() << ": " << fs_error.message() << "\n";
    return kExitInvalid;
  }
  // Snapshots: to a file (default DIR/snapshots.jsonl), or to stdout with --snapshots - (for a pipe).
  std::unique_ptr<runner::SnapshotSink> sink;
  if (args.snapshots == "-") {
    sink = std::make_unique<runner::StreamSnapshotSink>(std::cout);
  } else {
    fs::path path = args.snapshots.empty() ? out_dir / "snapshots.jsonl" : fs::path(args.snapshots);
    fs::remove(path, fs_error);
    sink = std::make_unique<runner::FileSnapshotSink>(path.string());
  }

  asio::io_context io;
  const core::Clock& clock = core::RealClock::instance();
  runner::EngineOptions options;
  options.seed = args.seed;
  options.baseDir = base_dir;
  options.urls = urls;
  options.wordsPerToken = all_sim ? 1.0 : 0.75;
  options.sink = sink.get();
  std::ofstream request_log;
  if (!args.requestLog.empty()) {
    request_log.open(args.requestLog, std::ios::trunc);
    if (!request_log) {
      std::cerr << "tokenstorm run: cannot write " << args.requestLog << "\n";
      return kExitInvalid;
    }
    options.requestLog = &request_log;
  }
  core::Diagnostics errors;
  auto engine = runner::Engine::create(io, clock, spec, plan, options, &errors);
  if (!engine) {
    for (const auto& e : errors) {
      std::cerr << e.str(args.file) << "\n";
    }
    return kExitInvalid;
  }

  // Ctrl-C / SIGTERM: stop cleanly, report what was measured.
  StopOnSignal stop_on_signal(io, *engine);
  LiveProgress live(io, *engine, plan, spec);
  engine->onFinished([&] {
    stop_on_signal.cancel();
    if (!args.quiet) {
      live.finish();
    }
  });
  if (!args.quiet) {
    std::cerr << "tokenstorm run: " << name << ": " << plan.stages.size() << " stage(s), " << plan.total.str()
              << (need_sim ? ", against the built-in simulator" : "") << "\n";
    live.start();
  }
  engine->start(clock.monotonicNanos());
  io.run();

  const runner::EngineResult& result = engine->result();
  core::RunOutcome outcome = runOutcome(result);
  core::Report report = core::buildReport(spec, plan, result.snapshot, outcome);
  bool wrote = writeFile(out_dir / "report.json", core::toJson(report).dump(2) + "\n", &error) &&
               writeFile(out_dir / "junit.xml", core::toJunitXml(report, name), &error);
  std::cout << core::renderTerminal(report);
  if (!wrote) {
    std::cerr << "tokenstorm run: " << error << "\n";
    return kExitInternal;
  }
  std::cout << "\nReport: " << (out_dir / "report.json").string()
            << "  JUnit: " << (out_dir / "junit.xml").string() << "\n";
  return core::exitCode(report);
}

}  // namespace tokenstorm::app
