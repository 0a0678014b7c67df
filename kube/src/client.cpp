#include "tokenstorm/kube/client.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <thread>

#include "tokenstorm/kube/cpprest_transport.h"

namespace tokenstorm::kube {

namespace {

constexpr size_t kMaxMessageBytes = 512;

bool success(int32_t status) {
  return status >= 200 && status < 300;
}

void addParam(std::string* query, const std::string& name, const std::string& value) {
  if (value.empty()) {
    return;
  }
  *query += (query->empty() ? "?" : "&") + name + "=" + urlEncode(value);
}

std::string listQuery(const ListOptions& o) {
  std::string q;
  addParam(&q, "labelSelector", o.labelSelector);
  addParam(&q, "fieldSelector", o.fieldSelector);
  addParam(&q, "limit", o.limit > 0 ? std::to_string(o.limit) : "");
  addParam(&q, "continue", o.continueToken);
  addParam(&q, "resourceVersion", o.resourceVersion);
  return q;
}

std::string nameOf(const nlohmann::json& object) {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return "";
  }
  return metadata->value("name", "");
}

}  // namespace

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string ResourceRef::basePath() const {
  return group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
}

std::string ResourceRef::path(const std::string& ns, const std::string& name,
                              const std::string& subresource) const {
  std::string p = basePath();
  if (namespaced && !ns.empty()) {
    p += "/namespaces/" + ns;
  }
  p += "/" + plural;
  if (!name.empty()) {
    p += "/" + name;
    if (!subresource.empty()) {
      p += "/" + subresource;
    }
  }
  return p;
}

std::string ApiError::str() const {
  std::string out = method + " " + target + ": ";
  if (code == 0) {
    out += message;
  } else {
    out +=
        std::to_string(code) + (reason.empty() ? "" : " " + reason) + (message.empty() ? "" : ": " + message);
  }
  if (attempts > 1) {
    out += " (after " + std::to_string(attempts) + " attempts)";
  }
  return out;
}

ApiError apiErrorFrom(const HttpRequest& request, const HttpResponse& response,
                      std::chrono::system_clock::time_point wall_now) {
  ApiError e;
  e.method = request.method;
  e.target = request.target;
  e.code = response.status;
  if (response.status == 0) {
    e.message = response.error.empty() ? "no response" : response.error;
    return e;
  }
  nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
  if (!body.is_discarded() && body.is_object() && body.value("kind", "") == "Status") {
    ApiStatus status = statusFromJson(body);
    e.reason = status.reason;
    e.message = status.message;
    if (auto details = body.find("details"); details != body.end() && details->is_object()) {
      e.details = *details;
      if (auto ra = details->find("retryAfterSeconds"); ra != details->end() && ra->is_number_integer()) {
        e.retry_after_ns = ra->get<int64_t>() * 1'000'000'000;
      }
    }
  } else {
    e.message = response.body.substr(0, kMaxMessageBytes);
  }
  if (auto ra = parseRetryAfter(response.header("retry-after"), wall_now)) {
    e.retry_after_ns = *ra;
  }
  if (!response.error.empty()) {
    e.message += (e.message.empty() ? "" : "; ") + response.error;
  }
  return e;
}

std::string_view patchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

Client::Client(std::shared_ptr<Transport> transport, std::shared_ptr<Authenticator> auth,
               ClientOptions options, std::string default_namespace)
    : transport_(std::move(transport)),
      auth_(std::move(auth)),
      options_(std::move(options)),
      default_namespace_(std::move(default_namespace)),
      bucket_(options_.qps, options_.burst, options_.clock->monotonicNanos()),
      rng_state_(std::random_device{}()) {}

Expected<std::unique_ptr<Client>> Client::fromConfig(const ClusterConfig& config, ClientOptions options) {
  TransportOptions t;
  t.server = config.server;
  t.caPem = config.caPem;
  t.insecureSkipTlsVerify = config.insecureSkipTlsVerify;
  t.clientCertPem = config.clientCertPem;
  t.clientKeyPem = config.clientKeyPem;
  t.timeout_ns = options.timeout_ns;
  std::shared_ptr<Authenticator> auth = makeAuthenticator(config, *options.clock);
  if (config.exec) {
    auto exec = std::static_pointer_cast<ExecAuth>(auth);
    auto credential = exec->credential();
    if (!credential) {
      return fail(config.source + ": " + credential.error());
    }
    if (!credential->clientCertificatePem.empty()) {
      t.clientCertPem = credential->clientCertificatePem;
      t.clientKeyPem = credential->clientKeyPem;
    }
  }
  auto transport = CpprestTransport::create(std::move(t));
  if (!transport) {
    return fail(config.source + ": " + transport.error());
  }
  return std::make_unique<Client>(std::shared_ptr<Transport>(std::move(*transport)), std::move(auth),
                                  std::move(options), config.ns);
}

void Client::sleep(core::MonoNanos ns) {
  if (ns <= 0) {
    return;
  }
  if (options_.sleep) {
    options_.sleep(ns);
  } else {
    std::this_thread::sleep_for(std::chrono::nanoseconds(ns));
  }
}

