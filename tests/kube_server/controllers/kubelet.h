// The process kubelet of the API test server: one Node (`kts-node`) whose "containers" are local processes.
//
// - register: creates the Node (Ready) when the store serves nodes.
// - schedule: binds every pending, unbound pod to its node (a merge patch of spec.nodeName; condition
//   PodScheduled). nodeSelector, tolerations and affinity are ignored.
// - start: prepares the pod's directory (pod_setup.h: volumes, service-account files, kubeconfig under
//   $KTS_ROOT), then starts each container's command+args (the image is ignored; with no command, args
//   alone are the argv) with posix_spawnp in its own process group, stdin /dev/null, stdout+stderr to
//   logs/<container>/<restartCount>.log; records the first container's pid in the annotation
//   kts.tokenstorm.dev/pid; phase Running, podIP/hostIP 127.0.0.1.
// - config error: a missing ConfigMap/Secret (not optional) keeps the pod Pending with waiting reason
//   CreateContainerConfigError (ContainerCreating for volumes), retried on every resync.
// - exit: state.terminated {exitCode, reason Completed / Error / OOMKilled, signal, startedAt, finishedAt};
//   a signal death is exitCode 128+signal; a program that cannot be started is StartError, exitCode 128.
//   restartPolicy Never: Succeeded when every container exited 0, otherwise Failed; OnFailure/Always:
//   restarted (restartCount, lastState) after a back-off that doubles from restartBackoff. The process
//   group is killed when its leader exits.
// - readiness: an exec readinessProbe runs every periodSeconds after initialDelaySeconds
//   (successThreshold, failureThreshold, timeoutSeconds honoured); other probe kinds and no probe: ready
//   once started. Liveness and startup probes are ignored.
// - delete: deletionTimestamp → SIGTERM to each process group, SIGKILL after deletionGracePeriodSeconds,
//   final status, then the pod is removed with gracePeriodSeconds 0. A pod removed outright loses its
//   processes at once.
// - OOM hook: the annotation kts.tokenstorm.dev/oom-kill (any value) makes the kubelet SIGKILL the first
//   container and report reason OOMKilled, exitCode 137 (once per value).
// - stop(): SIGTERM to every process group, SIGKILL after stopGracePeriod, all reaped.
//
// Processes are reaped with waitpid(WNOHANG) on the kubelet's own thread every tick; no SIGCHLD handler.
// Status times come from the injected clock (wall); grace periods and back-offs use its monotonic reading.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/api_store.h"
#include "pod_setup.h"
#include "tokenstorm/core/clock.h"

namespace tokenstorm::kts {

inline constexpr const char* kPidAnnotation = "kts.tokenstorm.dev/pid";
inline constexpr const char* kOomKillAnnotation = "kts.tokenstorm.dev/oom-kill";

struct KubeletOptions {
  std::string dataDir;
  std::string nodeName = "kts-node";
  PodContext context;                  // server URL, CA, token (nodeName is filled from above)
  std::chrono::milliseconds tick{50};  // reaping, probes, grace deadlines
  std::chrono::milliseconds resyncPeriod{1000};
  std::chrono::milliseconds restartBackoff{500};  // CrashLoopBackOff: first delay, doubling
  std::chrono::milliseconds maxRestartBackoff{10'000};
  std::chrono::milliseconds stopGracePeriod{2000};
  // Variables of this process's environment passed to every container (when set).
  std::vector<std::string> passEnv = {"PATH",         "LD_LIBRARY_PATH", "LANG",         "LC_ALL",      "TZ",
                                      "ASAN_OPTIONS", "UBSAN_OPTIONS",   "LSAN_OPTIONS", "TSAN_OPTIONS"};
  std::function<void(const std::string&)> log;  // error lines; stderr when empty
};

class Kubelet {
 public:
  Kubelet(ApiStore& store, const core::Clock& clock, KubeletOptions options);
  ~Kubelet();
  Kubelet(const Kubelet&) = delete;
  Kubelet& operator=(const Kubelet&) = delete;

  void start();
  // Stops the threads, then terminates every process (SIGTERM, SIGKILL after stopGracePeriod).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokenstorm::kts
