#include "server_helpers.h"

#include <algorithm>
#include <cstdio>

#include "tokenstorm/core/units.h"

namespace tokenstorm::sim {

std::string formatSeconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", std::max(0.0, s));
  return buf;
}

bool parseFault(std::string_view v, Fault* f, std::string* error) {
  auto number = [](std::string_view s, int64_t* out) {
    if (s.empty()) {
      return false;
    }
    int64_t n = 0;
    for (char c : s) {
      if (c < '0' || c > '9' || n > 1'000'000'000) {
        return false;
      }
      n = n * 10 + (c - '0');
    }
    *out = n;
    return true;
  };
  size_t colon = v.find(':');
  std::string_view kind = v.substr(0, colon);
  std::string_view arg = colon == std::string_view::npos ? std::string_view() : v.substr(colon + 1);
  int64_t n = 0;
  if (kind == "refuse") {
    f->refuse = true;
  } else if (kind == "cut" && number(arg, &n)) {
    f->cutAfter = n;
  } else if (kind == "stream-error" && number(arg, &n)) {
    f->errorAfter = n;
  } else if (kind == "delay") {
    auto d = core::Duration::parse(arg);
    if (!d || d->nanos < 0 || d->nanos > 3'600'000'000'000) {
      *error = "delay needs a duration such as delay:500ms";
      return false;
    }
    f->delayNanos = d->nanos;
  } else if (number(kind, &n) && n >= 400 && n <= 599 && arg.empty()) {
    f->status = static_cast<int>(n);
  } else {
    *error = "unknown x-sim-fault \"" + std::string(v) +
             "\" (use a status such as 503, cut:N, stream-error:N, delay:500ms or refuse)";
    return false;
  }
  return true;
}

std::vector<uint64_t> prefixBlocks(std::string_view text, int64_t block_words) {
  std::vector<uint64_t> blocks;
  uint64_t h = 1469598103934665603ULL;  // FNV-1a, chained over words
  int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && in_word && ++words % block_words == 0) {
      blocks.push_back(h);
    }
    if (!space) {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    } else if (in_word) {
      h = (h ^ 0x20) * 1099511628211ULL;
    }
    in_word = !space;
  }
  if (in_word && ++words % block_words == 0) {
    blocks.push_back(h);
  }
  return blocks;
}

}  // namespace tokenstorm::sim