double Client::random01() {
  if (options_.random01) {
    return options_.random01();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  // splitmix64: enough for jitter
  uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) / static_cast<double>(1ULL << 53);
}

Expected<Ok> Client::prepare(HttpRequest* request) {
  core::MonoNanos wait = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wait = bucket_.reserve(options_.clock->monotonicNanos());
  }
  sleep(wait);
  request->headers["User-Agent"] = options_.userAgent;
  if (request->headers.find("Accept") == request->headers.end()) {
    request->headers["Accept"] = "application/json";
  }
  if (auth_) {
    auto authorization = auth_->authorization();
    if (!authorization) {
      return fail(authorization.error());
    }
    if (!authorization->empty()) {
      request->headers["Authorization"] = *authorization;
    } else {
      request->headers.erase("Authorization");
    }
  }
  return Ok{};
}

Result<HttpResponse, ApiError> Client::call(HttpRequest request) {
  if (request.timeout_ns == 0) {
    request.timeout_ns = options_.timeout_ns;
  }
  const core::MonoNanos start = options_.clock->monotonicNanos();
  bool reauthenticated = false;
  for (uint32_t attempt = 1;; ++attempt) {
    auto prepared = prepare(&request);
    if (!prepared) {
      ApiError e;
      e.method = request.method;
      e.target = request.target;
      e.message = "credentials: " + prepared.error();
      e.attempts = attempt;
      return fail(std::move(e));
    }
    HttpResponse response = transport_->request(request);
    if (success(response.status)) {
      return response;
    }
    // A 401 may mean the token rotated under us: fetch fresh credentials and try once more.
    if (response.status == 401 && auth_ && !reauthenticated) {
      reauthenticated = true;
      auth_->unauthorized();
      --attempt;
      continue;
    }
    ApiError error = apiErrorFrom(request, response, options_.clock->wallNow());
    error.attempts = attempt;
    bool has_retry_after = !response.header("retry-after").empty();
    if (attempt >= options_.retry.max_attempts ||
        !RetryPolicy::retryable(request.method, response.status, has_retry_after)) {
      return fail(std::move(error));
    }
    core::MonoNanos wait = options_.retry.wait(attempt, error.retry_after_ns, random01());
    core::MonoNanos now = options_.clock->monotonicNanos();
    if (wait > options_.retry.max_wait_ns && error.retry_after_ns > options_.retry.max_wait_ns) {
      return fail(std::move(error));  // the server asks for a longer pause than we wait
    }
    if (now + wait - start > options_.retry.max_total_ns) {
      return fail(std::move(error));
    }
    sleep(wait);
  }
}

JsonResult Client::callJson(const std::string& method, const std::string& target, const nlohmann::json* body,
                            std::string_view content_type) {
  HttpRequest request;
  request.method = method;
  request.target = target;
  if (body != nullptr) {
    request.body = body->dump();
    request.headers["Content-Type"] = std::string(content_type);
  }
  auto response = call(std::move(request));
  if (!response) {
    return fail(response.error());
  }
  if (response->body.empty()) {
    return nlohmann::json::object();
  }
  nlohmann::json parsed = nlohmann::json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) {
    ApiError e;
    e.method = method;
    e.target = target;
    e.code = response->status;
    e.reason = "InvalidResponse";
    e.message = "the response body is not JSON";
    return fail(std::move(e));
  }
  return parsed;
}

std::string Client::writeQuery() const {
  std::string q;
  addParam(&q, "fieldManager", options_.fieldManager);
  return q;
}

JsonResult Client::get(const ResourceRef& r, const std::string& ns, const std::string& name) {
  return callJson("GET", r.path(ns, name), nullptr);
}

JsonResult Client::list(const ResourceRef& r, const std::string& ns, const ListOptions& options) {
  return callJson("GET", r.path(ns) + listQuery(options), nullptr);
}

JsonResult Client::listAll(const ResourceRef& r, const std::string& ns, ListOptions options) {
  nlohmann::json all;
  nlohmann::json items = nlohmann::json::array();
  while (true) {
    auto page = list(r, ns, options);
    if (!page) {
      return page;
    }
    if (auto it = page->find("items"); it != page->end() && it->is_array()) {
      for (auto& item : *it) {
        items.push_back(std::move(item));
      }
    }
    all = std::move(*page);
    std::string next;
    if (auto md = all.find("metadata"); md != all.end() && md->is_object()) {
      next = md->value("continue", "");
    }
    if (next.empty()) {
      break;
    }
    options.continueToken = next;
  }
  all["items"] = std::move(items);
  if (all.contains("metadata") && all["metadata"].is_object()) {
    all["metadata"].erase("continue");
    all["metadata"].erase("remainingItemCount");
  }
  return all;
}

JsonResult Client::create(const ResourceRef& r, const std::string& ns, const nlohmann::json& object) {
  return callJson("POST", r.path(ns) + writeQuery(), &object);
}

JsonResult Client::update(const ResourceRef& r, const std::string& ns, const nlohmann::json& object) {
  return callJson("PUT", r.path(ns, nameOf(object)) + writeQuery(), &object);
}

