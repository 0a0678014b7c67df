#include "tokenstorm/operator/children.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/stages.h"

namespace tokenstorm::op {
namespace {

using Json = nlohmann::json;

Json metadataFor(const core::LoadTest& test, const std::string& name, std::string_view role) {
  return Json{{"name", name},
              {"namespace", test.metadata.ns},
              {"labels", childLabels(test.metadata.name, role)},
              {"ownerReferences", Json::array({ownerReference(test)})}};
}

Json configMap(const core::LoadTest& test, const std::string& name, std::string_view role, Json data) {
  return Json{{"apiVersion", "v1"},
              {"kind", "ConfigMap"},
              {"metadata", metadataFor(test, name, role)},
              {"data", std::move(data)}};
}

int64_t ceilSeconds(core::Duration d) {
  constexpr int64_t kNanosPerSecond = 1'000'000'000;
  return d.nanos <= 0 ? 0 : (d.nanos + kNanosPerSecond - 1) / kNanosPerSecond;
}

Json fieldRefEnv(const char* name, const char* path) {
  return Json{{"name", name}, {"valueFrom", {{"fieldRef", {{"fieldPath", path}}}}}};
}

Json resources(const core::ResourceRequirements& r) {
  Json out = Json::object();
  auto add = [&](const char* key, const std::map<std::string, core::Quantity>& m) {
    if (m.empty()) {
      return;
    }
    Json list = Json::object();
    for (const auto& [name, q] : m) {
      list[name] = q.text;
    }
    out[key] = std::move(list);
  };
  add("requests", r.requests);
  add("limits", r.limits);
  return out;
}

Json toleration(const core::Toleration& t) {
  Json out = Json::object();
  if (t.key) {
    out["key"] = *t.key;
  }
  if (t.op) {
    out["operator"] = *t.op;
  }
  if (t.value) {
    out["value"] = *t.value;
  }
  if (t.effect) {
    out["effect"] = *t.effect;
  }
  if (t.tolerationSeconds) {
    out["tolerationSeconds"] = *t.tolerationSeconds;
  }
  return out;
}

Json containerSecurityContext() {
  return Json{{"runAsNonRoot", true},
              {"readOnlyRootFilesystem", true},
              {"allowPrivilegeEscalation", false},
              {"capabilities", {{"drop", Json::array({"ALL"})}}},
              {"seccompProfile", {{"type", "RuntimeDefault"}}}};
}

}  // namespace

Json childLabels(std::string_view loadtest, std::string_view role) {
  return Json{{contract::kManagedByLabel, contract::kManagedByValue},
              {contract::kLoadTestLabel, loadtest},
              {contract::kRoleLabel, role}};
}

Json ownerReference(const core::LoadTest& test) {
  return Json{{"apiVersion", core::kApiVersion}, {"kind", core::kKind}, {"name", test.metadata.name},
              {"uid", test.metadata.uid},        {"controller", true},  {"blockOwnerDeletion", true}};
}

nlohmann::ordered_json planDocument(const core::LoadTest& test,
                                    const std::optional<core::Pricing>& resolved_pricing) {
  core::LoadTestSpec spec = test.spec;
  if (resolved_pricing) {
    spec.budget.pricing = *resolved_pricing;
    spec.budget.pricingRef.reset();
  }
  nlohmann::ordered_json doc;
  doc["apiVersion"] = test.apiVersion;
  doc["kind"] = test.kind;
  doc["metadata"] = {{"name", test.metadata.name},
                     {"namespace", test.metadata.ns},
                     {"uid", test.metadata.uid},
                     {"generation", test.metadata.generation}};
  doc["spec"] = core::toJson(spec);
  return doc;
}

Json buildPlanConfigMap(const core::LoadTest& test, const std::optional<core::Pricing>& resolved_pricing) {
  return configMap(test, planName(test.metadata.name), "plan",
                   Json{{contract::kPlanKey, planDocument(test, resolved_pricing).dump()},
                        {contract::kRunnersKey, std::to_string(test.spec.runners.count)}});
}

Json buildShardConfigMap(const core::LoadTest& test, int64_t index) {
  return configMap(test, shardName(test.metadata.name, index), "shard", Json::object());
}

std::vector<Json> buildShardConfigMaps(const core::LoadTest& test) {
  std::vector<Json> out;
  for (int64_t i = 0; i < test.spec.runners.count; ++i) {
    out.push_back(buildShardConfigMap(test, i));
  }
  return out;
}

int64_t activeDeadlineSeconds(const core::LoadTestSpec& spec, const OperatorOptions& options) {
  core::Duration run = spec.limits.maxDuration ? *spec.limits.maxDuration : core::expandLoad(spec).total;
  return ceilSeconds(run + options.startLead + options.deadlineGrace);
}

Json buildRunnerJob(const core::LoadTest& test, const OperatorOptions& options) {
  const core::Runners& runners = test.spec.runners;
  const std::string& name = test.metadata.name;

  Json env = Json::array();
  env.push_back({{"name", contract::kPlanEnv}, {"value", planName(name)}});
  env.push_back(fieldRefEnv(contract::kNamespaceEnv, "metadata.namespace"));
  env.push_back(fieldRefEnv(contract::kPodEnv, "metadata.name"));
  Json mounts = Json::array({{{"name", "tmp"}, {"mountPath", "/tmp"}}});
  Json volumes = Json::array({{{"name", "tmp"}, {"emptyDir", Json::object()}}});
  const auto& endpoints = test.spec.target.endpoints;
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const core::Endpoint& e = endpoints[i];
    const std::string index = std::to_string(i);
    if (e.auth && e.auth->secretRef) {
      // The key goes from the Secret to the container's environment; the operator never reads it.
      env.push_back(
          {{"name", contract::kApiKeyEnvPrefix + index},
           {"valueFrom",
            {{"secretKeyRef", {{"name", e.auth->secretRef->name}, {"key", e.auth->secretRef->key}}}}}});
    }
    if (e.tls && e.tls->caSecretRef) {
      const std::string dir = std::string(contract::kCaMountRoot) + "/" + index;
      const std::string volume = "ca-" + index;
      env.push_back({{"name", contract::kCaFileEnvPrefix + index}, {"value", dir + "/ca.crt"}});
      mounts.push_back({{"name", volume}, {"mountPath", dir}, {"readOnly", true}});
      volumes.push_back(
          {{"name", volume},
           {"secret",
            {{"secretName", e.tls->caSecretRef->name},
             {"items", Json::array({{{"key", e.tls->caSecretRef->key}, {"path", "ca.crt"}}})}}}});
    }
  }
  for (const core::EnvVar& v : runners.env) {
    Json item{{"name", v.name}};
    if (v.value) {
      item["value"] = *v.value;
    }
    if (v.valueFrom) {
      item["valueFrom"] = core::nodeToJson(*v.valueFrom);
    }
    env.push_back(std::move(item));
  }

