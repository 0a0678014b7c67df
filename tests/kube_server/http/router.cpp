#include "http/router.h"

#include <cctype>
#include <charconv>

#include "http/discovery.h"
#include "http/openapi.h"
#include "http/protobuf.h"

namespace tokenstorm::kts {

namespace {

using nlohmann::json;

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string percentDecode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      int hi = hexValue(in[i + 1]), lo = hexValue(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && in[i] == '+' ? ' ' : in[i]);
  }
  return out;
}

std::string mediaType(const std::string& content_type) {
  std::string out = content_type.substr(0, content_type.find(';'));
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) {
    out.pop_back();
  }
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool truthy(const std::optional<std::string>& v) {
  return v && (*v == "1" || *v == "true");
}

// A Table request in Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" (v1beta1 also accepted).
std::optional<TableOptions> tableRequest(const std::string& accept, const ParsedTarget& target) {
  if (accept.find("as=Table") == std::string::npos) {
    return std::nullopt;
  }
  TableOptions options;
  size_t at = accept.find("as=Table");
  size_t end = accept.find(',', at);
  std::string first = accept.substr(0, end);
  if (first.find("v=v1beta1") != std::string::npos && accept.find("v=v1;") == std::string::npos &&
      accept.find("v=v1,") == std::string::npos) {
    options.apiVersion = "meta.k8s.io/v1beta1";
  }
  if (auto include = target.param("includeObject")) {
    options.includeObject = *include;
  }
  return options;
}

std::optional<int64_t> parseInt(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

HttpReply notFound(const std::string& path) {
  return errorReply(404, "NotFound", "the server could not find the requested resource (" + path + ")");
}

}  // namespace

std::optional<std::string> ParsedTarget::param(const std::string& name) const {
  for (const auto& [k, v] : query) {
    if (k == name) {
      return v;
    }
  }
  return std::nullopt;
}

ParsedTarget parseTarget(const std::string& target) {
  ParsedTarget out;
  size_t q = target.find('?');
  out.path = target.substr(0, q);
  if (q != std::string::npos) {
    std::string_view query(target);
    query.remove_prefix(q + 1);
    while (!query.empty()) {
      size_t amp = query.find('&');
      std::string_view item = query.substr(0, amp);
      query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
      if (item.empty()) {
        continue;
      }
      size_t eq = item.find('=');
      out.query.emplace_back(percentDecode(item.substr(0, eq), true),
                             eq == std::string_view::npos ? "" : percentDecode(item.substr(eq + 1), true));
    }
  }
  std::string_view path(out.path);
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    if (!seg.empty()) {
      out.segments.push_back(percentDecode(seg, false));
    }
  }
  return out;
}

