#include "tokenstorm/core/text.h"

#include "corpus_data.h"  // generated from core/data/corpus.txt: kCorpusText

namespace tokenstorm::core {

const std::vector<std::string_view>& corpusWords() {
  static const std::vector<std::string_view> words = [] {
    std::vector<std::string_view> out;
    std::string_view text(kCorpusText);
    size_t i = 0;
    while (i < text.size()) {
      while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) {
        ++i;
      }
      size_t start = i;
      while (i < text.size() && text[i] != ' ' && text[i] != '\n' && text[i] != '\r' && text[i] != '\t') {
        ++i;
      }
      if (i > start) {
        out.push_back(text.substr(start, i - start));
      }
    }
    return out;
  }();
  return words;
}

int64_t countWords(std::string_view text) {
  int64_t n = 0;
  bool in_word = false;
  for (char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v';
    if (!space && !in_word) {
      ++n;
    }
    in_word = !space;
  }
  return n;
}

std::string corpusText(uint64_t offset, int64_t count, bool leading_space) {
  const auto& words = corpusWords();
  std::string out;
  out.reserve(static_cast<size_t>(count) * 7);
  for (int64_t k = 0; k < count; ++k) {
    if (k > 0 || leading_space) {
      out += ' ';
    }
    out += words[(offset + static_cast<uint64_t>(k)) % words.size()];
  }
  return out;
}

}  // namespace tokenstorm::core
