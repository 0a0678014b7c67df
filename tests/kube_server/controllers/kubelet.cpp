#include "kubelet.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <set>
#include <thread>

#include "util.h"
#include "watch_pump.h"

namespace tokenstorm::kts {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr int64_t kNanosPerSecond = 1'000'000'000;
constexpr int64_t kDefaultGracePeriod_s = 30;
constexpr int kStartErrorExitCode = 128;  // what container runtimes report for a program that cannot start

int64_t toNanos(std::chrono::milliseconds d) {
  return static_cast<int64_t>(d.count()) * kNanosPerMilli;
}

// Starts argv in its own process group with a clean signal state; stdout/stderr to `out_path` (or
// /dev/null when empty). Returns the pid, or the errno of the failure.
struct SpawnResult {
  pid_t pid = 0;
  int error = 0;
};

SpawnResult spawnProcess(const std::vector<std::string>& argv, const EnvList& env, const fs::path& cwd,
                         const fs::path& out_path) {
  SpawnResult result;
  if (argv.empty()) {
    result.error = ENOENT;
    return result;
  }
  const std::string out = out_path.empty() ? std::string("/dev/null") : out_path.string();
  const int outFd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (outFd < 0) {
    result.error = errno;
    return result;
  }
  std::vector<std::string> envStrings;
  envStrings.reserve(env.size());
  for (const auto& [key, value] : env) {
    envStrings.push_back(key + "=" + value);
  }
  std::vector<char*> argvPtrs;
  for (const auto& a : argv) {
    argvPtrs.push_back(const_cast<char*>(a.c_str()));
  }
  argvPtrs.push_back(nullptr);
  std::vector<char*> envPtrs;
  for (auto& e : envStrings) {
    envPtrs.push_back(e.data());
  }
  envPtrs.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, outFd, 1);
  posix_spawn_file_actions_adddup2(&actions, outFd, 2);
  const std::string dir = cwd.string();
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group (signals go to the whole "container"), nothing blocked, and the signals a server
  // commonly ignores or handles back to their defaults: a container starts with a clean signal state.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&defaults, sig);
  }
  posix_spawnattr_setsigdefault(&attr, &defaults);

  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, argvPtrs[0], &actions, &attr, argvPtrs.data(), envPtrs.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(outFd);
  if (rc != 0) {
    result.error = rc;
    return result;
  }
  result.pid = pid;
  return result;
}

