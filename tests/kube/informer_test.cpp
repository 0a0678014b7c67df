// The informer: applyToStore's handler calls (pure), then the threaded informer against a FakeTransport:
// list, events fed into a held watch, a 410 relist that reports what changed, and a prompt stop.
#include "tokenstorm/kube/informer.h"

#include <gtest/gtest.h>

#include "support/fake_transport.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;
using testing::FakeTransport;

json cm(const std::string& name, const std::string& rv, const std::string& ns = "a") {
  return {{"kind", "ConfigMap"}, {"metadata", {{"name", name}, {"namespace", ns}, {"resourceVersion", rv}}}};
}

// Records handler calls as "add a/x 1", "update a/x 1->2", "delete a/x 2". Thread-safe.
struct Recorder {
  InformerHandlers handlers() {
    auto rv = [](const json& o) { return o["metadata"].value("resourceVersion", ""); };
    return {[this, rv](const json& o) { log("add " + objectKey(o) + " " + rv(o)); },
            [this, rv](const json& old, const json& o) {
              log("update " + objectKey(o) + " " + rv(old) + "->" + rv(o));
            },
            [this, rv](const json& o) { log("delete " + objectKey(o) + " " + rv(o)); }};
  }
  void log(std::string line) {
    std::lock_guard<std::mutex> lock(mutex);
    lines.push_back(std::move(line));
    changed.notify_all();
  }
  bool waitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(5), [&] { return lines.size() >= n; });
  }
  std::vector<std::string> get() {
    std::lock_guard<std::mutex> lock(mutex);
    return lines;
  }
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> lines;
};

TEST(ApplyToStoreTest, HandlersSeeWhatChanged) {
  Store store;
  Recorder r;
  auto h = r.handlers();
  applyToStore(store, ReplaceAll{{cm("x", "1"), cm("y", "1")}}, h);
  applyToStore(store, Upsert{cm("x", "2")}, h);
  applyToStore(store, Upsert{cm("z", "3")}, h);
  EXPECT_FALSE(applyToStore(store, Upsert{cm("x", "1")}, h)) << "stale: older than what the store holds";
  applyToStore(store, Delete{cm("z", "4")}, h);
  // A relist: x unchanged, y changed, z absent anyway, w new; y2 gone.
  applyToStore(store, ReplaceAll{{cm("x", "2"), cm("w", "5")}}, h);
  EXPECT_FALSE(applyToStore(store, StartList{}, h));
  EXPECT_EQ(r.get(), (std::vector<std::string>{"add a/x 1", "add a/y 1", "update a/x 1->2", "add a/z 3",
                                               "delete a/z 3", "add a/w 5", "delete a/y 1"}));
  EXPECT_EQ(store.keys(), (std::vector<std::string>{"a/w", "a/x"}));
}

std::string event(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

TEST(InformerTest, ListsWatchesAndRelistsOn410) {
  auto transport = std::make_shared<FakeTransport>();
  ClientOptions o;
  o.qps = 0;
  Client client(transport, nullptr, o);
  transport->push(FakeTransport::json(
      200, {{"items", {cm("x", "10"), cm("y", "11")}}, {"metadata", {{"resourceVersion", "11"}}}}));
  Recorder r;
  InformerOptions options;
  options.resource = resources::kConfigMaps;
  options.ns = "a";
  options.labelSelector = "app=web";
  Informer informer(client, options, r.handlers());
  EXPECT_FALSE(informer.hasSynced());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(transport->waitForStreams(1));
  EXPECT_EQ(informer.store().size(), 2u);

  transport->feed(event("MODIFIED", cm("x", "12")) + event("ADDED", cm("z", "13")));
  transport->feed(event("DELETED", cm("y", "14")));
  transport->feed(event("BOOKMARK", {{"metadata", {{"resourceVersion", "20"}}}}));
  ASSERT_TRUE(r.waitFor(5));
  EXPECT_EQ(informer.store().keys(), (std::vector<std::string>{"a/x", "a/z"}));

  // The watch history expired: relist, and the diff against the store is reported.
  transport->push(FakeTransport::json(
      200, {{"items", {cm("x", "12"), cm("w", "30")}}, {"metadata", {{"resourceVersion", "30"}}}}));
  transport->feed(
      event("ERROR", {{"kind", "Status"}, {"code", 410}, {"reason", "Expired"}, {"message", "too old"}}));
  ASSERT_TRUE(r.waitFor(7));
  ASSERT_TRUE(transport->waitForStreams(2));
  EXPECT_EQ(r.get(), (std::vector<std::string>{"add a/x 10", "add a/y 11", "update a/x 10->12", "add a/z 13",
                                               "delete a/y 11", "add a/w 30", "delete a/z 13"}));
  auto started = std::chrono::steady_clock::now();
  informer.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2)) << "stop cancels the watch";

  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].target, "/api/v1/namespaces/a/configmaps?labelSelector=app%3Dweb&limit=500");
  EXPECT_EQ(requests[1].target,
            "/api/v1/namespaces/a/configmaps?watch=1&allowWatchBookmarks=true&resourceVersion=11"
            "&labelSelector=app%3Dweb&timeoutSeconds=300");
  EXPECT_EQ(requests[2].target, requests[0].target);
  EXPECT_EQ(requests[3].target.find("resourceVersion=30"), requests[1].target.find("resourceVersion=11"));
}

TEST(InformerTest, WatchClosedByServerResumesFromLastResourceVersion) {
  auto transport = std::make_shared<FakeTransport>();
  ClientOptions o;
  o.qps = 0;
  Client client(transport, nullptr, o);
  transport->push(
      FakeTransport::json(200, {{"items", json::array()}, {"metadata", {{"resourceVersion", "5"}}}}));
  FakeTransport::Stream first;
  first.chunks = {event("ADDED", cm("x", "6"))};
  transport->pushStream(first);  // ends cleanly after one event: re-watch from 6, no relist
  Recorder r;
  InformerOptions options;
  options.resource = resources::kConfigMaps;
  Informer informer(client, options, r.handlers());
  informer.start();
  ASSERT_TRUE(transport->waitForStreams(2));
  informer.stop();
  auto requests = transport->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_NE(requests[2].target.find("watch=1&allowWatchBookmarks=true&resourceVersion=6"), std::string::npos)
      << requests[2].target;
  EXPECT_EQ(r.get(), (std::vector<std::string>{"add a/x 6"}));
}

}  // namespace
}  // namespace tokenstorm::kube
