// The engine against the simulator, over real sockets: each API, rate limits, faults, cancellations, budget,
// limits, warm-up, maxInFlight, closed loop, conversations, failover and TLS. The simulator runs on its own
// thread and event loop, as `tokenstorm run` runs it; tests are short (well under a second of load each)
// and assert on counts the scenario fixes, never on timings a busy machine could miss.
#include "tokenstorm/runner/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/core/tls.h"
#include "tokenstorm/core/validate.h"
#include "tokenstorm/sim/config.h"
#include "tokenstorm/sim/server.h"

namespace tokenstorm::runner {
namespace {

namespace asio = boost::asio;

// A simulator on its own thread.
class SimThread {
 public:
  explicit SimThread(const std::string& config_yaml, std::shared_ptr<asio::ssl::context> tls = nullptr) {
    core::Diagnostics errors;
    auto config = sim::parseSimConfig(config_yaml, &errors);
    EXPECT_TRUE(config) << (errors.empty() ? "" : errors[0].str());
    server_ = std::make_unique<sim::Server>(io_, config.value_or(sim::SimConfig{}),
                                            core::RealClock::instance(), "", std::move(tls));
    std::string error;
    EXPECT_TRUE(server_->listen("127.0.0.1", 0, &error)) << error;
    thread_ = std::thread([this] { io_.run(); });
  }
  ~SimThread() {
    asio::post(io_, [this] {
      server_->stop();
      guard_.reset();
    });
    thread_.join();
  }
  uint16_t port() const { return server_->port(); }
  sim::ServerStats stats() {
    sim::ServerStats out;
    std::promise<void> done;
    asio::post(io_, [&] {
      out = server_->stats();
      done.set_value();
    });
    done.get_future().wait();
    return out;
  }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::unique_ptr<sim::Server> server_;
  std::thread thread_;
};

constexpr const char* kFastSim = R"(
serving: {prefillOverhead: 1ms, decodeStepBase: 1ms, decodeStepPerSequence: 0s, outputTokens: {fixed: 8}}
)";

// A LoadTest around `body` (the spec's workload/load/... keys), its endpoint at `url`.
std::string spec(const std::string& url, const std::string& api, const std::string& body) {
  return "apiVersion: tokenstorm.dev/v1alpha1\nkind: LoadTest\nmetadata: {name: t}\nspec:\n"
         "  target:\n    endpoints: [{name: sim, url: \"" +
         url + "\", api: " + api + ", model: sim-model}]\n" + body;
}

constexpr const char* kBasicBody = R"(
  workload:
    classes: [{name: chat, prompt: {synthetic: {inputTokens: {fixed: 20}}}, maxOutputTokens: {fixed: 8}, ignoreEos: true}]
  load: {mode: open, arrival: constant, stages: [{duration: 500ms, rate: 40, hold: true}]}
)";

// A port nobody listens on: bind one, note it, close it.
uint16_t unusedPort() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// "ok 3 failed 2 cancelled 0 [http5xx 2]": what a MetricSet counted, for failure messages.
std::string counts(const core::MetricSet& t) {
  static const char* kNames[] = {"none",    "http429", "http4xx",     "http5xx", "timeout",
                                 "connect", "tls",     "streamError", "protocol"};
  std::string out = "ok " + std::to_string(t.ok) + " failed " + std::to_string(t.failed) + " cancelled " +
                    std::to_string(t.cancelled) + " [";
  for (size_t i = 0; i < t.errors.size() && i < std::size(kNames); ++i) {
    if (t.errors[i] != 0) {
      out += std::string(" ") + kNames[i] + " " + std::to_string(t.errors[i]);
    }
  }
  return out + " ]";
}

struct Outcome {
  EngineResult result;
  core::Report report;
};

