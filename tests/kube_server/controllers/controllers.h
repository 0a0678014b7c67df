// The controllers that make the Kubernetes API test server a small cluster: the Job controller
// (job_controller.h) and the process kubelet (kubelet.h), started next to the store by kube-test-server.
// Both run in-process on their own threads, driven by ApiStore watches plus a periodic resync, and take
// their time from an injected core::Clock.
//
// This folder depends on the store (api/api_store.h) and core only; the HTTP front does not enter here.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/api_store.h"
#include "job_controller.h"
#include "kubelet.h"
#include "tokenstorm/core/clock.h"

namespace tokenstorm::kts {

struct ControllerOptions {
  std::string dataDir;    // pods live under dataDir/pods/<uid>/ (see pod_setup.h)
  std::string serverUrl;  // the test server as pods reach it, e.g. https://127.0.0.1:6443
  std::string caFile;     // the server's CA certificate (PEM file); "" for plain HTTP ...
  std::string caPem;      // ... or the PEM itself (wins over caFile)
  std::string token;      // the server's bearer token, handed to pods (kubeconfig, service-account token)
  std::string nodeName = "kts-node";
  bool jobController = true;
  bool kubelet = true;
  std::function<void(const std::string&)> log;  // error lines; stderr when empty
};

class Controllers {
 public:
  Controllers(ApiStore& store, const core::Clock& clock, ControllerOptions options);
  ~Controllers();
  Controllers(const Controllers&) = delete;
  Controllers& operator=(const Controllers&) = delete;

  void start();
  // Stops both; the kubelet terminates every pod process (SIGTERM, then SIGKILL after a short grace).
  void stop();

 private:
  std::unique_ptr<JobController> jobs_;
  std::unique_ptr<Kubelet> kubelet_;
};

}  // namespace tokenstorm::kts
