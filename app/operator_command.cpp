// `tokenstorm operator`: the LoadTest controller (operator/controller.h) with leader election, the
// /healthz, /readyz and /metrics listener, structured logs and a graceful shutdown on SIGTERM/SIGINT.
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>
#include <iostream>
#include <random>

#include "commands.h"
#include "tokenstorm/kube/client.h"
#include "tokenstorm/kube/config.h"
#include "tokenstorm/kube/leader_election.h"
#include "tokenstorm/operator/controller.h"
#include "tokenstorm/operator/http_server.h"

namespace tokenstorm::app {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitInvalid = 2;
constexpr const char* kLeaseName = "tokenstorm-operator";
// How long the informers get to list everything before the operator gives up and exits (a restart
// retries; readiness says "not synced" meanwhile).
constexpr auto kSyncTimeout = std::chrono::minutes(5);

constexpr const char* kUsage =
    R"(Usage: tokenstorm operator [--kubeconfig FILE] [--namespace NS]... [--workers N]
                           [--leader-elect=true|false] [--lease-namespace NS] [--listen HOST:PORT]
                           [--runner-image IMG] [--runner-command PATH]

Runs the LoadTest controller: watches LoadTests (all namespaces, or each --namespace given) and the Jobs,
Pods and ConfigMaps it manages, launches runner Jobs, merges their results into the LoadTest's status.

  --kubeconfig FILE       cluster configuration (default: KUBECONFIG, in-cluster, ~/.kube/config)
  --namespace NS          watch only this namespace (repeatable; default: all namespaces)
  --workers N             concurrent reconciles (default 2)
  --leader-elect=BOOL     take the Lease before reconciling (default true)
  --lease-namespace NS    the Lease's namespace (default: POD_NAMESPACE, else the configuration's)
  --listen HOST:PORT      /healthz, /readyz, /metrics (default 127.0.0.1:8080; port 0: any; repeatable)
  --watch-namespaces A,B, --metrics-bind-address [HOST]:PORT, --health-probe-bind-address [HOST]:PORT
                          what manifests/ and the Helm chart pass: --namespace for each, and --listen
                          (an empty HOST is every interface)
  --runner-image IMG      runner pods' image when spec.runners.image is not set (default:
                          TOKENSTORM_RUNNER_IMAGE); TOKENSTORM_RUNNER_SERVICE_ACCOUNT names their
                          ServiceAccount when spec.runners.serviceAccountName does not (default
                          tokenstorm-runner)
  --runner-command PATH   runner pods' command[0] (default tokenstorm)

Exit codes: 0 stopped by a signal, 1 error (lost leadership, cannot reach the cluster), 2 invalid usage.
)";

struct Options {
  std::string kubeconfig;
  std::vector<std::string> namespaces;
  size_t workers = 2;
  bool leaderElect = true;
  std::string leaseNamespace;
  // HOST:PORT listeners (each serves every path); none given: 127.0.0.1:8080.
  std::vector<std::pair<std::string, uint16_t>> listen;
  std::string runnerImage;
  std::string runnerCommand = "tokenstorm";
};

int usageError(const std::string& message) {
  std::cerr << "tokenstorm operator: " << message << "\n\n" << kUsage;
  return kExitInvalid;
}

bool parseNumber(const std::string& text, uint64_t max, uint64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size() && *out <= max && !text.empty();
}

