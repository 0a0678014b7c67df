// Fault injection, in-process and over HTTP at /_kts/faults.
#include "http/faults.h"

#include <gtest/gtest.h>

#include <thread>

#include "http/test_server.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

TEST(Faults, RulesMatchMethodAndPrefixAndRunOut) {
  Faults f;
  f.failNext(2, 429, "GET", "/api/v1/pods", 3);
  EXPECT_EQ(f.onRequest("POST", "/api/v1/pods").code, 0);
  EXPECT_EQ(f.onRequest("GET", "/api/v1/configmaps").code, 0);
  auto hit = f.onRequest("GET", "/api/v1/pods");
  EXPECT_EQ(hit.code, 429);
  EXPECT_EQ(hit.reason, "TooManyRequests");
  EXPECT_EQ(hit.retryAfterSeconds, 3);
  EXPECT_EQ(f.onRequest("GET", "/api/v1/pods/x").code, 429);
  EXPECT_EQ(f.onRequest("GET", "/api/v1/pods").code, 0);
  f.conflictNextWrites(1);
  EXPECT_EQ(f.onRequest("GET", "/api/v1/pods").code, 0);
  EXPECT_EQ(f.onRequest("PUT", "/api/v1/pods/x").code, 409);
  EXPECT_EQ(f.onRequest("PUT", "/api/v1/pods/x").code, 0);
  EXPECT_TRUE(f.apply(json::array()).has_value());
  EXPECT_TRUE(f.apply({{"fail", {{"code", 200}}}}).has_value());
  EXPECT_TRUE(f.apply({{"delayMs", "slow"}}).has_value());
}

class FaultsTest : public ServerTest {};

TEST_F(FaultsTest, TooManyRequestsWithRetryAfterOverHttp) {
  int status = 0;
  callJson(
      "POST", "/_kts/faults",
      R"({"fail":{"count":1,"code":429,"method":"GET","pathPrefix":"/api/v1/namespaces","retryAfterSeconds":2}})",
      {}, &status);
  ASSERT_EQ(status, 200);
  auto r = call("GET", "/api/v1/namespaces");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "2");
  json s = json::parse(r.body);
  EXPECT_EQ(s["reason"], "TooManyRequests");
  EXPECT_EQ(s["details"]["retryAfterSeconds"], 2);
  EXPECT_EQ(call("GET", "/api/v1/namespaces").status, 200) << "the rule was used up";
  EXPECT_EQ(call("GET", "/version").status, 200);
}

TEST_F(FaultsTest, ServerErrorsConflictsAndDelay) {
  server_->faults().failNext(1, 500);
  EXPECT_EQ(call("GET", "/api/v1/namespaces").status, 500);
  server_->faults().conflictNextWrites(1);
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "c"}}}};
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/configmaps", cm.dump()).status, 409);
  EXPECT_EQ(call("POST", "/api/v1/namespaces/default/configmaps", cm.dump()).status, 201);
  server_->faults().setDelay(std::chrono::milliseconds(300));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(call("GET", "/api/v1/namespaces").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(300));
  EXPECT_EQ(call("POST", "/_kts/faults", R"({"clear":true})").status, 200);
  EXPECT_EQ(call("POST", "/_kts/faults", R"({"fail":{"code":99}})").status, 400);
  EXPECT_EQ(call("POST", "/_kts/faults", R"({"clear":true})", {{"Authorization", "Bearer wrong"}}).status,
            401);
}

TEST_F(FaultsTest, DropWatchesAndExpireHistoryOverHttp) {
  json cm = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "c"}}}};
  json created = json::parse(call("POST", "/api/v1/namespaces/default/configmaps", cm.dump()).body);
  json other = {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "d"}}}};
  ASSERT_EQ(call("POST", "/api/v1/namespaces/default/configmaps", other.dump()).status, 201);
  testing::HttpResponse watch;
  std::thread watcher(
      [&] { watch = call("GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=30"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(call("POST", "/_kts/faults", R"({"dropWatches":true,"expireHistory":true})").status, 200);
  watcher.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));
  EXPECT_EQ(watch.status, 200);
  EXPECT_NE(watch.body.find("ADDED"), std::string::npos);
  ASSERT_EQ(call("PATCH", "/api/v1/namespaces/default/configmaps/c", R"({"data":{"x":"y"}})",
                 {{"Content-Type", "application/merge-patch+json"}})
                .status,
            200);
  std::string rv = created["metadata"]["resourceVersion"];
  auto r =
      call("GET", "/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=2&resourceVersion=" + rv);
  EXPECT_NE(r.body.find("\"code\":410"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace tokenstorm::kts
