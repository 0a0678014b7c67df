// CRD schema handling: defaulting, pruning, and validation with kube's causes and messages.
#include "api/schema.h"

#include <gtest/gtest.h>

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

const json kSchema = json::parse(R"({
  "type": "object",
  "properties": {
    "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
    "spec": {
      "type": "object",
      "required": ["url"],
      "properties": {
        "url": {"type": "string", "pattern": "^https?://", "maxLength": 20},
        "replicas": {"type": "integer", "minimum": 1, "maximum": 10, "default": 1},
        "ratio": {"type": "number", "minimum": 0, "exclusiveMinimum": true},
        "port": {"x-kubernetes-int-or-string": true},
        "mode": {"type": "string", "enum": ["open", "closed"]},
        "note": {"type": "string", "nullable": true},
        "tags": {"type": "array", "maxItems": 2, "items": {"type": "string", "minLength": 1}},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        "flag": {"type": "boolean"},
        "dist": {"type": "object", "properties": {"fixed": {"type": "integer"}, "uniform": {"type": "object"}},
                 "oneOf": [{"required": ["fixed"]}, {"required": ["uniform"]}]}
      }
    },
    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
  }
})");

std::vector<std::string> run(json object) {
  std::vector<std::string> out;
  for (const auto& c : validateCustomResource(kSchema, &object)) {
    out.push_back(c.reason + " " + c.field + ": " + c.message);
  }
  return out;
}

TEST(Schema, ValidObjectPassesAndGetsDefaults) {
  json object = json::parse(R"({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a", "anything": 1},
    "spec": {"url": "http://a", "port": "http", "flag": false, "note": null, "labels": {"a": "b"},
             "dist": {"fixed": 3}}})");
  EXPECT_TRUE(validateCustomResource(kSchema, &object).empty());
  EXPECT_EQ(object["spec"]["replicas"], 1) << "default filled in";
  EXPECT_TRUE(object["spec"]["note"].is_null()) << "nullable null kept";
  EXPECT_EQ(object["metadata"]["anything"], 1) << "metadata is the store's business";
}

TEST(Schema, UnknownFieldsArePrunedUnlessPreserved) {
  json object = json::parse(R"({"spec": {"url": "http://a", "extra": 1, "free": {"x": {"y": 2}},
    "dist": {"fixed": 1, "junk": true}}, "status": {"any": "thing"}, "top": 1})");
  EXPECT_TRUE(validateCustomResource(kSchema, &object).empty());
  EXPECT_FALSE(object["spec"].contains("extra"));
  EXPECT_FALSE(object["spec"]["dist"].contains("junk"));
  EXPECT_FALSE(object.contains("top"));
  EXPECT_EQ(object["spec"]["free"]["x"]["y"], 2);
  EXPECT_EQ(object["status"]["any"], "thing");
}

TEST(Schema, NonNullableNullsAreDroppedBeforeRequiredIsChecked) {
  json object = json::parse(R"({"spec": {"url": null, "mode": null}})");
  auto causes = validateCustomResource(kSchema, &object);
  ASSERT_EQ(causes.size(), 1u);
  EXPECT_EQ(causes[0].field, "spec.url");
  EXPECT_FALSE(object["spec"].contains("mode"));
}

