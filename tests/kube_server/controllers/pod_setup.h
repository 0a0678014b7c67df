// What the process kubelet prepares before it starts a pod's container: the files (volumes, service-account
// files, kubeconfig) and the environment. Pure functions over the Pod and an ObjectLookup (the store in the
// kubelet, a map in tests); the only side effects are the files written under the pod's directory.
//
// A pod's directory, dataDir/pods/<uid>/:
// - root/: $KTS_ROOT, the pod's filesystem root; a volume mounted at /etc/x is root/etc/x (a symlink into
//   volumes/, or to a file in it with subPath).
// - root/var/run/secrets/kubernetes.io/serviceaccount/: token (the server's bearer token), ca.crt,
//   namespace (unless automountServiceAccountToken is false).
// - volumes/<volume>/: each volume's files: configMap, secret, projected (serviceAccountToken, configMap,
//   secret, downwardAPI), downwardAPI; emptyDir and other kinds are empty directories. Written once at
//   start (later ConfigMap changes are not reflected).
// - kubeconfig: $KUBECONFIG, the test server's URL, CA and token, the pod's namespace as the context's.
// - work/: the process's working directory and $HOME (or $KTS_ROOT/<workingDir> when the container names
//   one); tmp/: $TMPDIR.
// - logs/<container>/<restartCount>.log: stdout and stderr of each run of the container.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace tokenstorm::kts {

// Fetches a "ConfigMap" or "Secret" by namespace and name; nullopt when it does not exist.
using ObjectLookup = std::function<std::optional<nlohmann::json>(
    const std::string& kind, const std::string& ns, const std::string& name)>;

// What the kubelet knows besides the pod.
struct PodContext {
  std::string serverUrl;  // the test server, e.g. https://127.0.0.1:6443
  std::string caPem;      // its CA certificate (PEM); "" for plain HTTP
  std::string token;      // its bearer token
  std::string nodeName;
  // Variables of the kubelet's own environment that every container gets (PATH, sanitizer options, ...).
  std::vector<std::pair<std::string, std::string>> hostEnv;
};

using EnvList = std::vector<std::pair<std::string, std::string>>;

// An error that keeps a container from starting, as the kubelet reports it (waiting.reason/message).
struct SetupError {
  std::string reason;  // "CreateContainerConfigError"
  std::string message;
};

std::filesystem::path podDirectory(const std::filesystem::path& data_dir, const std::string& uid);
std::filesystem::path containerLogPath(const std::filesystem::path& data_dir, const std::string& uid,
                                       const std::string& container, int64_t restart_count);

// The value of a downward-API fieldPath (metadata.name, metadata.namespace, metadata.uid,
// metadata.labels['k'], metadata.annotations['k'], spec.nodeName, spec.serviceAccountName, status.podIP,
// status.hostIP); nullopt for an unsupported path. A missing label or annotation is "".
std::optional<std::string> podFieldValue(const nlohmann::json& pod, const std::string& field_path,
                                         const std::string& node_name);

// Expands $(NAME) references to earlier variables, as Kubernetes does in env values, command and args;
// $$ is a literal $, an unknown reference stays as written.
std::string expandReferences(const std::string& text, const EnvList& env);

// The container's environment, in order: the host pass-through, HOSTNAME, HOME, TMPDIR, KTS_ROOT,
// KUBECONFIG, the KUBERNETES_SERVICE_* variables, then envFrom, then env (a later name replaces an earlier).
std::optional<SetupError> buildEnvironment(const nlohmann::json& pod, const nlohmann::json& container,
                                           const std::filesystem::path& pod_dir, const PodContext& context,
                                           const ObjectLookup& lookup, EnvList* env);

// Writes the pod's volumes, the service-account files, the kubeconfig and the work/tmp directories, and
// links every container's volumeMounts under root/. Safe to run again (files are rewritten).
std::optional<SetupError> preparePodFiles(const nlohmann::json& pod, const std::filesystem::path& pod_dir,
                                          const PodContext& context, const ObjectLookup& lookup);

// The kubeconfig a pod gets (JSON, which is YAML): one cluster, one user with the token, one context.
nlohmann::json podKubeconfig(const PodContext& context, const std::string& ns);

// host and port of the test server's URL ("https://127.0.0.1:6443" → {"127.0.0.1", "6443"}).
std::pair<std::string, std::string> serverHostPort(const std::string& url);

}  // namespace tokenstorm::kts
