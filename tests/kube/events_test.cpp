// The events.k8s.io/v1 Event builders, without a server.
#include "tokenstorm/kube/events.h"

#include <gtest/gtest.h>

namespace tokenstorm::kube {
namespace {

using nlohmann::json;

TEST(EventsTest, BuildEvent) {
  auto wall = std::chrono::system_clock::from_time_t(1'800'000'000) + std::chrono::microseconds(1234);
  EventRecord r;
  r.regarding =
      objectReference({{"apiVersion", "batch/v1"},
                       {"kind", "Job"},
                       {"metadata", {{"name", "lt-runners"}, {"namespace", "team"}, {"labels", {}}}},
                       {"spec", {}}});
  r.reason = "RunnersStarted";
  r.action = "Create";
  r.note = std::string(2000, 'x');
  r.reportingInstance = "operator-0";
  json e = buildEvent(r, wall);
  EXPECT_EQ(
      e["regarding"],
      json({{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"namespace", "team"}, {"name", "lt-runners"}}));
  EXPECT_EQ(e["metadata"]["namespace"], "team") << "the regarded object's namespace";
  EXPECT_EQ(e["metadata"]["name"], "lt-runners.18fae27693c6d450");
  EXPECT_EQ(e["eventTime"], "2027-01-15T08:00:00.001234Z");
  EXPECT_EQ(e["type"], "Normal");
  EXPECT_EQ(e["note"].get<std::string>().size(), 1024u) << "notes are capped at 1 kB";
  EXPECT_EQ(e["apiVersion"], "events.k8s.io/v1");

  EventRecord cluster_scoped;
  cluster_scoped.regarding = {{"kind", "Node"}, {"name", "n1"}};
  EXPECT_EQ(buildEvent(cluster_scoped, wall)["metadata"]["namespace"], "default");
  cluster_scoped.ns = "ops";
  EXPECT_EQ(buildEvent(cluster_scoped, wall)["metadata"]["namespace"], "ops");
}

}  // namespace
}  // namespace tokenstorm::kube
