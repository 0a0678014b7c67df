// The contract between the operator and its runner pods (docs/operator.md): object names, labels, the
// ConfigMaps' data keys and the runner container's environment. Both sides use these names and nothing
// else, so the contract is written down once: operator/ builds and reads the objects, runner/ and
// `tokenstorm run --in-cluster` read the plan and write the shards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tokenstorm::contract {

// Objects per LoadTest `<lt>`: `<lt>-plan`, `<lt>-shard-<index>`, the Job `<lt>-runners`, `<lt>-report`.
inline constexpr std::string_view kPlanSuffix = "-plan";
inline constexpr std::string_view kShardInfix = "-shard-";
inline constexpr std::string_view kJobSuffix = "-runners";
inline constexpr std::string_view kReportSuffix = "-report";

inline std::string planName(std::string_view loadtest) {
  return std::string(loadtest) + std::string(kPlanSuffix);
}
inline std::string shardName(std::string_view loadtest, int64_t index) {
  return std::string(loadtest) + std::string(kShardInfix) + std::to_string(index);
}
inline std::string jobName(std::string_view loadtest) {
  return std::string(loadtest) + std::string(kJobSuffix);
}
inline std::string reportName(std::string_view loadtest) {
  return std::string(loadtest) + std::string(kReportSuffix);
}

// Labels on every child (and on runner pods, through the Job's template).
inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr const char* kManagedByValue = "tokenstorm";
inline constexpr const char* kLoadTestLabel = "tokenstorm.dev/loadtest";
inline constexpr const char* kRoleLabel = "tokenstorm.dev/role";

// Plan ConfigMap keys: the LoadTest as JSON, the runner count, and the start instant (RFC 3339, written
// by the operator once every runner is ready).
inline constexpr const char* kPlanKey = "loadtest.json";
inline constexpr const char* kRunnersKey = "runners";
inline constexpr const char* kStartAtKey = "startAt";
// Shard ConfigMap keys, written by runner <index>.
inline constexpr const char* kReadyKey = "ready";
inline constexpr const char* kSnapshotKey = "snapshot.json";
inline constexpr const char* kOutcomeKey = "outcome.json";
// Report ConfigMap keys, written by the operator at the end.
inline constexpr const char* kReportKey = "report.json";
inline constexpr const char* kJunitKey = "junit.xml";

// Environment of a runner container (besides the Job controller's JOB_COMPLETION_INDEX).
inline constexpr const char* kPlanEnv = "TOKENSTORM_PLAN";
inline constexpr const char* kNamespaceEnv = "TOKENSTORM_NAMESPACE";
inline constexpr const char* kPodEnv = "TOKENSTORM_POD";
inline constexpr const char* kIndexEnv = "JOB_COMPLETION_INDEX";
inline constexpr const char* kApiKeyEnvPrefix = "TOKENSTORM_API_KEY_";  // + endpoint index
inline constexpr const char* kCaFileEnvPrefix = "TOKENSTORM_CA_FILE_";  // + endpoint index
inline constexpr const char* kCaMountRoot = "/etc/tokenstorm/ca";       // /<index>/ca.crt

}  // namespace tokenstorm::contract
