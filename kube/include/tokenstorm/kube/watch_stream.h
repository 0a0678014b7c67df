// Incremental decoder of a Kubernetes watch response body (`GET ...?watch=1`).
//
// The body is newline-delimited JSON, one event per line:
//   {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":{...}}
// arriving in reads of any size, split at any byte. feed() takes each read and returns the events its
// bytes completed, in order. Rules:
// - A line ends at LF; a CR before it and blank (whitespace-only) lines are ignored.
// - A line longer than the limit (default 16 MiB, bytes before the LF) is an error as soon as the limit
//   is passed, so a server that never sends LF cannot make us buffer without bound.
// - Malformed JSON, a line that is not an object, a missing or unknown "type", or an "object" that is not
//   a JSON object are errors naming the 1-based line number. After an error the decoder refuses all
//   further input (the caller drops the connection and re-watches; a half-understood stream is not
//   trusted).
// - ERROR events carry a metav1.Status: code, reason and message are extracted into ApiStatus;
//   ApiStatus::gone() recognises 410 Gone ("too old resource version"), which means relist.
// - Every other event's object.metadata.resourceVersion is extracted; a BOOKMARK without one is an error
//   (a bookmark exists only to carry it).
// - finish() at end of body: a final line without LF is decoded if it is complete JSON; otherwise the
//   body was cut inside an event, which finish() reports.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace tokenstorm::kube {

enum class WatchEventType { kAdded, kModified, kDeleted, kBookmark, kError };

std::string_view eventTypeName(WatchEventType type);  // "ADDED", ...

// The parts of a metav1.Status we act on.
struct ApiStatus {
  int32_t code = 0;    // HTTP status code, e.g. 410
  std::string reason;  // e.g. "Expired", "Gone", "TooManyRequests"
  std::string message;

  bool gone() const { return code == 410 || reason == "Expired" || reason == "Gone"; }
  bool operator==(const ApiStatus&) const = default;
};

// Extracts code/reason/message from a metav1.Status object (missing fields stay empty/0).
ApiStatus statusFromJson(const nlohmann::json& status);

struct WatchEvent {
  WatchEventType type = WatchEventType::kAdded;
  nlohmann::json object;        // the object (for ERROR, the Status object)
  std::string resourceVersion;  // object.metadata.resourceVersion; empty for ERROR or when absent
  ApiStatus status;             // ERROR only
  uint64_t line = 0;            // 1-based line of the body the event came from
};

class WatchStreamDecoder {
 public:
  static constexpr size_t kDefaultMaxLineBytes = size_t{16} << 20;

  explicit WatchStreamDecoder(size_t max_line_bytes = kDefaultMaxLineBytes)
      : max_line_bytes_(max_line_bytes) {}

  // Consumes one read, appending the events it completes to *events. Returns false with *error
  // ("line N: ...") when the stream is malformed; events decoded before the bad line are still appended.
  bool feed(std::string_view bytes, std::vector<WatchEvent>* events, std::string* error);

  // End of body. Returns false with *error when a partial line that is not a complete event was pending
  // (the body was cut) or the last line was malformed; a complete last line without LF is appended.
  bool finish(std::vector<WatchEvent>* events, std::string* error);

  bool failed() const { return !error_.empty(); }
  uint64_t bytes() const { return bytes_; }
  uint64_t lines() const { return line_; }  // lines completed so far

 private:
  bool decodeLine(std::string_view line, std::vector<WatchEvent>* events, std::string* error);
  bool fail(std::string message, std::string* error);

  size_t max_line_bytes_;
  std::string pending_;  // bytes of the current line not yet ended by LF
  uint64_t line_ = 0;
  uint64_t bytes_ = 0;
  std::string error_;  // the first error; non-empty once failed
};

}  // namespace tokenstorm::kube
