// The Kubernetes REST client: operations on JSON objects (nlohmann::json) over a Transport, with
// authentication, a client-side rate limit and retries (retry.h). Errors are values: ApiError carries the
// API's Status (code, reason, message) or, with code 0, the network failure.
//
// Resources are named by ResourceRef {group, version, plural, namespaced}; paths follow the API:
//   core group     /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]]
//   other groups   /apis/GROUP/VERSION[/namespaces/NS]/PLURAL[/NAME[/SUBRESOURCE]]
// An empty `ns` on a namespaced resource lists across all namespaces; cluster-scoped resources ignore it.
//
// Construction:
//   auto config = kube::loadDefaultConfig(kube::processEnv());   // or loadKubeconfig / loadInCluster
//   auto client = kube::Client::fromConfig(*config);             // CpprestTransport + credentials
//   auto pod = (*client)->get(kube::resources::kPods, "default", "web-0");
// or, in tests, Client(std::make_shared<FakeTransport>(), auth, options).
//
// Every call is thread-safe: informers and workers share one Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/config.h"
#include "tokenstorm/kube/credentials.h"
#include "tokenstorm/kube/events.h"
#include "tokenstorm/kube/result.h"
#include "tokenstorm/kube/retry.h"
#include "tokenstorm/kube/transport.h"
#include "tokenstorm/kube/watch_stream.h"

namespace tokenstorm::kube {

struct ResourceRef {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  bool namespaced = true;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  std::string basePath() const;  // "/api/v1" or "/apis/GROUP/VERSION"
  // The collection (name "") or an object, optionally its subresource.
  std::string path(const std::string& ns, const std::string& name = "",
                   const std::string& subresource = "") const;
};

namespace resources {
inline const ResourceRef kNamespaces{"", "v1", "namespaces", false};
inline const ResourceRef kPods{"", "v1", "pods", true};
inline const ResourceRef kConfigMaps{"", "v1", "configmaps", true};
inline const ResourceRef kSecrets{"", "v1", "secrets", true};
inline const ResourceRef kServiceAccounts{"", "v1", "serviceaccounts", true};
inline const ResourceRef kEvents{"events.k8s.io", "v1", "events", true};
inline const ResourceRef kJobs{"batch", "v1", "jobs", true};
inline const ResourceRef kDeployments{"apps", "v1", "deployments", true};
inline const ResourceRef kStatefulSets{"apps", "v1", "statefulsets", true};
inline const ResourceRef kHorizontalPodAutoscalers{"autoscaling", "v2", "horizontalpodautoscalers", true};
inline const ResourceRef kLeases{"coordination.k8s.io", "v1", "leases", true};
inline const ResourceRef kCustomResourceDefinitions{"apiextensions.k8s.io", "v1", "customresourcedefinitions",
                                                    false};
inline const ResourceRef kLoadTests{"tokenstorm.dev", "v1alpha1", "loadtests", true};
}  // namespace resources

struct ApiError {
  int32_t code = 0;    // HTTP status; 0: no response (network failure, TLS, timeout, credentials)
  std::string reason;  // Status.reason: NotFound, AlreadyExists, Conflict, Invalid, Gone, TooManyRequests...
  std::string message;
  nlohmann::json details;              // Status.details when given (causes name the fields of an Invalid)
  core::MonoNanos retry_after_ns = 0;  // Retry-After (header, or details.retryAfterSeconds)
  std::string method;
  std::string target;
  uint32_t attempts = 1;

  bool networkError() const { return code == 0; }
  bool notFound() const { return code == 404; }
  bool alreadyExists() const { return code == 409 && reason == "AlreadyExists"; }
  bool conflict() const { return code == 409 && reason != "AlreadyExists"; }
  bool gone() const { return code == 410 || reason == "Expired" || reason == "Gone"; }
  bool invalid() const { return code == 422; }
  bool unauthorized() const { return code == 401; }
  bool forbidden() const { return code == 403; }
  // "GET /api/v1/namespaces/a/pods/x: 404 NotFound: pods \"x\" not found"
  std::string str() const;
};

// An ApiError from a non-2xx (or failed) response: the Status body when there is one.
ApiError apiErrorFrom(const HttpRequest& request, const HttpResponse& response,
                      std::chrono::system_clock::time_point wall_now);

using JsonResult = Result<nlohmann::json, ApiError>;

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  int64_t limit = 0;  // 0: no limit
  std::string continueToken;
  std::string resourceVersion;  // "" : a consistent read
};

struct WatchOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;
  bool allowWatchBookmarks = true;
  int64_t timeoutSeconds = 0;  // the server ends the watch after this; 0: the server's default
};

// How a watch ended when it did not fail: cancelled (by the caller or on_event returning false), or
// closed cleanly by the server.
struct WatchEnd {
  bool cancelled = false;
  uint64_t events = 0;
};

