#include "http/faults.h"

namespace tokenstorm::kts {

namespace {

bool isWrite(const std::string& method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

std::string reasonFor(int code) {
  switch (code) {
    case 429:
      return "TooManyRequests";
    case 409:
      return "Conflict";
    case 503:
      return "ServiceUnavailable";
    case 504:
      return "Timeout";
    default:
      return "InternalError";
  }
}

}  // namespace

void Faults::failNext(int64_t count, int code, std::string method, std::string path_prefix,
                      int64_t retry_after_s) {
  std::lock_guard lock(mutex_);
  rules_.push_back(FailRule{count, code, std::move(method), std::move(path_prefix), retry_after_s});
}

void Faults::setDelay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delay_ = delay;
}

void Faults::conflictNextWrites(int64_t count) {
  std::lock_guard lock(mutex_);
  conflicts_ = count;
}

void Faults::clear() {
  std::lock_guard lock(mutex_);
  rules_.clear();
  delay_ = std::chrono::milliseconds(0);
  conflicts_ = 0;
}

InjectedFault Faults::onRequest(const std::string& method, const std::string& path) {
  std::lock_guard lock(mutex_);
  InjectedFault out;
  out.delay = delay_;
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if ((!it->method.empty() && it->method != method) ||
        path.compare(0, it->pathPrefix.size(), it->pathPrefix) != 0) {
      continue;
    }
    out.code = it->code;
    out.reason = reasonFor(it->code);
    out.message = "injected fault: " + std::to_string(it->code) + " for " + method + " " + path;
    out.retryAfterSeconds = it->retryAfterSeconds;
    if (--it->remaining <= 0) {
      rules_.erase(it);
    }
    return out;
  }
  if (conflicts_ > 0 && isWrite(method)) {
    --conflicts_;
    out.code = 409;
    out.reason = "Conflict";
    out.message =
        "Operation cannot be fulfilled: the object has been modified; please apply your changes to the "
        "latest "
        "version and try again (injected fault)";
  }
  return out;
}

std::optional<std::string> Faults::apply(const nlohmann::json& body) {
  if (!body.is_object()) {
    return "the faults body must be a JSON object";
  }
  try {
    if (body.value("clear", false)) {
      clear();
    }
    if (body.contains("fail")) {
      const auto& f = body.at("fail");
      int code = f.value("code", 500);
      if (code < 400 || code > 599) {
        return "fail.code must be an HTTP error code (400-599), got " + std::to_string(code);
      }
      failNext(f.value("count", int64_t{1}), code, f.value("method", std::string()),
               f.value("pathPrefix", std::string()), f.value("retryAfterSeconds", int64_t{1}));
    }
    if (body.contains("delayMs")) {
      setDelay(std::chrono::milliseconds(body.at("delayMs").get<int64_t>()));
    }
    if (body.contains("conflicts")) {
      conflictNextWrites(body.at("conflicts").get<int64_t>());
    }
  } catch (const nlohmann::json::exception& e) {
    return std::string("bad faults body: ") + e.what();
  }
  return std::nullopt;
}

}  // namespace tokenstorm::kts
