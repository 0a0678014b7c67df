#include "tokenstorm/runner/workload.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "tokenstorm/core/text.h"

namespace tokenstorm::runner {
namespace {

constexpr size_t kMaxDatasetBytes = 512u << 20;
// Shared prefixes of different classes start at different corpus words, so classes do not share a cache.
constexpr uint64_t kClassPrefixStride = 997;

std::string textOf(const nlohmann::json& content) {
  if (content.is_string()) {
    return content.get<std::string>();
  }
  std::string out;
  if (content.is_array()) {  // [{type: text, text: ...}, ...]
    for (const auto& part : content) {
      if (part.is_object() && part.contains("text") && part["text"].is_string()) {
        out += part["text"].get<std::string>();
      }
    }
  }
  return out;
}

bool entryFrom(const nlohmann::json& j, core::DatasetFormat format, std::vector<Message>* out,
               std::string* why) {
  switch (format) {
    case core::DatasetFormat::JsonlPrompts:
      if (j.is_string()) {
        out->push_back({"user", j.get<std::string>()});
        return true;
      }
      for (const char* key : {"prompt", "text"}) {
        if (j.is_object() && j.contains(key) && j[key].is_string()) {
          out->push_back({"user", j[key].get<std::string>()});
          return true;
        }
      }
      *why = "expected a JSON string or an object with a string \"prompt\"";
      return false;
    case core::DatasetFormat::OpenAIChatJsonl: {
      if (!j.is_object() || !j.contains("messages") || !j["messages"].is_array()) {
        *why = "expected an object with a \"messages\" array";
        return false;
      }
      for (const auto& m : j["messages"]) {
        if (!m.is_object() || !m.contains("role") || !m["role"].is_string() || !m.contains("content")) {
          *why = "each message needs a string \"role\" and a \"content\"";
          return false;
        }
        out->push_back({m["role"].get<std::string>(), textOf(m["content"])});
      }
      // The answer is what we ask for: a trailing assistant message is the dataset's own answer, not input.
      while (!out->empty() && out->back().role == "assistant") {
        out->pop_back();
      }
      if (out->empty()) {
        *why = "no user message";
        return false;
      }
      return true;
    }
    case core::DatasetFormat::ShareGpt: {
      if (!j.is_object() || !j.contains("conversations") || !j["conversations"].is_array()) {
        *why = "expected an object with a \"conversations\" array";
        return false;
      }
      // As the usual serving benchmarks do: the system turn (if any) and the first human turn.
      for (const auto& turn : j["conversations"]) {
        if (!turn.is_object() || !turn.contains("from") || !turn["from"].is_string() ||
            !turn.contains("value") || !turn["value"].is_string()) {
          *why = "each turn needs string \"from\" and \"value\"";
          return false;
        }
        std::string from = turn["from"].get<std::string>();
        if (from == "system") {
          out->push_back({"system", turn["value"].get<std::string>()});
        } else if (from == "human" || from == "user") {
          out->push_back({"user", turn["value"].get<std::string>()});
          return true;
        }
      }
      *why = "no human turn";
      return false;
    }
  }
  return false;
}

}  // namespace

std::optional<std::vector<std::vector<Message>>> parseDataset(std::string_view text,
                                                              core::DatasetFormat format,
                                                              const std::string& where,
                                                              core::Diagnostics* errors) {
  std::vector<std::vector<Message>> entries;
  auto bad = [&](int32_t line, const std::string& message) {
    errors->push_back({where, message, {line, 0}});
    return std::nullopt;
  };
  if (format == core::DatasetFormat::ShareGpt) {
    nlohmann::json doc = nlohmann::json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_array()) {
      return bad(0, "a ShareGPT dataset must be a JSON array of conversations");
    }
    for (size_t i = 0; i < doc.size(); ++i) {
      std::vector<Message> entry;
      std::string why;
      if (!entryFrom(doc[i], format, &entry, &why)) {
        continue;  // ShareGPT dumps hold many unusable records; the usual tools skip them too
      }
      entries.push_back(std::move(entry));
    }
  } else {
    int32_t line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      std::string_view line =
          text.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
      pos = end == std::string_view::npos ? text.size() : end + 1;
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
        continue;
      }
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) {
        return bad(line_no, "line " + std::to_string(line_no) + ": not valid JSON");
      }
      std::vector<Message> entry;
      std::string why;
      if (!entryFrom(j, format, &entry, &why)) {
        return bad(line_no, "line " + std::to_string(line_no) + ": " + why);
      }
      entries.push_back(std::move(entry));
    }
  }
  if (entries.empty()) {
    return bad(0, "the dataset holds no usable prompt");
  }
  return entries;
}

