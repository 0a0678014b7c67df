// One Event resource served in two groups: the field mapping of conversion.h on its own, then through the
// store (writes through one group read, listed, watched, patched and selected through the other).
#include "api/conversion.h"

#include <gtest/gtest.h>

#include "api/registry.h"
#include "support/manual_clock.h"

// Options are written as designated initializers ({.fieldSelector = ...}); GCC 12 warns about the members
// they leave to their defaults, which is the point of writing them that way.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

ResourceType builtin(const std::string& group, const std::string& plural) {
  for (const auto& t : builtinTypes()) {
    if (t.group == group && t.plural == plural) {
      return t;
    }
  }
  ADD_FAILURE() << "no type " << group << "/" << plural;
  return {};
}

ResourceType coreEvents() {
  return builtin("", "events");
}
ResourceType eventsV1() {
  return builtin("events.k8s.io", "events");
}

// Every field of an events.k8s.io/v1 Event, as our operator writes one.
json eventsV1Body(const std::string& name, const std::string& pod) {
  return {{"metadata", {{"name", name}}},
          {"regarding", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", "default"}, {"name", pod}}},
          {"related", {{"kind", "Node"}, {"name", "node-1"}}},
          {"note", "pulled the image"},
          {"reason", "Pulled"},
          {"type", "Normal"},
          {"action", "Pull"},
          {"reportingController", "tokenstorm.dev/operator"},
          {"reportingInstance", "operator-0"},
          {"eventTime", "2026-11-18T11:06:41.000000Z"},
          {"series", {{"count", 2}, {"lastObservedTime", "2026-11-18T11:07:00.000000Z"}}},
          {"deprecatedSource", {{"component", "kubelet"}, {"host", "node-1"}}},
          {"deprecatedFirstTimestamp", "2026-11-18T11:06:41Z"},
          {"deprecatedLastTimestamp", "2026-11-18T11:07:00Z"},
          {"deprecatedCount", 3}};
}

// The same Event as core/v1 spells it.
json coreBody(const std::string& name, const std::string& pod) {
  return {
      {"metadata", {{"name", name}}},
      {"involvedObject", {{"apiVersion", "v1"}, {"kind", "Pod"}, {"namespace", "default"}, {"name", pod}}},
      {"related", {{"kind", "Node"}, {"name", "node-1"}}},
      {"message", "pulled the image"},
      {"reason", "Pulled"},
      {"type", "Normal"},
      {"action", "Pull"},
      {"reportingComponent", "tokenstorm.dev/operator"},
      {"reportingInstance", "operator-0"},
      {"eventTime", "2026-11-18T11:06:41.000000Z"},
      {"series", {{"count", 2}, {"lastObservedTime", "2026-11-18T11:07:00.000000Z"}}},
      {"source", {{"component", "kubelet"}, {"host", "node-1"}}},
      {"firstTimestamp", "2026-11-18T11:06:41Z"},
      {"lastTimestamp", "2026-11-18T11:07:00Z"},
      {"count", 3}};
}

// Drops what the store adds, so a stored object compares with the body that was written.
json withoutServerFields(json object) {
  object.erase("apiVersion");
  object.erase("kind");
  object["metadata"] = {{"name", object["metadata"]["name"]}};
  return object;
}

// ---- the mapping ----

TEST(Conversion, EventsV1FieldsMapToCoreFields) {
  json stored = toStorage(eventsV1(), eventsV1Body("e", "web"));
  EXPECT_EQ(stored["apiVersion"], "v1");
  EXPECT_EQ(stored["kind"], "Event");
  EXPECT_EQ(withoutServerFields(stored), withoutServerFields(coreBody("e", "web")));
  json shown = present(eventsV1(), stored);
  EXPECT_EQ(shown["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(shown["kind"], "Event");
  EXPECT_EQ(withoutServerFields(shown), withoutServerFields(eventsV1Body("e", "web"))) << "a round trip";
}

TEST(Conversion, CoreEventsAreStoredAsTheyAre) {
  json body = coreBody("e", "web");
  body["x-unknown"] = 1;
  json stored = toStorage(coreEvents(), body);
  EXPECT_EQ(stored["x-unknown"], 1) << "core/v1 is the storage form: nothing converted";
  EXPECT_EQ(withoutServerFields(present(coreEvents(), stored)), withoutServerFields(stored));
}

TEST(Conversion, FieldsTheOtherVersionLacksAreDropped) {
  json body = eventsV1Body("e", "web");
  body["message"] = "core's name, not events.k8s.io's";
  json stored = toStorage(eventsV1(), body);
  EXPECT_EQ(stored["message"], "pulled the image") << "note, not the stray message";
  json core = coreBody("e", "web");
  core["note"] = "not a core field";
  EXPECT_FALSE(present(eventsV1(), core).contains("message"));
  EXPECT_EQ(present(eventsV1(), core)["note"], "pulled the image");
}

TEST(Conversion, OtherTypesAndNonObjectsPassThrough) {
  ResourceType pods = builtin("", "pods");
  json pod = {{"metadata", {{"name", "p"}}}, {"spec", {{"nodeName", "n"}}}};
  json stored = toStorage(pods, pod);
  EXPECT_EQ(stored["spec"], pod["spec"]);
  EXPECT_EQ(stored["kind"], "Pod");
  EXPECT_EQ(toStorage(eventsV1(), json::array()), json::array());
  EXPECT_EQ(toStorage(eventsV1(), "text"), "text");
}

// ---- through the store ----

class SharedEventsTest : public ::testing::Test {
 protected:
  tokenstorm::testing::ManualClock clock;
  ApiStore store{clock};
  ResourceType core = coreEvents();
  ResourceType v1 = eventsV1();

  json create(const ResourceType& t, json object) {
    Result r = store.create(t, "default", std::move(object));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error->message);
    return r.object;
  }
  json get(const ResourceType& t, const std::string& name) {
    Result r = store.get(t, "default", name);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error->message);
    return r.object;
  }
  std::vector<std::string> names(const ResourceType& t, const std::string& field_selector) {
    Result r = store.list(t, "", {.fieldSelector = field_selector});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error->message);
    std::vector<std::string> out;
    for (const auto& item : r.object["items"]) {
      out.push_back(item["metadata"]["name"].get<std::string>());
    }
    return out;
  }
  std::shared_ptr<WatchSubscription> watch(const ResourceType& t) {
    ApiError error;
    auto w = store.watch(t, "default", {.resourceVersion = store.resourceVersion()}, &error);
    EXPECT_NE(w, nullptr) << error.message;
    return w;
  }
  static json next(WatchSubscription& w) {
    auto e = w.next(std::chrono::steady_clock::now());
    EXPECT_TRUE(e) << "an event is queued (the store pushes synchronously)";
    return e ? *e : json();
  }
};

