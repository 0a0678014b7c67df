#include "tokenstorm/core/yaml_emit.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tokenstorm/core/document.h"
#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::core {
namespace {

using Json = nlohmann::ordered_json;

TEST(YamlEmitTest, QuotesWhatAYamlReaderWouldMisread) {
  Json j = {{"a", "yes"},    {"b", "429"},  {"c", ""},        {"d", "plain text"},
            {"e", "- dash"}, {"f", "a: b"}, {"g", "x #y"},    {"h", "line\nbreak"},
            {"i", "null"},   {"j", "1.5"},  {"k", " padded"}, {"l", "on"}};
  std::string yaml = toYaml(j);
  EXPECT_NE(yaml.find("a: \"yes\"\n"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("d: plain text\n"), std::string::npos) << yaml;
  ParsedDocuments back = parseDocuments(yaml);
  ASSERT_TRUE(back.errors.empty()) << back.errors[0].str();
  EXPECT_EQ(nodeToJson(back.documents[0]), j);
}

TEST(YamlEmitTest, NestsMapsAndListsKubernetesStyle) {
  Json j = Json::parse(
      R"({"spec": {"list": [{"name": "a", "x": [1, 2]}, "s", [], {}], "empty": {}, "num": 2.5, "t": true, "z": null}})");
  std::string yaml = toYaml(j);
  EXPECT_EQ(yaml,
            "spec:\n"
            "  list:\n"
            "  - name: a\n"
            "    x:\n"
            "    - 1\n"
            "    - 2\n"
            "  - s\n"
            "  - []\n"
            "  - {}\n"
            "  empty: {}\n"
            "  num: 2.5\n"
            "  t: true\n"
            "  z: null\n");
  ParsedDocuments back = parseDocuments(yaml);
  ASSERT_TRUE(back.errors.empty());
  EXPECT_EQ(nodeToJson(back.documents[0]), j);
}

}  // namespace
}  // namespace tokenstorm::core
