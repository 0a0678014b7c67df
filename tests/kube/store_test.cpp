// The informer cache: the watcher's cache actions applied to a Store, alone and end to end with the
// watcher and the watch-stream decoder (a list, a burst of 1,000 changes, a 410 relist), on explicit times.
#include "tokenstorm/kube/store.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "tokenstorm/kube/watch_stream.h"
#include "tokenstorm/kube/watcher.h"

namespace tokenstorm::kube {
namespace {

using Json = nlohmann::json;

Json pod(const std::string& ns, const std::string& name, int64_t rv, const std::string& app = "web") {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata",
           {{"namespace", ns},
            {"name", name},
            {"resourceVersion", std::to_string(rv)},
            {"labels", {{"app", app}}}}}};
}

TEST(StoreTest, KeysAreNamespaceSlashNameOrNameForClusterScoped) {
  EXPECT_EQ(objectKey(pod("a", "p", 1)), "a/p");
  EXPECT_EQ(objectKey(Json{{"metadata", {{"name", "node-1"}}}}), "node-1");
  EXPECT_EQ(objectKey(Json{{"metadata", {{"namespace", "a"}}}}), "");
  EXPECT_EQ(objectKey(Json::array()), "");
}

TEST(StoreTest, UpsertDeleteReplaceAndStaleEvents) {
  Store s;
  EXPECT_TRUE(s.apply(Upsert{pod("a", "p", 5)}));
  EXPECT_FALSE(s.apply(Upsert{pod("a", "p", 5)}));  // the same object: no change
  EXPECT_FALSE(s.apply(Upsert{pod("a", "p", 4)}));  // older than what is held: ignored
  EXPECT_EQ(s.get("a/p")->at("metadata").at("resourceVersion"), "5");
  EXPECT_TRUE(s.apply(Upsert{pod("a", "p", 6, "api")}));
  EXPECT_EQ(s.get("a/p")->at("metadata").at("labels").at("app"), "api");
  EXPECT_TRUE(s.apply(Upsert{pod("b", "q", 7)}));
  EXPECT_FALSE(s.apply(StartWatch{"7", true}));  // requests are not cache actions
  EXPECT_TRUE(s.apply(Delete{pod("a", "p", 8)}));
  EXPECT_FALSE(s.apply(Delete{pod("a", "p", 8)}));
  EXPECT_EQ(s.keys(), std::vector<std::string>{"b/q"});
  EXPECT_TRUE(s.apply(ReplaceAll{{pod("c", "r", 9), pod("c", "s", 9, "api")}}));
  EXPECT_EQ(s.keys(), (std::vector<std::string>{"c/r", "c/s"}));  // b/q vanished with the relist
  EXPECT_FALSE(s.apply(ReplaceAll{{pod("c", "r", 9), pod("c", "s", 9, "api")}}));
}

TEST(StoreTest, ListFiltersByNamespaceAndLabels) {
  Store s;
  s.apply(ReplaceAll{{pod("a", "1", 1, "web"), pod("a", "2", 1, "api"), pod("b", "3", 1, "web")}});
  SelectorError error;
  auto web = LabelSelector::parse("app=web", &error);
  ASSERT_TRUE(web);
  EXPECT_EQ(s.list().size(), 3u);
  EXPECT_EQ(s.list("a").size(), 2u);
  EXPECT_EQ(s.list("", *web).size(), 2u);
  ASSERT_EQ(s.list("a", *web).size(), 1u);
  EXPECT_EQ(objectKey(s.list("a", *web)[0]), "a/1");
}

