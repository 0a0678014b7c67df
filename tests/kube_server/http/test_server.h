// Test fixture for the HTTP front: a store and a server on a free port (plain HTTP unless a test asks for
// TLS), and requests over real sockets with the server's token.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/api_store.h"
#include "http/server.h"
#include "support/http_client.h"
#include "tokenstorm/core/clock.h"

namespace tokenstorm::kts {

inline constexpr const char* kTestToken = "test-token";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override { startServer(ServerOptions{}); }
  void TearDown() override {
    if (server_) {
      server_->stop();
    }
  }

  void startServer(ServerOptions options) {
    if (server_) {
      server_->stop();
    }
    server_.reset();
    store_ = std::make_unique<ApiStore>(core::RealClock::instance());
    if (options.tokens.empty()) {
      options.tokens = {kTestToken};
    }
    options.tls = options.tls && tls_;
    server_ = std::make_unique<Server>(*store_, core::RealClock::instance(), options);
    std::string error;
    ASSERT_TRUE(server_->start(&error)) << error;
  }

  // One request on a fresh connection, with the token unless `headers` sets Authorization.
  testing::HttpResponse call(const std::string& method, const std::string& target,
                             const std::string& body = "", std::map<std::string, std::string> headers = {}) {
    if (!headers.count("Authorization")) {
      headers["Authorization"] = std::string("Bearer ") + kTestToken;
    }
    testing::HttpClient client(server_->port());
    return client.request(method, target, body, headers);
  }

  nlohmann::json callJson(const std::string& method, const std::string& target, const std::string& body = "",
                          std::map<std::string, std::string> headers = {}, int* status = nullptr) {
    auto r = call(method, target, body, std::move(headers));
    if (status != nullptr) {
      *status = r.status;
    }
    return nlohmann::json::parse(r.body, nullptr, false);
  }

  // A small CRD (widgets.example.com, v1, namespaced, status subresource, printer columns), created and
  // Established.
  void createWidgetCrd() {
    nlohmann::json crd = {
        {"apiVersion", "apiextensions.k8s.io/v1"},
        {"kind", "CustomResourceDefinition"},
        {"metadata", {{"name", "widgets.example.com"}}},
        {"spec",
         {{"group", "example.com"},
          {"scope", "Namespaced"},
          {"names",
           {{"plural", "widgets"},
            {"singular", "widget"},
            {"kind", "Widget"},
            {"listKind", "WidgetList"},
            {"shortNames", {"wg"}}}},
          {"versions",
           {{{"name", "v1"},
             {"served", true},
             {"storage", true},
             {"subresources", {{"status", nlohmann::json::object()}}},
             {"additionalPrinterColumns",
              {{{"name", "Phase"}, {"type", "string"}, {"jsonPath", ".status.phase"}},
               {{"name", "Ready"},
                {"type", "string"},
                {"jsonPath", ".status.conditions[?(@.type==\"Ready\")].status"}},
               {{"name", "Size"}, {"type", "integer"}, {"jsonPath", ".spec.size"}},
               {{"name", "Age"}, {"type", "date"}, {"jsonPath", ".metadata.creationTimestamp"}}}},
             {"schema",
              {{"openAPIV3Schema",
                {{"type", "object"},
                 {"properties",
                  {{"spec", {{"type", "object"}, {"properties", {{"size", {{"type", "integer"}}}}}}},
                   {"status",
                    {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}}}}}}}}}}};
    int status = 0;
    callJson("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd.dump(), {}, &status);
    ASSERT_EQ(status, 201);
  }

  bool tls_ = false;  // set before SetUp (in the derived fixture's constructor) for an HTTPS server
  std::unique_ptr<ApiStore> store_;
  std::unique_ptr<Server> server_;
};

}  // namespace tokenstorm::kts
