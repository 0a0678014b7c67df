// Label and field selectors: data-driven cases (tests/data/kube/selectors/*.case) and a few direct checks.
//
// Case input:   line 1          "# what the case checks"
//               "label TEXT"    the label selector (everything after "label ", spaces kept), or
//               "field TEXT"    a field selector
//               "labels K=V,.." a label set to match (nothing after "labels": the empty set)
//               "object JSON"   an object to match a field selector against
// Expected:     "str CANONICAL" (the selector's canonical form) then one line per label set or object,
//               "match SET" or "no-match SET" in input order; or "error MESSAGE" when parsing failed.
#include "tokenstorm/kube/selector.h"

#include <gtest/gtest.h>

#include <sstream>

#include "support/case_file.h"

namespace tokenstorm::kube {
namespace {

Labels parseLabels(const std::string& text) {
  Labels labels;
  std::istringstream in(text);
  for (std::string pair; std::getline(in, pair, ',');) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos) {
      ADD_FAILURE() << "label set entry without '=': " << pair;
      continue;
    }
    labels[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  return labels;
}

std::vector<std::string> run(const std::string& input) {
  std::istringstream in(input);
  std::string line;
  std::getline(in, line);  // title
  std::optional<std::string> label_text, field_text;
  std::vector<std::string> label_sets, objects;
  while (std::getline(in, line)) {
    if (line.rfind("label ", 0) == 0) {
      label_text = line.substr(6);
    } else if (line == "label") {
      label_text = "";
    } else if (line.rfind("field ", 0) == 0) {
      field_text = line.substr(6);
    } else if (line == "field") {
      field_text = "";
    } else if (line.rfind("labels", 0) == 0) {
      label_sets.push_back(line.size() > 7 ? line.substr(7) : "");
    } else if (line.rfind("object ", 0) == 0) {
      objects.push_back(line.substr(7));
    } else if (!line.empty()) {
      ADD_FAILURE() << "unexpected input line: " << line;
    }
  }
  std::vector<std::string> got;
  SelectorError error;
  if (label_text) {
    auto s = LabelSelector::parse(*label_text, &error);
    if (!s) {
      got.push_back("error " + error.message);
      return got;
    }
    got.push_back("str " + s->str());
    // The canonical form parses back to the same requirements.
    auto again = LabelSelector::parse(s->str(), &error);
    EXPECT_TRUE(again && again->requirements() == s->requirements()) << s->str();
    for (const auto& set : label_sets) {
      got.push_back((s->matches(parseLabels(set)) ? "match " : "no-match ") + set);
    }
  }
  if (field_text) {
    auto s = FieldSelector::parse(*field_text, &error);
    if (!s) {
      got.push_back("error " + error.message);
      return got;
    }
    got.push_back("str " + s->str());
    auto again = FieldSelector::parse(s->str(), &error);
    EXPECT_TRUE(again && again->requirements() == s->requirements()) << s->str();
    for (const auto& text : objects) {
      got.push_back((s->matches(nlohmann::json::parse(text)) ? "match " : "no-match ") + text);
    }
  }
  return got;
}

TEST(SelectorCasesTest, EachSelectorParsesAndMatchesAsExpected) {
  testing::checkCases("kube/selectors", run);
}

TEST(SelectorTest, ErrorOffsetPointsIntoTheInput) {
  SelectorError error;
  EXPECT_FALSE(LabelSelector::parse("a=b, c in (x y)", &error));
  EXPECT_EQ(error.offset, 13u);
  EXPECT_EQ(error.message.rfind("at byte 13: expected ',' or ')'", 0), 0u) << error.message;
}

TEST(SelectorTest, KeyAndValueLimits) {
  EXPECT_FALSE(validateLabelKey(std::string(63, 'a')));
  EXPECT_TRUE(validateLabelKey(std::string(64, 'a')));
  EXPECT_FALSE(validateLabelKey(std::string(253, 'a') + "/n"));
  EXPECT_TRUE(validateLabelKey(std::string(254, 'a') + "/n"));
  EXPECT_FALSE(validateLabelValue(""));
  EXPECT_FALSE(validateLabelValue(std::string(63, 'v')));
  EXPECT_TRUE(validateLabelValue(std::string(64, 'v')));
}

TEST(SelectorTest, EmptySelectorsMatchEverything) {
  SelectorError error;
  auto l = LabelSelector::parse("  ", &error);
  ASSERT_TRUE(l);
  EXPECT_TRUE(l->empty());
  EXPECT_TRUE(l->matches({}));
  auto f = FieldSelector::parse("", &error);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->matches(nlohmann::json::object()));
}

// Untrusted input never crashes: every byte value at every position of a few selectors parses or fails.
TEST(SelectorTest, ArbitraryBytesParseOrFailCleanly) {
  const std::string base = "a.b/c in (x,y),!d,e!=f";
  for (size_t i = 0; i <= base.size(); ++i) {
    for (int b = 0; b < 256; ++b) {
      std::string s = base;
      s.insert(i, 1, static_cast<char>(b));
      SelectorError error;
      auto l = LabelSelector::parse(s, &error);
      if (!l) {
        EXPECT_LE(error.offset, s.size());
      }
      auto f = FieldSelector::parse(s, &error);
      if (!f) {
        EXPECT_LE(error.offset, s.size());
      }
    }
  }
}

}  // namespace
}  // namespace tokenstorm::kube
