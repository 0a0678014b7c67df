#include "tokenstorm/core/prom_text.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace tokenstorm::core {
namespace {

bool nameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool nameChar(char c) {
  return nameStart(c) || (c >= '0' && c <= '9');
}
bool space(char c) {
  return c == ' ' || c == '\t';
}

std::string shown(std::string_view text) {
  constexpr size_t kShown = 40;
  std::string out;
  for (char c : text.substr(0, kShown)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  return text.size() > kShown ? out + "..." : out;
}

// A float as the format writes it: Go's ParseFloat syntax, plus NaN, +Inf, -Inf.
std::optional<double> parseValue(std::string_view text) {
  if (text == "NaN") {
    return std::numeric_limits<double>::quiet_NaN();
  }
  if (text == "+Inf" || text == "Inf") {
    return std::numeric_limits<double>::infinity();
  }
  if (text == "-Inf") {
    return -std::numeric_limits<double>::infinity();
  }
  std::string_view digits = text;
  if (!digits.empty() && digits.front() == '+') {
    digits.remove_prefix(1);
  }
  // from_chars would also take "inf" and "nan" in any case; the format spells those exactly, above.
  if (digits.empty() || !(std::isdigit(static_cast<unsigned char>(digits.back())) || digits.back() == '.')) {
    return std::nullopt;
  }
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return value;
}

class LineParser {
 public:
  LineParser(std::string_view line, const PromLimits& limits) : line_(line), limits_(limits) {}

  // A sample, or nullopt with *error set.
  std::optional<PromSample> parse(std::string* error) {
    PromSample s;
    size_t start = pos_;
    if (pos_ >= line_.size() || !nameStart(line_[pos_])) {
      *error = "expected a metric name at \"" + shown(line_.substr(pos_)) + "\"";
      return std::nullopt;
    }
    while (pos_ < line_.size() && nameChar(line_[pos_])) {
      ++pos_;
    }
    s.name = std::string(line_.substr(start, pos_ - start));
    skipSpace();
    if (pos_ < line_.size() && line_[pos_] == '{' && !parseLabels(s, error)) {
      return std::nullopt;
    }
    skipSpace();
    std::string_view value = word();
    if (value.empty()) {
      *error = "metric " + shown(s.name) + ": no value";
      return std::nullopt;
    }
    auto v = parseValue(value);
    if (!v) {
      *error = "metric " + shown(s.name) + ": value \"" + shown(value) + "\" is not a number";
      return std::nullopt;
    }
    s.value = *v;
    skipSpace();
    std::string_view ts = word();
    if (!ts.empty()) {
      int64_t ms = 0;
      auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
      if (ec != std::errc{} || end != ts.data() + ts.size()) {
        *error = "metric " + shown(s.name) + ": timestamp \"" + shown(ts) + "\" is not an integer";
        return std::nullopt;
      }
      s.timestampMs = ms;
    }
    skipSpace();
    if (pos_ < line_.size()) {
      *error = "metric " + shown(s.name) + ": unexpected \"" + shown(line_.substr(pos_)) + "\"";
      return std::nullopt;
    }
    return s;
  }

 private:
  void skipSpace() {
    while (pos_ < line_.size() && space(line_[pos_])) {
      ++pos_;
    }
  }
  std::string_view word() {
    size_t start = pos_;
    while (pos_ < line_.size() && !space(line_[pos_])) {
      ++pos_;
    }
    return line_.substr(start, pos_ - start);
  }

  bool parseLabels(PromSample& s, std::string* error) {
    ++pos_;  // '{'
    while (true) {
      skipSpace();
      if (pos_ >= line_.size()) {
        *error = "metric " + shown(s.name) + ": unterminated label set";
        return false;
      }
      if (line_[pos_] == '}') {
        ++pos_;
        return true;
      }
      size_t start = pos_;
      if (nameStart(line_[pos_]) && line_[pos_] != ':') {
        while (pos_ < line_.size() && nameChar(line_[pos_]) && line_[pos_] != ':') {
          ++pos_;
        }
      }
      if (start == pos_) {
        *error = "metric " + shown(s.name) + ": bad label name at \"" + shown(line_.substr(pos_)) + "\"";
        return false;
      }
      std::string label(line_.substr(start, pos_ - start));
      skipSpace();
      if (pos_ + 1 >= line_.size() || line_[pos_] != '=' || line_[pos_ + 1] != '"') {
        *error = "metric " + shown(s.name) + ": label " + shown(label) + ": expected =\"value\"";
        return false;
      }
      pos_ += 2;
      std::string value;
      bool closed = false;
      while (pos_ < line_.size()) {
        char c = line_[pos_++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\' && pos_ < line_.size()) {
          char e = line_[pos_++];
          value += e == 'n' ? '\n' : e;  // \\ and \" stand for themselves
          continue;
        }
        value += c;
      }
      if (!closed) {
        *error = "metric " + shown(s.name) + ": label " + shown(label) + ": unterminated label value";
        return false;
      }
      if (s.labels.size() >= limits_.maxLabels) {
        *error = "metric " + shown(s.name) + ": more than " + std::to_string(limits_.maxLabels) + " labels";
        return false;
      }
      skipSpace();
      if (pos_ < line_.size() && line_[pos_] != ',' && line_[pos_] != '}') {
        *error = "metric " + shown(s.name) + ": label " + shown(label) + ": expected , or } after its value";
        return false;
      }
      s.labels.emplace_back(std::move(label), std::move(value));
      if (pos_ < line_.size() && line_[pos_] == ',') {
        ++pos_;
      }
    }
  }

  std::string_view line_;
  const PromLimits& limits_;
  size_t pos_ = 0;
};

}  // namespace

PromParse parsePromText(std::string_view body, const PromLimits& limits) {
  PromParse out;
  auto fail = [&](size_t line_no, const std::string& message) {
    ++out.errorCount;
    if (out.errors.size() < limits.maxErrors) {
      out.errors.push_back("line " + std::to_string(line_no) + ": " + message);
    }
  };
  if (body.size() > limits.maxBodyBytes) {
    fail(0, "body of " + std::to_string(body.size()) + " bytes: only the first " +
                std::to_string(limits.maxBodyBytes) + " are read");
    body = body.substr(0, limits.maxBodyBytes);
  }
  size_t line_no = 0;
  while (!body.empty()) {
    ++line_no;
    size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.size() > limits.maxLineBytes) {
      fail(line_no, "line of " + std::to_string(line.size()) + " bytes exceeds " +
                        std::to_string(limits.maxLineBytes));
      continue;
    }
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') {
      continue;  // blank, comment, HELP or TYPE
    }
    if (out.samples.size() >= limits.maxSamples) {
      fail(line_no, "more than " + std::to_string(limits.maxSamples) + " samples: the rest is ignored");
      break;
    }
    std::string error;
    if (auto s = LineParser(line.substr(first), limits).parse(&error)) {
      out.samples.push_back(std::move(*s));
    } else {
      fail(line_no, error);
    }
  }
  return out;
}

