#include "support/case_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tokenstorm::testing {

std::string sourcePath(const std::string& relative) {
  return std::string(TOKENSTORM_SOURCE_DIR) + "/" + relative;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool rewriteRequested() {
  const char* v = std::getenv("TOKENSTORM_REWRITE_CASES");
  return v != nullptr && std::string(v) == "1";
}

void rewriteExpected(const CaseFile& c, const std::vector<std::string>& got) {
  std::ofstream out(c.path, std::ios::binary | std::ios::trunc);
  out << c.input << "----\n";
  for (const auto& line : got) {
    out << line << "\n";
  }
}

std::vector<CaseFile> loadCases(const std::string& folder) {
  namespace fs = std::filesystem;
  std::vector<CaseFile> cases;
  fs::path dir = sourcePath("tests/data/" + folder);
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".case") {
      continue;
    }
    CaseFile c;
    c.path = entry.path().string();
    c.name = entry.path().stem().string();
    c.slow = c.name.size() > 5 && c.name.substr(c.name.size() - 5) == ".slow";
    std::string text = readFile(c.path);
    size_t sep = std::string::npos;
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      std::string_view line(text.data() + pos, (end == std::string::npos ? text.size() : end) - pos);
      if (line == "----" || line == "----\r") {
        sep = pos;
        break;
      }
      if (end == std::string::npos) {
        break;
      }
      pos = end + 1;
    }
    if (sep == std::string::npos) {
      ADD_FAILURE() << c.path << ": no `----` line separating input from expected output";
      continue;
    }
    c.input = text.substr(0, sep);
    size_t title_end = c.input.find('\n');
    c.title = c.input.substr(0, title_end);
    std::istringstream rest(text.substr(text.find('\n', sep) + 1));
    for (std::string line; std::getline(rest, line);) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      if (!line.empty()) {
        c.expected.push_back(line);
      }
    }
    cases.push_back(std::move(c));
  }
  std::sort(cases.begin(), cases.end(), [](const CaseFile& a, const CaseFile& b) { return a.name < b.name; });
  EXPECT_FALSE(cases.empty()) << "no .case files in " << dir;
  return cases;
}

void checkCases(const std::string& folder_under_tests_data,
                const std::function<std::vector<std::string>(const std::string& input)>& render) {
  for (const auto& c : loadCases(folder_under_tests_data)) {
    SCOPED_TRACE(c.path + " — " + c.title);
    std::vector<std::string> got = render(c.input);
    if (rewriteRequested()) {
      rewriteExpected(c, got);
      continue;
    }
    EXPECT_EQ(got, c.expected);
  }
}

std::string unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    switch (c) {
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case '0':
        out += '\0';
        break;
      case 'x':
        if (i + 2 < s.size()) {
          out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
          i += 2;
        }
        break;
      default:
        out += c;  // \\ and anything else: the character itself
    }
  }
  return out;
}

ScriptedReads parseReads(const std::string& input) {
  ScriptedReads out;
  std::istringstream in(input);
  std::string line;
  std::getline(in, line);  // title
  while (std::getline(in, line)) {
    if (line.rfind("max ", 0) == 0) {
      out.maxBytes = std::stoul(line.substr(4));
    } else if (line == ">") {
      out.reads.emplace_back();
    } else if (line.rfind("> ", 0) == 0) {
      out.reads.push_back(unescape(line.substr(2)));
    } else if (!line.empty()) {
      ADD_FAILURE() << "unexpected input line: " << line;
    }
  }
  return out;
}

}  // namespace tokenstorm::testing
