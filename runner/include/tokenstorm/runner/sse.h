// Incremental Server-Sent Events parser (the WHATWG "event stream" format, as LLM APIs use it).
//
// Bytes arrive in reads of any size, split at any byte; feed() takes each read with the monotonic time it
// was read, and reports every complete event with the time of the read that delivered the event's *first*
// byte (docs/metrics.md: t_first and t_i are first-byte times). Lines end in LF, CRLF or a lone CR (a CR
// at the end of one read followed by LF at the start of the next is one line ending). `data:` lines of one
// event are joined with "\n"; comments (":") are skipped but counted; an event whose buffered size passes
// the limit is an error, not unbounded memory.
//
// Precisely, following the spec where it speaks:
// - An event starts at its first `event:`, `data:` or `id:` line; that line's first byte gives SseEvent::at.
//   Comments, `retry:` and unknown fields are ignored and start nothing, so a keep-alive comment that arrived
//   long before the data does not make the event look early.
// - A blank line dispatches the event if it had at least one `data:` line (`data:` alone gives empty data);
//   otherwise the fields seen are dropped. One space after the colon is stripped; a line without a colon is
//   a field with an empty value. `id` is the spec's last event ID: it carries over to later events.
// - A UTF-8 byte order mark at the very start of the stream is skipped.
// - Size: an event's bytes are those of its lines, field names included, line endings not, comment lines
//   included (they are buffered like any line when they span reads).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "tokenstorm/core/clock.h"

namespace tokenstorm::runner {

struct SseEvent {
  std::string event;  // the `event:` field; empty means "message"
  std::string data;   // `data:` lines joined with "\n"
  std::string id;
  core::MonoNanos at = 0;  // when the event's first byte was read
};

class SseParser {
 public:
  using Handler = std::function<void(SseEvent&)>;

  explicit SseParser(Handler on_event, size_t max_event_bytes = 1 << 20);

  // Consumes one read. Returns false (with *error naming the byte offset in the stream) when the stream is
  // malformed beyond recovery (an oversized event, a NUL byte); the parser then ignores further input.
  bool feed(std::string_view bytes, core::MonoNanos at, std::string* error);

  // End of stream: an event not terminated by a blank line is discarded, as the spec says. Returns true
  // when such an incomplete event was pending (a cut stream).
  bool finish();

  uint64_t comments() const { return comments_; }
  uint64_t bytes() const { return offset_; }

 private:
  void line(std::string_view text);
  void dispatch();
  void fail(std::string message, std::string* error);

  Handler onEvent_;
  size_t maxEventBytes_;
  std::string partial_;  // the current line, when it spans reads
  SseEvent current_;
  std::string lastId_;     // the spec's "last event ID": kept across events until an `id:` changes it
  std::string error_;      // why the stream failed, repeated to later feed() calls
  size_t eventBytes_ = 0;  // bytes of the current event's lines so far (line endings not counted)
  bool hasData_ = false;
  bool pending_ = false;  // something of the current event has been seen
  bool afterCr_ = false;  // the previous byte was CR: a following LF belongs to it
  bool failed_ = false;
  uint8_t bomSeen_ = 0;        // bytes of a leading UTF-8 BOM matched so far; kBomDone once decided
  core::MonoNanos bomAt_ = 0;  // when the first byte of a possible BOM was read
  core::MonoNanos lineStart_ = 0;
  uint64_t comments_ = 0;
  uint64_t offset_ = 0;
};

}  // namespace tokenstorm::runner
