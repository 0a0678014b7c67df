// Watch streaming over HTTP: chunked JSON lines, bookmarks, 410 as an ERROR event, timeoutSeconds, drops.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "http/test_server.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

constexpr const char* kConfigMaps = "/api/v1/namespaces/default/configmaps";

std::vector<json> lines(const std::string& body) {
  std::vector<json> out;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) {
      out.push_back(json::parse(line));
    }
  }
  return out;
}

std::string cm(const std::string& name) {
  return json{
      {"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", name}}}, {"data", {{"k", "v"}}}}
      .dump();
}

class WatchTest : public ServerTest {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.bookmarkInterval = std::chrono::milliseconds(200);
    startServer(options);
  }
};

TEST_F(WatchTest, StreamsExistingAndNewObjectsAsChunkedLines) {
  ASSERT_EQ(call("POST", kConfigMaps, cm("before")).status, 201);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    call("POST", kConfigMaps, cm("during"));
    call("DELETE", std::string(kConfigMaps) + "/during");
  });
  auto started = steady_clock::now();
  auto r = call("GET", std::string(kConfigMaps) + "?watch=true&timeoutSeconds=1");
  auto elapsed = steady_clock::now() - started;
  writer.join();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["transfer-encoding"], "chunked");
  EXPECT_FALSE(r.truncated) << "the stream ends with the last chunk at timeoutSeconds";
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  auto events = lines(r.body);
  ASSERT_EQ(events.size(), 3u) << r.body;
  EXPECT_EQ(events[0]["type"], "ADDED");
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "before");
  EXPECT_EQ(events[1]["type"], "ADDED");
  EXPECT_EQ(events[1]["object"]["metadata"]["name"], "during");
  EXPECT_EQ(events[2]["type"], "DELETED");
}

TEST_F(WatchTest, ResumesFromAResourceVersion) {
  json first = json::parse(call("POST", kConfigMaps, cm("a")).body);
  ASSERT_EQ(call("POST", kConfigMaps, cm("b")).status, 201);
  std::string rv = first["metadata"]["resourceVersion"];
  auto events =
      lines(call("GET", std::string(kConfigMaps) + "?watch=1&timeoutSeconds=1&resourceVersion=" + rv).body);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0]["object"]["metadata"]["name"], "b");
}

TEST_F(WatchTest, BookmarksWhenIdleAndAllowed) {
  auto r = call("GET", std::string(kConfigMaps) + "?watch=1&allowWatchBookmarks=true&timeoutSeconds=1");
  auto events = lines(r.body);
  ASSERT_GE(events.size(), 2u) << r.body;
  for (const auto& e : events) {
    EXPECT_EQ(e["type"], "BOOKMARK");
    EXPECT_FALSE(e["object"]["metadata"]["resourceVersion"].get<std::string>().empty());
  }
  auto quiet = call("GET", std::string(kConfigMaps) + "?watch=1&timeoutSeconds=1");
  EXPECT_TRUE(quiet.body.empty()) << "no bookmarks unless asked for: " << quiet.body;
}

TEST_F(WatchTest, ExpiredResourceVersionIsAnErrorEvent) {
  json first = json::parse(call("POST", kConfigMaps, cm("a")).body);
  ASSERT_EQ(call("POST", kConfigMaps, cm("lost")).status,
            201);  // an event after `first` that history forgets
  store_->expireHistory();
  ASSERT_EQ(call("POST", kConfigMaps, cm("b")).status, 201);
  std::string rv = first["metadata"]["resourceVersion"];
  auto r = call("GET", std::string(kConfigMaps) + "?watch=1&timeoutSeconds=5&resourceVersion=" + rv);
  EXPECT_EQ(r.status, 200);
  auto events = lines(r.body);
  ASSERT_EQ(events.size(), 1u) << r.body;
  EXPECT_EQ(events[0]["type"], "ERROR");
  EXPECT_EQ(events[0]["object"]["kind"], "Status");
  EXPECT_EQ(events[0]["object"]["code"], 410);
}

TEST_F(WatchTest, DroppedWatchEndsCleanly) {
  testing::HttpResponse r;
  std::thread watcher([&] { r = call("GET", std::string(kConfigMaps) + "?watch=1&timeoutSeconds=30"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = steady_clock::now();
  server_->dropWatches();
  watcher.join();
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.truncated);
}

TEST_F(WatchTest, BadSelectorIsA400BeforeTheStream) {
  auto r = call("GET", std::string(kConfigMaps) + "?watch=1&labelSelector=a%20in%20%28");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(call("GET", std::string(kConfigMaps) + "?watch=1&timeoutSeconds=x").status, 400);
}

TEST_F(WatchTest, ServerStopEndsOpenWatches) {
  std::thread watcher([&] { call("GET", std::string(kConfigMaps) + "?watch=1"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = steady_clock::now();
  server_->stop();
  watcher.join();
  EXPECT_LT(steady_clock::now() - started, std::chrono::seconds(3));
}

}  // namespace
}  // namespace tokenstorm::kts
