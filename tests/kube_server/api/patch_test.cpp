// Patches: data-driven cases (tests/data/kube_server/patch/*.case) and hostile input that must give
// errors, never crashes.
//
// Case input:   line 1        "# what the case checks"
//               "type: T"     merge | json | strategic
//               "target: J"   the document patched (JSON, one line)
//               "patch: P"    the patch as sent (one line; may be malformed on purpose)
// Expected:     the patched document as compact JSON, or "error CODE REASON: MESSAGE".
#include "api/patch.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "support/case_file.h"

namespace tokenstorm::kts {
namespace {

std::vector<std::string> run(const std::string& input) {
  std::istringstream in(input);
  std::string line;
  std::string type;
  std::string target;
  std::string patch;
  while (std::getline(in, line)) {
    auto take = [&](const char* prefix, std::string* into) {
      if (line.rfind(prefix, 0) == 0) {
        *into = line.substr(std::string(prefix).size());
      }
    };
    take("type: ", &type);
    take("target: ", &target);
    take("patch: ", &patch);
  }
  PatchType pt = type == "json"        ? PatchType::kJson
                 : type == "strategic" ? PatchType::kStrategic
                                       : PatchType::kMerge;
  EXPECT_TRUE(type == "json" || type == "strategic" || type == "merge") << "type: " << type;
  nlohmann::json doc = nlohmann::json::parse(target, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << "target is not JSON: " << target;
  Result r = applyPatch(pt, doc, patch);
  if (!r.ok()) {
    return {"error " + std::to_string(r.error->code) + " " + r.error->reason + ": " + r.error->message};
  }
  return {r.object.dump()};
}

TEST(Patch, Cases) {
  tokenstorm::testing::checkCases("kube_server/patch", run);
}

TEST(Patch, TargetIsNotModified) {
  const nlohmann::json target = {{"a", {1, 2}}};
  Result r = applyPatch(PatchType::kJson, target,
                        R"([{"op":"add","path":"/a/-","value":3},{"op":"test","path":"/x","value":1}])");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(target, nlohmann::json({{"a", {1, 2}}})) << "a failing patch leaves nothing half-applied";
}

// Random mutations of valid patches: every outcome is a result or an error, never a crash or throw.
TEST(Patch, HostileInputNeverCrashes) {
  const nlohmann::json target = nlohmann::json::parse(
      R"({"metadata":{"name":"a","labels":{"x":"y"}},"spec":{"containers":[{"name":"c","image":"i","env":[{"name":"A","value":"1"}]}]}})");
  const std::vector<std::string> seeds = {
      R"([{"op":"replace","path":"/spec/containers/0/image","value":"j"}])",
      R"([{"op":"move","from":"/metadata/labels","path":"/spec/labels"}])",
      R"({"spec":{"containers":[{"name":"c","$patch":"delete"}],"$setElementOrder/containers":[{"name":"c"}]}})",
      R"({"metadata":{"$retainKeys":["name"],"labels":null},"$deleteFromPrimitiveList/finalizers":["a"]})",
  };
  const std::string alphabet = "{}[]\",:~/01-$ abcnulltrue";
  std::mt19937 rng(7);
  for (int i = 0; i < 4000; ++i) {
    std::string text = seeds[i % seeds.size()];
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.erase(at, 1);
          break;
        default:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    for (PatchType type : {PatchType::kMerge, PatchType::kJson, PatchType::kStrategic}) {
      Result r;
      EXPECT_NO_THROW(r = applyPatch(type, target, text)) << text;
      if (!r.ok()) {
        EXPECT_TRUE(r.error->code == 400 || r.error->code == 422) << text;
        EXPECT_FALSE(r.error->message.empty());
      }
    }
  }
}

}  // namespace
}  // namespace tokenstorm::kts