TEST(Schema, EveryViolationIsACauseWithKubesWording) {
  EXPECT_EQ(run(json::parse(R"({"spec": {}})")),
            std::vector<std::string>({"FieldValueRequired spec.url: Required value"}));
  EXPECT_EQ(run(json::parse(R"({"spec": {"url": "http://a", "replicas": "two"}})")),
            std::vector<std::string>(
                {"FieldValueTypeInvalid spec.replicas: Invalid value: \"string\": spec.replicas in "
                 "body must be of type integer: \"string\""}));
  EXPECT_EQ(
      run(json::parse(R"({"spec": {"url": "http://a", "replicas": 11}})")),
      std::vector<std::string>({"FieldValueInvalid spec.replicas: Invalid value: 11: spec.replicas in body "
                                "should be less than or equal to 10"}));
  EXPECT_EQ(
      run(json::parse(R"({"spec": {"url": "http://a", "replicas": 0}})")),
      std::vector<std::string>({"FieldValueInvalid spec.replicas: Invalid value: 0: spec.replicas in body "
                                "should be greater than or equal to 1"}));
  EXPECT_EQ(run(json::parse(R"({"spec": {"url": "http://a", "ratio": 0}})")),
            std::vector<std::string>(
                {"FieldValueInvalid spec.ratio: Invalid value: 0: spec.ratio in body should be "
                 "greater than 0"}));
  EXPECT_EQ(run(json::parse(R"({"spec": {"url": "ftp://a"}})")),
            std::vector<std::string>(
                {"FieldValueInvalid spec.url: Invalid value: \"ftp://a\": spec.url in body should "
                 "match '^https?://'"}));
  EXPECT_EQ(
      run(json::parse(R"({"spec": {"url": "http://aaaaaaaaaaaaaaaaaaaaa"}})")),
      std::vector<std::string>({"FieldValueTooLong spec.url: Too long: may not be more than 20 bytes"}));
  EXPECT_EQ(
      run(json::parse(R"({"spec": {"url": "http://a", "mode": "half"}})")),
      std::vector<std::string>({"FieldValueNotSupported spec.mode: Unsupported value: \"half\": supported "
                                "values: \"open\", \"closed\""}));
  EXPECT_EQ(run(json::parse(R"({"spec": {"url": "http://a", "port": 1.5}})")),
            std::vector<std::string>(
                {"FieldValueTypeInvalid spec.port: Invalid value: \"number\": spec.port in body "
                 "must be of type integer,string: \"number\""}));
  EXPECT_EQ(
      run(json::parse(R"({"spec": {"url": "http://a", "tags": ["a", "", "c"]}})")),
      std::vector<std::string>({"FieldValueInvalid spec.tags[1]: Invalid value: \"\": spec.tags[1] in body "
                                "should be at least 1 chars long",
                                "FieldValueTooMany spec.tags: Too many: 3: must have at most 2 items"}));
  EXPECT_EQ(run(json::parse(R"({"spec": {"url": "http://a", "labels": {"a": 1}}})")),
            std::vector<std::string>(
                {"FieldValueTypeInvalid spec.labels.a: Invalid value: \"integer\": spec.labels.a "
                 "in body must be of type string: \"integer\""}));
  EXPECT_EQ(run(json::parse(R"({"spec": {"url": "http://a", "dist": {}}})")),
            std::vector<std::string>(
                {"FieldValueInvalid spec.dist: Invalid value: \"object\": spec.dist in body must "
                 "validate one and only one schema (oneOf). Found none valid"}));
  EXPECT_EQ(run(json::parse(R"({"spec": "x"})")),
            std::vector<std::string>(
                {"FieldValueTypeInvalid spec: Invalid value: \"string\": spec in body must be of "
                 "type object: \"string\""}));
}

TEST(Schema, IntegersMayBeWrittenAsIntegralFloats) {
  EXPECT_TRUE(run(json::parse(R"({"spec": {"url": "http://a", "replicas": 2.0}})")).empty());
}

TEST(Schema, SummaryReadsLikeKube) {
  EXPECT_EQ(summarizeCauses({{"FieldValueRequired", "spec.a", "Required value"}}), "spec.a: Required value");
  EXPECT_EQ(summarizeCauses({{"FieldValueRequired", "spec.a", "Required value"},
                             {"FieldValueRequired", "spec.b", "Required value"}}),
            "[spec.a: Required value, spec.b: Required value]");
}

TEST(Schema, DeepNestingDoesNotExhaustTheStack) {
  json deep = json::object();
  json* cur = &deep;
  for (int i = 0; i < 5000; ++i) {
    cur = &((*cur)["x"] = json::object());
  }
  json object = {{"spec", {{"url", "http://a"}, {"free", deep}}}};
  EXPECT_TRUE(validateCustomResource(kSchema, &object).empty());
}

}  // namespace
}  // namespace tokenstorm::kts
