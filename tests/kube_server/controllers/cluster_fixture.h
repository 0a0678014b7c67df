// A store with the controllers on real threads and real processes, for the kubelet and end-to-end tests:
// a temporary data directory, helpers to create objects, and polling with a deadline (never fixed sleeps
// as assertions).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "api/api_store.h"
#include "controllers.h"
#include "tokenstorm/core/clock.h"
#include "util.h"

namespace tokenstorm::kts {

class ClusterTest : public ::testing::Test {
 protected:
  static constexpr std::chrono::seconds kWait{10};

  ClusterTest() : store_(core::RealClock::instance()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "kts-controllers-XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) {
      dataDir_ = pattern;
    }
    pods_ = *store_.findType("", "v1", "pods");
    jobs_ = *store_.findType("batch", "v1", "jobs");
    configMaps_ = *store_.findType("", "v1", "configmaps");
    secrets_ = *store_.findType("", "v1", "secrets");
  }

  ~ClusterTest() override {
    controllers_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dataDir_, ec);
  }

  void startControllers(bool job_controller = true, bool kubelet = true) {
    ControllerOptions options;
    options.dataDir = dataDir_.string();
    options.serverUrl = "https://127.0.0.1:6443";
    options.caPem = "-----BEGIN CERTIFICATE-----\ntest\n-----END CERTIFICATE-----\n";
    options.token = "test-token";
    options.jobController = job_controller;
    options.kubelet = kubelet;
    controllers_ = std::make_unique<Controllers>(store_, core::RealClock::instance(), options);
    controllers_->start();
  }

  nlohmann::json create(const ResourceType& type, nlohmann::json object) {
    Result created = store_.create(type, "default", std::move(object));
    EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error->message);
    return created.object;
  }

  // A pod running `script` with /bin/sh -c.
  static nlohmann::json shellPod(const std::string& name, const std::string& script,
                                 const std::string& restart_policy = "Never") {
    return {{"apiVersion", "v1"},
            {"kind", "Pod"},
            {"metadata", {{"name", name}}},
            {"spec",
             {{"restartPolicy", restart_policy},
              {"terminationGracePeriodSeconds", 5},
              {"containers",
               nlohmann::json::array({{{"name", "main"},
                                       {"image", "busybox"},
                                       {"command", nlohmann::json::array({"/bin/sh", "-c", script})}}})}}}};
  }

  // Polls the object until `predicate` holds; fails the test (and returns the last view) after kWait.
  nlohmann::json waitFor(const ResourceType& type, const std::string& name,
                         const std::function<bool(const nlohmann::json&)>& predicate,
                         const std::string& what) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    nlohmann::json last;
    while (std::chrono::steady_clock::now() < deadline) {
      Result got = store_.get(type, "default", name);
      if (got.ok()) {
        last = got.object;
        if (predicate(last)) {
          return last;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "timed out waiting for " << what << "; last seen: " << last.dump(2);
    return last;
  }

  nlohmann::json waitForPhase(const std::string& pod, const std::string& phase) {
    return waitFor(
        pods_, pod,
        [&](const nlohmann::json& p) {
          return p.value("status", nlohmann::json::object()).value("phase", "") == phase;
        },
        "pod " + pod + " phase " + phase);
  }

  // Safe readers of a pod that may not have a status yet.
  static bool podCondition(const nlohmann::json& pod, const char* type) {
    return conditionTrue(
        pod.value("status", nlohmann::json::object()).value("conditions", nlohmann::json::array()), type);
  }
  static nlohmann::json containerStatus(const nlohmann::json& pod) {
    const auto statuses =
        pod.value("status", nlohmann::json::object()).value("containerStatuses", nlohmann::json::array());
    return statuses.empty() ? nlohmann::json::object() : statuses[0];
  }

  bool waitGone(const ResourceType& type, const std::string& name) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      Result got = store_.get(type, "default", name);
      if (!got.ok() && got.error->code == 404) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  bool waitForFile(const std::filesystem::path& path) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::filesystem::exists(path)) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  static std::string readFile(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::filesystem::path podDir(const nlohmann::json& pod) const {
    return dataDir_ / "pods" / pod["metadata"]["uid"].get<std::string>();
  }

  ApiStore store_;
  std::filesystem::path dataDir_;
  ResourceType pods_, jobs_, configMaps_, secrets_;
  std::unique_ptr<Controllers> controllers_;
};

}  // namespace tokenstorm::kts
