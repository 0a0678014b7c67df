// The protobuf request bodies kubectl's typed clients send (kubectl create namespace/configmap/secret).
#include "http/protobuf.h"

#include <gtest/gtest.h>

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

// A tiny protobuf writer for building test bodies.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string bytesField(uint32_t n, const std::string& s) {
  return varint(n << 3 | 2) + varint(s.size()) + s;
}
std::string varintField(uint32_t n, uint64_t v) {
  return varint(n << 3) + varint(v);
}
std::string mapEntry(uint32_t n, const std::string& k, const std::string& v) {
  return bytesField(n, bytesField(1, k) + bytesField(2, v));
}
std::string envelope(const std::string& api_version, const std::string& kind, const std::string& raw) {
  return std::string("k8s\0", 4) + bytesField(1, bytesField(1, api_version) + bytesField(2, kind)) +
         bytesField(2, raw) + bytesField(3, "") + bytesField(4, "");
}

TEST(Protobuf, ConfigMapWithMetadata) {
  std::string meta = bytesField(1, "settings") + bytesField(2, "") + bytesField(3, "default") +
                     mapEntry(11, "app", "x") + mapEntry(12, "note", "hi") + bytesField(8, "") +
                     varintField(7, 0) + bytesField(14, "example.com/cleanup") + bytesField(99, "ignored");
  std::string raw =
      bytesField(1, meta) + mapEntry(2, "a", "1") + mapEntry(2, "b", "2") + mapEntry(3, "bin", "\x01\x02");
  std::string error;
  auto object = decodeKubernetesProtobuf(envelope("v1", "ConfigMap", raw), &error);
  ASSERT_TRUE(object) << error;
  EXPECT_EQ(*object, json::parse(R"({"apiVersion":"v1","kind":"ConfigMap",
      "metadata":{"name":"settings","namespace":"default","labels":{"app":"x"},"annotations":{"note":"hi"},
                  "finalizers":["example.com/cleanup"]},
      "data":{"a":"1","b":"2"},"binaryData":{"bin":"AQI="}})"));
}

TEST(Protobuf, NamespaceAndSecret) {
  std::string error;
  auto ns = decodeKubernetesProtobuf(
      envelope("v1", "Namespace",
               bytesField(1, bytesField(1, "team")) + bytesField(2, "") + bytesField(3, "")),
      &error);
  ASSERT_TRUE(ns) << error;
  EXPECT_EQ((*ns)["metadata"]["name"], "team");
  auto secret = decodeKubernetesProtobuf(envelope("v1", "Secret",
                                                  bytesField(1, bytesField(1, "s")) + mapEntry(2, "k", "v") +
                                                      bytesField(3, "Opaque") + varintField(5, 1)),
                                         &error);
  ASSERT_TRUE(secret) << error;
  EXPECT_EQ((*secret)["data"]["k"], "dg==");
  EXPECT_EQ((*secret)["type"], "Opaque");
  EXPECT_EQ((*secret)["immutable"], true);
}

TEST(Protobuf, RefusesWhatItCannotRead) {
  std::string error;
  EXPECT_FALSE(decodeKubernetesProtobuf("{}", &error));
  EXPECT_NE(error.find("magic"), std::string::npos);
  EXPECT_FALSE(decodeKubernetesProtobuf(envelope("apps/v1", "Deployment", ""), &error));
  EXPECT_NE(error.find("send application/json"), std::string::npos) << error;
  std::string truncated = envelope("v1", "ConfigMap", bytesField(1, bytesField(1, "x")));
  truncated.resize(truncated.size() - 3);
  EXPECT_FALSE(decodeKubernetesProtobuf(truncated, &error));
  EXPECT_FALSE(decodeKubernetesProtobuf(envelope("v1", "ConfigMap", varintField(1, 5)), &error));
  EXPECT_NE(error.find("metadata"), std::string::npos) << error;
  std::string deep = bytesField(1, "x");
  EXPECT_FALSE(decodeKubernetesProtobuf(std::string("k8s\0", 4) + "\xff\xff\xff", &error));
}

}  // namespace
}  // namespace tokenstorm::kts
