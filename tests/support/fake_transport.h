// A kube::Transport that records every request and answers from a script (style.md: every seam has a
// fake). Unary answers come from a queue, then from a handler; streams likewise. A stream may be held
// open: it then delivers what the test feeds (feed()) until the test ends it (endStream()) or the caller
// cancels, so threaded tests (informer, leader election) drive a watch the way a server would.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenstorm/kube/transport.h"

namespace tokenstorm::testing {

class FakeTransport final : public kube::Transport {
 public:
  struct Stream {
    int32_t status = 200;
    std::map<std::string, std::string> headers;
    std::string body;                 // for a non-2xx status
    std::vector<std::string> chunks;  // delivered in order, one on_chunk call each
    std::string error;                // set: the stream breaks after the chunks (a network drop)
    bool hold = false;                // after the chunks, deliver feed() until endStream() or cancel
  };

  // Scripted unary answers, used in order; when none is left the handler answers (default: 404).
  void push(kube::HttpResponse response);
  void setHandler(std::function<kube::HttpResponse(const kube::HttpRequest&)> handler);
  // Scripted streams, used in order; when none is left the stream handler (default: a held empty stream).
  void pushStream(Stream stream);
  void setStreamHandler(std::function<Stream(const kube::HttpRequest&)> handler);

  // For held streams: bytes for the stream that is open (or the next one), and its clean end.
  void feed(std::string chunk);
  void endStream();
  // Waits (real time, bounded) until `n` streams have been opened; false on timeout.
  bool waitForStreams(size_t n, int timeout_ms = 5000);

  std::vector<kube::HttpRequest> requests() const;
  size_t requestCount() const;
  size_t streamsOpened() const;

  static kube::HttpResponse json(int32_t status, const nlohmann::json& body,
                                 std::map<std::string, std::string> headers = {});
  // A metav1.Status answer.
  static kube::HttpResponse status(int32_t code, const std::string& reason, const std::string& message,
                                   std::map<std::string, std::string> headers = {});
  static kube::HttpResponse networkError(const std::string& message);

  // Transport
  kube::HttpResponse request(const kube::HttpRequest& request) override;
  kube::HttpResponse stream(const kube::HttpRequest& request, const kube::ChunkCallback& on_chunk,
                            kube::Cancellation& cancellation) override;

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<kube::HttpRequest> requests_;
  std::deque<kube::HttpResponse> responses_;
  std::function<kube::HttpResponse(const kube::HttpRequest&)> handler_;
  std::deque<Stream> streams_;
  std::function<Stream(const kube::HttpRequest&)> stream_handler_;
  std::deque<std::string> live_;
  size_t end_requests_ = 0;
  size_t streams_opened_ = 0;
};

}  // namespace tokenstorm::testing
