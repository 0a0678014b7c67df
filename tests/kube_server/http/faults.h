// Fault injection for the test server: the server consults a Faults object on every API request (not on
// /healthz, /version or /_kts/...). Tests set faults in-process (Server::faults()) or over HTTP with
// POST /_kts/faults and a JSON body:
//
//   {"fail": {"count": 2, "code": 429, "method": "GET", "pathPrefix": "/api/v1/pods", "retryAfterSeconds":
//   1},
//    "delayMs": 200, "conflicts": 1, "dropWatches": true, "expireHistory": true, "clear": true}
//
// Every key is optional; "clear" first removes every fault. dropWatches and expireHistory act at once
// (the server calls ApiStore::closeAllWatches / expireHistory); the others apply to the requests that
// follow. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tokenstorm::kts {

// What to do to one request instead of (or before) serving it.
struct InjectedFault {
  int code = 0;  // 0: serve normally (after the delay)
  std::string reason;
  std::string message;
  int64_t retryAfterSeconds = 0;  // > 0: send Retry-After
  std::chrono::milliseconds delay{0};
};

class Faults {
 public:
  // Answers the next `count` requests whose method (empty: any) and path prefix (empty: any) match with
  // `code` (429, 500, 503, ...), with Retry-After when retry_after_s > 0.
  void failNext(int64_t count, int code, std::string method = "", std::string path_prefix = "",
                int64_t retry_after_s = 1);
  // Delays every API response by `delay` (0 turns it off).
  void setDelay(std::chrono::milliseconds delay);
  // Answers the next `count` writes (POST, PUT, PATCH, DELETE) with 409 Conflict.
  void conflictNextWrites(int64_t count);
  void clear();

  // Called by the server for each API request: consumes a matching rule, if any.
  InjectedFault onRequest(const std::string& method, const std::string& path);

  // Applies the request-scoped parts of a /_kts/faults body; returns an error message for a bad body.
  // dropWatches/expireHistory are read by the caller.
  std::optional<std::string> apply(const nlohmann::json& body);

 private:
  struct FailRule {
    int64_t remaining = 0;
    int code = 0;
    std::string method, pathPrefix;
    int64_t retryAfterSeconds = 0;
  };
  std::mutex mutex_;
  std::deque<FailRule> rules_;
  std::chrono::milliseconds delay_{0};
  int64_t conflicts_ = 0;
};

}  // namespace tokenstorm::kts