std::optional<Workload> Workload::create(const core::LoadTestSpec& spec,
                                         const std::filesystem::path& base_dir, double words_per_token,
                                         core::Diagnostics* errors) {
  Workload w;
  w.spec_ = &spec;
  w.wordsPerToken_ = words_per_token;
  int64_t total = 0;
  bool ok = true;
  for (size_t i = 0; i < spec.workload.classes.size(); ++i) {
    const core::WorkloadClass& c = spec.workload.classes[i];
    std::string path = "spec.workload.classes[" + std::to_string(i) + "].prompt";
    ClassPlan plan;
    if (c.prompt.synthetic && c.prompt.synthetic->sharedPrefixTokens > 0) {
      auto words = static_cast<int64_t>(
          std::llround(static_cast<double>(c.prompt.synthetic->sharedPrefixTokens) * words_per_token));
      plan.sharedPrefix = core::corpusText(kClassPrefixStride * i, words, false);
    }
    if (const auto& d = c.prompt.dataset) {
      if (!d->inlinePrompts.empty()) {
        for (const auto& p : d->inlinePrompts) {
          plan.prompts.push_back({{"user", p}});
        }
      } else if (d->file) {
        std::filesystem::path file(*d->file);
        if (!file.is_absolute()) {
          file = base_dir / file;
        }
        std::ifstream in(file, std::ios::binary);
        std::error_code ec;
        auto size = std::filesystem::file_size(file, ec);
        if (!in || ec) {
          errors->push_back({path + ".dataset.file", "cannot read " + file.string(), {}});
          ok = false;
          continue;
        }
        if (size > kMaxDatasetBytes) {
          errors->push_back({path + ".dataset.file", file.string() + " is larger than 512 MiB", {}});
          ok = false;
          continue;
        }
        std::stringstream text;
        text << in.rdbuf();
        auto parsed =
            parseDataset(text.str(), d->format, path + ".dataset.file (" + file.string() + ")", errors);
        if (!parsed) {
          ok = false;
          continue;
        }
        plan.prompts = std::move(*parsed);
      } else {
        errors->push_back({path + ".dataset",
                           "configMapRef datasets are read in-cluster only; use file or inline "
                           "for local runs",
                           {}});
        ok = false;
        continue;
      }
    }
    total += std::max<int64_t>(0, c.weight);
    w.cumulativeWeights_.push_back(total);
    w.classes_.push_back(std::move(plan));
  }
  if (!ok) {
    return std::nullopt;
  }
  return w;
}

int64_t Workload::estimateTokens(const std::string& text) const {
  return static_cast<int64_t>(std::ceil(static_cast<double>(core::countWords(text)) / wordsPerToken_));
}

std::string Workload::syntheticText(int64_t tokens, core::Rng& rng) const {
  auto words = static_cast<int64_t>(std::llround(static_cast<double>(tokens) * wordsPerToken_));
  const auto& corpus = core::corpusWords();
  uint64_t offset = std::uniform_int_distribution<uint64_t>(0, corpus.size() - 1)(rng);
  return core::corpusText(offset, std::max<int64_t>(1, words), false);
}

