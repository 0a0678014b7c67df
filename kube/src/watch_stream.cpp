#include "tokenstorm/kube/watch_stream.h"

namespace tokenstorm::kube {
namespace {

bool blank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
      return false;
    }
  }
  return true;
}

std::optional<WatchEventType> parseType(std::string_view s) {
  if (s == "ADDED") {
    return WatchEventType::kAdded;
  }
  if (s == "MODIFIED") {
    return WatchEventType::kModified;
  }
  if (s == "DELETED") {
    return WatchEventType::kDeleted;
  }
  if (s == "BOOKMARK") {
    return WatchEventType::kBookmark;
  }
  if (s == "ERROR") {
    return WatchEventType::kError;
  }
  return std::nullopt;
}

std::string stringAt(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string_view eventTypeName(WatchEventType type) {
  switch (type) {
    case WatchEventType::kAdded:
      return "ADDED";
    case WatchEventType::kModified:
      return "MODIFIED";
    case WatchEventType::kDeleted:
      return "DELETED";
    case WatchEventType::kBookmark:
      return "BOOKMARK";
    case WatchEventType::kError:
      return "ERROR";
  }
  return "?";
}

ApiStatus statusFromJson(const nlohmann::json& status) {
  ApiStatus s;
  if (!status.is_object()) {
    return s;
  }
  auto code = status.find("code");
  if (code != status.end() && code->is_number_integer()) {
    auto v = code->get<int64_t>();
    s.code = v >= 0 && v < 1000 ? static_cast<int32_t>(v) : 0;  // an HTTP status code or nothing
  }
  s.reason = stringAt(status, "reason");
  s.message = stringAt(status, "message");
  return s;
}

bool WatchStreamDecoder::fail(std::string message, std::string* error) {
  if (error_.empty()) {
    error_ = std::move(message);
    pending_.clear();
    pending_.shrink_to_fit();
  }
  if (error != nullptr) {
    *error = error_;
  }
  return false;
}

bool WatchStreamDecoder::feed(std::string_view bytes, std::vector<WatchEvent>* events, std::string* error) {
  if (failed()) {
    return fail(error_, error);
  }
  bytes_ += bytes.size();
  while (!bytes.empty()) {
    size_t lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      if (pending_.size() + bytes.size() > max_line_bytes_) {
        return fail("line " + std::to_string(line_ + 1) + ": longer than " + std::to_string(max_line_bytes_) +
                        " bytes",
                    error);
      }
      pending_.append(bytes);
      return true;
    }
    if (pending_.size() + lf > max_line_bytes_) {
      return fail(
          "line " + std::to_string(line_ + 1) + ": longer than " + std::to_string(max_line_bytes_) + " bytes",
          error);
    }
    ++line_;
    bool ok;
    if (pending_.empty()) {
      ok = decodeLine(bytes.substr(0, lf), events, error);
    } else {
      pending_.append(bytes.substr(0, lf));
      std::string line = std::move(pending_);
      pending_.clear();
      ok = decodeLine(line, events, error);
    }
    if (!ok) {
      return false;
    }
    bytes.remove_prefix(lf + 1);
  }
  return true;
}

bool WatchStreamDecoder::finish(std::vector<WatchEvent>* events, std::string* error) {
  if (failed()) {
    return fail(error_, error);
  }
  if (blank(pending_)) {
    pending_.clear();
    return true;
  }
  ++line_;
  std::string line = std::move(pending_);
  pending_.clear();
  if (!nlohmann::json::accept(line)) {
    return fail("line " + std::to_string(line_) + ": the body ended inside an event (" +
                    std::to_string(line.size()) + " bytes without a newline)",
                error);
  }
  return decodeLine(line, events, error);
}

bool WatchStreamDecoder::decodeLine(std::string_view line, std::vector<WatchEvent>* events,
                                    std::string* error) {
  if (blank(line)) {
    return true;
  }
  const std::string where = "line " + std::to_string(line_) + ": ";
  nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail(where + "malformed JSON", error);
  }
  if (!j.is_object()) {
    return fail(
        where + "expected a JSON object {\"type\":...,\"object\":{...}}, found " + std::string(j.type_name()),
        error);
  }
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) {
    return fail(where + "expected a string \"type\"", error);
  }
  auto parsed = parseType(type->get_ref<const std::string&>());
  if (!parsed) {
    return fail(where + "unknown event type \"" + type->get<std::string>() +
                    "\" (expected ADDED, MODIFIED, DELETED, BOOKMARK or ERROR)",
                error);
  }
  auto object = j.find("object");
  if (object == j.end() || !object->is_object()) {
    return fail(where + "expected \"object\" to be a JSON object, found " +
                    (object == j.end() ? std::string("none") : std::string(object->type_name())),
                error);
  }
  WatchEvent e;
  e.type = *parsed;
  e.line = line_;
  e.object = std::move(*object);
  if (e.type == WatchEventType::kError) {
    e.status = statusFromJson(e.object);
  } else {
    auto meta = e.object.find("metadata");
    if (meta != e.object.end() && meta->is_object()) {
      e.resourceVersion = stringAt(*meta, "resourceVersion");
    }
    if (e.type == WatchEventType::kBookmark && e.resourceVersion.empty()) {
      return fail(where + "BOOKMARK without object.metadata.resourceVersion", error);
    }
  }
  events->push_back(std::move(e));
  return true;
}

}  // namespace tokenstorm::kube
