// An Informer on ConfigMaps against the test server while two writer threads make 1,000 changes in a
// burst (creates, updates, deletes): its Store must end equal to a fresh list (same keys, same
// resourceVersions), with and without the server dropping every watch in the middle of the burst.
#include <gtest/gtest.h>

#include "kube/integration/server_fixture.h"
#include "tokenstorm/kube/informer.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;

constexpr int kWriters = 2;
constexpr int kObjectsPerWriter = 200;  // per writer: 200 creates, 200 updates, 100 deletes = 500 changes
constexpr int kChanges = kWriters * (kObjectsPerWriter * 2 + kObjectsPerWriter / 2);

class InformerServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    writer_ = client(unlimited());
    reader_ = recordingClient(&recorder_, unlimited());
    ASSERT_TRUE(writer_ && reader_);
  }

  // Two threads, each on its own names; `midway` runs once, when half of the changes are done.
  void burst(const std::function<void()>& midway) {
    std::atomic<int> done{0};
    std::atomic<int> failed{0};
    std::atomic<bool> midway_ran{false};
    auto step = [&](bool ok) {
      failed += ok ? 0 : 1;
      if (++done == kChanges / 2 && midway && !midway_ran.exchange(true)) {
        midway();
      }
    };
    std::vector<std::thread> threads;
    for (int w = 0; w < kWriters; ++w) {
      threads.emplace_back([&, w] {
        auto name = [w](int i) { return "w" + std::to_string(w) + "-" + std::to_string(i); };
        for (int i = 0; i < kObjectsPerWriter; ++i) {
          step(writer_->create(resources::kConfigMaps, "default", configMap(name(i))).ok());
        }
        for (int i = 0; i < kObjectsPerWriter; ++i) {
          step(writer_
                   ->patch(resources::kConfigMaps, "default", name(i), PatchType::kMerge,
                           {{"data", {{"k", "updated-" + std::to_string(i)}}}})
                   .ok());
        }
        for (int i = 0; i < kObjectsPerWriter; i += 2) {
          step(writer_->remove(resources::kConfigMaps, "default", name(i)).ok());
        }
      });
    }
    for (auto& t : threads) {
      t.join();
    }
    EXPECT_EQ(done.load(), kChanges);
    EXPECT_EQ(failed.load(), 0);
  }

  std::map<std::string, std::string> serverVersions() {
    auto fresh = writer_->listAll(resources::kConfigMaps, "default", selecting("", "", 250));
    EXPECT_TRUE(fresh.ok()) << (fresh.ok() ? "" : fresh.error().str());
    return fresh.ok() ? versionsOf((*fresh)["items"].get<std::vector<json>>())
                      : std::map<std::string, std::string>();
  }

  // Waits (deadline, polling) until the informer's Store equals a fresh list.
  void expectConsistent(const Informer& informer) {
    std::map<std::string, std::string> expected = serverVersions();
    ASSERT_EQ(expected.size(), static_cast<size_t>(kWriters * kObjectsPerWriter / 2));
    bool converged =
        waitFor([&] { return versionsOf(informer.store().list()) == expected; }, std::chrono::seconds(20));
    auto cached = versionsOf(informer.store().list());
    EXPECT_TRUE(converged) << cached.size() << " cached, " << expected.size() << " on the server";
    for (const auto& [key, rv] : expected) {
      auto it = cached.find(key);
      if (it == cached.end() || it->second != rv) {
        ADD_FAILURE() << key << ": server " << rv << ", cache " << (it == cached.end() ? "none" : it->second);
        break;
      }
    }
    for (const auto& object : informer.store().list()) {
      EXPECT_EQ(object["data"]["k"].get<std::string>().rfind("updated-", 0), 0u) << object.dump();
    }
  }

  static InformerOptions options() {
    InformerOptions o;
    o.resource = resources::kConfigMaps;
    o.ns = "default";
    o.watcher.page_limit = 100;
    return o;
  }

  std::unique_ptr<Client> writer_;
  std::shared_ptr<RecordingTransport> recorder_;
  std::unique_ptr<Client> reader_;
};

TEST_F(InformerServerTest, CacheMatchesTheServerAfterABurstOf1000Changes) {
  std::atomic<int> adds{0}, updates{0}, deletes{0};
  InformerHandlers handlers;
  handlers.onAdd = [&](const json&) { ++adds; };
  handlers.onUpdate = [&](const json&, const json&) { ++updates; };
  handlers.onDelete = [&](const json&) { ++deletes; };
  Informer informer(*reader_, options(), handlers);
  informer.start();
  ASSERT_TRUE(informer.waitForSync(std::chrono::seconds(10)));
  burst(nullptr);
  expectConsistent(informer);
  // One watch saw every change as it happened.
  EXPECT_EQ(adds.load(), kWriters * kObjectsPerWriter);
  EXPECT_EQ(updates.load(), kWriters * kObjectsPerWriter);
  EXPECT_EQ(deletes.load(), kWriters * kObjectsPerWriter / 2);
  informer.stop();
}

TEST_F(InformerServerTest, CacheMatchesTheServerWhenWatchesDropMidBurst) {
  Informer informer(*reader_, options());
  informer.start();
  ASSERT_TRUE(informer.waitForSync(std::chrono::seconds(10)));
  burst([&] { server_->dropWatches(); });
  expectConsistent(informer);
  EXPECT_GE(recorder_->count([](const Exchange& e) { return e.stream; }), 1u);
  informer.stop();
  EXPECT_GE(recorder_->count([](const Exchange& e) { return e.stream; }), 2u) << "the watch was resumed";
}

}  // namespace
}  // namespace tokenstorm::kube
