// What the load engine measured about one logical request (docs/metrics.md, "Timestamps kept per
// request"). The engine fills one RequestRecord per request once it has ended (succeeded, failed after its
// last attempt, or cancelled); the metrics recorder (metrics.h) folds it into histograms and counters.
//
// Times are monotonic nanoseconds (core::MonoNanos); 0 means "did not happen" (no first token, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenstorm/core/clock.h"

namespace tokenstorm::core {

enum class Outcome : uint8_t { Ok, Failed, Cancelled };

// Error kinds as in docs/metrics.md. Cancellations are an Outcome, never an error.
enum class ErrorKind : uint8_t {
  None,
  Http429,
  Http4xx,
  Http5xx,
  Timeout,
  Connect,
  Tls,
  StreamError,
  Protocol
};

// One gap between two consecutive output-bearing events: t_i - t_{i-1}, and the tokens event i carried.
struct ChunkGap {
  int64_t nanos = 0;
  int64_t tokens = 1;
};

struct RequestRecord {
  int stage = -1;  // index into the load plan's stages of the stage t_sched fell in
  int cls = 0;     // index into spec.workload.classes
  int endpoint = 0;

  MonoNanos tSched = 0;         // planned start (open loop); the moment the user was ready (closed loop)
  MonoNanos tSend = 0;          // first byte written, of the attempt that produced this record
  MonoNanos tFirst = 0;         // first output-bearing event (content, reasoning or tool call)
  MonoNanos tFirstContent = 0;  // first non-reasoning output (TTFO)
  MonoNanos tLast = 0;          // last output-bearing event
  MonoNanos tEnd = 0;           // end of the response ([DONE], message_stop, close, or the error)
  std::vector<ChunkGap> gaps;   // inter-chunk gaps, in order

  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  int64_t cachedTokens = 0;
  bool tokensEstimated = false;  // no usage from the server: counted by the runner's estimator
  // When the server did send usage: what the runner's estimator would have said for the output (-1: not
  // computed). Reports how far client and server counts disagree (docs/metrics.md).
  int64_t clientOutputEstimate = -1;

  Outcome outcome = Outcome::Ok;
  ErrorKind error = ErrorKind::None;
  int httpStatus = 0;
  int attempts = 1;             // 1 + retries
  std::string finishReason;     // "stop", "length", ... as the server said (normalised to OpenAI's words)
  std::string serverRequestId;  // the server's request id header (x-request-id, request-id, ...), for logs
};

}  // namespace tokenstorm::core
