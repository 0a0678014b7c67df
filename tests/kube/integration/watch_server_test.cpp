// Watches against the test server over HTTPS: resume from a resourceVersion, bookmarks, 410 Gone, and the
// informer's Watcher through each way a watch ends: an expired history (relist), watches dropped by the
// server (resume without relist) and the TCP connection dropped under it (reconnect with backoff).
#include <gtest/gtest.h>

#include <set>

#include "kube/integration/server_fixture.h"
#include "kube/integration/tcp_proxy.h"
#include "tokenstorm/kube/informer.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;

constexpr auto kBookmarkInterval = std::chrono::milliseconds(200);

bool isList(const Exchange& e) {
  return !e.stream && e.method == "GET" && e.target.find("/configmaps") != std::string::npos;
}
bool isWatch(const Exchange& e) {
  return e.stream;
}

InformerOptions configMapsInDefault() {
  InformerOptions o;
  o.resource = resources::kConfigMaps;
  o.ns = "default";
  return o;
}

class WatchServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    kts::ServerOptions options;
    options.bookmarkInterval = kBookmarkInterval;
    startServer(options);
    writer_ = client(unlimited());
    ASSERT_TRUE(writer_);
  }

  // Collects a watch's events until the server ends it (timeoutSeconds) or `stop` says so.
  std::vector<WatchEvent> watchEvents(Client& c, WatchOptions options,
                                      const std::function<bool(const WatchEvent&)>& stop = nullptr) {
    std::vector<WatchEvent> events;
    Cancellation cancellation;
    auto end = c.watch(
        resources::kConfigMaps, "default", options,
        [&](const WatchEvent& event) {
          events.push_back(event);
          return !(stop && stop(event));
        },
        cancellation);
    EXPECT_TRUE(end.ok()) << (end.ok() ? "" : end.error().str());
    return events;
  }

  json create(const std::string& name) {
    auto created = writer_->create(resources::kConfigMaps, "default", configMap(name));
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().str());
    return created.ok() ? *created : json();
  }

  // The informer's cache holds exactly what a fresh list shows, resourceVersions included.
  bool consistent(const Informer& informer) {
    auto fresh = writer_->listAll(resources::kConfigMaps, "default");
    if (!fresh.ok()) {
      return false;
    }
    return versionsOf(informer.store().list()) == versionsOf((*fresh)["items"].get<std::vector<json>>());
  }

  std::unique_ptr<Client> writer_;
};

TEST_F(WatchServerTest, ResumeFromAResourceVersionGetsExactlyTheMissedEvents) {
  json a = create("a");
  const std::string from = rvOf(a);
  create("b");
  json a2 = a;
  a2["data"]["k"] = "changed";
  ASSERT_TRUE(writer_->update(resources::kConfigMaps, "default", a2).ok());
  ASSERT_TRUE(writer_->remove(resources::kConfigMaps, "default", "b").ok());

  auto events = watchEvents(*writer_, watchFrom(from, false, 1));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, WatchEventType::kAdded);
  EXPECT_EQ(nameOf(events[0].object), "b");
  EXPECT_EQ(events[1].type, WatchEventType::kModified);
  EXPECT_EQ(nameOf(events[1].object), "a");
  EXPECT_EQ(events[1].object["data"]["k"], "changed");
  EXPECT_EQ(events[2].type, WatchEventType::kDeleted);
  EXPECT_EQ(nameOf(events[2].object), "b");
  EXPECT_LT(std::stoll(events[0].resourceVersion), std::stoll(events[1].resourceVersion));
  EXPECT_LT(std::stoll(events[1].resourceVersion), std::stoll(events[2].resourceVersion));
}

TEST_F(WatchServerTest, BookmarksArriveWhenAllowed) {
  json a = create("a");
  auto events = watchEvents(*writer_, watchFrom(rvOf(a), true, 5),
                            [](const WatchEvent& e) { return e.type == WatchEventType::kBookmark; });
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, WatchEventType::kBookmark);
  EXPECT_EQ(events[0].resourceVersion, rvOf(a));
  EXPECT_EQ(events[0].object["kind"], "ConfigMap");

  auto without = watchEvents(*writer_, watchFrom(rvOf(a), false, 1));
  EXPECT_TRUE(without.empty()) << "no bookmarks unless asked for";
}

TEST_F(WatchServerTest, AnExpiredResourceVersionIsGone) {
  json a = create("a");
  create("b");
  store_->expireHistory();
  auto events = watchEvents(*writer_, watchFrom(rvOf(a), false, 1));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type, WatchEventType::kError);
  EXPECT_TRUE(events[0].status.gone()) << events[0].status.message;
}

