#include "tokenstorm/kube/object.h"

#include <gtest/gtest.h>

namespace tokenstorm::kube {
namespace {

using nlohmann::json;

TEST(ObjectTest, ReadsWhatIsThereAndNothingElse) {
  const json pod = json::parse(R"({"metadata": {"name": "p", "generation": 3, "labels": "not-a-map"},
                                   "spec": {"containers": [{"name": "c"}]}, "status": null})");
  EXPECT_EQ(stringAt(pod, {"metadata", "name"}), "p");
  EXPECT_EQ(intAt(pod, {"metadata", "generation"}), 3);
  EXPECT_EQ(arrayAt(pod, {"spec", "containers"}).size(), 1u);
  EXPECT_EQ(member(pod, "spec")["containers"][0]["name"], "c");
  // Absent, of another type, or through a non-object: absent, never a throw.
  EXPECT_EQ(stringAt(pod, {"metadata", "namespace"}), "");
  EXPECT_EQ(stringAt(pod, {"metadata", "generation"}), "");
  EXPECT_EQ(intAt(pod, {"metadata", "name"}), std::nullopt);
  EXPECT_EQ(stringAt(pod, {"metadata", "labels", "app"}), "");
  EXPECT_EQ(stringAt(pod, {"status", "phase"}), "");
  EXPECT_TRUE(arrayAt(pod, {"spec", "volumes"}).empty());
  EXPECT_TRUE(arrayAt(pod, {"metadata", "name"}).empty());
  EXPECT_TRUE(member(json::array(), "x").is_null());
  EXPECT_TRUE(member(pod, "nothing").is_null());
  EXPECT_EQ(findAt(pod, {}), &pod);
  EXPECT_EQ(findAt(json(5), {"a"}), nullptr);
}

}  // namespace
}  // namespace tokenstorm::kube