class EngineTest : public ::testing::Test {
 protected:
  Outcome run(const std::string& yaml, EngineOptions options = {},
              const std::function<void(asio::io_context&, Engine&)>& during = nullptr) {
    auto loaded = core::parseLoadTests(yaml);
    EXPECT_TRUE(loaded.errors.empty()) << (loaded.errors.empty() ? "" : loaded.errors[0].str());
    if (loaded.tests.size() != 1) {
      ADD_FAILURE() << "no LoadTest";
      return {};
    }
    test_ = loaded.tests[0];
    core::Diagnostics invalid;
    EXPECT_TRUE(core::validate(test_, &invalid)) << (invalid.empty() ? "" : invalid[0].str());
    plan_ = core::expandLoad(test_.spec);
    asio::io_context io;
    core::Diagnostics errors;
    options.wordsPerToken = 1.0;
    auto engine = Engine::create(io, core::RealClock::instance(), test_.spec, plan_, options, &errors);
    EXPECT_TRUE(engine) << (errors.empty() ? "" : errors[0].str());
    if (!engine) {
      return {};
    }
    engine->start(core::RealClock::instance().monotonicNanos());
    if (during) {
      during(io, *engine);
    }
    io.run();
    EXPECT_TRUE(engine->finished());
    Outcome out;
    out.result = engine->result();
    core::RunOutcome ro{out.result.phase, out.result.reason, out.result.elapsedS, out.result.cpuPercent};
    out.report = core::buildReport(test_.spec, plan_, out.result.snapshot, ro);
    return out;
  }

  std::string url(const SimThread& sim) const { return "http://127.0.0.1:" + std::to_string(sim.port()); }

  core::LoadTest test_;
  core::LoadPlan plan_;
};

class EngineApiTest : public EngineTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(EngineApiTest, StreamsEveryRequestAndCountsTokensFromUsage) {
  SimThread sim(kFastSim);
  Outcome o = run(spec(url(sim), GetParam(), kBasicBody));
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_EQ(o.result.phase, core::Phase::Succeeded);
  EXPECT_EQ(t.requests, 20);
  EXPECT_EQ(t.ok, 20) << "errors: 5xx " << t.errors[static_cast<size_t>(core::ErrorKind::Http5xx)];
  EXPECT_EQ(t.outputTokens, 20 * 8);
  EXPECT_EQ(t.inputTokens, 20 * 20);
  EXPECT_EQ(t.estimatedTokenRequests, 0);
  EXPECT_EQ(t.ttft.count(), 20);
  EXPECT_GT(t.ttft.min(), 0);
  EXPECT_EQ(t.tpot.count(), 20);
  EXPECT_EQ(t.interChunk.count(), 20 * 7);  // one token per chunk: 8 chunks, 7 gaps each
  EXPECT_EQ(t.schedLag.count(), 20);
  EXPECT_EQ(sim.stats().requests, 20);
  EXPECT_GT(o.result.cpuPercent, 0);
  EXPECT_LT(o.result.cpuPercent, 100);  // 20 requests in half a second are far from a full core
}

INSTANTIATE_TEST_SUITE_P(Apis, EngineApiTest,
                         ::testing::Values("openai-chat", "openai-completions", "anthropic-messages"),
                         [](const auto& param_info) {
                           std::string name = param_info.param;
                           name.erase(std::remove(name.begin(), name.end(), '-'), name.end());
                           return name;
                         });

TEST_F(EngineTest, NonStreamingAnswersCountUsageAndHaveNoTtft) {
  SimThread sim(kFastSim);
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 8}, stream: false}]
  load: {mode: open, arrival: constant, stages: [{duration: 250ms, rate: 40, hold: true}]}
)"));
  EXPECT_EQ(o.result.snapshot.total.ok, 10) << counts(o.result.snapshot.total);
  EXPECT_EQ(o.result.snapshot.total.outputTokens, 80);
  EXPECT_EQ(o.result.snapshot.total.ttft.count(), 0);
  EXPECT_EQ(o.result.snapshot.total.e2e.count(), 10);
}

TEST_F(EngineTest, RateLimited429sAreCountedAsSuch) {
  SimThread sim(std::string(kFastSim) + "rateLimits: {requestsPerMinute: 6}\n");
  Outcome o = run(spec(url(sim), "openai-chat", kBasicBody));
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_EQ(t.ok, 6);
  EXPECT_EQ(t.failed, 14);
  EXPECT_EQ(t.errors[static_cast<size_t>(core::ErrorKind::Http429)], 14);
}

