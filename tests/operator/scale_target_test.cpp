// Reading scale targets and pods from watch JSON (tests/data/operator/scale_target/*.case): the input is
// one object as the API delivers it (a Pod is read with readPod, anything else with readScaleTarget), seen
// 12.5 s after a test that started at 2025-01-15T10:00:00Z; the output is what was read, errors included.
#include "tokenstorm/operator/scale_target.h"

#include <gtest/gtest.h>

#include <sstream>

#include "support/case_file.h"
#include "tokenstorm/kube/credentials.h"

namespace tokenstorm::op {
namespace {

std::string num(double d) {
  std::ostringstream out;
  out << d;
  return out.str();
}
std::string count(const std::optional<int64_t>& n) {
  return n ? std::to_string(*n) : "-";
}
std::string time(const std::optional<double>& t) {
  return t ? num(*t) : "-";
}

std::vector<std::string> render(const std::string& input) {
  // The title line is a comment; the rest is the object.
  std::string body = input.substr(input.find('\n') + 1);
  nlohmann::json object = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (object.is_discarded()) {
    return {"fixture is not JSON"};
  }
  std::vector<std::string> out;
  if (object.is_object() && object.value("kind", "") == "Pod") {
    std::string error;
    auto e = readPod(object, *kube::parseRfc3339("2025-01-15T10:00:00Z"), &error);
    if (!e) {
      return {"error: " + error};
    }
    out.push_back("pod " + e->pod + ": created " + num(e->createdS) + ", scheduled " + time(e->scheduledS) +
                  ", started " + time(e->startedS) + ", ready " + time(e->readyS));
    return out;
  }
  ScaleObservation o = readScaleTarget(object, 12.5);
  if (o.sample) {
    out.push_back("sample at " + num(o.sample->tS) + ": desired " + count(o.sample->desired) + ", current " +
                  count(o.sample->current) + ", ready " + count(o.sample->ready) + ", available " +
                  count(o.sample->available));
  } else {
    out.push_back("no sample");
  }
  for (const auto& m : o.metrics) {
    out.push_back("metric " + m.name + " = " + num(m.value));
  }
  for (const auto& c : o.conditions) {
    out.push_back("condition " + c.type + "=" + c.status + (c.reason.empty() ? "" : " " + c.reason) +
                  (c.message.empty() ? "" : ": " + c.message));
  }
  for (const auto& e : o.errors) {
    out.push_back("error: " + e);
  }
  return out;
}

TEST(ScaleTargetCasesTest, EachObjectReadsAsExpected) {
  tokenstorm::testing::checkCases("operator/scale_target", render);
}

TEST(ScaleTargetTest, NonObjectsNeverThrow) {
  for (const char* text : {"null", "[]", "42", "\"Deployment\"", "{\"kind\": 7}",
                           "{\"kind\":\"Deployment\","
                           "\"status\":[1]}"}) {
    auto o = readScaleTarget(nlohmann::json::parse(text), 0);
    EXPECT_FALSE(o.sample) << text;
    std::string error;
    EXPECT_FALSE(readPod(nlohmann::json::parse(text), {}, &error)) << text;
    EXPECT_FALSE(error.empty());
  }
}

TEST(ScaleTargetTest, ReadyPodsMakeAReadyTimeline) {
  std::vector<core::PodEvent> pods{
      {"b", 0, 1, 2, 30}, {"a", 0, 1, 2, 20}, {"c", 0, 1, std::nullopt, std::nullopt}};
  auto samples = readySamplesFromPods(pods);
  ASSERT_EQ(samples.size(), 2u);
  EXPECT_EQ(samples[0].tS, 20);
  EXPECT_EQ(samples[0].ready, 1);
  EXPECT_EQ(samples[1].tS, 30);
  EXPECT_EQ(samples[1].ready, 2);
  EXPECT_FALSE(samples[1].desired);
}

}  // namespace
}  // namespace tokenstorm::op
