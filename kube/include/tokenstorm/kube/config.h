// Where the cluster is and how to authenticate: ClusterConfig, loaded from kubeconfig files or from the
// pod's service account (in-cluster).
//
// kubeconfig (as kubectl reads it):
// - Files: KUBECONFIG, a ':'-separated list, merged in order: for clusters, users and contexts the first
//   file that defines a name wins, and current-context comes from the first file that sets one; missing
//   files in the list are skipped. Without KUBECONFIG: $HOME/.kube/config.
// - The context: the one named by the caller, else current-context.
// - Cluster: server, certificate-authority-data (base64 PEM) or certificate-authority (a file; relative
//   paths resolve against the folder of the kubeconfig that defined the entry), insecure-skip-tls-verify.
// - User: token, tokenFile, client-certificate(-data), client-key(-data), exec (credential plugin).
//   Basic auth, auth-provider (removed from kubectl) and impersonation are refused with a message.
// - Namespace: the context's namespace, else "default".
// Errors are values that name the file and the field: `kubeconfig /x: users[0].user.client-key-data: not
// base64`.
//
// In-cluster (as client-go's InClusterConfig): https://KUBERNETES_SERVICE_HOST:KUBERNETES_SERVICE_PORT
// (an IPv6 host is bracketed), and from /var/run/secrets/kubernetes.io/serviceaccount/: the token (kept
// as tokenFile, so it is re-read when the kubelet rotates it), ca.crt, and namespace. The environment
// variable KTS_ROOT, when set, is prefixed to that folder: the Kubernetes API test server's process
// kubelet sets it for the pods it runs as local processes.
//
// The environment is read through an EnvLookup, so tests need not change the process environment.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenstorm/kube/result.h"

namespace tokenstorm::kube {

using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup processEnv();  // getenv

// users[].user.exec: a credential plugin (client.authentication.k8s.io/v1 or v1beta1).
struct ExecConfig {
  std::string apiVersion;
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  bool provideClusterInfo = false;
  std::string installHint;
};

struct ClusterConfig {
  std::string server;  // "https://host:port"
  std::string caPem;   // the CA bundle (data, not a path); empty: the system's trust store
  bool insecureSkipTlsVerify = false;
  std::string bearerToken;  // a fixed token
  std::string tokenFile;    // a token read from this file (re-read when it rotates); wins over bearerToken
  std::string clientCertPem;
  std::string clientKeyPem;
  std::string ns = "default";  // the context's (or service account's) namespace
  std::optional<ExecConfig> exec;
  std::string source;  // where it came from, for messages: "kubeconfig /x context y" or "in-cluster"
};

// Reads the kubeconfig files (merged as above) and resolves `context` ("" for current-context).
Expected<ClusterConfig> loadKubeconfigFiles(const std::vector<std::string>& paths,
                                            const std::string& context = "");
// Same, for one document already in memory; `path` names it in messages and anchors relative paths.
Expected<ClusterConfig> parseKubeconfig(const std::string& yaml, const std::string& path,
                                        const std::string& context = "");
// KUBECONFIG, else $HOME/.kube/config.
Expected<ClusterConfig> loadKubeconfig(const EnvLookup& env, const std::string& context = "");
// The service account's configuration.
Expected<ClusterConfig> loadInCluster(const EnvLookup& env);
// What a controller uses (controller-runtime's order): KUBECONFIG if set; else in-cluster if
// KUBERNETES_SERVICE_HOST is set; else $HOME/.kube/config.
Expected<ClusterConfig> loadDefaultConfig(const EnvLookup& env, const std::string& context = "");

}  // namespace tokenstorm::kube