// Fills `options`; returns -1 to go on, else an exit code.
int parseArgs(const std::vector<std::string>& args, Options* options) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto next = [&](std::string* out) {
      if (has_value) {
        *out = value;
        return true;
      }
      if (i + 1 >= args.size()) {
        return false;
      }
      *out = args[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if (arg == "--leader-elect") {
      if (has_value && value != "true" && value != "false") {
        return usageError("--leader-elect: want true or false, got \"" + value + "\"");
      }
      options->leaderElect = !has_value || value == "true";
      continue;
    }
    const bool bind_address = arg == "--metrics-bind-address" || arg == "--health-probe-bind-address";
    if (arg != "--kubeconfig" && arg != "--namespace" && arg != "--watch-namespaces" && arg != "--workers" &&
        arg != "--lease-namespace" && arg != "--listen" && !bind_address && arg != "--runner-image" &&
        arg != "--runner-command") {
      return usageError("unknown option " + args[i]);
    }
    if (!next(&v) || v.empty()) {
      return usageError(arg + ": needs a value");
    }
    uint64_t n = 0;
    if (arg == "--kubeconfig") {
      options->kubeconfig = v;
    } else if (arg == "--namespace") {
      options->namespaces.push_back(v);
    } else if (arg == "--watch-namespaces") {
      for (size_t start = 0; start <= v.size();) {
        size_t comma = std::min(v.find(',', start), v.size());
        if (comma > start) {
          options->namespaces.push_back(v.substr(start, comma - start));
        }
        start = comma + 1;
      }
    } else if (arg == "--workers") {
      if (!parseNumber(v, 64, &n) || n == 0) {
        return usageError("--workers: want a number from 1 to 64, got \"" + v + "\"");
      }
      options->workers = n;
    } else if (arg == "--lease-namespace") {
      options->leaseNamespace = v;
    } else if (arg == "--listen" || bind_address) {
      auto colon = v.rfind(':');
      if (colon == std::string::npos || !parseNumber(v.substr(colon + 1), 65535, &n)) {
        return usageError(arg + ": want HOST:PORT, got \"" + v + "\"");
      }
      std::pair<std::string, uint16_t> address{colon == 0 ? "0.0.0.0" : v.substr(0, colon),
                                               static_cast<uint16_t>(n)};
      if (std::find(options->listen.begin(), options->listen.end(), address) == options->listen.end()) {
        options->listen.push_back(address);
      }
    } else if (arg == "--runner-image") {
      options->runnerImage = v;
    } else {
      options->runnerCommand = v;
    }
  }
  // A namespace named twice is watched once.
  std::sort(options->namespaces.begin(), options->namespaces.end());
  options->namespaces.erase(std::unique(options->namespaces.begin(), options->namespaces.end()),
                            options->namespaces.end());
  return -1;
}

std::string identity() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::random_device random;
  return std::string(host) + "_" + std::to_string(getpid()) + "_" + std::to_string(random() % 100000);
}

}  // namespace