HttpReply jsonReply(int status, const json& body) {
  HttpReply r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpReply errorReply(const ApiError& error) {
  return jsonReply(error.code, error.toStatus());
}

HttpReply errorReply(int code, const std::string& reason, const std::string& message) {
  return errorReply(ApiError{code, reason, message, nullptr});
}

json versionInfo() {
  return {{"major", "1"},
          {"minor", "32"},
          {"gitVersion", "v1.32.0-kts"},
          {"gitCommit", "0000000000000000000000000000000000000000"},
          {"gitTreeState", "clean"},
          {"buildDate", "2025-01-01T00:00:00Z"},
          {"goVersion", "go1.23.0"},
          {"compiler", "gc"},
          {"platform", "linux/amd64"}};
}

bool isPublicPath(const std::string& path) {
  return path == "/healthz" || path == "/livez" || path == "/readyz" || path == "/version" ||
         path.rfind("/healthz/", 0) == 0 || path.rfind("/livez/", 0) == 0 || path.rfind("/readyz/", 0) == 0;
}

Router::Router(ApiStore& store, const core::Clock& clock, std::string server_address, std::string pods_dir)
    : store_(store),
      clock_(clock),
      serverAddress_(std::move(server_address)),
      podsDir_(std::move(pods_dir)) {}

Routed Router::route(const HttpRequestView& request) const {
  ParsedTarget target = parseTarget(request.target);
  const auto& s = target.segments;
  bool get = request.method == "GET" || request.method == "HEAD";
  if (isPublicPath(target.path)) {
    if (target.path == "/version") {
      return {jsonReply(200, versionInfo()), std::nullopt};
    }
    HttpReply ok;
    ok.contentType = "text/plain; charset=utf-8";
    ok.body = "ok";
    return {ok, std::nullopt};
  }
  if (s.empty()) {
    return {jsonReply(200, {{"paths",
                             {"/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3", "/readyz",
                              "/version"}}}),
            std::nullopt};
  }
  if (s[0] == "openapi" && get) {
    if (s.size() == 2 && s[1] == "v3") {
      return {jsonReply(200, openApiV3Root(store_.types())), std::nullopt};
    }
    if (s.size() >= 3 && s[1] == "v3") {
      std::string gv = target.path.substr(std::string("/openapi/v3/").size());
      if (auto doc = openApiV3GroupVersion(store_.types(), gv)) {
        return {jsonReply(200, *doc), std::nullopt};
      }
    }
    return {notFound(target.path), std::nullopt};
  }
  if (s[0] == "api") {
    if (s.size() == 1) {
      return {get ? jsonReply(200, apiVersions(serverAddress_))
                  : errorReply(405, "MethodNotAllowed", "discovery is read-only"),
              std::nullopt};
    }
    if (s.size() == 2 && get) {
      auto list = apiResourceList(store_.types(), "", s[1]);
      return {list ? jsonReply(200, *list) : notFound(target.path), std::nullopt};
    }
    return routeResource(request, target, "", s[1], 2);
  }
  if (s[0] == "apis") {
    if (s.size() == 1 && get) {
      return {jsonReply(200, apiGroupList(store_.types())), std::nullopt};
    }
    if (s.size() == 2 && get) {
      auto group = apiGroup(store_.types(), s[1]);
      return {group ? jsonReply(200, *group) : notFound(target.path), std::nullopt};
    }
    if (s.size() == 3 && get) {
      auto list = apiResourceList(store_.types(), s[1], s[2]);
      return {list ? jsonReply(200, *list) : notFound(target.path), std::nullopt};
    }
    if (s.size() > 3) {
      return routeResource(request, target, s[1], s[2], 3);
    }
  }
  return {notFound(target.path), std::nullopt};
}

Routed Router::routeResource(const HttpRequestView& request, const ParsedTarget& target,
                             const std::string& group, const std::string& version, size_t rest_begin) const {
  std::vector<std::string> rest(target.segments.begin() + static_cast<std::ptrdiff_t>(rest_begin),
                                target.segments.end());
  std::string ns, plural, name, sub;
  bool namespaced_path = rest.size() >= 3 && rest[0] == "namespaces" &&
                         !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"));
  if (namespaced_path) {
    if (rest.size() > 5) {
      return {notFound(target.path), std::nullopt};
    }
    ns = rest[1];
    plural = rest[2];
    name = rest.size() > 3 ? rest[3] : "";
    sub = rest.size() > 4 ? rest[4] : "";
  } else {
    if (rest.empty() || rest.size() > 3) {
      return {notFound(target.path), std::nullopt};
    }
    plural = rest[0];
    name = rest.size() > 1 ? rest[1] : "";
    sub = rest.size() > 2 ? rest[2] : "";
  }
  auto type = store_.findType(group, version, plural);
  if (!type) {
    return {notFound(target.path), std::nullopt};
  }
  if (namespaced_path && !type->namespaced) {
    return {notFound(target.path), std::nullopt};
  }
  if (!namespaced_path && type->namespaced && !name.empty()) {
    return {notFound(target.path), std::nullopt};
  }
  if (sub == "log" && type->group.empty() && type->plural == "pods") {
    if (request.method != "GET") {
      return {errorReply(405, "MethodNotAllowed", "pods/log supports GET only"), std::nullopt};
    }
    return podLog(target, *type, ns, name);
  }
  Subresource subresource = Subresource::kMain;
  if (sub == "status" && type->statusSubresource) {
    subresource = Subresource::kStatus;
  } else if (sub == "scale" && type->scaleSubresource) {
    subresource = Subresource::kScale;
  } else if (!sub.empty()) {
    return {notFound(target.path), std::nullopt};
  }
  if (target.param("dryRun")) {
    return {errorReply(400, "BadRequest", "dryRun is not supported by kube-test-server"), std::nullopt};
  }
  const std::string& m = request.method;
  auto table = tableRequest(request.accept, target);
  auto render = [&](int status, const Result& r) -> Routed {
    if (!r.ok()) {
      return {errorReply(*r.error), std::nullopt};
    }
    if (table && (m == "GET" || m == "HEAD") && subresource == Subresource::kMain) {
      HttpReply reply = jsonReply(status, toTable(*type, r.object, clock_.wallNow(), *table));
      reply.contentType =
          "application/json;as=Table;v=" + table->apiVersion.substr(table->apiVersion.find('/') + 1) +
          ";g=meta.k8s.io";
      return {reply, std::nullopt};
    }
    return {jsonReply(status, r.object), std::nullopt};
  };

  // Bodies of create and update: a JSON object whose kind, namespace and name agree with the URL.
  auto body_object = [&](json* out) -> std::optional<HttpReply> {
    std::string media = mediaType(request.contentType);
    json body;
    if (media == "application/vnd.kubernetes.protobuf") {
      std::string error;
      auto decoded = decodeKubernetesProtobuf(request.body, &error);
      if (!decoded) {
        return errorReply(415, "UnsupportedMediaType", error);
      }
      body = std::move(*decoded);
    } else if (!media.empty() && media != "application/json") {
      return errorReply(415, "UnsupportedMediaType",
                        "the body's media type \"" + media +
                            "\" is not supported; kube-test-server takes application/json");
    } else {
      try {
        body = json::parse(request.body);
      } catch (const json::parse_error& e) {
        return errorReply(400, "BadRequest", std::string("the request body is not valid JSON: ") + e.what());
      }
    }
    if (!body.is_object()) {
      return errorReply(400, "BadRequest", "the request body must be a JSON object");
    }
    if (subresource == Subresource::kScale) {
      *out = std::move(body);
      return std::nullopt;
    }
    if (!body.contains("apiVersion")) {
      body["apiVersion"] = type->apiVersion();
    }
    if (!body.contains("kind")) {
      body["kind"] = type->kind;
    }
    if (!body["apiVersion"].is_string() || body["apiVersion"] != type->apiVersion() ||
        body["kind"] != type->kind) {
      return errorReply(400, "BadRequest",
                        "the object's apiVersion/kind (" + body["apiVersion"].dump() + ", " +
                            body["kind"].dump() + ") does not match the URL's (" + type->apiVersion() + ", " +
                            type->kind + ")");
    }
    if (!body.contains("metadata") || body["metadata"].is_null()) {
      body["metadata"] = json::object();
    }
    if (!body["metadata"].is_object()) {
      return errorReply(400, "BadRequest", "metadata must be an object");
    }
    json& meta = body["metadata"];
    if (type->namespaced) {
      if (!meta.contains("namespace") || meta["namespace"] == "") {
        meta["namespace"] = ns;
      } else if (meta["namespace"] != ns) {
        return errorReply(400, "BadRequest",
                          "the namespace of the provided object (" + meta["namespace"].dump() +
                              ") does not match the namespace sent on the request (" + ns + ")");
      }
    }
    if (!name.empty()) {
      if (!meta.contains("name") || meta["name"] == "") {
        meta["name"] = name;
      } else if (meta["name"] != name) {
        return errorReply(400, "BadRequest",
                          "the name of the object (" + meta["name"].dump() +
                              ") does not match the name on the URL (" + name + ")");
      }
    }
    *out = std::move(body);
    return std::nullopt;
  };

  if (m == "GET" || m == "HEAD") {
    if (!name.empty()) {
      return render(200, store_.get(*type, ns, name, subresource));
    }
    if (truthy(target.param("watch"))) {
      WatchPlan plan{*type, ns, {}, std::nullopt, table};
      plan.options.labelSelector = target.param("labelSelector").value_or("");
      plan.options.fieldSelector = target.param("fieldSelector").value_or("");
      plan.options.resourceVersion = target.param("resourceVersion").value_or("");
      plan.options.allowBookmarks = truthy(target.param("allowWatchBookmarks"));
      if (auto t = target.param("timeoutSeconds")) {
        auto v = parseInt(*t);
        if (!v || *v < 0) {
          return {errorReply(400, "BadRequest",
                             "timeoutSeconds must be a non-negative integer, got \"" + *t + "\""),
                  std::nullopt};
        }
        if (*v > 0) {
          plan.timeout = std::chrono::seconds(*v);
        }
      }
      return {std::nullopt, plan};
    }
    ListOptions options;
    options.labelSelector = target.param("labelSelector").value_or("");
    options.fieldSelector = target.param("fieldSelector").value_or("");
    options.continueToken = target.param("continue").value_or("");
    if (auto l = target.param("limit")) {
      auto v = parseInt(*l);
      if (!v || *v < 0) {
        return {errorReply(400, "BadRequest", "limit must be a non-negative integer, got \"" + *l + "\""),
                std::nullopt};
      }
      options.limit = *v;
    }
    return render(200, store_.list(*type, ns, options));
  }
  if (m == "POST") {
    if (!name.empty()) {
      return {errorReply(405, "MethodNotAllowed", "POST is not allowed on " + target.path), std::nullopt};
    }
    json body;
    if (auto bad = body_object(&body)) {
      return {*bad, std::nullopt};
    }
    return render(201, store_.create(*type, ns, std::move(body)));
  }
  if (m == "PUT") {
    if (name.empty()) {
      return {errorReply(405, "MethodNotAllowed", "PUT needs an object name in the path"), std::nullopt};
    }
    json body;
    if (auto bad = body_object(&body)) {
      return {*bad, std::nullopt};
    }
    return render(200, store_.update(*type, ns, name, std::move(body), subresource));
  }
  if (m == "PATCH") {
    if (name.empty()) {
      return {errorReply(405, "MethodNotAllowed", "PATCH needs an object name in the path"), std::nullopt};
    }
    std::string media = mediaType(request.contentType);
    PatchType patch_type;
    if (media == "application/merge-patch+json") {
      patch_type = PatchType::kMerge;
    } else if (media == "application/json-patch+json") {
      patch_type = PatchType::kJson;
    } else if (media == "application/strategic-merge-patch+json") {
      patch_type = PatchType::kStrategic;
    } else if (media == "application/apply-patch+yaml") {
      return {
          errorReply(
              415, "UnsupportedMediaType",
              "server-side apply (application/apply-patch+yaml) is not supported by kube-test-server; use "
              "client-side apply (kubectl apply without --server-side)"),
          std::nullopt};
    } else {
      return {
          errorReply(415, "UnsupportedMediaType",
                     "the patch media type \"" + media +
                         "\" is not supported; use application/merge-patch+json, application/json-patch+json "
                         "or application/strategic-merge-patch+json"),
          std::nullopt};
    }
    try {
      json parsed = json::parse(request.body);
    } catch (const json::parse_error& e) {
      return {errorReply(400, "BadRequest", std::string("the patch is not valid JSON: ") + e.what()),
              std::nullopt};
    }
    return render(200, store_.patch(*type, ns, name, patch_type, request.body, subresource));
  }
  if (m == "DELETE") {
    if (subresource != Subresource::kMain) {
      return {errorReply(405, "MethodNotAllowed", "DELETE is not allowed on a subresource"), std::nullopt};
    }
    DeleteOptions options;
    if (!request.body.empty()) {
      json body = json::parse(request.body, nullptr, false);
      if (body.is_discarded() || !body.is_object()) {
        return {errorReply(400, "BadRequest", "the DeleteOptions body is not a JSON object"), std::nullopt};
      }
      if (body.contains("propagationPolicy") && body["propagationPolicy"].is_string()) {
        options.propagationPolicy = body["propagationPolicy"].get<std::string>();
      } else if (body.value("orphanDependents", false)) {
        options.propagationPolicy = "Orphan";
      }
      if (body.contains("gracePeriodSeconds") && body["gracePeriodSeconds"].is_number_integer()) {
        options.gracePeriodSeconds = body["gracePeriodSeconds"].get<int64_t>();
      }
      if (body.contains("preconditions") && body["preconditions"].is_object()) {
        const json& p = body["preconditions"];
        if (p.contains("uid") && p["uid"].is_string()) {
          options.preconditionUid = p["uid"].get<std::string>();
        }
        if (p.contains("resourceVersion") && p["resourceVersion"].is_string()) {
          options.preconditionResourceVersion = p["resourceVersion"].get<std::string>();
        }
      }
    }
    if (auto p = target.param("propagationPolicy")) {
      options.propagationPolicy = *p;
    }
    if (auto g = target.param("gracePeriodSeconds")) {
      auto v = parseInt(*g);
      if (!v) {
        return {errorReply(400, "BadRequest", "gracePeriodSeconds must be an integer, got \"" + *g + "\""),
                std::nullopt};
      }
      options.gracePeriodSeconds = *v;
    }
    if (options.propagationPolicy && *options.propagationPolicy != "Background" &&
        *options.propagationPolicy != "Foreground" && *options.propagationPolicy != "Orphan") {
      return {errorReply(400, "BadRequest",
                         "propagationPolicy must be Background, Foreground or Orphan, got \"" +
                             *options.propagationPolicy + "\""),
              std::nullopt};
    }
    if (!name.empty()) {
      return render(200, store_.remove(*type, ns, name, options));
    }
    // deletecollection: every object the selectors match, one delete each.
    ListOptions list_options;
    list_options.labelSelector = target.param("labelSelector").value_or("");
    list_options.fieldSelector = target.param("fieldSelector").value_or("");
    Result list = store_.list(*type, ns, list_options);
    if (!list.ok()) {
      return {errorReply(*list.error), std::nullopt};
    }
    json deleted = list.object;
    deleted["items"] = json::array();
    for (const auto& item : list.object.value("items", json::array())) {
      const json& meta = item.value("metadata", json::object());
      Result r = store_.remove(*type, meta.value("namespace", ""), meta.value("name", ""), options);
      if (r.ok()) {
        deleted["items"].push_back(r.object);
      }
    }
    return {jsonReply(200, deleted), std::nullopt};
  }
  return {errorReply(405, "MethodNotAllowed", "method " + m + " is not allowed on " + target.path),
          std::nullopt};
}

json Router::renderEvent(const WatchPlan& plan, json event, bool first) const {
  if (!plan.table || !event.contains("object")) {
    return event;
  }
  std::string type = event.value("type", "");
  if (type == "ERROR" || type == "BOOKMARK") {
    return event;
  }
  TableOptions options = *plan.table;
  options.withColumns = first;
  event["object"] = toTable(plan.type, event["object"], clock_.wallNow(), options);
  return event;
}

}  // namespace tokenstorm::kts