// 120 requests/min refill two per second; 4 of 124 quick requests are refused with a retry-after under a
// second. Honouring it, the retries succeed; ignoring it, five quick attempts all fail.
TEST_F(EngineTest, RetriesHonourRetryAfter) {
  const std::string body = R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 5}}}, maxOutputTokens: {fixed: 2}}]
    retry: {maxAttempts: 8, backoff: {initial: 1ms, max: 2ms, jitter: 0}, respectRetryAfter: RESPECT}
  load: {mode: open, arrival: constant, stages: [{duration: 310ms, rate: 400, hold: true}]}
)";
  {
    SimThread sim(std::string(kFastSim) + "rateLimits: {requestsPerMinute: 120}\n");
    std::string b = body;
    b.replace(b.find("RESPECT"), 7, "true");
    Outcome o = run(spec(url(sim), "openai-chat", b));
    const core::MetricSet& t = o.result.snapshot.total;
    EXPECT_EQ(t.requests, 124);
    EXPECT_EQ(t.ok, 124);
    EXPECT_GT(t.attempts, 124);
    EXPECT_GT(o.result.elapsedS, 0.4);  // the retries waited for the bucket
  }
  {
    SimThread sim(std::string(kFastSim) + "rateLimits: {requestsPerMinute: 120}\n");
    std::string b = body;
    b.replace(b.find("RESPECT"), 7, "false");
    Outcome o = run(spec(url(sim), "openai-chat", b));
    const core::MetricSet& t = o.result.snapshot.total;
    EXPECT_EQ(t.ok, 120);
    EXPECT_EQ(t.errors[static_cast<size_t>(core::ErrorKind::Http429)], 4);
    EXPECT_EQ(t.attempts, 120 + 4 * 8);
  }
}

TEST_F(EngineTest, FaultsAreClassified) {
  struct Case {
    const char* faults;
    core::ErrorKind kind;
  };
  for (const Case& c :
       {Case{"{cutStreamProbability: 1}", core::ErrorKind::StreamError},
        Case{"{streamErrorProbability: 1}", core::ErrorKind::StreamError},
        Case{"{errorRates: {\"500\": 1}}", core::ErrorKind::Http5xx},
        Case{"{errorRates: {\"400\": 1}}", core::ErrorKind::Http4xx},
        Case{"{outages: [{at: 0s, duration: 1h, mode: \"503\"}]}", core::ErrorKind::Http5xx},
        Case{"{outages: [{at: 0s, duration: 1h, mode: refuse}]}", core::ErrorKind::Connect}}) {
    SimThread sim(std::string(kFastSim) + "faults: " + c.faults + "\n");
    Outcome o = run(spec(url(sim), "openai-chat", kBasicBody));
    const core::MetricSet& t = o.result.snapshot.total;
    EXPECT_EQ(t.failed, 20) << c.faults;
    EXPECT_EQ(t.errors[static_cast<size_t>(c.kind)], 20) << c.faults << ": " << counts(t);
    EXPECT_EQ(t.cancelled, 0) << c.faults;
  }
}

TEST_F(EngineTest, ConnectionRefusedIsAConnectError) {
  uint16_t port = unusedPort();
  Outcome o = run(spec("http://127.0.0.1:" + std::to_string(port), "openai-chat", kBasicBody));
  EXPECT_EQ(o.result.snapshot.total.errors[static_cast<size_t>(core::ErrorKind::Connect)], 20);
}

TEST_F(EngineTest, CancellationsCloseTheConnectionAndTheServerSeesIt) {
  SimThread sim(R"(
serving: {prefillOverhead: 1ms, decodeStepBase: 5ms, decodeStepPerSequence: 0s, outputTokens: {fixed: 200}}
)");
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 200}}]
    cancellation: {fraction: 1, afterTokens: {fixed: 3}}
  load: {mode: open, arrival: constant, stages: [{duration: 250ms, rate: 40, hold: true}]}
)"));
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_EQ(t.cancelled, 10);
  EXPECT_EQ(t.failed, 0);  // never errors
  // The simulator notices each disconnect (it may take a decode step to see the socket close).
  for (int i = 0; i < 100 && sim.stats().cancelled < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(sim.stats().cancelled, 10);
}

TEST_F(EngineTest, BudgetStopsIssuingAndReportsTheOvershoot) {
  SimThread sim(kFastSim);
  // $1000 per 1M output tokens: 8 tokens cost $0.008; $0.05 buys 6.25 requests.
  Outcome o = run(spec(url(sim), "openai-chat", std::string(kBasicBody) + R"(
  budget: {maxCost: "0.05", pricing: {input: "0", output: "1000"}}
)"));
  EXPECT_EQ(o.result.phase, core::Phase::Aborted);
  EXPECT_EQ(o.result.reason, "BudgetExceeded");
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_GE(t.ok, 7);
  EXPECT_LT(t.requests, 20);
  ASSERT_TRUE(o.result.overshootUsd);
  // Overshoot is bounded by what was in flight when the cap was reached.
  EXPECT_LE(o.result.overshootUsd->toDouble(), 0.008 * 4);
  EXPECT_EQ(core::exitCode(o.report), 3);
}

TEST_F(EngineTest, MaxDurationAbortsAndKeepsWhatWasMeasured) {
  SimThread sim(kFastSim);
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 8}}]
  load: {mode: open, arrival: constant, stages: [{duration: 30s, rate: 50, hold: true}]}
  limits: {maxDuration: 300ms}
)"));
  EXPECT_EQ(o.result.phase, core::Phase::Aborted);
  EXPECT_EQ(o.result.reason, "DeadlineExceeded");
  EXPECT_LT(o.result.elapsedS, 5);
  EXPECT_GE(o.result.snapshot.total.ok, 10);
  EXPECT_TRUE(o.result.snapshot.final);
}