int cmdOperator(const std::vector<std::string>& args) {
  Options options;
  if (int rc = parseArgs(args, &options); rc >= 0) {
    return rc;
  }
  auto env = kube::processEnv();
  auto config = options.kubeconfig.empty() ? kube::loadDefaultConfig(env)
                                           : kube::loadKubeconfigFiles({options.kubeconfig});
  if (!config) {
    std::cerr << "tokenstorm operator: cluster configuration: " << config.error() << "\n";
    return kExitInvalid;
  }
  kube::ClientOptions client_options;
  client_options.userAgent = "tokenstorm-operator";
  client_options.fieldManager = "tokenstorm-operator";
  auto client = kube::Client::fromConfig(*config, client_options);
  if (!client) {
    std::cerr << "tokenstorm operator: " << client.error() << "\n";
    return kExitInvalid;
  }

  // Signals are taken by sigtimedwait below, so every thread started from here on has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  op::ControllerOptions controller_options;
  controller_options.namespaces = options.namespaces;
  controller_options.workers = options.workers;
  controller_options.identity = identity();
  controller_options.op.image = !options.runnerImage.empty()
                                    ? options.runnerImage
                                    : env("TOKENSTORM_RUNNER_IMAGE").value_or("tokenstorm:latest");
  if (auto account = env("TOKENSTORM_RUNNER_SERVICE_ACCOUNT"); account && !account->empty()) {
    controller_options.op.runnerServiceAccount = *account;
  }
  controller_options.op.runnerCommand = options.runnerCommand;
  const std::string me = controller_options.identity;

  auto registry = std::make_shared<prometheus::Registry>();
  op::Controller controller(**client, controller_options, *registry);
  std::string error;
  op::ProbeHandlers handlers;
  handlers.healthy = [] { return true; };
  handlers.ready = [&controller] { return controller.synced(); };  // never leadership: standbys are ready
  handlers.metrics = [&controller, registry] {
    controller.refreshGauges();
    return prometheus::TextSerializer().Serialize(registry->Collect());
  };
  if (options.listen.empty()) {
    options.listen.emplace_back("127.0.0.1", 8080);
  }
  std::vector<std::unique_ptr<op::ProbeServer>> servers;
  std::string listening;
  for (const auto& [host, port] : options.listen) {
    servers.push_back(op::ProbeServer::start(host, port, handlers, &error));
    if (!servers.back()) {
      std::cerr << "tokenstorm operator: " << error << "\n";
      return kExitInvalid;
    }
    listening += (listening.empty() ? "" : ",") + host + ":" + std::to_string(servers.back()->port());
  }
  op::logLine("info", "starting",
              {{"identity", me},
               {"listen", listening},
               {"namespaces", options.namespaces.empty() ? "*" : [&] {
                  std::string all;
                  for (const auto& ns : options.namespaces) {
                    all += (all.empty() ? "" : ",") + ns;
                  }
                  return all;
                }()},
               {"workers", std::to_string(options.workers)},
               {"leaderElect", options.leaderElect ? "true" : "false"}});
  controller.startInformers();

  std::atomic<bool> stopping{false};
  std::atomic<bool> lost{false};
  std::atomic<bool> start_workers{!options.leaderElect};
  std::unique_ptr<kube::LeaderElector> elector;
  if (options.leaderElect) {
    std::string lease_ns = options.leaseNamespace;
    if (lease_ns.empty()) {
      lease_ns = env("POD_NAMESPACE").value_or((*client)->defaultNamespace());
    }
    kube::LeaderElectionConfig election;
    election.ns = lease_ns;
    election.name = kLeaseName;
    election.identity = me;
    kube::LeaderCallbacks callbacks;
    callbacks.onStartedLeading = [&start_workers, lease_ns] {
      op::logLine("info", "became leader", {{"lease", lease_ns + "/" + kLeaseName}});
      start_workers = true;
    };
    callbacks.onStoppedLeading = [&stopping, &lost] {
      if (!stopping) {
        op::logLine("error", "leadership lost; exiting", {});
        lost = true;
      }
    };
    callbacks.onNewLeader = [](const std::string& who) {
      op::logLine("info", "leader", {{"identity", who}});
    };
    elector = std::make_unique<kube::LeaderElector>(**client, election, callbacks);
    elector->start();
  }

  const auto started = std::chrono::steady_clock::now();
  bool workers_running = false;
  int exit_code = kExitOk;
  const timespec poll{0, 100'000'000};
  while (true) {
    int sig = sigtimedwait(&signals, nullptr, &poll);
    if (sig == SIGTERM || sig == SIGINT) {
      op::logLine("info", "signal received; shutting down",
                  {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
    if (lost) {
      exit_code = kExitError;
      break;
    }
    if (!workers_running && start_workers && controller.synced()) {
      op::logLine("info", "caches synced; starting workers", {});
      controller.startWorkers();
      workers_running = true;
    }
    if (!controller.synced() && std::chrono::steady_clock::now() - started > kSyncTimeout) {
      op::logLine("error", "informers did not sync; exiting", {});
      exit_code = kExitError;
      break;
    }
  }
  stopping = true;
  controller.stop();  // workers finish the reconcile in progress; then the informers
  if (elector) {
    elector->stop();  // releases the Lease: a standby takes over at once
  }
  for (auto& server : servers) {
    server->stop();
  }
  op::logLine("info", "stopped", {});
  return exit_code;
}

}  // namespace tokenstorm::app
