// The seam between the Kubernetes client and the network (style.md: interfaces at the seams). The client
// builds requests (method, path with query, headers, body) and reads responses; how bytes travel is the
// Transport's business. CpprestTransport (cpprest_transport.h) is the real one; tests use FakeTransport
// (tests/support/fake_transport.h), which records requests and answers from a script.
//
// Two calls:
// - request(): a unary call; the whole body comes back in the response.
// - stream(): a call whose body is delivered as it arrives (watches). It blocks the calling thread until
//   the body ends, the connection breaks, on_chunk returns false, or the Cancellation is cancelled from
//   another thread; on_chunk runs on the calling thread. Only a 2xx body is streamed: for any other
//   status the body is collected into the response (it is a metav1.Status the caller decodes).
//
// Errors are values: a network failure (refused, reset, TLS, timeout) is status 0 with `error` saying
// what; a stream that breaks after its headers keeps its status and sets `error`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "tokenstorm/core/clock.h"

namespace tokenstorm::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path and query, already percent-encoded: "/api/v1/namespaces/a/pods?limit=5"
  std::map<std::string, std::string> headers;  // sent as given (Authorization, Accept, Content-Type)
  std::string body;
  core::MonoNanos timeout_ns = 0;  // 0: the transport's default
};

struct HttpResponse {
  int32_t status = 0;                          // 0: no response (network failure, see error)
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // unary calls, and non-2xx answers to stream()
  std::string error;                           // network failure, or the stream broke (empty: none)
  bool cancelled = false;                      // stream(): ended by Cancellation or on_chunk

  bool networkError() const { return status == 0; }
  // The header's value, or "" (name in lower case).
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// Cancels a stream() from another thread. The transport registers a hook while the stream runs; cancel()
// runs it (or, when no stream is running yet, makes the next one end at once).
class Cancellation {
 public:
  void cancel() {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
      hook = hook_;
    }
    if (hook) {
      hook();
    }
  }
  bool cancelled() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return cancelled_;
  }
  // For transports. Returns false (and does not keep the hook) when already cancelled.
  bool setHook(std::function<void()> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) {
      return false;
    }
    hook_ = std::move(hook);
    return true;
  }
  void clearHook() {
    std::lock_guard<std::mutex> lock(mutex_);
    hook_ = nullptr;
  }
  // Makes the object reusable for the next stream (the caller knows no stream is running).
  void reset() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = false;
    hook_ = nullptr;
  }

 private:
  mutable std::mutex mutex_;
  bool cancelled_ = false;
  std::function<void()> hook_;
};

// Returns false to stop reading (the response then has cancelled = true).
using ChunkCallback = std::function<bool(std::string_view chunk)>;

class Transport {
 public:
  virtual ~Transport() = default;
  virtual HttpResponse request(const HttpRequest& request) = 0;
  virtual HttpResponse stream(const HttpRequest& request, const ChunkCallback& on_chunk,
                              Cancellation& cancellation) = 0;
};

}  // namespace tokenstorm::kube