JsonResult Client::patch(const ResourceRef& r, const std::string& ns, const std::string& name, PatchType type,
                         const nlohmann::json& patch) {
  return callJson("PATCH", r.path(ns, name) + writeQuery(), &patch, patchContentType(type));
}

JsonResult Client::remove(const ResourceRef& r, const std::string& ns, const std::string& name,
                          const DeleteOptions& options) {
  nlohmann::json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  if (!options.propagationPolicy.empty()) {
    body["propagationPolicy"] = options.propagationPolicy;
  }
  if (options.gracePeriodSeconds) {
    body["gracePeriodSeconds"] = *options.gracePeriodSeconds;
  }
  if (!options.preconditionUid.empty()) {
    body["preconditions"]["uid"] = options.preconditionUid;
  }
  if (!options.preconditionResourceVersion.empty()) {
    body["preconditions"]["resourceVersion"] = options.preconditionResourceVersion;
  }
  return callJson("DELETE", r.path(ns, name), &body);
}

JsonResult Client::getStatus(const ResourceRef& r, const std::string& ns, const std::string& name) {
  return callJson("GET", r.path(ns, name, "status"), nullptr);
}

JsonResult Client::updateStatus(const ResourceRef& r, const std::string& ns, const nlohmann::json& object) {
  return callJson("PUT", r.path(ns, nameOf(object), "status") + writeQuery(), &object);
}

JsonResult Client::patchStatus(const ResourceRef& r, const std::string& ns, const std::string& name,
                               PatchType type, const nlohmann::json& patch) {
  return callJson("PATCH", r.path(ns, name, "status") + writeQuery(), &patch, patchContentType(type));
}

JsonResult Client::getScale(const ResourceRef& r, const std::string& ns, const std::string& name) {
  return callJson("GET", r.path(ns, name, "scale"), nullptr);
}

JsonResult Client::patchScale(const ResourceRef& r, const std::string& ns, const std::string& name,
                              int32_t replicas) {
  nlohmann::json body = {{"spec", {{"replicas", replicas}}}};
  return callJson("PATCH", r.path(ns, name, "scale") + writeQuery(), &body,
                  patchContentType(PatchType::kMerge));
}

JsonResult Client::createEvent(const EventRecord& record) {
  nlohmann::json event = buildEvent(record, options_.clock->wallNow());
  std::string ns = event["metadata"]["namespace"].get<std::string>();
  return create(resources::kEvents, ns, event);
}

Result<WatchEnd, ApiError> Client::watch(const ResourceRef& r, const std::string& ns,
                                         const WatchOptions& options,
                                         const std::function<bool(const WatchEvent&)>& on_event,
                                         Cancellation& cancellation) {
  std::string q = "?watch=1";
  if (options.allowWatchBookmarks) {
    q += "&allowWatchBookmarks=true";
  }
  addParam(&q, "resourceVersion", options.resourceVersion);
  addParam(&q, "labelSelector", options.labelSelector);
  addParam(&q, "fieldSelector", options.fieldSelector);
  addParam(&q, "timeoutSeconds", options.timeoutSeconds > 0 ? std::to_string(options.timeoutSeconds) : "");
  HttpRequest request;
  request.target = r.path(ns) + q;
  auto prepared = prepare(&request);
  if (!prepared) {
    ApiError e;
    e.method = request.method;
    e.target = request.target;
    e.message = "credentials: " + prepared.error();
    return fail(std::move(e));
  }
  WatchStreamDecoder decoder;
  std::string decode_error;
  WatchEnd end;
  std::vector<WatchEvent> events;
  bool stopped = false;
  HttpResponse response = transport_->stream(
      request,
      [&](std::string_view chunk) {
        events.clear();
        bool ok = decoder.feed(chunk, &events, &decode_error);
        for (const auto& event : events) {
          ++end.events;
          if (!on_event(event)) {
            stopped = true;
            return false;
          }
        }
        return ok;
      },
      cancellation);
  if (response.status == 401 && auth_) {
    auth_->unauthorized();  // the next watch (the Watcher retries) reads fresh credentials
  }
  if (!success(response.status)) {
    if (response.cancelled) {
      end.cancelled = true;
      return end;
    }
    return fail(apiErrorFrom(request, response, options_.clock->wallNow()));
  }
  if (stopped || (response.cancelled && decode_error.empty())) {
    end.cancelled = true;
    return end;
  }
  auto broken = [&](const std::string& why) {
    ApiError e;
    e.method = request.method;
    e.target = request.target;
    e.message = why;
    return fail(std::move(e));
  };
  if (!decode_error.empty()) {
    return broken("watch body: " + decode_error);
  }
  if (!response.error.empty()) {
    return broken("watch stream broke: " + response.error);
  }
  events.clear();
  if (!decoder.finish(&events, &decode_error)) {
    return broken("watch body: " + decode_error);
  }
  for (const auto& event : events) {
    ++end.events;
    if (!on_event(event)) {
      end.cancelled = true;
      return end;
    }
  }
  return end;
}

}  // namespace tokenstorm::kube
