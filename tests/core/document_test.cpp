#include "tokenstorm/core/document.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tokenstorm::core {
namespace {

Node parseOne(std::string_view text) {
  ParsedDocuments p = parseDocuments(text);
  EXPECT_TRUE(p.errors.empty()) << (p.errors.empty() ? "" : p.errors[0].str());
  EXPECT_EQ(p.documents.size(), 1u);
  return p.documents.empty() ? Node() : p.documents[0];
}

std::string parseError(std::string_view text, const ParseLimits& limits = {}) {
  ParsedDocuments p = parseDocuments(text, limits);
  EXPECT_EQ(p.errors.size(), 1u) << text.substr(0, 80);
  EXPECT_TRUE(p.documents.empty());
  return p.errors.empty() ? "" : p.errors[0].str();
}

TEST(DocumentTest, ResolvesScalarsLikeKubectl) {
  Node n = parseOne(
      "a: 5\nb: 5.5\nc: \"5\"\nd: yes\ne: on\nf: true\ng: ~\nh: text\ni: 40.00\nj: '40.00'\nk: 1e3\nl: "
      ".inf\nm: 0x1F\n");
  EXPECT_EQ(n.find("a")->kind(), Node::Kind::Int);
  EXPECT_EQ(n.find("b")->kind(), Node::Kind::Float);
  EXPECT_EQ(n.find("c")->kind(), Node::Kind::String);
  EXPECT_EQ(n.find("d")->kind(), Node::Kind::Bool);  // YAML 1.1, as kubectl reads it
  EXPECT_EQ(n.find("e")->kind(), Node::Kind::Bool);
  EXPECT_EQ(n.find("f")->kind(), Node::Kind::Bool);
  EXPECT_EQ(n.find("g")->kind(), Node::Kind::Null);
  EXPECT_EQ(n.find("h")->kind(), Node::Kind::String);
  EXPECT_EQ(n.find("i")->kind(), Node::Kind::Float);
  EXPECT_EQ(n.find("i")->text(), "40.00");  // the text as written survives for exact decimals
  EXPECT_EQ(n.find("j")->kind(), Node::Kind::String);
  EXPECT_EQ(n.find("k")->kind(), Node::Kind::Float);
  EXPECT_EQ(n.find("l")->kind(), Node::Kind::Float);
  EXPECT_EQ(n.find("m")->kind(), Node::Kind::Int);
}

TEST(DocumentTest, ParsesJsonWithPositions) {
  Node n = parseOne("{\"spec\": {\"load\": [1, 2.5, \"x\", true, null]}}");
  const Node* load = n.find("spec")->find("load");
  ASSERT_NE(load, nullptr);
  ASSERT_EQ(load->items().size(), 5u);
  EXPECT_EQ(load->items()[0].kind(), Node::Kind::Int);
  EXPECT_EQ(load->items()[2].kind(), Node::Kind::String);
  EXPECT_EQ(load->items()[4].kind(), Node::Kind::Null);
  EXPECT_EQ(load->mark().line, 1);
  EXPECT_GT(load->mark().column, 1);
}

TEST(DocumentTest, KeepsKeyOrderAndMarks) {
  Node n = parseOne("z: 1\na:\n  b: 2\n");
  ASSERT_EQ(n.entries().size(), 2u);
  EXPECT_EQ(n.entries()[0].key, "z");
  EXPECT_EQ(n.entries()[1].key, "a");
  EXPECT_EQ(n.entries()[1].key_mark.line, 2);
  EXPECT_EQ(n.find("a")->find("b")->mark().line, 3);
  EXPECT_EQ(n.find("a")->find("b")->mark().column, 6);
}

TEST(DocumentTest, ReadsSeveralDocuments) {
  ParsedDocuments p = parseDocuments("a: 1\n---\nb: 2\n---\n");
  ASSERT_TRUE(p.errors.empty());
  ASSERT_EQ(p.documents.size(), 3u);
  EXPECT_TRUE(p.documents[2].isNull());
}

TEST(DocumentTest, ExpandsAnchorsAndAliases) {
  Node n = parseOne("base: &b {x: 1}\ncopy: *b\n");
  EXPECT_EQ(n.find("copy")->find("x")->text(), "1");
}

TEST(DocumentTest, RejectsDuplicateKeys) {
  EXPECT_NE(parseError("a: 1\nb: 2\na: 3\n").find("duplicate key \"a\""), std::string::npos);
}

TEST(DocumentTest, RejectsSyntaxErrorsWithPosition) {
  ParsedDocuments p = parseDocuments("a: [1, 2\nb: 3\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_GT(p.errors[0].mark.line, 0);
  EXPECT_NE(p.errors[0].message.find("invalid YAML"), std::string::npos);
}

TEST(DocumentTest, RejectsOversizedInput) {
  ParseLimits limits;
  limits.max_bytes = 100;
  EXPECT_NE(parseError(std::string(101, 'a'), limits).find("limit is 100 bytes"), std::string::npos);
}

TEST(DocumentTest, RejectsDeepNestingQuickly) {
  std::string deep(100'000, '[');
  std::string msg = parseError(deep);
  EXPECT_NE(msg.find("nesting deeper than 64"), std::string::npos) << msg;
  std::string deep_maps;
  for (int i = 0; i < 200; ++i) {
    deep_maps += std::string(static_cast<size_t>(i) * 2, ' ') + "k:\n";
  }
  EXPECT_NE(parseError(deep_maps).find("nesting deeper"), std::string::npos);
}

TEST(DocumentTest, DefusesAliasBombs) {
  // "Billion laughs": 10 levels, each 10 aliases of the previous. Fully expanded it would be 10^10 nodes.
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    std::string prev = "*l" + std::to_string(i - 1);
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) {
      text += (k ? ", " : "") + prev;
    }
    text += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  std::string msg = parseError(text);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_NE(msg.find("alias bomb"), std::string::npos) << msg;
  // A bound, not a benchmark: the expansion stops at the node limit instead of running for hours.
  EXPECT_LT(elapsed, std::chrono::seconds(20));
}

TEST(DocumentTest, RejectsInvalidUtf8NamingTheByte) {
  std::string text = "a: ok\nb: caf\xff\n";
  ParsedDocuments p = parseDocuments(text);
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_NE(p.errors[0].message.find("byte 0xff at offset 12"), std::string::npos) << p.errors[0].message;
  EXPECT_EQ(p.errors[0].mark.line, 2);
  EXPECT_EQ(p.errors[0].mark.column, 7);
  Diagnostic d;
  EXPECT_FALSE(checkUtf8("\xc0\xaf", &d)) << "overlong encoding";
  EXPECT_FALSE(checkUtf8("\xed\xa0\x80", &d)) << "surrogate";
  EXPECT_FALSE(checkUtf8("\xe2\x82", &d)) << "truncated";
  EXPECT_FALSE(checkUtf8(std::string_view("a\0b", 3), &d)) << "NUL";
  EXPECT_TRUE(checkUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\x80", &d));
}

TEST(DocumentTest, RejectsUnsupportedTagsAndComplexKeys) {
  EXPECT_NE(parseError("a: !!binary aGVsbG8=\n").find("unsupported YAML tag"), std::string::npos);
  EXPECT_NE(parseError("? [a, b]\n: 1\n").find("mapping keys must be plain strings"), std::string::npos);
}

TEST(DocumentTest, DescribesValuesForMessages) {
  EXPECT_EQ(Node::scalar(Node::Kind::String, "5s").describe(), "\"5s\"");
  EXPECT_EQ(Node::scalar(Node::Kind::Float, "40.5").describe(), "number 40.5");
  EXPECT_EQ(Node::mapping().describe(), "a mapping");
  EXPECT_EQ(quoteForMessage("a\"b\x01"), "\"a\\\"b\\x01\"");
  EXPECT_EQ(quoteForMessage(std::string(100, 'x')).size(), 65u);  // long values are cut
}

}  // namespace
}  // namespace tokenstorm::core