const std::vector<std::string>& defaultServerMetricNames() {
  static const std::vector<std::string> kNames = {
      "vllm:num_requests_waiting",
      "vllm:num_requests_running",
      "vllm:gpu_cache_usage_perc",
      "vllm:kv_cache_usage_perc",
      "tgi_queue_size",
      "tgi_batch_current_size",
      kSimReplicas,
      kSimReplicasReady,
  };
  return kNames;
}

std::map<std::string, double> sumByName(const std::vector<PromSample>& samples,
                                        const std::vector<std::string>& names) {
  std::map<std::string, double> sums;
  for (const auto& s : samples) {
    if (!std::isfinite(s.value) || std::find(names.begin(), names.end(), s.name) == names.end()) {
      continue;
    }
    sums[s.name] += s.value;
  }
  return sums;
}

std::vector<ServerMetricSample> serverMetricSamples(double tS, const std::map<std::string, double>& sums) {
  std::vector<ServerMetricSample> out;
  for (const auto& [name, value] : sums) {
    out.push_back(ServerMetricSample{tS, name, value});
  }
  return out;
}

std::optional<ReplicaSample> simReplicaSample(double tS, const std::map<std::string, double>& sums) {
  auto count = [&](const char* name) -> std::optional<int64_t> {
    auto it = sums.find(name);
    if (it == sums.end() || !(it->second >= 0) || it->second > 1e9) {
      return std::nullopt;
    }
    return static_cast<int64_t>(std::llround(it->second));
  };
  ReplicaSample s;
  s.tS = tS;
  s.desired = count(kSimReplicas);
  s.ready = count(kSimReplicasReady);
  if (!s.desired && !s.ready) {
    return std::nullopt;
  }
  return s;
}

}  // namespace tokenstorm::core
