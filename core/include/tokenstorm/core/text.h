// Text shared by the simulator and the load generator: the embedded corpus of readable prose, and the
// simulator's token rule.
//
// The token rule is deliberately simple and exact: one token per whitespace-separated word. The simulator
// counts prompts this way and streams one corpus word per output token, and the prompt generator builds a
// prompt of N tokens from N words, so the two always agree. (Real tokenizers give ~1.3 tokens per English
// word; the runner's estimator for real endpoints is separate and labelled as an estimate.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tokenstorm::core {

// The corpus as words, in order (about 6,000; the text is in core/data/corpus.txt).
const std::vector<std::string_view>& corpusWords();

// Tokens in `text` under the simulator's rule.
int64_t countWords(std::string_view text);

// `count` corpus words starting at word `offset` (wrapping around), each preceded by a space except the
// first when `leading_space` is false.
std::string corpusText(uint64_t offset, int64_t count, bool leading_space = true);

}  // namespace tokenstorm::core
