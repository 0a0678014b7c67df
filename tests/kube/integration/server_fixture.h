// The integration tests' fixture: the Kubernetes API test server (tests/kube_server) in-process over HTTPS
// on a free port, and the real kube::Client over CpprestTransport talking to it through real sockets.
// Config comes from the server's own kubeconfig (kube::loadKubeconfigFiles), as a user's would.
//
// RecordingTransport wraps the real transport to see what went over the wire (method, target, status),
// and lets a test cut the client off (every call a network error) or hold watches at a gate. TcpProxy sits
// between client and server so a test can drop the TCP connections themselves.
//
// Time here is real (real server, real sockets): tests wait with deadlines (waitFor), never with sleeps
// used as assertions.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "api/api_store.h"
#include "http/server.h"
#include "kube/temp_dir.h"
#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/client.h"
#include "tokenstorm/kube/config.h"
#include "tokenstorm/kube/cpprest_transport.h"
#include "tokenstorm/kube/transport.h"

namespace tokenstorm::kube {

inline constexpr const char* kServerToken = "integration-token";

// Polls `done` until it holds or `timeout` passes; the result says which.
inline bool waitFor(const std::function<bool()>& done,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return done();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Option structs built field by field (GCC warns about designated initializers that leave fields out).
inline ListOptions selecting(std::string label, std::string field = "", int64_t limit = 0) {
  ListOptions o;
  o.labelSelector = std::move(label);
  o.fieldSelector = std::move(field);
  o.limit = limit;
  return o;
}
inline DeleteOptions propagation(std::string policy) {
  DeleteOptions o;
  o.propagationPolicy = std::move(policy);
  return o;
}
inline DeleteOptions preconditions(std::string uid, std::string resource_version) {
  DeleteOptions o;
  o.preconditionUid = std::move(uid);
  o.preconditionResourceVersion = std::move(resource_version);
  return o;
}
inline WatchOptions watchFrom(std::string resource_version, bool bookmarks, int64_t timeout_s) {
  WatchOptions o;
  o.resourceVersion = std::move(resource_version);
  o.allowWatchBookmarks = bookmarks;
  o.timeoutSeconds = timeout_s;
  return o;
}
// No client-side rate limit: the tests send bursts.
inline ClientOptions unlimited() {
  ClientOptions o;
  o.qps = 0;
  return o;
}

// One exchange as the client's transport saw it (a stream is recorded when it ends).
struct Exchange {
  std::string method;
  std::string target;
  int32_t status = 0;
  bool stream = false;
  std::string error;  // a network failure, or how a stream broke
};

class RecordingTransport final : public Transport {
 public:
  explicit RecordingTransport(std::shared_ptr<Transport> inner) : inner_(std::move(inner)) {}

  // Transport
  HttpResponse request(const HttpRequest& request) override {
    HttpResponse response = cut_ ? cutResponse() : inner_->request(request);
    record(request, response, false);
    return response;
  }
  HttpResponse stream(const HttpRequest& request, const ChunkCallback& on_chunk,
                      Cancellation& cancellation) override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      while (held_ && !cancellation.cancelled()) {
        gate_.wait_for(lock, std::chrono::milliseconds(10));
      }
    }
    HttpResponse response = cut_ ? cutResponse() : inner_->stream(request, on_chunk, cancellation);
    record(request, response, true);
    return response;
  }