std::vector<Message> Workload::prompt(size_t cls, core::Rng& rng) {
  const core::WorkloadClass& c = spec_->workload.classes[cls];
  ClassPlan& plan = classes_[cls];
  if (!plan.prompts.empty()) {
    size_t index = 0;
    if (c.prompt.dataset && c.prompt.dataset->sample == core::Sampling::Sequential) {
      index = plan.sequentialNext++ % plan.prompts.size();
    } else {
      index = std::uniform_int_distribution<size_t>(0, plan.prompts.size() - 1)(rng);
    }
    return plan.prompts[index];
  }
  int64_t tokens = 1;
  if (c.prompt.synthetic) {
    tokens = std::max<int64_t>(1, std::llround(core::sample(c.prompt.synthetic->inputTokens, rng)));
  }
  int64_t prefix = c.prompt.synthetic ? std::min(tokens, c.prompt.synthetic->sharedPrefixTokens) : 0;
  std::string text = plan.sharedPrefix;
  if (tokens > prefix) {
    if (!text.empty()) {
      text += ' ';
    }
    text += syntheticText(tokens - prefix, rng);
  }
  return {{"user", std::move(text)}};
}

PlannedRequest Workload::next(core::Rng& rng) {
  PlannedRequest out;
  if (!cumulativeWeights_.empty() && cumulativeWeights_.back() > 0) {
    int64_t pick = std::uniform_int_distribution<int64_t>(0, cumulativeWeights_.back() - 1)(rng);
    out.cls = static_cast<int>(std::upper_bound(cumulativeWeights_.begin(), cumulativeWeights_.end(), pick) -
                               cumulativeWeights_.begin());
  }
  const core::WorkloadClass& c = spec_->workload.classes[static_cast<size_t>(out.cls)];
  out.request.messages = prompt(static_cast<size_t>(out.cls), rng);
  out.request.maxTokens = std::max<int64_t>(1, std::llround(core::sample(c.maxOutputTokens, rng)));
  out.request.stream = c.stream;
  out.request.temperature = c.temperature;
  out.request.ignoreEos = c.ignoreEos;
  for (const auto& m : out.request.messages) {
    out.promptTokensEstimate += estimateTokens(m.content);
  }
  if (c.conversation) {
    out.turns = std::max(1, static_cast<int>(std::llround(core::sample(c.conversation->turns, rng))));
  }
  if (const auto& cancel = spec_->workload.cancellation; cancel && cancel->fraction > 0) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) < cancel->fraction) {
      CancelPlan plan;
      if (cancel->afterTokens) {
        plan.afterTokens = std::max<int64_t>(0, std::llround(core::sample(*cancel->afterTokens, rng)));
      }
      if (cancel->afterTime) {
        plan.afterNanos = core::sample(*cancel->afterTime, rng).nanos;
      }
      out.cancel = plan;
    }
  }
  return out;
}

void Workload::nextTurn(PlannedRequest& planned, const std::string& answer, int64_t answer_tokens,
                        core::Rng& rng) const {
  const core::WorkloadClass& c = spec_->workload.classes[static_cast<size_t>(planned.cls)];
  planned.request.messages.push_back(
      {"assistant", answer.empty() ? syntheticText(std::max<int64_t>(1, answer_tokens), rng) : answer});
  int64_t tokens = 32;
  if (c.prompt.synthetic) {
    tokens = std::max<int64_t>(1, std::llround(core::sample(c.prompt.synthetic->inputTokens, rng)));
  }
  planned.request.messages.push_back({"user", syntheticText(tokens, rng)});
  planned.request.maxTokens = std::max<int64_t>(1, std::llround(core::sample(c.maxOutputTokens, rng)));
  planned.promptTokensEstimate = 0;
  for (const auto& m : planned.request.messages) {
    planned.promptTokensEstimate += estimateTokens(m.content);
  }
}

}  // namespace tokenstorm::runner