enum class PatchType { kMerge, kJson, kStrategicMerge };
std::string_view patchContentType(PatchType type);

struct DeleteOptions {
  std::string propagationPolicy;  // "Foreground", "Background", "Orphan"; "" : the server's default
  std::optional<int64_t> gracePeriodSeconds;
  std::string preconditionUid;
  std::string preconditionResourceVersion;
};

struct ClientOptions {
  double qps = 20;  // token bucket (retry.h says why these numbers); qps <= 0: no limit
  double burst = 30;
  RetryPolicy retry;
  core::MonoNanos timeout_ns = 30'000'000'000;  // unary requests (sent to the transport per request)
  std::string userAgent = "tokenstorm";
  std::string fieldManager;  // ?fieldManager= on writes; "" leaves it to the server
  const core::Clock* clock = &core::RealClock::instance();
  // Waits (rate limit, retry backoff). Default: sleep the thread. Tests advance a ManualClock instead.
  std::function<void(core::MonoNanos)> sleep;
  std::function<double()> random01;  // jitter in [0, 1); default: a seeded PRNG
};

class Client {
 public:
  Client(std::shared_ptr<Transport> transport, std::shared_ptr<Authenticator> auth,
         ClientOptions options = {}, std::string default_namespace = "default");

  // A CpprestTransport and the credentials of `config` (exec plugins run once here when they give client
  // certificates, see credentials.h).
  static Expected<std::unique_ptr<Client>> fromConfig(const ClusterConfig& config,
                                                      ClientOptions options = {});

  const std::string& defaultNamespace() const { return default_namespace_; }
  Transport& transport() { return *transport_; }
  const ClientOptions& options() const { return options_; }

  JsonResult get(const ResourceRef& r, const std::string& ns, const std::string& name);
  JsonResult list(const ResourceRef& r, const std::string& ns, const ListOptions& options = {});
  // Follows `continue` until the last page; one List with every item and the last page's resourceVersion.
  JsonResult listAll(const ResourceRef& r, const std::string& ns, ListOptions options = {});
  JsonResult create(const ResourceRef& r, const std::string& ns, const nlohmann::json& object);
  // PUT; the name comes from metadata.name; a stale metadata.resourceVersion gives a 409 Conflict.
  JsonResult update(const ResourceRef& r, const std::string& ns, const nlohmann::json& object);
  JsonResult patch(const ResourceRef& r, const std::string& ns, const std::string& name, PatchType type,
                   const nlohmann::json& patch);
  // The object (while finalizers hold it) or the Status the server answers.
  JsonResult remove(const ResourceRef& r, const std::string& ns, const std::string& name,
                    const DeleteOptions& options = {});

  JsonResult getStatus(const ResourceRef& r, const std::string& ns, const std::string& name);
  JsonResult updateStatus(const ResourceRef& r, const std::string& ns, const nlohmann::json& object);
  JsonResult patchStatus(const ResourceRef& r, const std::string& ns, const std::string& name, PatchType type,
                         const nlohmann::json& patch);
  JsonResult getScale(const ResourceRef& r, const std::string& ns, const std::string& name);
  JsonResult patchScale(const ResourceRef& r, const std::string& ns, const std::string& name,
                        int32_t replicas);

  JsonResult createEvent(const EventRecord& record);

  // Streams a watch: decodes events as they arrive and passes each to on_event (false stops). Not retried
  // (the Watcher decides what to do next); an ERROR event is passed on like any other. A non-200 answer,
  // a network failure or a malformed body is an ApiError.
  Result<WatchEnd, ApiError> watch(const ResourceRef& r, const std::string& ns, const WatchOptions& options,
                                   const std::function<bool(const WatchEvent&)>& on_event,
                                   Cancellation& cancellation);

  // One call with authentication, rate limit and retries; any 2xx is success.
  Result<HttpResponse, ApiError> call(HttpRequest request);

 private:
  JsonResult callJson(const std::string& method, const std::string& target, const nlohmann::json* body,
                      std::string_view content_type = "application/json");
  std::string writeQuery() const;
  Expected<Ok> prepare(HttpRequest* request);  // waits for the rate limit, adds headers
  void sleep(core::MonoNanos ns);
  double random01();

  std::shared_ptr<Transport> transport_;
  std::shared_ptr<Authenticator> auth_;
  ClientOptions options_;
  std::string default_namespace_;
  std::mutex mutex_;  // guards bucket_ and rng_
  TokenBucket bucket_;
  uint64_t rng_state_;
};

// Percent-encodes a query value (RFC 3986 unreserved characters pass).
std::string urlEncode(std::string_view text);

}  // namespace tokenstorm::kube