// SIGKILL a process group and reap its leader (used where the kubelet forgets a process).
void killAndReap(pid_t pid) {
  if (pid <= 0) {
    return;
  }
  ::killpg(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

struct ContainerRun {
  std::string name;
  nlohmann::json spec;
  pid_t pid = 0;
  int64_t restartCount = 0;
  std::string startedAt;
  nlohmann::json state = {{"waiting", {{"reason", "ContainerCreating"}}}};
  nlohmann::json lastState = nlohmann::json::object();
  bool done = false;  // terminated and not restarting
  bool restartPending = false;
  core::MonoNanos restartAt = 0;
  int64_t lastExitCode = 0;
  bool ready = false;
  bool readyWritten = false;  // `ready` as last written to the store
  bool oomNext = false;
  EnvList env;
  fs::path cwd;
  // exec readiness probe
  pid_t probePid = 0;
  core::MonoNanos probeDeadline = 0;
  core::MonoNanos nextProbe = 0;
  int64_t probeSuccesses = 0;
  int64_t probeFailures = 0;

  const nlohmann::json& execProbe() const {
    return member(member(member(spec, "readinessProbe"), "exec"), "command");
  }
  bool hasExecProbe() const { return execProbe().is_array() && !execProbe().empty(); }
};

struct PodRun {
  std::string ns;
  std::string name;
  std::string uid;
  fs::path dir;
  nlohmann::json pod;
  std::vector<ContainerRun> containers;
  bool prepared = false;
  std::optional<SetupError> setupError;
  core::MonoNanos nextSetupRetry = 0;
  std::string startTime;
  nlohmann::json conditions = nlohmann::json::array();
  bool terminating = false;
  core::MonoNanos killAt = 0;
  bool killSent = false;
  std::string oomHandled;
  std::string lastStatus;
  std::string lastPid;
  bool dirty = true;  // the status to write changed
};

}  // namespace

struct Kubelet::Impl {
  ApiStore& store;
  const core::Clock& clock;
  KubeletOptions options;
  ResourceType podType;
  ResourceType configMapType;
  ResourceType secretType;
  std::optional<ResourceType> nodeType;
  KeyQueue queue;
  std::unique_ptr<WatchPump> pump;
  std::thread worker;
  std::atomic<bool> stopping{false};
  bool nodeRegistered = false;
  std::map<std::string, PodRun> runs;  // by "ns/name"

  Impl(ApiStore& s, const core::Clock& c, KubeletOptions o) : store(s), clock(c), options(std::move(o)) {
    podType = store.findType("", "v1", "pods").value_or(ResourceType{});
    configMapType = store.findType("", "v1", "configmaps").value_or(ResourceType{});
    secretType = store.findType("", "v1", "secrets").value_or(ResourceType{});
    nodeType = store.findType("", "v1", "nodes");
    options.context.nodeName = options.nodeName;
    for (const auto& name : options.passEnv) {
      if (const char* value = std::getenv(name.c_str())) {
        options.context.hostEnv.emplace_back(name, value);
      }
    }
  }

  void log(const std::string& line) const {
    if (options.log) {
      options.log(line);
    } else {
      std::cerr << "kts kubelet: " << line << "\n";
    }
  }

  core::MonoNanos mono() const { return clock.monotonicNanos(); }
  std::string wallText() const { return formatTime(clock.wallNow()); }

  ObjectLookup lookup() {
    return [this](const std::string& kind, const std::string& ns,
                  const std::string& name) -> std::optional<nlohmann::json> {
      Result got = store.get(kind == "Secret" ? secretType : configMapType, ns, name);
      if (!got.ok()) {
        return std::nullopt;
      }
      return std::move(got.object);
    };
  }

  // ---- the loop ----

  void run() {
    auto nextResync = std::chrono::steady_clock::now();
    while (!stopping) {
      std::vector<std::string> keys = queue.take(std::chrono::steady_clock::now() + options.tick);
      if (stopping) {
        return;
      }
      for (const auto& key : keys) {
        const auto [ns, name] = splitKey(key);
        Result got = store.get(podType, ns, name);
        if (got.ok()) {
          handlePod(got.object);
        } else if (got.error->code == 404) {
          forget(key);
        }
      }
      if (std::chrono::steady_clock::now() >= nextResync) {
        nextResync = std::chrono::steady_clock::now() + options.resyncPeriod;
        resync();
      }
      for (auto it = runs.begin(); it != runs.end();) {
        if (step(it->second)) {
          it = runs.erase(it);
        } else {
          ++it;
        }
      }
    }
  }

  void resync() {
    if (!nodeRegistered) {
      registerNode();
    }
    Result listed = store.list(podType, "", ListOptions{});
    if (!listed.ok()) {
      return;
    }
    std::set<std::string> seen;
    for (const auto& pod : listed.object["items"]) {
      seen.insert(objectKey(stringAt(pod, {"metadata", "namespace"}), stringAt(pod, {"metadata", "name"})));
      handlePod(pod);
    }
    std::vector<std::string> gone;
    for (const auto& [key, run] : runs) {
      if (seen.count(key) == 0) {
        gone.push_back(key);
      }
    }
    for (const auto& key : gone) {
      forget(key);
    }
  }

  void registerNode() {
    nodeRegistered = true;
    if (!nodeType) {
      return;  // the store does not serve nodes
    }
    if (store.get(*nodeType, "", options.nodeName).ok()) {
      return;
    }
    const std::string now = wallText();
    nlohmann::json status = {
        {"conditions", nlohmann::json::array({{{"type", "Ready"},
                                               {"status", "True"},
                                               {"reason", "KubeletReady"},
                                               {"message", "kubelet is posting ready status"},
                                               {"lastHeartbeatTime", now},
                                               {"lastTransitionTime", now}}})},
        {"addresses", nlohmann::json::array({{{"type", "InternalIP"}, {"address", "127.0.0.1"}},
                                             {{"type", "Hostname"}, {"address", options.nodeName}}})},
        {"capacity",
         {{"cpu", std::to_string(std::max(1U, std::thread::hardware_concurrency()))},
          {"memory", "16Gi"},
          {"pods", "110"}}},
        {"nodeInfo",
         {{"kubeletVersion", "v1.31.0-kts"}, {"operatingSystem", "linux"}, {"architecture", "amd64"}}}};
    status["allocatable"] = status["capacity"];
    nlohmann::json node = {{"apiVersion", "v1"}, {"kind", "Node"}};
    node["metadata"]["name"] = options.nodeName;
    node["metadata"]["labels"] = {{"kubernetes.io/hostname", options.nodeName},
                                  {"kubernetes.io/os", "linux"},
                                  {"kubernetes.io/arch", "amd64"}};
    node["status"] = status;
    Result created = store.create(*nodeType, "", node);
    if (!created.ok()) {
      log("registering node " + options.nodeName + ": " + created.error->message);
      return;
    }
    if (nodeType->statusSubresource) {
      store.patch(*nodeType, "", options.nodeName, PatchType::kMerge,
                  nlohmann::json{{"status", status}}.dump(), Subresource::kStatus);
    }
  }

  // ---- pods as the store shows them ----

  void handlePod(nlohmann::json pod) {
    const std::string ns = stringAt(pod, {"metadata", "namespace"});
    const std::string name = stringAt(pod, {"metadata", "name"});
    const std::string uid = stringAt(pod, {"metadata", "uid"});
    const std::string key = objectKey(ns, name);
    const bool deleting = !member(member(pod, "metadata"), "deletionTimestamp").is_null();
    auto it = runs.find(key);
    if (it != runs.end() && it->second.uid != uid) {
      forget(key);  // a new pod under an old name: the old one is gone
      it = runs.end();
    }
    if (it != runs.end()) {
      PodRun& run = it->second;
      run.pod = std::move(pod);
      if (deleting && !run.terminating) {
        beginTermination(run);
      }
      checkOomHook(run);
      return;
    }

    std::string nodeName = stringAt(pod, {"spec", "nodeName"});
    if (nodeName.empty()) {
      if (deleting) {
        return;
      }
      auto bound = schedule(ns, name);
      if (!bound) {
        return;
      }
      pod = std::move(*bound);
      nodeName = options.nodeName;
    }
    if (nodeName != options.nodeName) {
      return;
    }
    const std::string phase = stringAt(pod, {"status", "phase"});
    if (phase == "Succeeded" || phase == "Failed" || deleting) {
      if (deleting) {
        removeNow(ns, name, uid);  // nothing of it runs here: finish the deletion
      }
      return;
    }

    PodRun run;
    run.ns = ns;
    run.name = name;
    run.uid = uid;
    run.dir = podDirectory(options.dataDir, uid);
    if (const auto& existing = member(member(pod, "status"), "conditions"); existing.is_array()) {
      run.conditions = existing;
    }
    const std::string now = wallText();
    setCondition(run.conditions, "PodScheduled", "True", "", "", now, false);
    setCondition(run.conditions, "Initialized", "True", "", "", now, false);
    for (const auto& c : member(member(pod, "spec"), "containers")) {
      ContainerRun container;
      container.name = stringAt(c, {"name"});
      container.spec = c;
      run.containers.push_back(std::move(container));
    }
    run.startTime = now;
    run.pod = std::move(pod);
    auto [inserted, ok] = runs.emplace(key, std::move(run));
    startPod(inserted->second);
    checkOomHook(inserted->second);
  }

  std::optional<nlohmann::json> schedule(const std::string& ns, const std::string& name) {
    const nlohmann::json patch = {{"spec", {{"nodeName", options.nodeName}}}};
    Result bound = store.patch(podType, ns, name, PatchType::kMerge, patch.dump());
    if (!bound.ok()) {
      if (bound.error->code != 404) {
        log("binding pod " + ns + "/" + name + ": " + bound.error->message);
      }
      return std::nullopt;
    }
    return std::move(bound.object);
  }

  void removeNow(const std::string& ns, const std::string& name, const std::string& uid) {
    DeleteOptions options0;
    options0.gracePeriodSeconds = 0;
    options0.preconditionUid = uid;
    Result removed = store.remove(podType, ns, name, options0);
    if (!removed.ok() && removed.error->code != 404 && removed.error->code != 409) {
      log("removing pod " + ns + "/" + name + ": " + removed.error->message);
    }
  }

  // The pod is gone from the store: its processes go at once.
  void forget(const std::string& key) {
    auto it = runs.find(key);
    if (it == runs.end()) {
      return;
    }
    for (auto& c : it->second.containers) {
      killAndReap(c.pid);
      killAndReap(c.probePid);
    }
    runs.erase(it);
  }

  // ---- starting ----

  void startPod(PodRun& run) {
    run.nextSetupRetry = mono() + toNanos(options.resyncPeriod);
    run.setupError = preparePodFiles(run.pod, run.dir, options.context, lookup());
    if (!run.setupError) {
      for (auto& c : run.containers) {
        run.setupError = buildEnvironment(run.pod, c.spec, run.dir, options.context, lookup(), &c.env);
        if (run.setupError) {
          break;
        }
        const std::string workingDir = stringAt(c.spec, {"workingDir"});
        c.cwd = run.dir / "work";
        if (!workingDir.empty() && workingDir.find("..") == std::string::npos) {
          c.cwd = run.dir / "root" / workingDir.substr(workingDir.find_first_not_of('/'));
          std::error_code ec;
          fs::create_directories(c.cwd, ec);
        }
      }
    }
    if (run.setupError) {
      for (auto& c : run.containers) {
        c.state = {{"waiting", {{"reason", run.setupError->reason}, {"message", run.setupError->message}}}};
      }
      writeStatus(run);
      return;
    }
    run.prepared = true;
    for (auto& c : run.containers) {
      spawnContainer(run, c);
    }
    annotatePid(run);
    writeStatus(run);
  }

  void spawnContainer(PodRun& run, ContainerRun& c) {
    std::vector<std::string> argv;
    for (const char* part : {"command", "args"}) {
      const auto& list = member(c.spec, part);
      if (list.is_array()) {
        for (const auto& a : list) {
          argv.push_back(expandReferences(a.is_string() ? a.get<std::string>() : a.dump(), c.env));
        }
      }
    }
    const fs::path logPath = containerLogPath(options.dataDir, run.uid, c.name, c.restartCount);
    std::error_code ec;
    fs::create_directories(logPath.parent_path(), ec);
    const std::string now = wallText();
    SpawnResult spawned = spawnProcess(argv, c.env, c.cwd, logPath);
    c.restartPending = false;
    if (spawned.pid <= 0) {
      nlohmann::json terminated = {{"exitCode", kStartErrorExitCode},
                                   {"reason", "StartError"},
                                   {"message", "exec: \"" + (argv.empty() ? std::string() : argv[0]) +
                                                   "\": " + std::strerror(spawned.error)},
                                   {"startedAt", now},
                                   {"finishedAt", now}};
      finishRun(run, c, std::move(terminated), kStartErrorExitCode);
      return;
    }
    run.dirty = true;
    c.pid = spawned.pid;
    c.startedAt = now;
    c.state = {{"running", {{"startedAt", now}}}};
    c.ready = !c.hasExecProbe();
    c.probeSuccesses = 0;
    c.probeFailures = 0;
    c.nextProbe =
        mono() + intAt(c.spec, {"readinessProbe", "initialDelaySeconds"}).value_or(0) * kNanosPerSecond;
  }

  void annotatePid(PodRun& run) {
    if (run.containers.empty() || run.containers.front().pid <= 0) {
      return;
    }
    const std::string pid = std::to_string(run.containers.front().pid);
    if (pid == run.lastPid) {
      return;
    }
    run.lastPid = pid;
    const nlohmann::json patch = {{"metadata", {{"annotations", {{kPidAnnotation, pid}}}}}};
    store.patch(podType, run.ns, run.name, PatchType::kMerge, patch.dump());
  }

  // ---- running ----

  // One tick of a pod; true when it is finished with and can be forgotten.
  bool step(PodRun& run) {
    const core::MonoNanos now = mono();
    if (!run.prepared && !run.terminating && now >= run.nextSetupRetry) {
      startPod(run);
    }
    for (auto& c : run.containers) {
      if (c.pid > 0) {
        int status = 0;
        if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
          onExit(run, c, status);
        }
      }
      stepProbe(run, c, now);
    }
    for (auto& c : run.containers) {
      if (c.restartPending && !run.terminating && now >= c.restartAt) {
        ++c.restartCount;
        spawnContainer(run, c);
        if (&c == &run.containers.front()) {
          annotatePid(run);
        }
      }
    }
    if (run.terminating) {
      if (!run.killSent && now >= run.killAt) {
        run.killSent = true;
        for (auto& c : run.containers) {
          if (c.pid > 0) {
            ::killpg(c.pid, SIGKILL);
          }
        }
      }
      bool anyRunning = false;
      for (const auto& c : run.containers) {
        anyRunning = anyRunning || c.pid > 0 || c.probePid > 0;
      }
      if (!anyRunning) {
        writeStatus(run);
        removeNow(run.ns, run.name, run.uid);
        return true;
      }
    }
    for (const auto& c : run.containers) {
      run.dirty = run.dirty || c.ready != c.readyWritten;
    }
    if (run.dirty) {
      writeStatus(run);
    }
    return false;
  }

  void onExit(PodRun& run, ContainerRun& c, int status) {
    const pid_t pid = c.pid;
    ::killpg(pid, SIGKILL);  // the container ends with its main process
    c.pid = 0;
    int exitCode = 0;
    int signal = 0;
    if (WIFEXITED(status)) {
      exitCode = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      signal = WTERMSIG(status);
      exitCode = 128 + signal;
    }
    std::string reason = exitCode == 0 ? "Completed" : "Error";
    if (c.oomNext && signal == SIGKILL) {
      reason = "OOMKilled";
    }
    c.oomNext = false;
    nlohmann::json terminated = {{"exitCode", exitCode},
                                 {"reason", reason},
                                 {"startedAt", c.startedAt},
                                 {"finishedAt", wallText()},
                                 {"containerID", "kts://" + std::to_string(pid)}};
    if (signal != 0) {
      terminated["signal"] = signal;
    }
    finishRun(run, c, std::move(terminated), exitCode);
  }

  // A run of the container ended (or could not start): restart it or let it rest, per restartPolicy.
  void finishRun(PodRun& run, ContainerRun& c, nlohmann::json terminated, int exitCode) {
    run.dirty = true;
    c.ready = false;
    c.lastExitCode = exitCode;
    killAndReap(c.probePid);
    c.probePid = 0;
    std::string policy = stringAt(run.pod, {"spec", "restartPolicy"});
    if (policy.empty()) {
      policy = "Always";
    }
    const bool restart = !run.terminating && (policy == "Always" || (policy == "OnFailure" && exitCode != 0));
    if (!restart) {
      c.state = {{"terminated", std::move(terminated)}};
      c.done = true;
      return;
    }
    c.lastState = {{"terminated", std::move(terminated)}};
    int64_t delay_ms = 0;
    if (c.restartCount > 0) {
      delay_ms = options.restartBackoff.count();
      for (int64_t i = 1; i < c.restartCount && delay_ms < options.maxRestartBackoff.count(); ++i) {
        delay_ms *= 2;
      }
      delay_ms = std::min<int64_t>(delay_ms, options.maxRestartBackoff.count());
    }
    c.restartPending = true;
    c.restartAt = mono() + delay_ms * kNanosPerMilli;
    c.state = {{"waiting",
                {{"reason", "CrashLoopBackOff"},
                 {"message", "back-off " + std::to_string(delay_ms) + "ms restarting failed container=" +
                                 c.name + " pod=" + run.name + "_" + run.ns + "(" + run.uid + ")"}}}};
  }

  void stepProbe(PodRun& run, ContainerRun& c, core::MonoNanos now) {
    if (!c.hasExecProbe()) {
      return;
    }
    const auto& probe = member(c.spec, "readinessProbe");
    if (c.probePid > 0) {
      int status = 0;
      bool finished = ::waitpid(c.probePid, &status, WNOHANG) == c.probePid;
      bool success = finished && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      if (!finished && now >= c.probeDeadline) {
        killAndReap(c.probePid);
        finished = true;
        success = false;
      }
      if (!finished) {
        return;
      }
      c.probePid = 0;
      if (c.pid <= 0) {
        return;
      }
      if (success) {
        c.probeFailures = 0;
        if (++c.probeSuccesses >= intAt(probe, {"successThreshold"}).value_or(1)) {
          c.ready = true;
        }
      } else {
        c.probeSuccesses = 0;
        if (++c.probeFailures >= intAt(probe, {"failureThreshold"}).value_or(3)) {
          c.ready = false;
        }
      }
      return;
    }
    if (c.pid <= 0 || run.terminating || now < c.nextProbe) {
      return;
    }
    std::vector<std::string> argv;
    for (const auto& a : c.execProbe()) {
      argv.push_back(a.is_string() ? a.get<std::string>() : a.dump());
    }
    SpawnResult spawned = spawnProcess(argv, c.env, c.cwd, {});
    c.nextProbe = now + std::max<int64_t>(1, intAt(probe, {"periodSeconds"}).value_or(10)) * kNanosPerSecond;
    if (spawned.pid <= 0) {
      c.probeSuccesses = 0;
      c.ready = false;
      return;
    }
    c.probePid = spawned.pid;
    c.probeDeadline =
        now + std::max<int64_t>(1, intAt(probe, {"timeoutSeconds"}).value_or(1)) * kNanosPerSecond;
  }

  void beginTermination(PodRun& run) {
    run.terminating = true;
    const int64_t grace =
        intAt(run.pod, {"metadata", "deletionGracePeriodSeconds"}).value_or(kDefaultGracePeriod_s);
    run.killAt = mono() + std::max<int64_t>(0, grace) * kNanosPerSecond;
    for (auto& c : run.containers) {
      if (c.pid > 0) {
        ::killpg(c.pid, grace > 0 ? SIGTERM : SIGKILL);
      }
      if (c.restartPending) {  // it stays down: its last run is its final state
        c.restartPending = false;
        c.done = true;
        if (c.lastState.contains("terminated")) {
          c.state = c.lastState;
        }
      }
    }
  }

  void checkOomHook(PodRun& run) {
    const std::string value = stringAt(run.pod, {"metadata", "annotations", kOomKillAnnotation});
    if (value.empty() || value == run.oomHandled || run.containers.empty()) {
      return;
    }
    ContainerRun& c = run.containers.front();
    if (c.pid <= 0) {
      return;  // not running yet: applied once it runs
    }
    run.oomHandled = value;
    c.oomNext = true;
    ::killpg(c.pid, SIGKILL);
  }

  // ---- status ----

  std::string phaseOf(const PodRun& run) const {
    if (!run.prepared) {
      return "Pending";
    }
    bool allDone = true;
    bool allZero = true;
    for (const auto& c : run.containers) {
      allDone = allDone && c.done;
      allZero = allZero && c.lastExitCode == 0;
    }
    if (allDone) {
      return allZero ? "Succeeded" : "Failed";
    }
    return "Running";
  }

  void writeStatus(PodRun& run) {
    const std::string now = wallText();
    const std::string phase = phaseOf(run);
    bool allReady = phase == "Running";
    std::string unready;
    nlohmann::json statuses = nlohmann::json::array();
    for (const auto& c : run.containers) {
      const bool ready = c.pid > 0 && c.ready;
      if (!ready) {
        allReady = false;
        unready += (unready.empty() ? "" : " ") + c.name;
      }
      nlohmann::json s = {{"name", c.name},       {"image", stringAt(c.spec, {"image"})},
                          {"imageID", ""},        {"ready", ready},
                          {"started", c.pid > 0}, {"restartCount", c.restartCount},
                          {"state", c.state},     {"lastState", c.lastState}};
      if (c.pid > 0) {
        s["containerID"] = "kts://" + std::to_string(c.pid);
      }
      statuses.push_back(std::move(s));
    }
    if (allReady) {
      setCondition(run.conditions, "ContainersReady", "True", "", "", now, false);
      setCondition(run.conditions, "Ready", "True", "", "", now, false);
    } else {
      const std::string reason = phase == "Succeeded" ? "PodCompleted" : "ContainersNotReady";
      const std::string message =
          phase == "Succeeded" ? "" : "containers with unready status: [" + unready + "]";
      setCondition(run.conditions, "ContainersReady", "False", reason, message, now, false);
      setCondition(run.conditions, "Ready", "False", reason, message, now, false);
    }
    nlohmann::json status = {{"phase", phase},
                             {"conditions", run.conditions},
                             {"hostIP", "127.0.0.1"},
                             {"hostIPs", nlohmann::json::array({{{"ip", "127.0.0.1"}}})},
                             {"podIP", "127.0.0.1"},
                             {"podIPs", nlohmann::json::array({{{"ip", "127.0.0.1"}}})},
                             {"startTime", run.startTime},
                             {"qosClass", "BestEffort"},
                             {"containerStatuses", statuses}};
    std::string text = nlohmann::json{{"status", status}}.dump();
    for (auto& c : run.containers) {
      c.readyWritten = c.ready;
    }
    run.dirty = false;
    if (text == run.lastStatus) {
      return;
    }
    Result patched = store.patch(podType, run.ns, run.name, PatchType::kMerge, text, Subresource::kStatus);
    if (patched.ok()) {
      run.lastStatus = std::move(text);
    } else if (patched.error->code != 404) {
      run.dirty = true;  // try again next tick
      log("updating status of pod " + run.ns + "/" + run.name + ": " + patched.error->message);
    }
  }

  // ---- stopping ----

  void terminateAll() {
    for (auto& [key, run] : runs) {
      for (auto& c : run.containers) {
        if (c.pid > 0) {
          ::killpg(c.pid, SIGTERM);
        }
        killAndReap(c.probePid);
        c.probePid = 0;
      }
    }
    const auto deadline = std::chrono::steady_clock::now() + options.stopGracePeriod;
    for (;;) {
      bool anyRunning = false;
      for (auto& [key, run] : runs) {
        for (auto& c : run.containers) {
          int status = 0;
          if (c.pid > 0 && ::waitpid(c.pid, &status, WNOHANG) == c.pid) {
            ::killpg(c.pid, SIGKILL);
            c.pid = 0;
          }
          anyRunning = anyRunning || c.pid > 0;
        }
      }
      if (!anyRunning || std::chrono::steady_clock::now() >= deadline) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& [key, run] : runs) {
      for (auto& c : run.containers) {
        killAndReap(c.pid);
        c.pid = 0;
      }
    }
    runs.clear();
  }
};

Kubelet::Kubelet(ApiStore& store, const core::Clock& clock, KubeletOptions options)
    : impl_(std::make_unique<Impl>(store, clock, std::move(options))) {}

Kubelet::~Kubelet() {
  stop();
}

void Kubelet::start() {
  if (impl_->pump) {
    return;
  }
  impl_->stopping = false;
  Impl* impl = impl_.get();
  impl->pump = std::make_unique<WatchPump>(impl->store, impl->podType, [impl](const nlohmann::json& event) {
    const auto& meta = member(member(event, "object"), "metadata");
    if (meta.is_object()) {
      impl->queue.add(objectKey(stringAt(meta, {"namespace"}), stringAt(meta, {"name"})));
    }
  });
  impl->pump->start();
  impl->worker = std::thread([impl] { impl->run(); });
}

void Kubelet::stop() {
  if (!impl_ || !impl_->pump) {
    return;
  }
  impl_->stopping = true;
  impl_->queue.wake();
  impl_->pump->stop();
  if (impl_->worker.joinable()) {
    impl_->worker.join();
  }
  impl_->pump.reset();
  impl_->terminateAll();
}

}  // namespace tokenstorm::kts
