#include "run_support.h"

#include <boost/asio/post.hpp>

#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace tokenstorm::app {
namespace {

namespace asio = boost::asio;

constexpr int64_t kTtyIntervalNs = 1'000'000'000;
constexpr int64_t kMinLogIntervalNs = 1'000'000'000;

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string progressLine(const runner::EngineProgress& p, const core::LoadPlan& plan,
                         const core::LoadTestSpec& spec, const core::Snapshot& snap, double rate_window_s,
                         int64_t finished_before, int64_t tokens_before) {
  std::ostringstream line;
  size_t stage = static_cast<size_t>(p.stage);
  std::string stage_name = stage < plan.stages.size() ? plan.stages[stage].name : "";
  line << "stage " << (stage + 1) << "/" << plan.stages.size();
  if (!stage_name.empty()) {
    line << " " << stage_name;
  }
  line << "  " << fixed(p.elapsedS, 0) << "s/" << fixed(plan.total.seconds(), 0) << "s";
  double window = std::max(rate_window_s, 1e-3);
  line << "  req/s " << fixed(static_cast<double>(p.finished - finished_before) / window, 1);
  line << "  out tok/s " << fixed(static_cast<double>(p.outputTokens - tokens_before) / window, 0);
  line << "  TTFT p95 " << fixed(static_cast<double>(snap.total.ttft.valueAtPercentile(95)) / 1e6, 0) << "ms";
  line << "  in-flight " << p.inFlight << "  errors " << p.failed;
  if (p.dropped > 0) {
    line << "  dropped " << p.dropped;
  }
  line << "  cost $" << p.spentUsd.money();
  if (spec.budget.maxCost) {
    line << " of $" << spec.budget.maxCost->money();
  }
  return line.str();
}

}  // namespace

// ---- InProcessSim -----------------------------------------------------------------------------------

bool InProcessSim::start(const sim::SimConfig& config, const std::string& truth, std::string* error) {
  server_ = std::make_unique<sim::Server>(io_, config, core::RealClock::instance(), truth);
  if (!server_->listen("127.0.0.1", 0, error)) {
    return false;
  }
  thread_ = std::thread([this] { io_.run(); });
  return true;
}

InProcessSim::~InProcessSim() {
  if (thread_.joinable()) {
    asio::post(io_, [this] {
      server_->stop();
      guard_.reset();
    });
    thread_.join();
  }
}

std::vector<bool> simulatedEndpoints(const core::LoadTestSpec& spec, bool all_to_sim) {
  std::vector<bool> out;
  for (const auto& e : spec.target.endpoints) {
    out.push_back(all_to_sim || e.url.rfind("sim://", 0) == 0);
  }
  return out;
}

bool routeToSimulator(const std::vector<bool>& simulated, const sim::SimConfig& config,
                      const std::string& truth, InProcessSim* sim, std::vector<std::string>* urls,
                      std::string* error) {
  urls->assign(simulated.size(), "");
  if (std::find(simulated.begin(), simulated.end(), true) == simulated.end()) {
    return true;
  }
  if (!sim->start(config, truth, error)) {
    return false;
  }
  for (size_t i = 0; i < simulated.size(); ++i) {
    if (simulated[i]) {
      (*urls)[i] = "http://127.0.0.1:" + std::to_string(sim->port());
    }
  }
  return true;
}

// ---- StopOnSignal -----------------------------------------------------------------------------------

StopOnSignal::StopOnSignal(asio::io_context& io, runner::Engine& engine, std::function<void(int)> before_stop)
    : signals_(io, SIGINT, SIGTERM) {
  signals_.async_wait(
      [&engine, before = std::move(before_stop)](const boost::system::error_code& ec, int signal) {
        if (ec) {
          return;
        }
        if (before) {
          before(signal);
        }
        engine.stop(core::Phase::Aborted, "Interrupted",
                    std::string("stopped by ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
      });
}

// ---- LiveProgress -----------------------------------------------------------------------------------

LiveProgress::LiveProgress(asio::io_context& io, runner::Engine& engine, const core::LoadPlan& plan,
                           const core::LoadTestSpec& spec)
    : timer_(io),
      engine_(engine),
      plan_(plan),
      spec_(spec),
      tty_(::isatty(STDERR_FILENO) != 0),
      intervalNs_(tty_ ? kTtyIntervalNs : std::max<int64_t>(spec.report.interval.nanos, kMinLogIntervalNs)) {}

void LiveProgress::start() {
  tick();
}

void LiveProgress::tick() {
  timer_.expires_after(std::chrono::nanoseconds(intervalNs_));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || engine_.finished()) {
      return;
    }
    runner::EngineProgress p = engine_.progress();
    std::string line = progressLine(p, plan_, spec_, engine_.snapshotNow(), p.elapsedS - last_.elapsedS,
                                    last_.finished, last_.outputTokens);
    last_ = p;
    if (tty_) {
      std::cerr << "\r\033[K" << line << std::flush;
    } else {
      std::cerr << line << "\n";
    }
    tick();
  });
}

void LiveProgress::finish() {
  timer_.cancel();
  if (tty_) {
    std::cerr << "\r\033[K";
  }
}

core::RunOutcome runOutcome(const runner::EngineResult& result) {
  core::RunOutcome outcome;
  outcome.phase = result.phase;
  outcome.reason = result.reason == "Completed" ? "" : result.reason + ": " + result.message;
  if (result.overshootUsd) {
    outcome.reason += " (overshoot $" + result.overshootUsd->money() + ")";
  }
  outcome.elapsedS = result.elapsedS;
  outcome.runnerCpuPercent = result.cpuPercent;
  return outcome;
}

}  // namespace tokenstorm::app
