// What each request asks for: the workload class (by weight), its prompt (synthetic text of a drawn token
// count, or a dataset entry), its answer length cap, and whether and when it will be cancelled.
//
// Synthetic prompts are corpus prose. Against the simulator one word is one token exactly (core/text.h);
// against real endpoints the estimator's ratio applies (0.75 words per token, the usual figure for English
// with BPE tokenizers), so a 400-token prompt is ~300 words, and the report labels counts estimated
// wherever the server did not send usage. Shared prefixes are the same words for every request of a class,
// so a server's prefix cache sees them as repeats.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/diagnostic.h"
#include "tokenstorm/core/distribution.h"
#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/runner/api.h"

namespace tokenstorm::runner {

struct CancelPlan {
  std::optional<int64_t> afterTokens;
  std::optional<int64_t> afterNanos;  // from the send
};

struct PlannedRequest {
  int cls = 0;
  GenerationRequest request;
  int64_t promptTokensEstimate = 0;
  std::optional<CancelPlan> cancel;
  int turns = 1;  // conversations: turns in this session (this request is the first)
};

class Workload {
 public:
  // Loads datasets (files are relative to `base_dir`) and prepares the classes. nullopt with errors naming
  // the field (spec.workload.classes[1].prompt.dataset.file) and the line of a bad dataset entry.
  static std::optional<Workload> create(const core::LoadTestSpec& spec, const std::filesystem::path& base_dir,
                                        double words_per_token, core::Diagnostics* errors);

  PlannedRequest next(core::Rng& rng);
  // The next turn of a conversation: the history, the server's answer as the assistant message, and a new
  // user message. An empty `answer` (a non-streamed body, or a server that sent only tool calls) is
  // replaced by corpus text of `answer_tokens` words, so that the context still grows as it would.
  void nextTurn(PlannedRequest& planned, const std::string& answer, int64_t answer_tokens,
                core::Rng& rng) const;

  int64_t estimateTokens(const std::string& text) const;
  const core::LoadTestSpec& spec() const { return *spec_; }

 private:
  struct ClassPlan {
    std::vector<std::vector<Message>> prompts;  // from a dataset; empty for synthetic
    std::string sharedPrefix;
    size_t sequentialNext = 0;
  };

  std::string syntheticText(int64_t tokens, core::Rng& rng) const;
  std::vector<Message> prompt(size_t cls, core::Rng& rng);

  const core::LoadTestSpec* spec_ = nullptr;
  double wordsPerToken_ = 1;
  std::vector<ClassPlan> classes_;
  std::vector<int64_t> cumulativeWeights_;
};

// Dataset parsing, exposed for tests: every entry as chat messages. Errors name `where` and the line.
std::optional<std::vector<std::vector<Message>>> parseDataset(std::string_view text,
                                                              core::DatasetFormat format,
                                                              const std::string& where,
                                                              core::Diagnostics* errors);

}  // namespace tokenstorm::runner
