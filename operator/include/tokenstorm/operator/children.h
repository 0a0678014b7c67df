// The objects the operator creates for a LoadTest (docs/operator.md, "Objects per LoadTest"), as
// Kubernetes JSON: the plan ConfigMap, one shard ConfigMap per runner, the Indexed runner Job, and at the
// end the report ConfigMap.
//
// Pure builders: input is a validated LoadTest (its metadata name, namespace, uid and generation are
// used) and the operator's options; nothing is read from the environment, a file or a Secret. API keys
// reach runner pods only as `secretKeyRef` environment variables, so no key can appear in anything built
// here (children_test.cpp checks it with keys planted in the process environment and in a file).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenstorm/core/cluster_contract.h"
#include "tokenstorm/core/loadtest.h"
#include "tokenstorm/core/units.h"

namespace tokenstorm::op {

struct OperatorOptions {
  std::string image;                                // the operator's own image: runners use it by default
  std::optional<core::PullPolicy> imagePullPolicy;  // when spec.runners does not say
  std::string runnerServiceAccount = "tokenstorm-runner";
  // The runner container's command[0] (then `run --in-cluster`): the image's `tokenstorm` on its PATH; the
  // end-to-end tests name the built binary, since the API test server's kubelet runs pods as processes.
  std::string runnerCommand = "tokenstorm";
  // startAt = the moment every runner is ready + startLead: time for each runner to see the plan change.
  core::Duration startLead = core::Duration::fromSeconds(2);
  // activeDeadlineSeconds = maxDuration (else the plan's length) + startLead + this margin, which covers
  // scheduling, image pulls and the final flush. The operator stops a test at maxDuration itself; the
  // Job's deadline is the backstop when the operator is down.
  core::Duration deadlineGrace = core::Duration::fromSeconds(300);
  int64_t terminationGracePeriodSeconds = 30;
  // Status patches of one LoadTest at most this often, unless the phase changes (decide.h).
  core::Duration statusInterval = core::Duration::fromSeconds(5);
};

// Names, labels, keys and environment of the objects below: core/cluster_contract.h (tokenstorm::contract).
using contract::jobName;
using contract::planName;
using contract::reportName;
using contract::shardName;

// {managed-by, loadtest, role}.
nlohmann::json childLabels(std::string_view loadtest, std::string_view role);
// The controller ownerReference to the LoadTest (controller and blockOwnerDeletion set).
nlohmann::json ownerReference(const core::LoadTest& test);

// loadtest.json: apiVersion, kind, metadata {name, namespace, uid, generation} and spec, as validated;
// with `resolved_pricing` (read by the caller from budget.pricingRef) written into budget.pricing and
// pricingRef removed.
nlohmann::ordered_json planDocument(const core::LoadTest& test,
                                    const std::optional<core::Pricing>& resolved_pricing = std::nullopt);

// The plan ConfigMap, without startAt (written once every runner is ready).
nlohmann::json buildPlanConfigMap(const core::LoadTest& test,
                                  const std::optional<core::Pricing>& resolved_pricing = std::nullopt);
// Shard `index` (0-based), created empty; its runner fills it.
nlohmann::json buildShardConfigMap(const core::LoadTest& test, int64_t index);
std::vector<nlohmann::json> buildShardConfigMaps(const core::LoadTest& test);
// The Indexed Job that runs spec.runners.count runner pods.
nlohmann::json buildRunnerJob(const core::LoadTest& test, const OperatorOptions& options);
int64_t activeDeadlineSeconds(const core::LoadTestSpec& spec, const OperatorOptions& options);
// The report ConfigMap: report.json (docs/metrics.md) and junit.xml, kept after ttlSecondsAfterFinished.
nlohmann::json buildReportConfigMap(const core::LoadTest& test, const std::string& report_json,
                                    const std::string& junit_xml);

// budget.pricingRef's ConfigMap value, which the caller reads (runners may not) and passes to
// planDocument: YAML (or JSON) with input, output and optionally cachedInput, USD per 1M tokens. nullopt
// with *error naming the field when it is not that.
std::optional<core::Pricing> parsePricing(const std::string& text, std::string* error);

}  // namespace tokenstorm::op
