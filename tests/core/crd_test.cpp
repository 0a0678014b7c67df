#include "tokenstorm/core/crd.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/case_file.h"
#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::core {
namespace {

using Json = nlohmann::ordered_json;

const Json& schema(const Json& crd) {
  return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
}

TEST(CrdTest, CheckedInCrdMatchesTheGenerator) {
  std::string generated = generateCrdYaml();
  EXPECT_EQ(testing::readFile(testing::sourcePath("crds/loadtests.tokenstorm.dev.yaml")), generated)
      << "crds/ drifted from the model: run `build/app/tokenstorm crd > crds/loadtests.tokenstorm.dev.yaml`";
  EXPECT_EQ(testing::readFile(testing::sourcePath("charts/tokenstorm/crds/loadtests.tokenstorm.dev.yaml")),
            generated)
      << "the chart's CRD drifted: copy crds/loadtests.tokenstorm.dev.yaml to charts/tokenstorm/crds/";
}

TEST(CrdTest, GeneratedYamlReadsBackAsTheSameObject) {
  ParsedDocuments docs = parseDocuments(generateCrdYaml());
  ASSERT_TRUE(docs.errors.empty()) << docs.errors[0].str();
  ASSERT_EQ(docs.documents.size(), 1u);
  EXPECT_EQ(nodeToJson(docs.documents[0]), generateCrd());
}

TEST(CrdTest, NamesAndPrinterColumnsFollowTheContract) {
  Json crd = generateCrd();
  EXPECT_EQ(crd["metadata"]["name"], "loadtests.tokenstorm.dev");
  EXPECT_EQ(crd["spec"]["names"]["shortNames"], Json::array({"lt"}));
  EXPECT_EQ(crd["spec"]["scope"], "Namespaced");
  for (const auto& c : crd["spec"]["names"]["categories"]) {
    EXPECT_NE(c, "all") << "LoadTests must stay out of `kubectl get all`";
  }
  const Json& version = crd["spec"]["versions"][0];
  EXPECT_TRUE(version["subresources"].contains("status"));
  std::vector<std::string> names;
  for (const auto& c : version["additionalPrinterColumns"]) {
    names.push_back(c["name"]);
    // Every column's path must exist in the schema, or kubectl prints an empty column forever.
    std::string path = c["jsonPath"];
    if (path.rfind(".metadata.", 0) == 0) {
      continue;
    }
    const Json* node = &schema(crd);
    size_t pos = 1;
    while (pos < path.size()) {
      size_t next = path.find('.', pos);
      std::string key = path.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      ASSERT_TRUE((*node)["properties"].contains(key)) << path << " has no " << key;
      node = &(*node)["properties"][key];
      pos = next == std::string::npos ? path.size() : next + 1;
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"Phase", "Stage", "Req/s", "TTFT-p95", "Errors", "Cost",
                                             "Verdict", "Age"}));
}

// A structural schema (apiextensions.k8s.io/v1) gives every node a type unless it preserves unknown fields or
// is int-or-string, and logical junctors only constrain fields declared beside them.
void checkStructural(const Json& s, const std::string& path, int* nodes) {
  ++*nodes;
  bool typed = s.contains("type") || s.value("x-kubernetes-preserve-unknown-fields", false) ||
               s.value("x-kubernetes-int-or-string", false);
  EXPECT_TRUE(typed) << path << " has no type";
  EXPECT_TRUE(s.contains("description") || path == "metadata" || path.find("[]") != std::string::npos ||
              path.find("{}") != std::string::npos)
      << path << " has no description";
  if (s.contains("oneOf")) {
    for (const auto& alt : s["oneOf"]) {
      for (const auto& r : alt["required"]) {
        EXPECT_TRUE(s["properties"].contains(r.get<std::string>())) << path << ": oneOf names " << r;
      }
    }
  }
  if (s.contains("required")) {
    for (const auto& r : s["required"]) {
      EXPECT_TRUE(s["properties"].contains(r.get<std::string>())) << path << ": required " << r;
    }
  }
  if (s.contains("properties")) {
    for (const auto& [k, v] : s["properties"].items()) {
      checkStructural(v, path.empty() ? k : path + "." + k, nodes);
    }
  }
  if (s.contains("items")) {
    checkStructural(s["items"], path + "[]", nodes);
  }
  if (s.contains("additionalProperties")) {
    checkStructural(s["additionalProperties"], path + "{}", nodes);
  }
}

TEST(CrdTest, SchemaIsStructural) {
  int nodes = 0;
  Json crd = generateCrd();
  const Json& root = schema(crd);
  checkStructural(root["properties"]["spec"], "spec", &nodes);
  checkStructural(root["properties"]["status"], "status", &nodes);
  EXPECT_GT(nodes, 300);  // the whole API is in there, not a stub
}

TEST(CrdTest, PublishesBoundsEnumsAndDefaults) {
  Json crd = generateCrd();
  const Json& spec = schema(crd)["properties"]["spec"]["properties"];
  const Json& endpoint = spec["target"]["properties"]["endpoints"]["items"]["properties"];
  EXPECT_EQ(endpoint["api"]["enum"],
            Json::array({"openai-chat", "openai-completions", "anthropic-messages"}));
  EXPECT_EQ(endpoint["api"]["default"], "openai-chat");
  EXPECT_EQ(spec["target"]["properties"]["endpoints"]["maxItems"], 8);
  EXPECT_EQ(spec["runners"]["properties"]["count"]["minimum"], 1);
  EXPECT_EQ(spec["budget"]["properties"]["maxCost"]["type"], "string");
  EXPECT_EQ(spec["load"]["properties"]["pattern"]["oneOf"].size(), 6u);
  EXPECT_EQ(spec["workload"]["properties"]["retry"]["properties"]["retryOn"]["default"],
            Json::array({"429", "5xx"}));
  EXPECT_TRUE(spec["thresholds"]["items"]["properties"]["max"]["x-kubernetes-preserve-unknown-fields"]);
}

}  // namespace
}  // namespace tokenstorm::core
