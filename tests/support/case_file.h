// Data-driven test cases (style.md): a text file with the input, a line `----`, and the expected output.
//
//   # what the case checks            <- first line: a comment naming the case (part of the input)
//   ...input...
//   ----
//   ...expected lines...
//
// A `.slow` suffix before the extension (`x.slow.case`) marks a slow case; the runners skip those unless
// TOKENSTORM_SLOW_TESTS is set.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tokenstorm::testing {

struct CaseFile {
  std::string path;
  std::string name;   // file name without folder and extension
  std::string title;  // the first line's comment
  std::string input;
  std::vector<std::string> expected;  // non-empty lines after `----`
  bool slow = false;
};

// All `*.case` files of a folder under tests/data, sorted by name. Fails the test if the folder is empty.
std::vector<CaseFile> loadCases(const std::string& folder_under_tests_data);

// With TOKENSTORM_REWRITE_CASES=1 in the environment, data-driven tests write what they got as the new
// expected output instead of failing (review the diff before committing it).
bool rewriteRequested();
void rewriteExpected(const CaseFile& c, const std::vector<std::string>& got);

// Runs `render` on the input of every case of a folder and expects exactly the case's lines (or, with
// TOKENSTORM_REWRITE_CASES=1, writes what it got as the new expectation).
void checkCases(const std::string& folder_under_tests_data,
                const std::function<std::vector<std::string>(const std::string& input)>& render);

// Stream cases (SSE, watch bodies) script their input as reads: after the title, one `> TEXT` line per
// read (`>` alone is an empty read), with \n, \r, \t, \0, \xHH and \\ escapes, and optionally a
// `max N` line setting a size limit.
struct ScriptedReads {
  std::vector<std::string> reads;
  std::optional<size_t> maxBytes;
};
ScriptedReads parseReads(const std::string& input);
std::string unescape(std::string_view text);

std::string readFile(const std::string& path);
std::string sourcePath(const std::string& relative);  // path of a file in the source tree

}  // namespace tokenstorm::testing