  // Every call fails as if the network were gone, until restored.
  void cut(bool cut) { cut_ = cut; }
  // Watches wait at a gate (until opened, or cancelled) before they are sent.
  void holdStreams(bool hold) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held_ = hold;
    }
    gate_.notify_all();
  }

  std::vector<Exchange> exchanges() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return exchanges_;
  }
  // Exchanges matching a predicate.
  size_t count(const std::function<bool(const Exchange&)>& match) const {
    size_t n = 0;
    for (const auto& e : exchanges()) {
      n += match(e) ? 1 : 0;
    }
    return n;
  }

 private:
  static HttpResponse cutResponse() {
    HttpResponse r;
    r.error = "cut by the test";
    return r;
  }
  void record(const HttpRequest& request, const HttpResponse& response, bool stream) {
    std::lock_guard<std::mutex> lock(mutex_);
    exchanges_.push_back({request.method, request.target, response.status, stream, response.error});
  }

  std::shared_ptr<Transport> inner_;
  std::atomic<bool> cut_{false};
  mutable std::mutex mutex_;
  std::condition_variable gate_;
  bool held_ = false;
  std::vector<Exchange> exchanges_;
};

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override { startServer(kts::ServerOptions{}); }
  void TearDown() override {
    if (server_) {
      server_->stop();
    }
  }

  void startServer(kts::ServerOptions options) {
    store_ = std::make_unique<kts::ApiStore>(core::RealClock::instance());
    options.tls = true;
    options.tokens = {kServerToken};
    server_ = std::make_unique<kts::Server>(*store_, core::RealClock::instance(), std::move(options));
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }

  // The server's kubeconfig, written to a file and read back by the client's loader.
  ClusterConfig config(const kts::KubeconfigOptions& options = {}) {
    std::string path = dir_.write("kubeconfig-" + std::to_string(++configs_), server_->kubeconfig(options));
    auto loaded = loadKubeconfigFiles({path});
    EXPECT_TRUE(loaded.ok()) << (loaded.ok() ? "" : loaded.error());
    return loaded.ok() ? *loaded : ClusterConfig{};
  }

  std::unique_ptr<Client> client(ClientOptions options = {}) {
    return clientFor(config(), std::move(options));
  }

  static std::unique_ptr<Client> clientFor(const ClusterConfig& config, ClientOptions options = {}) {
    auto made = Client::fromConfig(config, std::move(options));
    EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error());
    return made.ok() ? std::move(*made) : nullptr;
  }

  // A client whose transport records (and can cut) what it sends; the token from the kubeconfig.
  std::unique_ptr<Client> recordingClient(std::shared_ptr<RecordingTransport>* recorder,
                                          ClientOptions options = {},
                                          std::shared_ptr<Authenticator> auth = nullptr) {
    return recordingClientFor(config(), recorder, std::move(options), std::move(auth));
  }
  std::unique_ptr<Client> recordingClientFor(const ClusterConfig& cfg,
                                             std::shared_ptr<RecordingTransport>* recorder,
                                             ClientOptions options = {},
                                             std::shared_ptr<Authenticator> auth = nullptr) {
    TransportOptions t;
    t.server = cfg.server;
    t.caPem = cfg.caPem;
    t.clientCertPem = cfg.clientCertPem;
    t.clientKeyPem = cfg.clientKeyPem;
    auto transport = CpprestTransport::create(std::move(t));
    EXPECT_TRUE(transport.ok()) << (transport.ok() ? "" : transport.error());
    if (!transport.ok()) {
      return nullptr;
    }
    *recorder = std::make_shared<RecordingTransport>(std::shared_ptr<Transport>(std::move(*transport)));
    if (!auth) {
      auth = makeAuthenticator(cfg, core::RealClock::instance());
    }
    return std::make_unique<Client>(*recorder, std::move(auth), std::move(options), cfg.ns);
  }

  static nlohmann::json configMap(const std::string& name, const nlohmann::json& data = {{"k", "v"}},
                                  const nlohmann::json& labels = nlohmann::json::object()) {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", name}, {"labels", labels}}},
            {"data", data}};
  }

  static std::string nameOf(const nlohmann::json& object) { return object["metadata"].value("name", ""); }
  static std::string rvOf(const nlohmann::json& object) {
    return object["metadata"].value("resourceVersion", "");
  }
  static std::vector<std::string> names(const nlohmann::json& list) {
    std::vector<std::string> out;
    for (const auto& item : list["items"]) {
      out.push_back(nameOf(item));
    }
    return out;
  }

  TempDir dir_;
  int configs_ = 0;
  std::unique_ptr<kts::ApiStore> store_;
  std::unique_ptr<kts::Server> server_;
};

// "namespace/name" → resourceVersion of every item of a list.
inline std::map<std::string, std::string> versionsOf(const std::vector<nlohmann::json>& items) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    out[item["metadata"].value("namespace", "") + "/" + item["metadata"].value("name", "")] =
        item["metadata"].value("resourceVersion", "");
  }
  return out;
}

}  // namespace tokenstorm::kube
