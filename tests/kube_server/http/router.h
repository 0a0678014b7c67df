// Request routing for the test server, free of sockets: an HTTP request (method, target, a few headers,
// body) becomes either a complete reply or a watch to stream. Paths follow kube-apiserver:
//
//   /api, /api/v1, /apis, /apis/{g}, /apis/{g}/{v}               discovery (discovery.h)
//   /api/v1/[namespaces/{ns}/]{plural}[/{name}[/{sub}]]          core resources
//   /apis/{g}/{v}/[namespaces/{ns}/]{plural}[/{name}[/{sub}]]    everything else
//   /version, /healthz, /livez, /readyz                          public (no authentication)
//   /openapi/v2, /openapi/v3                                     minimal documents kubectl accepts
//
// Verbs: GET (get, list, watch=true|1), POST (create), PUT (update), PATCH (merge, JSON and strategic
// merge patch by Content-Type; server-side apply is 415), DELETE (with DeleteOptions in the body or the
// propagationPolicy/gracePeriodSeconds query) and deletecollection. Errors are metav1.Status JSON with the
// HTTP code. `Accept: application/json;as=Table;...` asks for a Table (table.h).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"
#include "http/table.h"
#include "tokenstorm/core/clock.h"

namespace tokenstorm::kts {

struct HttpRequestView {
  std::string method;  // "GET"
  std::string target;  // "/api/v1/namespaces/default/pods?watch=1", as received
  std::string contentType;
  std::string accept;
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct WatchPlan {
  ResourceType type;
  std::string ns;
  WatchOptions options;
  std::optional<std::chrono::seconds> timeout;  // timeoutSeconds, when given
  std::optional<TableOptions> table;            // events carry Tables (kubectl get -w)
};

struct Routed {
  std::optional<HttpReply> reply;
  std::optional<WatchPlan> watch;
};

// The path without its query, percent-decoded segments and the decoded query parameters.
struct ParsedTarget {
  std::string path;
  std::vector<std::string> segments;
  std::vector<std::pair<std::string, std::string>> query;

  std::optional<std::string> param(const std::string& name) const;
};
ParsedTarget parseTarget(const std::string& target);

HttpReply jsonReply(int status, const nlohmann::json& body);
HttpReply errorReply(const ApiError& error);
HttpReply errorReply(int code, const std::string& reason, const std::string& message);

// /version's body.
nlohmann::json versionInfo();

// True for paths served without authentication.
bool isPublicPath(const std::string& path);

class Router {
 public:
  // `pods_dir`: the process kubelet's pod directories, for pods/log ("" when there is no kubelet).
  Router(ApiStore& store, const core::Clock& clock, std::string server_address, std::string pods_dir = "");

  Routed route(const HttpRequestView& request) const;

  // One watch line's JSON for `plan`: the event as the store gave it, or with its object as a Table row.
  nlohmann::json renderEvent(const WatchPlan& plan, nlohmann::json event, bool first) const;

 private:
  Routed routeResource(const HttpRequestView& request, const ParsedTarget& target, const std::string& group,
                       const std::string& version, size_t rest_begin) const;
  // GET pods/NAME/log: the container's output as the kubelet wrote it (container, previous, tailLines,
  // limitBytes; follow is answered with what there is so far).
  Routed podLog(const ParsedTarget& target, const ResourceType& pods, const std::string& ns,
                const std::string& name) const;

  ApiStore& store_;
  const core::Clock& clock_;
  std::string serverAddress_;
  std::string podsDir_;
};

}  // namespace tokenstorm::kts
