// Small pieces of the simulator's server that need no sockets: forced faults, prompt prefix hashing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenstorm::sim {

// "1.250s": x-ratelimit-reset-* values.
std::string formatSeconds(double s);

// A fault forced by the request header `x-sim-fault`.
struct Fault {
  int status = 0;           // answer with this status
  int64_t cutAfter = -1;    // close the connection after this many tokens
  int64_t errorAfter = -1;  // an error object inside the 200 stream after this many tokens
  int64_t delayNanos = 0;   // latency spike before the request is queued
  bool refuse = false;      // close the connection without an answer
};

// Parses an x-sim-fault value: a status (400-599), cut:N, stream-error:N, delay:DURATION or refuse.
bool parseFault(std::string_view value, Fault* fault, std::string* error);

// Hashes of every full block of `block_words` prompt words, each covering the whole prefix up to it.
std::vector<uint64_t> prefixBlocks(std::string_view text, int64_t block_words);

}  // namespace tokenstorm::sim