TEST_F(SharedEventsTest, AnEventsV1EventIsReadAsACoreEvent) {
  json created = create(v1, eventsV1Body("pulled", "web"));
  EXPECT_EQ(created["apiVersion"], "events.k8s.io/v1") << "the write's result is in the requested version";
  EXPECT_EQ(created["note"], "pulled the image");
  json as_core = get(core, "pulled");
  EXPECT_EQ(as_core["apiVersion"], "v1");
  EXPECT_EQ(as_core["kind"], "Event");
  EXPECT_EQ(withoutServerFields(as_core), withoutServerFields(coreBody("pulled", "web")));
  EXPECT_EQ(as_core["metadata"]["uid"], created["metadata"]["uid"]) << "one object";
  EXPECT_EQ(as_core["metadata"]["resourceVersion"], created["metadata"]["resourceVersion"]);
  Result list = store.list(core, "default", {});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list.object["items"].size(), 1u) << "kubectl get events sees it";
  EXPECT_EQ(list.object["items"][0]["message"], "pulled the image");
  EXPECT_EQ(list.object["items"][0]["apiVersion"], "v1");
}

TEST_F(SharedEventsTest, ACoreEventIsReadAsAnEventsV1Event) {
  create(core, coreBody("pulled", "web"));
  json as_v1 = get(v1, "pulled");
  EXPECT_EQ(as_v1["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(withoutServerFields(as_v1), withoutServerFields(eventsV1Body("pulled", "web")));
  Result list = store.list(v1, "", {});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list.object["apiVersion"], "events.k8s.io/v1");
  ASSERT_EQ(list.object["items"].size(), 1u);
  EXPECT_EQ(list.object["items"][0]["regarding"]["name"], "web");
  Result duplicate = store.create(v1, "default", eventsV1Body("pulled", "web"));
  ASSERT_FALSE(duplicate.ok());
  EXPECT_EQ(duplicate.error->code, 409) << "one name in one storage";
}

TEST_F(SharedEventsTest, AWatchOnEitherGroupSeesWritesThroughTheOther) {
  auto core_watch = watch(core);
  auto v1_watch = watch(v1);
  create(v1, eventsV1Body("a", "web"));
  json added = next(*core_watch);
  EXPECT_EQ(added["type"], "ADDED");
  EXPECT_EQ(added["object"]["apiVersion"], "v1");
  EXPECT_EQ(added["object"]["message"], "pulled the image");
  EXPECT_EQ(added["object"]["involvedObject"]["name"], "web");
  EXPECT_EQ(next(*v1_watch)["object"]["note"], "pulled the image");

  json body = get(core, "a");
  body["count"] = 4;
  ASSERT_TRUE(store.update(core, "default", "a", body).ok());
  EXPECT_EQ(next(*core_watch)["object"]["count"], 4);
  json modified = next(*v1_watch);
  EXPECT_EQ(modified["type"], "MODIFIED");
  EXPECT_EQ(modified["object"]["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(modified["object"]["deprecatedCount"], 4);
  EXPECT_FALSE(modified["object"].contains("count"));

  Result removed = store.remove(v1, "default", "a", {});
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(removed.object["apiVersion"], "events.k8s.io/v1");
  EXPECT_EQ(removed.object["deprecatedCount"], 4);
  json deleted = next(*core_watch);
  EXPECT_EQ(deleted["type"], "DELETED");
  EXPECT_EQ(deleted["object"]["apiVersion"], "v1");
  EXPECT_EQ(deleted["object"]["message"], "pulled the image");
  EXPECT_EQ(next(*v1_watch)["object"]["note"], "pulled the image");
}

TEST_F(SharedEventsTest, UpdatesAndPatchesApplyToTheRequestedVersion) {
  create(core, coreBody("a", "web"));
  json as_v1 = get(v1, "a");
  Result same = store.update(v1, "default", "a", as_v1);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same.object["metadata"]["resourceVersion"], as_v1["metadata"]["resourceVersion"])
      << "writing back what was read changes nothing: the conversion loses nothing";

  as_v1["note"] = "updated";
  Result updated = store.update(v1, "default", "a", as_v1);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated.object["note"], "updated");
  EXPECT_EQ(get(core, "a")["message"], "updated");

  Result merged = store.patch(v1, "default", "a", PatchType::kMerge,
                              R"({"note":"merged","regarding":{"name":"db"},"deprecatedCount":5})");
  ASSERT_TRUE(merged.ok()) << merged.error->message;
  EXPECT_EQ(merged.object["apiVersion"], "events.k8s.io/v1");
  json after = get(core, "a");
  EXPECT_EQ(after["message"], "merged");
  EXPECT_EQ(after["involvedObject"]["name"], "db");
  EXPECT_EQ(after["involvedObject"]["kind"], "Pod") << "merged into the converted object";
  EXPECT_EQ(after["count"], 5);

  Result json_patch = store.patch(v1, "default", "a", PatchType::kJson,
                                  R"([{"op":"test","path":"/note","value":"merged"},)"
                                  R"({"op":"replace","path":"/reportingController","value":"other"}])");
  ASSERT_TRUE(json_patch.ok()) << json_patch.error->message;
  EXPECT_EQ(get(core, "a")["reportingComponent"], "other");
  Result core_path = store.patch(v1, "default", "a", PatchType::kJson,
                                 R"([{"op":"test","path":"/message","value":"merged"}])");
  ASSERT_FALSE(core_path.ok()) << "events.k8s.io/v1 shows no message field";
  EXPECT_EQ(core_path.error->code, 422);

  Result core_patch = store.patch(core, "default", "a", PatchType::kMerge, R"({"message":"from core"})");
  ASSERT_TRUE(core_patch.ok());
  EXPECT_EQ(core_patch.object["message"], "from core");
  EXPECT_EQ(get(v1, "a")["note"], "from core");
}

TEST_F(SharedEventsTest, FieldSelectorsOfBothGroupsWorkOnTheSharedStorage) {
  create(v1, eventsV1Body("about-web", "web"));
  json other = coreBody("about-db", "db");
  other["source"] = json::object();  // no source.component: `source` falls back to reportingComponent
  other["reportingComponent"] = "kubelet-2";
  other["type"] = "Warning";
  create(core, other);
  using V = std::vector<std::string>;
  EXPECT_EQ(names(core, "involvedObject.name=web"), V({"about-web"})) << "written through events.k8s.io";
  EXPECT_EQ(names(core, "involvedObject.kind=Pod,involvedObject.namespace=default"),
            V({"about-db", "about-web"}));
  EXPECT_EQ(names(core, "reason=Pulled,type=Warning"), V({"about-db"}));
  EXPECT_EQ(names(core, "source=kubelet"), V({"about-web"}));
  EXPECT_EQ(names(core, "source=kubelet-2"), V({"about-db"}));
  EXPECT_EQ(names(core, "reportingComponent=tokenstorm.dev/operator"), V({"about-web"}));
  EXPECT_EQ(names(v1, "regarding.name=db"), V({"about-db"})) << "written through core";
  EXPECT_EQ(names(v1, "regarding.name!=db,regarding.kind=Pod"), V({"about-web"}));
  EXPECT_EQ(names(v1, "reportingController=kubelet-2"), V({"about-db"}));
  EXPECT_EQ(names(v1, "type=Normal"), V({"about-web"}));
  EXPECT_EQ(names(core, "involvedObject.uid="), V({"about-db", "about-web"})) << "no uid set on either";

  Result core_label = store.list(v1, "", {.fieldSelector = "involvedObject.name=web"});
  ASSERT_FALSE(core_label.ok()) << "events.k8s.io takes its own spellings only, as upstream";
  EXPECT_EQ(core_label.error->code, 400);
  Result v1_label = store.list(core, "", {.fieldSelector = "regarding.name=web"});
  ASSERT_FALSE(v1_label.ok());
  EXPECT_EQ(v1_label.error->message, "field label not supported: regarding.name");

  ApiError error;
  auto w = store.watch(v1, "default", {.fieldSelector = "regarding.name=web"}, &error);
  ASSERT_NE(w, nullptr) << error.message;
  EXPECT_EQ(next(*w)["object"]["metadata"]["name"], "about-web");
  create(core, coreBody("again-web", "web"));
  create(core, coreBody("again-db", "db"));
  EXPECT_EQ(next(*w)["object"]["metadata"]["name"], "again-web");
  EXPECT_FALSE(w->next(std::chrono::steady_clock::now())) << "the db event does not match";
}

}  // namespace
}  // namespace tokenstorm::kts
