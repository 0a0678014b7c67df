#include "support/fake_transport.h"

#include <chrono>

namespace tokenstorm::testing {

void FakeTransport::push(kube::HttpResponse response) {
  std::lock_guard<std::mutex> lock(mutex_);
  responses_.push_back(std::move(response));
}

void FakeTransport::setHandler(std::function<kube::HttpResponse(const kube::HttpRequest&)> handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  handler_ = std::move(handler);
}

void FakeTransport::pushStream(Stream stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  streams_.push_back(std::move(stream));
}

void FakeTransport::setStreamHandler(std::function<Stream(const kube::HttpRequest&)> handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  stream_handler_ = std::move(handler);
}

void FakeTransport::feed(std::string chunk) {
  std::lock_guard<std::mutex> lock(mutex_);
  live_.push_back(std::move(chunk));
  changed_.notify_all();
}

void FakeTransport::endStream() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++end_requests_;
  changed_.notify_all();
}

bool FakeTransport::waitForStreams(size_t n, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return streams_opened_ >= n; });
}

std::vector<kube::HttpRequest> FakeTransport::requests() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_;
}

size_t FakeTransport::requestCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return requests_.size();
}

size_t FakeTransport::streamsOpened() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return streams_opened_;
}

kube::HttpResponse FakeTransport::json(int32_t status, const nlohmann::json& body,
                                       std::map<std::string, std::string> headers) {
  kube::HttpResponse r;
  r.status = status;
  r.body = body.dump();
  r.headers = std::move(headers);
  r.headers["content-type"] = "application/json";
  return r;
}

kube::HttpResponse FakeTransport::status(int32_t code, const std::string& reason, const std::string& message,
                                         std::map<std::string, std::string> headers) {
  return json(code,
              {{"kind", "Status"},
               {"apiVersion", "v1"},
               {"status", "Failure"},
               {"code", code},
               {"reason", reason},
               {"message", message}},
              std::move(headers));
}

kube::HttpResponse FakeTransport::networkError(const std::string& message) {
  kube::HttpResponse r;
  r.error = message;
  return r;
}

kube::HttpResponse FakeTransport::request(const kube::HttpRequest& request) {
  std::function<kube::HttpResponse(const kube::HttpRequest&)> handler;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    if (!responses_.empty()) {
      kube::HttpResponse r = std::move(responses_.front());
      responses_.pop_front();
      return r;
    }
    handler = handler_;
  }
  if (handler) {
    return handler(request);
  }
  return status(404, "NotFound", "no scripted response for " + request.method + " " + request.target);
}

kube::HttpResponse FakeTransport::stream(const kube::HttpRequest& request,
                                         const kube::ChunkCallback& on_chunk,
                                         kube::Cancellation& cancellation) {
  Stream script;
  std::function<Stream(const kube::HttpRequest&)> handler;
  bool scripted = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    requests_.push_back(request);
    if (!streams_.empty()) {
      script = std::move(streams_.front());
      streams_.pop_front();
      scripted = true;
    } else {
      handler = stream_handler_;
    }
  }
  if (!scripted) {
    if (handler) {
      script = handler(request);
    } else {
      script.hold = true;
    }
  }
  kube::HttpResponse out;
  out.status = script.status;
  out.headers = script.headers;
  size_t ends_seen = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++streams_opened_;
    ends_seen = end_requests_;
    changed_.notify_all();
  }
  if (script.status < 200 || script.status >= 300) {
    out.body = script.body;
    return out;
  }
  for (const auto& chunk : script.chunks) {
    if (cancellation.cancelled() || !on_chunk(chunk)) {
      out.cancelled = true;
      return out;
    }
  }
  if (!script.error.empty()) {
    out.error = script.error;
    return out;
  }
  if (!script.hold) {
    return out;
  }
  cancellation.setHook([this] {
    std::lock_guard<std::mutex> lock(mutex_);
    changed_.notify_all();
  });
  while (true) {
    std::string chunk;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock,
                    [&] { return cancellation.cancelled() || !live_.empty() || end_requests_ > ends_seen; });
      if (cancellation.cancelled()) {
        out.cancelled = true;
        break;
      }
      if (live_.empty()) {
        break;  // endStream(): a clean end
      }
      chunk = std::move(live_.front());
      live_.pop_front();
    }
    if (!on_chunk(chunk)) {
      out.cancelled = true;
      break;
    }
  }
  cancellation.clearHook();
  return out;
}

}  // namespace tokenstorm::testing