TEST_F(EngineTest, ErrorRateAbort) {
  SimThread sim(std::string(kFastSim) + "faults: {errorRates: {\"503\": 1}}\n");
  EngineOptions options;
  options.errorRateMinSamples = 5;
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 8}}]
  load: {mode: open, arrival: constant, stages: [{duration: 30s, rate: 50, hold: true}]}
  limits: {abortOnErrorRate: {threshold: 0.5, window: 10s}}
)"),
                  options);
  EXPECT_EQ(o.result.phase, core::Phase::Aborted);
  EXPECT_EQ(o.result.reason, "ErrorRateExceeded");
  EXPECT_LT(o.result.snapshot.total.requests, 50);
}

TEST_F(EngineTest, StopFromOutsideCancelsInFlightAndWritesTheFinalSnapshot) {
  SimThread sim(R"(
serving: {prefillOverhead: 1ms, decodeStepBase: 20ms, decodeStepPerSequence: 0s, outputTokens: {fixed: 1000}}
)");
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 1000}}]
  load: {mode: open, arrival: constant, stages: [{duration: 10s, rate: 20, hold: true}]}
)"),
                  {}, [](asio::io_context& io, Engine& engine) {
                    auto t = std::make_shared<asio::steady_timer>(io, std::chrono::milliseconds(300));
                    t->async_wait([t, &engine](const boost::system::error_code&) {
                      engine.stop(core::Phase::Aborted, "Interrupted", "test");
                    });
                  });
  EXPECT_EQ(o.result.phase, core::Phase::Aborted);
  EXPECT_EQ(o.result.reason, "Interrupted");
  EXPECT_GE(o.result.snapshot.total.cancelled, 4);
  EXPECT_EQ(o.result.snapshot.total.failed, 0);
  EXPECT_TRUE(o.result.snapshot.final);
}

TEST_F(EngineTest, WarmupRequestsAreExcluded) {
  SimThread sim(kFastSim);
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 8}}]
  load: {mode: open, arrival: constant, warmup: 250ms, stages: [{duration: 500ms, rate: 40, hold: true}]}
)"));
  EXPECT_EQ(o.result.snapshot.warmupExcluded, 9);  // arrivals at 25, 50, ..., 225 ms; the one at 250 counts
  EXPECT_EQ(o.result.snapshot.total.requests, 11);
}

TEST_F(EngineTest, MaxInFlightDropsArrivalsInsteadOfDelayingThem) {
  SimThread sim(R"(
serving: {prefillOverhead: 1ms, decodeStepBase: 50ms, decodeStepPerSequence: 0s, outputTokens: {fixed: 20}}
)");
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 20}}]
  load: {mode: open, arrival: constant, maxInFlight: 3, stages: [{duration: 500ms, rate: 40, hold: true}]}
)"));
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_EQ(t.requests, 3);  // each takes a second; nothing frees a slot within the half second
  EXPECT_EQ(t.droppedArrivals, 17);
}

TEST_F(EngineTest, ClosedLoopKeepsItsUsersBusy) {
  SimThread sim(kFastSim);
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 8}}]
  load: {mode: closed, stages: [{duration: 500ms, users: 3, hold: true}]}
)"));
  EXPECT_EQ(o.result.phase, core::Phase::Succeeded);
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_GT(t.ok, 3 * 5);  // each request takes ~10 ms: far more than one per user
  EXPECT_EQ(t.failed, 0);
}

