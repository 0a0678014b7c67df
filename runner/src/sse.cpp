#include "tokenstorm/runner/sse.h"

#include <cstring>
#include <utility>

namespace tokenstorm::runner {
namespace {

constexpr char kBom[] = "\xEF\xBB\xBF";
constexpr uint8_t kBomBytes = 3;
constexpr uint8_t kBomDone = 0xFF;

const char* findByte(const char* from, const char* to, char c) {
  return static_cast<const char*>(std::memchr(from, c, static_cast<size_t>(to - from)));
}

}  // namespace

SseParser::SseParser(Handler on_event, size_t max_event_bytes)
    : onEvent_(std::move(on_event)), maxEventBytes_(max_event_bytes) {}

void SseParser::fail(std::string message, std::string* error) {
  failed_ = true;
  error_ = std::move(message);
  partial_.clear();
  if (error != nullptr) {
    *error = error_;
  }
}

bool SseParser::feed(std::string_view bytes, core::MonoNanos at, std::string* error) {
  if (failed_) {
    if (error != nullptr) {
      *error = error_;
    }
    return false;
  }
  const char* const begin = bytes.data();
  const char* const end = begin + bytes.size();
  const uint64_t base = offset_;  // stream offset of bytes[0]
  offset_ += bytes.size();
  // A NUL byte is fatal, but the events complete before it are still delivered.
  const char* const nul = bytes.empty() ? nullptr : findByte(begin, end, '\0');
  const char* const stop = nul != nullptr ? nul : end;
  const char* p = begin;

  if (bomSeen_ != kBomDone) {
    while (p < stop && bomSeen_ < kBomBytes && *p == kBom[bomSeen_]) {
      if (bomSeen_ == 0) {
        bomAt_ = at;
      }
      ++bomSeen_;
      ++p;
    }
    if (bomSeen_ == kBomBytes) {
      bomSeen_ = kBomDone;
    } else if (p < stop) {
      // Not a BOM after all: the bytes matched so far begin the first line, read when the first of them was.
      // (Those few bytes are not counted against the event size limit.)
      if (bomSeen_ > 0) {
        partial_.assign(kBom, bomSeen_);
        lineStart_ = bomAt_;
      }
      bomSeen_ = kBomDone;
    }
  }
  if (afterCr_ && p < stop) {
    afterCr_ = false;
    if (*p == '\n') {
      ++p;  // the LF of a CRLF split between reads
    }
  }

  // A line ends at the first CR or LF. memchr for each (CR is rare) beats a byte loop by far. The next LF
  // is remembered across lines so that a stream of lone CRs does not rescan the read for LF once per line.
  const char* next_lf = nullptr;
  bool lf_searched = false;
  while (p < stop) {
    if (partial_.empty()) {
      lineStart_ = at;  // a line begins in this read
    }
    if (!lf_searched || (next_lf != nullptr && next_lf < p)) {
      next_lf = findByte(p, stop, '\n');
      lf_searched = true;
    }
    const char* cr = findByte(p, next_lf != nullptr ? next_lf : stop, '\r');
    const char* terminator = cr != nullptr ? cr : next_lf;
    const char* text_end = terminator != nullptr ? terminator : stop;
    const size_t n = static_cast<size_t>(text_end - p);
    if (n > maxEventBytes_ - eventBytes_) {
      const uint64_t at_byte = base + static_cast<uint64_t>(p - begin) + (maxEventBytes_ - eventBytes_);
      fail("sse: event larger than " + std::to_string(maxEventBytes_) + " bytes at byte offset " +
               std::to_string(at_byte),
           error);
      return false;
    }
    eventBytes_ += n;
    if (terminator == nullptr) {
      partial_.append(p, n);
      break;
    }
    if (partial_.empty()) {
      line(std::string_view(p, n));
    } else {
      partial_.append(p, n);
      line(partial_);
      partial_.clear();
    }
    p = terminator + 1;
    if (*terminator == '\r') {
      if (p < stop) {
        if (*p == '\n') {
          ++p;
        }
      } else if (stop == end) {
        afterCr_ = true;  // the LF, if any, comes with the next read
      }
    }
  }

  if (nul != nullptr) {
    fail("sse: NUL byte at byte offset " + std::to_string(base + static_cast<uint64_t>(nul - begin)), error);
    return false;
  }
  return true;
}

void SseParser::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text.front() == ':') {
    ++comments_;
    return;
  }
  std::string_view name = text;
  std::string_view value;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    name = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') {
      value.remove_prefix(1);
    }
  }
  if (name == "data") {
    if (hasData_) {
      current_.data += '\n';
    }
    current_.data.append(value);
    hasData_ = true;
  } else if (name == "event") {
    current_.event.assign(value);
  } else if (name == "id") {
    lastId_.assign(value);  // the spec ignores ids holding NUL; a NUL already failed the stream
  } else {
    return;  // `retry:` (reconnection is not ours to do) and unknown fields
  }
  if (!pending_) {
    pending_ = true;
    current_.at = lineStart_;
  }
}

void SseParser::dispatch() {
  if (hasData_) {
    current_.id = lastId_;
    onEvent_(current_);
  }
  // clear() keeps the strings' capacity, so a steady stream stops allocating after its first events.
  current_.event.clear();
  current_.data.clear();
  hasData_ = false;
  pending_ = false;
  eventBytes_ = 0;
}

bool SseParser::finish() {
  const bool partial_bom = bomSeen_ > 0 && bomSeen_ < kBomBytes;
  const bool cut = !failed_ && (pending_ || !partial_.empty() || partial_bom);
  partial_.clear();
  current_.event.clear();
  current_.data.clear();
  hasData_ = false;
  pending_ = false;
  afterCr_ = false;
  eventBytes_ = 0;
  if (partial_bom) {
    bomSeen_ = kBomDone;
  }
  return cut;
}

}  // namespace tokenstorm::runner
