// The load engine: runs one runner's share of a LoadTest on one Boost.Asio event loop.
//
// Arrivals come from the plan (arrivals.h) in open mode, or from N virtual users in closed mode; each
// request is one Exchange over a pooled keep-alive connection; its RequestRecord goes to the Recorder
// (core/metrics.h) when it ends; every report.interval a snapshot goes to the sink. The engine stops by
// itself at the end of the plan, or early: budget share spent, limits.maxDuration, abortOnErrorRate, or
// stop() (a signal). In every case the final snapshot is written and nothing measured is lost.
#pragma once

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/metrics.h"
#include "tokenstorm/core/stages.h"
#include "tokenstorm/runner/arrivals.h"
#include "tokenstorm/runner/snapshot_sink.h"

namespace tokenstorm::runner {

struct EngineOptions {
  RunnerShare share;
  uint64_t seed = 1;
  std::string runnerId = "local";
  std::filesystem::path baseDir;  // relative dataset and key files are read from here
  // The URL to use for each endpoint (same order as spec.target.endpoints): `sim://` already replaced by
  // the in-process simulator's address. Empty: the spec's own URLs.
  std::vector<std::string> urls;
  // Against the simulator one word is one token; elsewhere the estimator's 0.75 words per token.
  double wordsPerToken = 0.75;
  SnapshotSink* sink = nullptr;  // may be null
  // One JSON line per finished request (its RequestRecord, times in monotonic ns) for debugging and for
  // joining with a server's own log; null: none. Never holds prompts, answers or keys.
  std::ostream* requestLog = nullptr;
  // Minimum number of finished requests in the abortOnErrorRate window before it may abort.
  int64_t errorRateMinSamples = 20;
  // In a runner pod (docs/operator.md): auth.secretRef's key comes from TOKENSTORM_API_KEY_<i> and
  // tls.caSecretRef's bundle from the file TOKENSTORM_CA_FILE_<i> names. Locally both refs are left alone.
  bool inCluster = false;
};

struct EngineProgress {
  double elapsedS = 0;
  int stage = 0;
  int64_t sent = 0;
  int64_t finished = 0;
  int64_t inFlight = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
  int64_t dropped = 0;
  int64_t outputTokens = 0;
  core::Decimal spentUsd;
};

struct EngineResult {
  core::Phase phase = core::Phase::Succeeded;
  std::string reason;   // e.g. "Completed", "BudgetExceeded", "DeadlineExceeded", "ErrorRateExceeded",
                        // "Interrupted" (the status contract's reasons, plus the local Ctrl-C)
  std::string message;  // a sentence for humans
  double elapsedS = 0;
  core::Snapshot snapshot;                    // final
  std::optional<core::Decimal> overshootUsd;  // spent beyond this runner's budget share
  double cpuPercent = 0;  // CPU the event loop's thread used, as a share of one core over the run
};

class Engine {
 public:
  static std::unique_ptr<Engine> create(boost::asio::io_context& io, const core::Clock& clock,
                                        const core::LoadTestSpec& spec, const core::LoadPlan& plan,
                                        EngineOptions options, core::Diagnostics* errors);
  virtual ~Engine() = default;

  // Begins the test with t = 0 at `start_at` (monotonic; may be in the future: runners start together).
  virtual void start(core::MonoNanos start_at) = 0;
  // Stops now: no new requests, in-flight ones are closed and counted as cancelled, the final snapshot
  // is taken. Safe to call more than once and from a signal handler's posted callback.
  virtual void stop(core::Phase phase, const std::string& reason, const std::string& message) = 0;
  virtual bool finished() const = 0;
  virtual EngineProgress progress() const = 0;
  // The latest snapshot, taken now (for live views); cheap enough for once a second.
  virtual core::Snapshot snapshotNow() = 0;
  virtual const EngineResult& result() const = 0;
  // Called once when the engine has finished (from the event loop).
  virtual void onFinished(std::function<void()> callback) = 0;
};

// Reads an endpoint's API key from auth.env or auth.file (relative to base_dir), and with `in_cluster` for
// auth.secretRef from TOKENSTORM_API_KEY_<index> (the operator maps the Secret's key there). nullopt
// without auth, or for secretRef outside a cluster; an error naming the field when the variable or file is
// missing or empty. The key is never logged.
std::optional<std::string> readApiKey(const core::Endpoint& endpoint, size_t index,
                                      const std::filesystem::path& base_dir, core::Diagnostics* errors,
                                      bool in_cluster = false);

// The environment variables a runner pod gets for endpoint `index` (docs/operator.md).
std::string apiKeyEnvName(size_t index);  // TOKENSTORM_API_KEY_<index>
std::string caFileEnvName(size_t index);  // TOKENSTORM_CA_FILE_<index>

}  // namespace tokenstorm::runner