TEST_F(EngineTest, ConversationsSendEveryTurnWithGrowingContext) {
  SimThread sim(kFastSim);
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes:
      - name: chat
        prompt: {synthetic: {inputTokens: {fixed: 10}}}
        maxOutputTokens: {fixed: 8}
        ignoreEos: true
        conversation: {turns: {fixed: 3}, thinkTime: {fixed: 10ms}}
  # Four conversations start in the first 100 ms; the idle stage gives their later turns time to run.
  load: {mode: open, arrival: constant, stages: [{duration: 100ms, rate: 40, hold: true}, {duration: 2s, rate: 0, hold: true}]}
)"));
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_EQ(t.requests, 4 * 3);
  EXPECT_EQ(t.ok, 12);
  // Turn k's prompt holds k user messages of 10 words and k−1 answers of 8: 10 + 28 + 46 per conversation.
  EXPECT_EQ(t.inputTokens, 4 * (10 + 28 + 46));
}

TEST_F(EngineTest, FailoverMovesToTheSecondEndpoint) {
  uint16_t dead = unusedPort();
  SimThread sim(kFastSim);
  std::string yaml =
      "apiVersion: tokenstorm.dev/v1alpha1\nkind: LoadTest\nmetadata: {name: t}\nspec:\n"
      "  target:\n    routing: {policy: failover, failoverAfter: 2, failbackAfter: 1h}\n"
      "    endpoints:\n"
      "      - {name: primary, url: \"http://127.0.0.1:" +
      std::to_string(dead) +
      "\", model: m}\n"
      "      - {name: backup, url: \"" +
      url(sim) + "\", model: m}\n" + kBasicBody;
  Outcome o = run(yaml);
  const core::MetricSet& t = o.result.snapshot.total;
  EXPECT_EQ(t.errors[static_cast<size_t>(core::ErrorKind::Connect)], 2);
  EXPECT_EQ(t.ok, 18);
}

TEST_F(EngineTest, TlsVerifiesTheServerCertificate) {
  std::string dir = std::filesystem::temp_directory_path() / ("engine-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = dir + "/cert.pem";
  std::string key = dir + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string error;
  auto tls = core::makeServerTlsContext(cert, key, &error);
  ASSERT_TRUE(tls) << error;
  SimThread sim(kFastSim, tls);
  std::string https = "https://localhost:" + std::to_string(sim.port());
  auto with_tls = [&](const std::string& tls_yaml) {
    std::string yaml =
        "apiVersion: tokenstorm.dev/v1alpha1\nkind: LoadTest\nmetadata: {name: t}\nspec:\n"
        "  target:\n    endpoints: [{name: s, url: \"" +
        https + "\", model: m" + tls_yaml + "}]\n" + kBasicBody;
    return run(yaml).result.snapshot.total;
  };
  core::MetricSet trusted = with_tls(", tls: {caFile: \"" + cert + "\"}");
  EXPECT_EQ(trusted.ok, 20);
  core::MetricSet untrusted = with_tls("");
  EXPECT_EQ(untrusted.errors[static_cast<size_t>(core::ErrorKind::Tls)], 20);
  core::MetricSet skipped = with_tls(", tls: {insecureSkipVerify: true}");
  EXPECT_EQ(skipped.ok, 20);
  std::filesystem::remove_all(dir);
}

TEST_F(EngineTest, SnapshotsGoToTheSinkAndTheLastIsFinal) {
  SimThread sim(kFastSim);
  std::ostringstream out;
  StreamSnapshotSink sink(out);
  EngineOptions options;
  options.sink = &sink;
  Outcome o = run(spec(url(sim), "openai-chat", R"(
  workload:
    classes: [{name: c, prompt: {synthetic: {inputTokens: {fixed: 10}}}, maxOutputTokens: {fixed: 8}}]
  load: {mode: open, arrival: constant, stages: [{duration: 1500ms, rate: 10, hold: true}]}
  report: {interval: 1s}
)"),
                  options);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<core::Snapshot> snapshots;
  while (std::getline(lines, line)) {
    std::string error;
    auto s = core::parseSnapshot(line, &error);
    ASSERT_TRUE(s) << error;
    snapshots.push_back(*s);
  }
  ASSERT_GE(snapshots.size(), 3u);
  EXPECT_TRUE(snapshots.back().final);
  EXPECT_EQ(snapshots.back(), o.result.snapshot);
  for (size_t i = 1; i < snapshots.size(); ++i) {
    EXPECT_GT(snapshots[i].sequence, snapshots[i - 1].sequence);
    EXPECT_GE(snapshots[i].total.requests, snapshots[i - 1].total.requests);
  }
}

}  // namespace
}  // namespace tokenstorm::runner