TEST_F(WatchServerTest, ExpiredHistoryMakesTheInformerRelist) {
  for (int i = 0; i < 5; ++i) {
    create("before-" + std::to_string(i));
  }
  std::shared_ptr<RecordingTransport> recorder;
  auto reader = recordingClient(&recorder, unlimited());
  ASSERT_TRUE(reader);
  std::mutex mutex;
  std::set<std::string> deleted;
  InformerHandlers handlers;
  handlers.onDelete = [&](const json& object) {
    std::lock_guard<std::mutex> lock(mutex);
    deleted.insert(nameOf(object));
  };
  Informer informer(*reader, configMapsInDefault(), handlers);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(std::chrono::seconds(10)));
  ASSERT_EQ(informer.store().size(), 5u);

  // Once the watch is live (it delivers a change), it ends and the next one waits at the gate while changes
  // happen and the history expires, so the informer comes back with a resourceVersion the server no longer
  // has.
  create("sentinel");
  ASSERT_TRUE(waitFor([&] { return informer.store().get("default/sentinel").has_value(); }));
  recorder->holdStreams(true);
  server_->dropWatches();
  create("during");
  ASSERT_TRUE(writer_->remove(resources::kConfigMaps, "default", "before-0").ok());
  ASSERT_TRUE(writer_
                  ->patch(resources::kConfigMaps, "default", "before-1", PatchType::kMerge,
                          {{"data", {{"k", "patched"}}}})
                  .ok());
  store_->expireHistory();
  EXPECT_FALSE(informer.store().get("default/during")) << "the informer has not seen the changes yet";
  recorder->holdStreams(false);

  EXPECT_TRUE(waitFor([&] { return consistent(informer); })) << "the cache converges after the relist";
  EXPECT_TRUE(informer.store().get("default/during"));
  EXPECT_EQ((*informer.store().get("default/before-1"))["data"]["k"], "patched");
  EXPECT_EQ(recorder->count(isList), 2u) << "one list to start, one relist after 410";
  {
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(deleted, std::set<std::string>({"before-0"})) << "the relist reports what disappeared";
  }
  informer.stop();
}

TEST_F(WatchServerTest, DroppedWatchesResumeWithoutLosingChanges) {
  std::shared_ptr<RecordingTransport> recorder;
  auto reader = recordingClient(&recorder, unlimited());
  ASSERT_TRUE(reader);
  Informer informer(*reader, configMapsInDefault());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(std::chrono::seconds(10)));

  std::atomic<bool> dropped{false};
  std::thread changes([&] {
    for (int i = 0; i < 60; ++i) {
      create("cm-" + std::to_string(i));
      if (i % 3 == 0) {
        writer_->remove(resources::kConfigMaps, "default", "cm-" + std::to_string(i));
      }
      if (i == 30) {
        server_->dropWatches();
        dropped = true;
      }
    }
  });
  changes.join();
  ASSERT_TRUE(dropped);
  EXPECT_TRUE(waitFor([&] { return consistent(informer); }));
  EXPECT_EQ(informer.store().size(), 40u);
  informer.stop();  // streams are recorded when they end
  EXPECT_EQ(recorder->count(isList), 1u) << "a watch the server closed resumes; no relist";
  auto exchanges = recorder->exchanges();
  size_t watches = 0;
  for (const auto& e : exchanges) {
    if (e.stream) {
      ++watches;
      EXPECT_NE(e.target.find("resourceVersion="), std::string::npos) << e.target << ": a resumed watch";
      EXPECT_EQ(e.status, 200);
    }
  }
  EXPECT_GE(watches, 2u);
}

TEST_F(WatchServerTest, ADroppedConnectionReconnectsWithBackoffAndLosesNothing) {
  TcpProxy proxy(server_->port());
  ASSERT_NE(proxy.port(), 0);
  ClusterConfig through_proxy = config();
  through_proxy.server = "https://127.0.0.1:" + std::to_string(proxy.port());
  std::shared_ptr<RecordingTransport> recorder;
  auto reader = recordingClientFor(through_proxy, &recorder, unlimited());
  ASSERT_TRUE(reader);
  Informer informer(*reader, configMapsInDefault());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(std::chrono::seconds(10)));
  create("first");
  ASSERT_TRUE(waitFor([&] { return informer.store().get("default/first").has_value(); }));

  const size_t connections = proxy.accepted();
  auto cut_at = std::chrono::steady_clock::now();
  proxy.dropConnections();
  for (int i = 0; i < 20; ++i) {
    create("after-" + std::to_string(i));  // the writer talks to the server directly
  }
  ASSERT_TRUE(writer_->remove(resources::kConfigMaps, "default", "first").ok());
  EXPECT_TRUE(waitFor([&] { return consistent(informer); }));
  auto recovered_in = std::chrono::steady_clock::now() - cut_at;
  EXPECT_EQ(informer.store().size(), 20u);
  EXPECT_GT(proxy.accepted(), connections) << "a new connection after the drop";
  EXPECT_LT(recovered_in, std::chrono::seconds(5)) << "one backoff step (about 0.8 s), not more";
  informer.stop();
  EXPECT_EQ(recorder->count(isList), 1u) << "the watch resumes from its resourceVersion";
  auto exchanges = recorder->exchanges();
  std::vector<Exchange> watches;
  std::copy_if(exchanges.begin(), exchanges.end(), std::back_inserter(watches), isWatch);
  ASSERT_GE(watches.size(), 2u);
  EXPECT_FALSE(watches[0].error.empty()) << "the first watch broke with the connection";
}

}  // namespace
}  // namespace tokenstorm::kube
