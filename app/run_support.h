// What `tokenstorm run FILE` (run_command.cpp) and `tokenstorm run --in-cluster` (cluster_command.cpp)
// share: the in-process simulator for sim:// endpoints, stopping the engine on SIGINT/SIGTERM, the live
// progress line, and the engine's result as a report outcome.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/report.h"
#include "tokenstorm/core/stages.h"
#include "tokenstorm/runner/engine.h"
#include "tokenstorm/sim/config.h"
#include "tokenstorm/sim/server.h"

namespace tokenstorm::app {

// The in-process simulator, on its own thread and event loop so that it never shares a core's time slice
// with the engine's measurements more than the OS makes it.
class InProcessSim {
 public:
  InProcessSim() = default;
  InProcessSim(const InProcessSim&) = delete;
  InProcessSim& operator=(const InProcessSim&) = delete;
  ~InProcessSim();

  bool start(const sim::SimConfig& config, const std::string& truth, std::string* error);
  uint16_t port() const { return server_->port(); }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ =
      boost::asio::make_work_guard(io_);
  std::unique_ptr<sim::Server> server_;
  std::thread thread_;
};

// Which endpoints the simulator serves: those whose url is sim://, or every one with `all_to_sim` (--sim).
std::vector<bool> simulatedEndpoints(const core::LoadTestSpec& spec, bool all_to_sim);

// The engine's URL per endpoint: the simulator's loopback address for simulated ones (the simulator is
// started here when any is), "" (the spec's URL) for the others.
bool routeToSimulator(const std::vector<bool>& simulated, const sim::SimConfig& config,
                      const std::string& truth, InProcessSim* sim, std::vector<std::string>* urls,
                      std::string* error);

// SIGINT or SIGTERM stops the engine: requests in flight are closed and counted as cancelled, the phase
// is Aborted, the reason Interrupted (docs/engine.md). `before_stop` runs first (the in-cluster runner
// uses it while still waiting for its start instant). cancel() disarms it once the engine has finished.
class StopOnSignal {
 public:
  StopOnSignal(boost::asio::io_context& io, runner::Engine& engine,
               std::function<void(int)> before_stop = {});
  void cancel() { signals_.cancel(); }

 private:
  boost::asio::signal_set signals_;
};

// The status line: redrawn every second on a terminal, one line per report.interval otherwise (a pod log).
class LiveProgress {
 public:
  LiveProgress(boost::asio::io_context& io, runner::Engine& engine, const core::LoadPlan& plan,
               const core::LoadTestSpec& spec);
  void start();
  void finish();  // stops the timer; clears the line on a terminal

 private:
  void tick();

  boost::asio::steady_timer timer_;
  runner::Engine& engine_;
  const core::LoadPlan& plan_;
  const core::LoadTestSpec& spec_;
  bool tty_;
  int64_t intervalNs_;
  runner::EngineProgress last_;
};

// The report's outcome of an engine's result (reason "Completed" is none; the overshoot goes in the reason).
core::RunOutcome runOutcome(const runner::EngineResult& result);

}  // namespace tokenstorm::app