// Drives watcher + decoder + store the way the informer will: a list, then a watch body carrying 1,000
// random changes (split into reads at random), then a 410 and a relist. After each phase the store
// must equal a plain model of what the server holds.
TEST(StoreTest, InformerPipelineStaysConsistentThroughABurstAndARelist) {
  std::mt19937_64 rng(7);
  std::map<std::string, Json> server;
  int64_t rv = 100;
  for (int i = 0; i < 50; ++i) {
    Json p = pod("ns", "p" + std::to_string(i), ++rv);
    server[objectKey(p)] = p;
  }
  Store store;
  Watcher watcher(WatcherOptions{}, [] { return 0.5; });
  auto apply = [&](const WatcherActions& actions) {
    for (const auto& a : actions) {
      store.apply(a);
    }
  };
  auto snapshot = [&] {
    std::vector<Json> items;
    for (const auto& [k, v] : server) {
      items.push_back(v);
    }
    return items;
  };
  core::MonoNanos now = 0;
  apply(watcher.start(now));
  apply(watcher.onListPage(snapshot(), std::to_string(rv), "", now));
  ASSERT_EQ(watcher.state(), Watcher::State::kWatching);
  EXPECT_EQ(store.size(), server.size());

  std::string body;
  for (int i = 0; i < 1000; ++i) {
    int n = static_cast<int>(rng() % 80);
    std::string key = "ns/p" + std::to_string(n);
    Json event;
    if (server.count(key) && rng() % 3 == 0) {
      Json gone = server[key];
      gone["metadata"]["resourceVersion"] = std::to_string(++rv);
      event = {{"type", "DELETED"}, {"object", gone}};
      server.erase(key);
    } else {
      Json p = pod("ns", "p" + std::to_string(n), ++rv, rng() % 2 ? "web" : "api");
      event = {{"type", server.count(key) ? "MODIFIED" : "ADDED"}, {"object", p}};
      server[key] = p;
    }
    body += event.dump() + "\n";
  }
  WatchStreamDecoder decoder;
  std::string error;
  for (size_t pos = 0; pos < body.size();) {
    size_t len = std::min<size_t>(body.size() - pos, 1 + rng() % 4096);
    std::vector<WatchEvent> events;
    ASSERT_TRUE(decoder.feed(std::string_view(body).substr(pos, len), &events, &error)) << error;
    for (const auto& e : events) {
      apply(watcher.onWatchEvent(e, ++now));
    }
    pos += len;
  }
  ASSERT_EQ(store.size(), server.size());
  for (const auto& [key, object] : server) {
    ASSERT_EQ(store.get(key), object) << key;
  }
  EXPECT_EQ(watcher.resourceVersion(), std::to_string(rv));

  // The history expired: 410, relist. Changes made meanwhile (two deletions) must show.
  server.erase("ns/p1");
  server.erase("ns/p2");
  std::vector<WatchEvent> gone;
  ASSERT_TRUE(decoder.feed(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired"}})"
                           "\n",
                           &gone, &error))
      << error;
  ASSERT_EQ(gone.size(), 1u);
  apply(watcher.onWatchEvent(gone[0], ++now));
  ASSERT_EQ(watcher.state(), Watcher::State::kListing);
  apply(watcher.onListPage(snapshot(), std::to_string(++rv), "", ++now));
  EXPECT_EQ(store.size(), server.size());
  EXPECT_FALSE(store.get("ns/p1"));
}

TEST(StoreTest, ReadersSeeWholeObjectsWhileTheWriterApplies) {
  Store store;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        for (const auto& object : store.list()) {
          // Every object read is one the writer wrote whole: its name and its label agree.
          EXPECT_EQ(object["metadata"]["labels"]["app"], object["metadata"]["name"]);
        }
        ++reads;
      }
    });
  }
  while (reads.load() == 0) {
    std::this_thread::yield();  // the readers are running before the writer starts
  }
  for (int i = 0; i < 2000; ++i) {
    std::string name = "o" + std::to_string(i % 20);
    store.apply(Upsert{pod("ns", name, i + 1, name)});
  }
  stop = true;
  for (auto& r : readers) {
    r.join();
  }
  EXPECT_EQ(store.size(), 20u);
  EXPECT_GT(reads.load(), 0);
}

}  // namespace
}  // namespace tokenstorm::kube