  Json container{{"name", "runner"},
                 {"image", runners.image ? *runners.image : options.image},
                 {"command", Json::array({options.runnerCommand, "run", "--in-cluster"})},
                 {"env", std::move(env)},
                 {"securityContext", containerSecurityContext()},
                 {"volumeMounts", std::move(mounts)}};
  std::optional<core::PullPolicy> pull =
      runners.imagePullPolicy ? runners.imagePullPolicy : options.imagePullPolicy;
  if (pull) {
    container["imagePullPolicy"] = core::enumName(*pull);
  }
  Json res = resources(runners.resources);
  if (!res.empty()) {
    container["resources"] = std::move(res);
  }

  Json pod{{"restartPolicy", "Never"},
           {"terminationGracePeriodSeconds", options.terminationGracePeriodSeconds},
           {"serviceAccountName",
            runners.serviceAccountName ? *runners.serviceAccountName : options.runnerServiceAccount},
           {"securityContext", {{"runAsNonRoot", true}, {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
           {"containers", Json::array({std::move(container)})},
           {"volumes", std::move(volumes)}};
  if (!runners.nodeSelector.empty()) {
    pod["nodeSelector"] = runners.nodeSelector;
  }
  if (!runners.tolerations.empty()) {
    Json list = Json::array();
    for (const auto& t : runners.tolerations) {
      list.push_back(toleration(t));
    }
    pod["tolerations"] = std::move(list);
  }
  if (runners.affinity) {
    pod["affinity"] = core::nodeToJson(*runners.affinity);
  }
  if (runners.priorityClassName) {
    pod["priorityClassName"] = *runners.priorityClassName;
  }

  return Json{
      {"apiVersion", "batch/v1"},
      {"kind", "Job"},
      {"metadata", metadataFor(test, jobName(name), "runner")},
      {"spec",
       {{"completionMode", "Indexed"},
        {"completions", runners.count},
        {"parallelism", runners.count},
        // A failed runner is reported, not retried: a second attempt would count its requests twice.
        {"backoffLimit", 0},
        {"activeDeadlineSeconds", activeDeadlineSeconds(test.spec, options)},
        {"template", {{"metadata", {{"labels", childLabels(name, "runner")}}}, {"spec", std::move(pod)}}}}}};
}

Json buildReportConfigMap(const core::LoadTest& test, const std::string& report_json,
                          const std::string& junit_xml) {
  return configMap(test, reportName(test.metadata.name), "report",
                   Json{{contract::kReportKey, report_json}, {contract::kJunitKey, junit_xml}});
}

std::optional<core::Pricing> parsePricing(const std::string& text, std::string* error) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    *error = std::string("not YAML: ") + e.what();
    return std::nullopt;
  }
  if (!root.IsMap()) {
    *error = "want a map with input, output and optionally cachedInput (USD per 1M tokens)";
    return std::nullopt;
  }
  auto price = [&](const char* field, bool required) -> std::optional<core::Decimal> {
    const YAML::Node node = root[field];
    if (!node || node.IsNull()) {
      if (required) {
        *error = std::string(field) + ": required";
      }
      return std::nullopt;
    }
    std::string why;
    auto value = node.IsScalar() ? core::Decimal::parse(node.Scalar(), &why) : std::nullopt;
    if (!value || value->nanos < 0) {
      *error = std::string(field) + ": not a price" + (why.empty() ? "" : ": " + why);
      return std::nullopt;
    }
    return value;
  };
  core::Pricing pricing;
  auto input = price("input", true);
  if (!input) {
    return std::nullopt;
  }
  auto output = price("output", true);
  if (!output) {
    return std::nullopt;
  }
  pricing.input = *input;
  pricing.output = *output;
  pricing.cachedInput = price("cachedInput", false);
  if (root["cachedInput"] && !pricing.cachedInput) {
    return std::nullopt;
  }
  return pricing;
}

}  // namespace tokenstorm::op
