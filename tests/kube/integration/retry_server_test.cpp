// The client's retry policy (retry.h) against the server's fault injection: 429 with Retry-After is
// waited out and retried for any verb, 5xx is retried for idempotent verbs, and a POST that got a 500
// without Retry-After is not sent again (the server may have acted on it).
#include <gtest/gtest.h>

#include "kube/integration/server_fixture.h"

namespace tokenstorm::kube {
namespace {

using nlohmann::json;
using std::chrono::steady_clock;

constexpr const char* kConfigMapsPath = "/api/v1/namespaces/default/configmaps";

class RetryServerTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    client_ = recordingClient(&recorder_);
    ASSERT_TRUE(client_);
  }
  std::vector<int32_t> statuses() const {
    std::vector<int32_t> out;
    for (const auto& e : recorder_->exchanges()) {
      out.push_back(e.status);
    }
    return out;
  }

  std::shared_ptr<RecordingTransport> recorder_;
  std::unique_ptr<Client> client_;
};

TEST_F(RetryServerTest, TooManyRequestsWithRetryAfterIsWaitedOutAndRetried) {
  server_->faults().failNext(2, 429, "", "", 1);
  auto started = steady_clock::now();
  auto created = client_->create(resources::kConfigMaps, "default", configMap("cm"));
  auto took = steady_clock::now() - started;
  ASSERT_TRUE(created.ok()) << created.error().str();  // the 429s never surface
  EXPECT_EQ(nameOf(*created), "cm");
  EXPECT_EQ(statuses(), std::vector<int32_t>({429, 429, 201})) << "a POST is retried after 429";
  EXPECT_GE(took, std::chrono::milliseconds(1900)) << "Retry-After: 1, twice";
  EXPECT_LT(took, std::chrono::seconds(6));
}

TEST_F(RetryServerTest, ServerErrorsOnAGetAreRetried) {
  ASSERT_TRUE(client_->create(resources::kConfigMaps, "default", configMap("cm")).ok());
  server_->faults().failNext(2, 500, "GET", kConfigMapsPath, 0);
  auto got = client_->get(resources::kConfigMaps, "default", "cm");
  ASSERT_TRUE(got.ok()) << got.error().str();
  EXPECT_EQ(statuses(), std::vector<int32_t>({201, 500, 500, 200}));

  server_->faults().failNext(2, 503, "PUT", kConfigMapsPath, 0);
  json changed = *got;
  changed["data"]["k"] = "changed";
  auto updated = client_->update(resources::kConfigMaps, "default", changed);
  ASSERT_TRUE(updated.ok()) << updated.error().str();
  EXPECT_EQ((*updated)["data"]["k"], "changed");
}

TEST_F(RetryServerTest, APostWithA500AndNoRetryAfterIsNotRetried) {
  server_->faults().failNext(1, 500, "POST", kConfigMapsPath, 0);
  auto created = client_->create(resources::kConfigMaps, "default", configMap("once"));
  ASSERT_FALSE(created.ok());
  EXPECT_EQ(created.error().code, 500) << created.error().str();
  EXPECT_EQ(created.error().attempts, 1u);
  EXPECT_EQ(statuses(), std::vector<int32_t>({500}));
  auto missing = client_->get(resources::kConfigMaps, "default", "once");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().notFound());

  // With Retry-After the server asks for the retry, so the POST goes again.
  server_->faults().failNext(1, 503, "POST", kConfigMapsPath, 1);
  auto asked = client_->create(resources::kConfigMaps, "default", configMap("asked"));
  ASSERT_TRUE(asked.ok()) << asked.error().str();
}

TEST_F(RetryServerTest, RetriesStopAfterMaxAttempts) {
  ClientOptions options;
  options.retry.max_attempts = 3;
  options.retry.base_ns = 50'000'000;
  std::shared_ptr<RecordingTransport> recorder;
  auto c = recordingClient(&recorder, options);
  ASSERT_TRUE(c);
  server_->faults().failNext(10, 503, "GET", kConfigMapsPath, 0);
  auto got = c->list(resources::kConfigMaps, "default");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().code, 503);
  EXPECT_EQ(got.error().attempts, 3u);
  EXPECT_EQ(recorder->exchanges().size(), 3u);
  server_->faults().clear();
  EXPECT_TRUE(c->list(resources::kConfigMaps, "default").ok());
}

}  // namespace
}  // namespace tokenstorm::kube
