// The LoadTest model: C++ types for the whole of the v1alpha1 API (docs/loadtest-api.md).
//
// These are plain data. Members use the API's own camelCase spelling so that a reader maps a YAML key to
// its member without a table (`inline`, `class` and `operator` get a suffix or synonym, being C++ words).
// Each type is described once, in loadtest_fields.h; the parser, the JSON encoder and the CRD
// generator all read that description, which is what keeps the CRD and the C++ model from drifting.
// Defaults written here are the API's defaults (the CRD publishes the ones marked there).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/document.h"
#include "tokenstorm/core/enums.h"
#include "tokenstorm/core/units.h"

namespace tokenstorm::core {

inline constexpr const char* kApiGroup = "tokenstorm.dev";
inline constexpr const char* kApiVersion = "tokenstorm.dev/v1alpha1";
inline constexpr const char* kKind = "LoadTest";

using StringMap = std::map<std::string, std::string>;

// ---- references -----------------------------------------------------------------------------------------
struct SecretKeyRef {
  std::string name;
  std::string key;
};
struct ConfigMapKeyRef {
  std::string name;
  std::string key;
};

// ---- spec.target ------------------------------------------------------------------------------------------
struct Auth {
  std::optional<SecretKeyRef> secretRef;  // in-cluster
  std::optional<std::string> env;         // local: read the key from this environment variable
  std::optional<std::string> file;        // local: read the key from this file
  std::optional<std::string> header;      // override: header name (default per api)
};
struct Tls {
  bool insecureSkipVerify = false;
  std::optional<SecretKeyRef> caSecretRef;
  std::optional<std::string> caFile;
};
struct Endpoint {
  std::string name;
  std::string url;
  Api api = Api::OpenAIChat;
  std::string model;
  int64_t weight = 1;
  std::optional<Auth> auth;
  StringMap headers;
  Duration timeout = Duration::fromSeconds(120);
  std::optional<Tls> tls;
};
struct Routing {
  RoutingPolicy policy = RoutingPolicy::Single;
  int64_t failoverAfter = 3;
  Duration failbackAfter = Duration::fromSeconds(30);
};
struct ServedBy {
  std::optional<std::string> header;
  std::optional<std::string> field;
};
struct ScaleRef {
  std::string apiVersion;
  std::string kind;
  std::string name;
};
struct ServerMetrics {
  std::string url;
  Duration interval = Duration::fromSeconds(5);
};
struct Target {
  std::vector<Endpoint> endpoints;
  Routing routing;
  std::optional<ServedBy> servedBy;
  std::optional<ScaleRef> scaleRef;
  std::optional<ServerMetrics> serverMetrics;
  bool allowExternal = false;
};

// ---- distributions ----------------------------------------------------------------------------------------
struct Range {
  double min = 0;
  double max = 0;
};
struct Spread {
  double mean = 0;
  double stddev = 0;
  std::optional<double> min;
  std::optional<double> max;
};
// Exactly one member is set.
struct Dist {
  std::optional<double> fixed;
  std::optional<Range> uniform;
  std::optional<Spread> normal;
  std::optional<Spread> lognormal;
};
struct DurationRange {
  Duration min;
  Duration max;
};
struct DurationSpread {
  Duration mean;
  Duration stddev;
  std::optional<Duration> min;
  std::optional<Duration> max;
};
struct DurationDist {
  std::optional<Duration> fixed;
  std::optional<DurationRange> uniform;
  std::optional<DurationSpread> normal;
  std::optional<DurationSpread> lognormal;
};

// ---- spec.workload ----------------------------------------------------------------------------------------
struct SyntheticPrompt {
  Dist inputTokens;
  int64_t sharedPrefixTokens = 0;
  std::optional<std::string> corpus;
};
struct Dataset {
  std::optional<ConfigMapKeyRef> configMapRef;
  std::optional<std::string> file;
  std::vector<std::string> inlinePrompts;  // `inline`
  DatasetFormat format = DatasetFormat::JsonlPrompts;
  Sampling sample = Sampling::Random;
};
struct Prompt {
  std::optional<SyntheticPrompt> synthetic;
  std::optional<Dataset> dataset;
};
struct Conversation {
  Dist turns;
  DurationDist thinkTime;
};
struct WorkloadClass {
  std::string name;
  int64_t weight = 1;
  Prompt prompt;
  Dist maxOutputTokens;
  bool stream = true;
  std::optional<double> temperature;
  bool ignoreEos = false;
  std::optional<Conversation> conversation;
};
struct Cancellation {
  double fraction = 0;
  std::optional<Dist> afterTokens;
  std::optional<DurationDist> afterTime;
};
struct Backoff {
  Duration initial = Duration::fromMillis(250);
  Duration max = Duration::fromSeconds(8);
  double multiplier = 2;
  double jitter = 0.2;
};
struct Retry {
  int64_t maxAttempts = 3;
  Backoff backoff;
  std::vector<RetryOn> retryOn{RetryOn::Http429, RetryOn::Http5xx};
  bool respectRetryAfter = true;
};
struct Tokenizer {
  TokenizerType type = TokenizerType::Estimate;
  std::optional<ConfigMapKeyRef> configMapRef;
  std::optional<std::string> file;
};
struct Workload {
  std::vector<WorkloadClass> classes;
  std::optional<Cancellation> cancellation;
  std::optional<Retry> retry;
  Tokenizer tokenizer;
};

// ---- spec.load --------------------------------------------------------------------------------------------
struct Stage {
  std::optional<std::string> name;
  Duration duration;
  std::optional<double> rate;    // open mode: requests per second at the end of the stage
  std::optional<int64_t> users;  // closed mode: virtual users at the end of the stage
  bool hold = false;             // step to the target at the start instead of ramping linearly
};
struct BaselinePattern {
  double rate = 0;
  Duration duration;
};
struct SpikePattern {
  double base = 0;
  std::optional<double> peak;
  std::optional<double> multiplier;
  Duration at;
  Duration duration;
  Duration total;
};
struct BurstPattern {
  double low = 0;
  double high = 0;
  Duration period;
  int64_t count = 1;
  std::optional<Duration> highDuration;  // default: half the period
};
struct RampPattern {
  double from = 0;
  double to = 0;
  Duration duration;
};
struct SoakPattern {
  double rate = 0;
  Duration duration;
};
struct SweepPattern {
  double from = 0;
  double to = 0;
  int64_t steps = 2;
  Duration stepDuration;
};
// Exactly one member is set.
struct Pattern {
  std::optional<BaselinePattern> baseline;
  std::optional<SpikePattern> spike;
  std::optional<BurstPattern> burst;
  std::optional<RampPattern> ramp;
  std::optional<SoakPattern> soak;
  std::optional<SweepPattern> sweep;
};
struct Load {
  LoadMode mode = LoadMode::Open;
  Arrival arrival = Arrival::Poisson;
  std::vector<Stage> stages;
  std::optional<Pattern> pattern;
  int64_t maxInFlight = 1000;
  Duration warmup;
};

// ---- spec.probes ------------------------------------------------------------------------------------------
struct RateLimitProbe {
  double start = 1;
  double step = 1;
  Duration stepDuration = Duration::fromSeconds(30);
  RateLimitUntil until = RateLimitUntil::First429;
  double errorRateThreshold = 0.05;
};
struct WarmupStep {
  double rate = 1;
  Duration duration = Duration::fromSeconds(300);
};
struct WarmupProbe {
  Duration idle = Duration::fromSeconds(600);
  WarmupStep step;
};
struct FailoverProbe {
  Duration outageAt;
  Duration outageDuration;
};
struct CacheProbe {
  double repeatFraction = 0.5;
  bool compareWithout = false;
};
struct Probes {
  std::optional<RateLimitProbe> rateLimit;
  std::optional<WarmupProbe> warmup;
  std::optional<FailoverProbe> failover;
  std::optional<CacheProbe> cache;
};

// ---- spec.budget, spec.limits
// -------------------------------------------------------------------------------
struct Pricing {  // USD per 1M tokens
  Decimal input;
  Decimal output;
  std::optional<Decimal> cachedInput;
};
struct Budget {
  std::optional<Decimal> maxCost;  // USD
  std::optional<int64_t> maxInputTokens;
  std::optional<int64_t> maxOutputTokens;
  std::optional<Pricing> pricing;
  std::optional<ConfigMapKeyRef> pricingRef;
};
struct ErrorRateAbort {
  double threshold = 0.5;
  Duration window = Duration::fromSeconds(30);
};
struct Limits {
  std::optional<Duration> maxDuration;
  std::optional<ErrorRateAbort> abortOnErrorRate;
};

// ---- spec.thresholds
// ---------------------------------------------------------------------------------------- A threshold's
// limit: a duration for latency metrics ("800ms"), a plain number for the others.
struct ThresholdValue {
  std::string text;  // as written
  std::optional<Duration> duration;
  std::optional<double> number;
};
struct Threshold {
  Metric metric = Metric::Ttft;
  std::optional<Stat> stat;
  std::optional<ThresholdValue> max;
  std::optional<ThresholdValue> min;
  std::optional<std::string> className;  // `class`
  std::optional<std::string> stage;
};

// ---- spec.runners
// -------------------------------------------------------------------------------------------
struct Toleration {
  std::optional<std::string> key;
  std::optional<std::string> op;  // `operator`
  std::optional<std::string> value;
  std::optional<std::string> effect;
  std::optional<int64_t> tolerationSeconds;
};
struct ResourceRequirements {
  std::map<std::string, Quantity> requests;
  std::map<std::string, Quantity> limits;
};
struct EnvVar {
  std::string name;
  std::optional<std::string> value;
  std::optional<Node> valueFrom;  // a Kubernetes EnvVarSource, passed through
};
struct Runners {
  int64_t count = 1;
  std::optional<std::string> image;
  std::optional<PullPolicy> imagePullPolicy;
  ResourceRequirements resources;
  StringMap nodeSelector;
  std::vector<Toleration> tolerations;
  std::optional<Node> affinity;  // a Kubernetes Affinity, passed through
  std::optional<std::string> priorityClassName;
  std::optional<std::string> serviceAccountName;
  std::vector<EnvVar> env;
};
struct ReportSpec {
  Duration interval = Duration::fromSeconds(5);
  bool timeSeries = true;
};

struct LoadTestSpec {
  Target target;
  Workload workload;
  Load load;
  Probes probes;
  Budget budget;
  Limits limits;
  std::vector<Threshold> thresholds;
  Runners runners;
  ReportSpec report;
  std::optional<int64_t> ttlSecondsAfterFinished;
  bool suspend = false;
  std::optional<std::string> runId;
};

// ---- status
// -------------------------------------------------------------------------------------------------
struct Condition {
  std::string type;
  std::string status;  // "True" | "False" | "Unknown"
  std::string reason;
  std::string message;
  std::string lastTransitionTime;  // RFC 3339
  int64_t observedGeneration = 0;
};
struct RunnersStatus {
  int64_t desired = 0;
  int64_t ready = 0;
  int64_t active = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  std::optional<Duration> startSkew;
};
struct StageStatus {
  int64_t index = 0;
  std::string name;
};
struct Percentiles {  // milliseconds
  double p50 = 0;
  double p90 = 0;
  double p95 = 0;
  double p99 = 0;
  double p999 = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
};
struct RequestCounts {
  int64_t total = 0;
  int64_t ok = 0;
  int64_t failed = 0;
  int64_t cancelled = 0;
};
struct ErrorCounts {
  int64_t http429 = 0;
  int64_t http4xx = 0;
  int64_t http5xx = 0;
  int64_t timeout = 0;
  int64_t connect = 0;
  int64_t tls = 0;
  int64_t streamError = 0;
  int64_t protocol = 0;
};
struct CostSummary {
  Decimal spentUsd;
  std::optional<Decimal> budgetUsd;
  bool estimated = false;
};
struct ClientHealth {
  Percentiles schedLagMs;
  int64_t droppedArrivals = 0;
};
// Exactly the `summary` shape of report.json (docs/metrics.md).
struct Summary {
  RequestCounts requests;
  double requestsPerSecond = 0;
  double inputTokensPerSecond = 0;
  double outputTokensPerSecond = 0;
  double goodputPerSecond = 0;
  Percentiles ttftMs;
  Percentiles ttftSchedMs;
  Percentiles ttfoMs;
  Percentiles e2eMs;
  Percentiles tpotMs;
  Percentiles itlMs;
  Percentiles interChunkMs;
  ErrorCounts errors;
  int64_t retries = 0;
  double cacheHitRate = 0;
  CostSummary cost;
  ClientHealth client;
};
struct StageSummary {
  std::string name;
  double startS = 0;
  double endS = 0;
  Summary summary;
};
struct ThresholdResult {
  std::string metric;
  std::optional<std::string> stat;
  std::string limit;  // e.g. "max 800ms"
  double value = 0;
  bool passed = false;
  std::optional<std::string> className;
  std::optional<std::string> stage;
};
struct CapacityResult {
  double lastGoodRate = 0;
  std::optional<std::string> firstFailingStage;
};
struct RateLimitResult {
  std::optional<double> requestsPerMinuteAtFirst429;
  std::optional<double> tokensPerMinuteAtFirst429;
  double sustainedRequestsPerMinute = 0;
  double sustainedTokensPerMinute = 0;
  StringMap headers;  // x-ratelimit-* and retry-after as last seen
  std::optional<Duration> recoveryTime;
};
struct ReplicaPoint {
  double tS = 0;
  int64_t replicas = 0;
  int64_t ready = 0;
};
// One load step (a stage whose target rises above the previous stage's) and how the target scaled.
// Derived by core/autoscaling.h; docs/autoscaling.md defines each number.
struct AutoscalingStep {
  std::string stage;                      // the plan stage that steps the load up
  double startS = 0;                      // seconds since the test start
  double from = 0;                        // target (rate or users) before the step
  double to = 0;                          // target at the step
  std::optional<int64_t> replicasBefore;  // desired replicas at the step
  std::optional<int64_t> replicasMax;     // most desired replicas within the step
  std::optional<Duration> timeToScaleDecision;
  std::optional<Duration> timeToFirstReadyReplica;
  std::optional<Duration> timeToAllReady;
  std::optional<Duration> timeToP95Recovered;
  std::optional<Duration> warmupTtftP95;  // over step start → first new ready replica
  std::optional<int64_t> warmupRequests;
  std::optional<int64_t> warmupErrors;
};
struct AutoscalingResult {
  std::optional<Duration> coldStartTtft;
  std::optional<Duration> coldStartTtftP50;  // over the first 5 requests after the idle period
  // The headline step's numbers (the first step after the test start; else the one at the start).
  std::optional<Duration> timeToScaleDecision;
  std::optional<Duration> timeToFirstReadyReplica;
  std::optional<Duration> timeToAllReady;
  std::optional<Duration> timeToP95Recovered;
  std::optional<Duration> warmupTtftP95;
  std::optional<int64_t> warmupRequests;
  std::optional<int64_t> warmupErrors;
  std::optional<std::string> message;  // why replica-based numbers are absent ("scaleRef ... not found")
  std::vector<AutoscalingStep> steps;
  std::vector<ReplicaPoint> replicas;
};
struct FailoverResult {
  std::optional<Duration> timeToFailover;
  std::optional<Duration> failbackTime;
  int64_t errorsDuringSwitch = 0;
  std::map<std::string, double> servedShare;
};
struct CacheResult {
  double hitRate = 0;
  std::optional<double> ttftP95WithMs;
  std::optional<double> ttftP95WithoutMs;
};
struct LoadTestStatus {
  std::optional<Phase> phase;
  int64_t observedGeneration = 0;
  std::optional<std::string> runId;  // spec.runId of the run this status describes
  std::vector<Condition> conditions;
  std::optional<std::string> startTime;
  std::optional<std::string> completionTime;
  RunnersStatus runners;
  std::optional<StageStatus> stage;
  std::optional<Summary> summary;
  std::vector<StageSummary> stages;
  std::vector<ThresholdResult> thresholds;
  std::optional<Verdict> verdict;
  std::optional<CapacityResult> capacity;
  std::optional<RateLimitResult> rateLimit;
  std::optional<AutoscalingResult> autoscaling;
  std::optional<FailoverResult> failover;
  std::optional<CacheResult> cache;
  std::optional<ConfigMapKeyRef> reportRef;  // the full report (report.json) lives here
};

// ---- the object -------------------------------------------------------------------------------------------
struct ObjectMeta {
  std::string name;
  std::string generateName;
  std::string ns;  // `namespace`
  StringMap labels;
  StringMap annotations;
  std::string uid;
  std::string resourceVersion;
  int64_t generation = 0;
  std::string creationTimestamp;
};

struct LoadTest {
  std::string apiVersion = kApiVersion;
  std::string kind = kKind;
  ObjectMeta metadata;
  LoadTestSpec spec;
  std::optional<LoadTestStatus> status;
};

}  // namespace tokenstorm::core
