// libFuzzer target: arbitrary bytes as a response stream, cut into reads at pseudo-random points, through
// the SSE parser and every event through each API adapter; the whole input also as a non-streamed body.
// Besides crashes, hangs and sanitizer reports, it checks the parser's promise that splitting never
// matters: the split stream must give the same events (and the same error) as the stream in one read, and
// every event's stamp must be the time of a read that had already arrived. Run with scripts/fuzz.sh.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tokenstorm/runner/api.h"
#include "tokenstorm/runner/sse.h"

namespace {

namespace runner = tokenstorm::runner;
namespace core = tokenstorm::core;

struct Parsed {
  std::vector<runner::SseEvent> events;
  bool ok = true;
  std::string error;
  bool cut = false;
};

// Random split points come from the input itself (FNV-1a of it seeds a xorshift), so a corpus of plain SSE
// streams works as is and every finding replays exactly. Byte-by-byte reads try every boundary at once
// (a CR ending one read and LF starting the next, a BOM cut in two), which random points rarely hit.
enum class Reads : uint8_t { Whole, Random, Bytewise };

uint64_t seedOf(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : text) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return h | 1;
}

Parsed parse(std::string_view text, size_t max_event_bytes, Reads reads, uint64_t seed) {
  Parsed out;
  runner::SseParser parser([&](runner::SseEvent& e) { out.events.push_back(e); }, max_event_bytes);
  core::MonoNanos read = 0;
  bool last_empty = false;
  for (size_t at = 0; at < text.size() || read == 0;) {
    size_t n = text.size() - at;
    if (reads == Reads::Bytewise) {
      n = std::min<size_t>(n, 1);
    } else if (reads == Reads::Random) {
      seed ^= seed << 13;
      seed ^= seed >> 7;
      seed ^= seed << 17;
      // Reads of 1 to 64 bytes, and now and then an empty one (never two in a row, so this ends).
      n = std::min<size_t>(n, seed % 9 == 0 && !last_empty ? 0 : 1 + seed % 64);
    }
    last_empty = n == 0;
    ++read;
    if (out.ok && !parser.feed(text.substr(at, n), read, &out.error)) {
      out.ok = false;
    }
    at += n;
  }
  for (const auto& e : out.events) {
    if (e.at < 1 || e.at > read) {
      __builtin_trap();  // stamped with a read that never happened
    }
  }
  out.cut = parser.finish();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const uint64_t seed = seedOf(text);
  const size_t max_event_bytes = seed % 4 == 0 ? 48 : 1 << 20;  // sometimes a small limit, to reach it

  Parsed whole = parse(text, max_event_bytes, Reads::Whole, 0);
  // Byte-by-byte costs a feed() per byte; a bound keeps the fuzzer's speed on long inputs.
  constexpr size_t kBytewiseMax = 4096;
  std::vector<Parsed> splits;
  splits.push_back(parse(text, max_event_bytes, Reads::Random, seed));
  if (size <= kBytewiseMax) {
    splits.push_back(parse(text, max_event_bytes, Reads::Bytewise, 0));
  }
  for (const Parsed& split : splits) {
    if (whole.ok != split.ok || whole.error != split.error || whole.cut != split.cut ||
        whole.events.size() != split.events.size()) {
      __builtin_trap();
    }
    for (size_t i = 0; i < whole.events.size(); ++i) {
      const auto& a = whole.events[i];
      const auto& b = split.events[i];
      if (a.event != b.event || a.data != b.data || a.id != b.id ||
          (i > 0 && b.at < split.events[i - 1].at)) {
        __builtin_trap();
      }
    }
  }

  for (auto api : {core::Api::OpenAIChat, core::Api::OpenAICompletions, core::Api::AnthropicMessages}) {
    const runner::ApiAdapter& adapter = runner::adapterFor(api);
    for (const auto& e : whole.events) {
      runner::Delta d = adapter.parseEvent(e, runner::AnswerText::kKeep);
      if (d.contentChars < 0 || d.reasoningChars < 0 || d.toolCallChars < 0 ||
          (d.protocolError && (d.carriesOutput() || d.usage || d.error || d.done))) {
        __builtin_trap();  // negative sizes, or a protocol error that still claims to say something
      }
    }
    (void)adapter.parseBody(text, runner::AnswerText::kKeep);
  }
  return 0;
}
