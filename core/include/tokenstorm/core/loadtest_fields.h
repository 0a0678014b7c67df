// The one description of every LoadTest type. Read by decode.cpp (parse + field checks), encode.cpp
// (JSON out) and crd.cpp (OpenAPI schema). Adding a member to loadtest.h without describing it here
// means it is never parsed nor published: tests/core/crd_test.cpp compares the result with crds/.
#pragma once

#include "tokenstorm/core/field.h"
#include "tokenstorm/core/loadtest.h"

namespace tokenstorm::core {

// Largest load target (requests per second, or virtual users): beyond any single test, small enough that
// plans and estimates stay finite.
inline constexpr double kMaxTarget = 1'000'000;

template <>
struct IsUnion<Dist> : std::true_type {};
template <>
struct IsUnion<DurationDist> : std::true_type {};
template <>
struct IsUnion<Prompt> : std::true_type {};
template <>
struct IsUnion<Pattern> : std::true_type {};
template <>
struct IsUnion<ServedBy> : std::true_type {};

// ---- references ----
template <class V>
void describe(V& v, SecretKeyRef& r) {
  v.field(r.name, F("name", "Name of the Secret in the LoadTest's namespace.").required());
  v.field(r.key, F("key", "Key within the Secret.").required());
}
template <class V>
void describe(V& v, ConfigMapKeyRef& r) {
  v.field(r.name, F("name", "Name of the ConfigMap in the LoadTest's namespace.").required());
  v.field(r.key, F("key", "Key within the ConfigMap.").required());
}

// ---- spec.target ----
template <class V>
void describe(V& v, Auth& a) {
  v.field(a.secretRef, F("secretRef",
                         "Secret holding the API key (in-cluster). The key reaches runner pods "
                         "only through a secretKeyRef; it never appears in status, logs or reports."));
  v.field(a.env, F("env", "Local runs: environment variable holding the API key."));
  v.field(a.file, F("file", "Local runs: file holding the API key."));
  v.field(a.header, F("header",
                      "Header that carries the key. Default: Authorization (Bearer) for OpenAI APIs, "
                      "x-api-key for anthropic-messages."));
}
template <class V>
void describe(V& v, Tls& t) {
  v.field(t.insecureSkipVerify, F("insecureSkipVerify", "Skip server certificate verification (test only)."));
  v.field(t.caSecretRef, F("caSecretRef", "Secret holding a PEM CA bundle to verify the server with."));
  v.field(t.caFile, F("caFile", "Local runs: PEM CA bundle file."));
}
template <class V>
void describe(V& v, Endpoint& e) {
  v.field(e.name, F("name", "Endpoint name, used in reports and routing.")
                      .required()
                      .matching(kDnsLabel, isDnsLabel, kDnsLabelHint, 63));
  v.field(e.url, F("url", "Base URL (http://, https://, or sim:// for the built-in simulator).").required());
  v.field(e.api, F("api", "Wire API spoken by the endpoint.").withDefault());
  v.field(e.model, F("model", "Model name sent in each request.").required());
  v.field(e.weight, F("weight", "Share of requests under weighted routing.").withDefault().positive());
  v.field(e.auth, F("auth", "Where the API key comes from."));
  v.field(e.headers, F("headers", "Extra request headers (never secrets: use auth)."));
  v.field(e.timeout, F("timeout", "Per-request timeout (whole response).").withDefault().positive());
  v.field(e.tls, F("tls", "TLS options for https:// endpoints."));
}
template <class V>
void describe(V& v, Routing& r) {
  v.field(r.policy, F("policy",
                      "How requests spread over endpoints: single (the first), failover (primary "
                      "first, next on errors) or weighted (by endpoint weight).")
                        .withDefault());
  v.field(r.failoverAfter, F("failoverAfter",
                             "Consecutive errors that make failover routing switch to the next "
                             "endpoint.")
                               .withDefault()
                               .min(1));
  v.field(r.failbackAfter, F("failbackAfter", "Time after a failover before the primary is tried again.")
                               .withDefault()
                               .positive());
}
template <class V>
void describe(V& v, ServedBy& s) {
  v.field(s.header, F("header", "Response header naming the backend that answered."));
  v.field(s.field, F("field", "JSON field of the response naming the backend (e.g. model)."));
  v.oneOf({"header", "field"});
}
template <class V>
void describe(V& v, ScaleRef& s) {
  v.field(s.apiVersion, F("apiVersion", "API version of the scaled workload, e.g. apps/v1.").required());
  v.field(s.kind, F("kind",
                    "Deployment, StatefulSet, HorizontalPodAutoscaler, ScaledObject (KEDA) or "
                    "InferenceService (KServe).")
                      .required());
  v.field(s.name, F("name", "Name of the workload in the LoadTest's namespace.").required());
}
template <class V>
void describe(V& v, ServerMetrics& s) {
  v.field(s.url, F("url", "Prometheus endpoint of the model server, scraped during the test.").required());
  v.field(s.interval, F("interval", "Scrape interval.").withDefault().positive());
}
template <class V>
void describe(V& v, Target& t) {
  v.field(t.endpoints, F("endpoints", "Endpoints under test (1 to 8).").required().items(1, 8));
  v.field(t.routing, F("routing", "How requests spread over the endpoints."));
  v.field(t.servedBy, F("servedBy", "Where to read which backend answered."));
  v.field(t.scaleRef, F("scaleRef", "Workload whose autoscaling the operator observes during the test."));
  v.field(t.serverMetrics, F("serverMetrics", "Model server metrics to scrape beside the client metrics."));
  v.field(t.allowExternal, F("allowExternal",
                             "Required to target anything outside the cluster and private "
                             "networks (and then budget.maxCost is required too)."));
}

// ---- distributions ----
template <class V>
void describe(V& v, Range& r) {
  v.field(r.min, F("min", "Smallest value.").required().nonNegative());
  v.field(r.max, F("max", "Largest value.").required().nonNegative());
}
template <class V>
void describe(V& v, Spread& s) {
  v.field(s.mean, F("mean", "Mean.").required().positive());
  v.field(s.stddev, F("stddev", "Standard deviation.").required().nonNegative());
  v.field(s.min, F("min", "Values below are clamped to this.").nonNegative());
  v.field(s.max, F("max", "Values above are clamped to this.").nonNegative());
}
template <class V>
void describe(V& v, Dist& d) {
  v.field(d.fixed, F("fixed", "Always this value.").nonNegative());
  v.field(d.uniform, F("uniform", "Uniform between min and max."));
  v.field(d.normal, F("normal", "Normal distribution, clamped to [min, max]."));
  v.field(d.lognormal,
          F("lognormal", "Log-normal distribution with this mean and stddev, clamped to [min, max]."));
  v.oneOf({"fixed", "uniform", "normal", "lognormal"});
}
template <class V>
void describe(V& v, DurationRange& r) {
  v.field(r.min, F("min", "Shortest duration.").required().nonNegative());
  v.field(r.max, F("max", "Longest duration.").required().nonNegative());
}
template <class V>
void describe(V& v, DurationSpread& s) {
  v.field(s.mean, F("mean", "Mean duration.").required().positive());
  v.field(s.stddev, F("stddev", "Standard deviation.").required().nonNegative());
  v.field(s.min, F("min", "Shorter values are clamped to this.").nonNegative());
  v.field(s.max, F("max", "Longer values are clamped to this.").nonNegative());
}
template <class V>
void describe(V& v, DurationDist& d) {
  v.field(d.fixed, F("fixed", "Always this duration.").nonNegative());
  v.field(d.uniform, F("uniform", "Uniform between min and max."));
  v.field(d.normal, F("normal", "Normal distribution, clamped to [min, max]."));
  v.field(d.lognormal, F("lognormal", "Log-normal distribution, clamped to [min, max]."));
  v.oneOf({"fixed", "uniform", "normal", "lognormal"});
}

// ---- spec.workload ----
template <class V>
void describe(V& v, SyntheticPrompt& p) {
  v.field(p.inputTokens, F("inputTokens", "Prompt length in tokens.").required());
  v.field(p.sharedPrefixTokens, F("sharedPrefixTokens",
                                  "Leading tokens shared by every prompt of the class "
                                  "(exercises prefix caching).")
                                    .nonNegative());
  v.field(p.corpus, F("corpus", "Name of the built-in text corpus to draw words from."));
}
template <class V>
void describe(V& v, Dataset& d) {
  v.field(d.configMapRef, F("configMapRef", "ConfigMap key holding the dataset."));
  v.field(d.file, F("file", "Local runs: dataset file."));
  v.field(d.inlinePrompts, F("inline", "Prompts given inline (format jsonl-prompts)."));
  v.field(d.format, F("format", "Dataset format.").withDefault());
  v.field(d.sample, F("sample", "Order in which prompts are drawn.").withDefault());
}
template <class V>
void describe(V& v, Prompt& p) {
  v.field(p.synthetic, F("synthetic", "Generated natural text of a target token count."));
  v.field(p.dataset, F("dataset", "Prompts from a dataset."));
  v.oneOf({"synthetic", "dataset"});
}
template <class V>
void describe(V& v, Conversation& c) {
  v.field(c.turns, F("turns", "Turns per session; context grows turn by turn.").required());
  v.field(c.thinkTime, F("thinkTime", "Pause between a response and the next turn.").required());
}
template <class V>
void describe(V& v, WorkloadClass& c) {
  v.field(c.name, F("name", "Class name, used in reports and thresholds.")
                      .required()
                      .matching(kDnsLabel, isDnsLabel, kDnsLabelHint, 63));
  v.field(c.weight, F("weight", "Relative share of requests.").withDefault().positive());
  v.field(c.prompt, F("prompt", "What the prompts look like.").required());
  v.field(c.maxOutputTokens, F("maxOutputTokens", "max_tokens sent with each request.").required());
  v.field(c.stream, F("stream", "Request a streamed (SSE) response.").withDefault());
  v.field(c.temperature, F("temperature", "Sampling temperature.").nonNegative().max(2));
  v.field(c.ignoreEos, F("ignoreEos", "Ask the server to ignore end-of-sequence (where the API allows)."));
  v.field(c.conversation, F("conversation", "Multi-turn sessions."));
}
template <class V>
void describe(V& v, Cancellation& c) {
  v.field(c.fraction,
          F("fraction", "Share of requests the client aborts mid-stream.").required().min(0).max(1));
  v.field(c.afterTokens, F("afterTokens", "Abort after this many output tokens."));
  v.field(c.afterTime, F("afterTime", "Abort after this long."));
  v.oneOf({"afterTokens", "afterTime"});
}
template <class V>
void describe(V& v, Backoff& b) {
  v.field(b.initial, F("initial", "First backoff.").withDefault().positive());
  v.field(b.max, F("max", "Longest backoff.").withDefault().positive());
  v.field(b.multiplier, F("multiplier", "Growth factor per attempt.").withDefault().min(1));
  v.field(b.jitter, F("jitter", "Random spread as a fraction of the backoff.").withDefault().min(0).max(1));
}
template <class V>
void describe(V& v, Retry& r) {
  v.field(r.maxAttempts,
          F("maxAttempts", "Attempts per logical request, the first included.").withDefault().min(1).max(20));
  v.field(r.backoff, F("backoff", "Backoff between attempts."));
  v.field(r.retryOn, F("retryOn",
                       "Failures that are retried: 429, 4xx, 5xx, timeout, connect. (Not `on`: "
                       "YAML 1.1 readers such as kubectl turn that key into the boolean true.)")
                         .withDefault());
  v.field(r.respectRetryAfter,
          F("respectRetryAfter", "Wait as long as a retry-after header says.").withDefault());
}
template <class V>
void describe(V& v, Tokenizer& t) {
  v.field(t.type,
          F("type", "estimate (built-in estimator) or huggingface (a tokenizer.json).").withDefault());
  v.field(t.configMapRef, F("configMapRef", "ConfigMap key holding tokenizer.json."));
  v.field(t.file, F("file", "Local runs: tokenizer.json file."));
}
template <class V>
void describe(V& v, Workload& w) {
  v.field(w.classes, F("classes", "Request classes, chosen by weight.").required().items(1, 32));
  v.field(w.cancellation, F("cancellation", "Clients that abort mid-stream."));
  v.field(w.retry, F("retry", "Client retry behaviour (retry amplification is measured)."));
  v.field(w.tokenizer, F("tokenizer", "How tokens are counted where the server reports no usage."));
}

// ---- spec.load ----
template <class V>
void describe(V& v, Stage& s) {
  v.field(s.name, F("name", "Stage name, used in reports and thresholds. Default: stage-N.")
                      .matching(kDnsLabel, isDnsLabel, kDnsLabelHint, 63));
  v.field(s.duration, F("duration", "Length of the stage.").required().positive());
  v.field(s.rate, F("rate", "Open mode: requests per second reached at the end of the stage.")
                      .nonNegative()
                      .max(kMaxTarget));
  v.field(s.users, F("users", "Closed mode: virtual users reached at the end of the stage.")
                       .nonNegative()
                       .max(kMaxTarget));
  v.field(s.hold, F("hold", "Step to the target at the start of the stage instead of ramping linearly."));
}
template <class V>
void describe(V& v, BaselinePattern& p) {
  v.field(p.rate, F("rate", "Steady rate (or users).").required().positive().max(kMaxTarget));
  v.field(p.duration, F("duration", "Length.").required().positive());
}
template <class V>
void describe(V& v, SpikePattern& p) {
  v.field(p.base,
          F("base", "Rate (or users) before and after the spike.").required().nonNegative().max(kMaxTarget));
  v.field(p.peak, F("peak", "Rate at the peak.").positive().max(kMaxTarget));
  v.field(p.multiplier, F("multiplier", "Peak as a multiple of base.").positive());
  v.field(p.at, F("at", "When the spike starts.").required().positive());
  v.field(p.duration, F("duration", "How long the spike lasts.").required().positive());
  v.field(p.total, F("total", "Whole length of the test.").required().positive());
}
template <class V>
void describe(V& v, BurstPattern& p) {
  v.field(p.low, F("low", "Rate between bursts.").required().nonNegative().max(kMaxTarget));
  v.field(p.high, F("high", "Rate during a burst.").required().positive().max(kMaxTarget));
  v.field(p.period, F("period", "One low + burst cycle.").required().positive());
  v.field(p.count, F("count", "Number of cycles.").required().min(1).max(1000));
  v.field(p.highDuration,
          F("highDuration", "Burst length within a period. Default: half the period.").positive());
}
template <class V>
void describe(V& v, RampPattern& p) {
  v.field(p.from, F("from", "Starting rate.").required().nonNegative().max(kMaxTarget));
  v.field(p.to, F("to", "Final rate.").required().nonNegative().max(kMaxTarget));
  v.field(p.duration, F("duration", "Length of the ramp.").required().positive());
}
template <class V>
void describe(V& v, SoakPattern& p) {
  v.field(p.rate, F("rate", "Steady rate.").required().positive().max(kMaxTarget));
  v.field(p.duration, F("duration", "Length (typically hours).").required().positive());
}
template <class V>
void describe(V& v, SweepPattern& p) {
  v.field(p.from, F("from", "First step's rate.").required().positive().max(kMaxTarget));
  v.field(p.to, F("to", "Last step's rate.").required().positive().max(kMaxTarget));
  v.field(p.steps, F("steps", "Number of steps.").required().min(2).max(100));
  v.field(p.stepDuration, F("stepDuration", "Length of each step.").required().positive());
}
template <class V>
void describe(V& v, Pattern& p) {
  v.field(p.baseline, F("baseline", "A steady load to measure a reference."));
  v.field(p.spike, F("spike", "Base load, a sudden spike, then base load again."));
  v.field(p.burst, F("burst", "Repeated bursts over a low load."));
  v.field(p.ramp, F("ramp", "A linear ramp."));
  v.field(p.soak, F("soak", "A long steady load."));
  v.field(p.sweep, F("sweep",
                     "Rising steps; stops at the first step that breaks the thresholds and reports the "
                     "last good rate as capacity."));
  v.oneOf({"baseline", "spike", "burst", "ramp", "soak", "sweep"});
}
template <class V>
void describe(V& v, Load& l) {
  v.field(l.mode,
          F("mode", "open: requests arrive by the clock whatever the latency; closed: N virtual users.")
              .withDefault());
  v.field(l.arrival, F("arrival", "Open mode: poisson or constant inter-arrival times.").withDefault());
  v.field(l.stages,
          F("stages", "The load shape: each stage ramps linearly from the previous target to its own.")
              .items(0, 1000));
  v.field(l.pattern, F("pattern", "Shorthand that expands into stages."));
  v.field(l.maxInFlight, F("maxInFlight",
                           "Hard cap on concurrent requests per runner; arrivals beyond it are "
                           "dropped and counted.")
                             .withDefault()
                             .min(1)
                             .max(1'000'000));
  v.field(l.warmup, F("warmup", "Leading period whose samples are excluded from the summary.").nonNegative());
}

// ---- spec.probes ----
template <class V>
void describe(V& v, RateLimitProbe& p) {
  v.field(p.start, F("start", "Starting rate.").withDefault().positive().max(kMaxTarget));
  v.field(p.step, F("step", "Rate added per step.").withDefault().positive().max(kMaxTarget));
  v.field(p.stepDuration, F("stepDuration", "Length of each step.").withDefault().positive());
  v.field(
      p.until,
      F("until", "Stop at the first 429 or when the error rate passes errorRateThreshold.").withDefault());
  v.field(p.errorRateThreshold, F("errorRateThreshold", "Error rate that ends the probe (until: errorRate).")
                                    .withDefault()
                                    .min(0)
                                    .max(1));
}
template <class V>
void describe(V& v, WarmupStep& s) {
  v.field(s.rate,
          F("rate", "Rate stepped to after the idle period.").withDefault().positive().max(kMaxTarget));
  v.field(s.duration, F("duration", "How long the stepped load lasts.").withDefault().positive());
}
template <class V>
void describe(V& v, WarmupProbe& p) {
  v.field(
      p.idle,
      F("idle", "Idle time first, so that a scale-to-zero target goes cold.").withDefault().nonNegative());
  v.field(p.step, F("step", "The load step that follows."));
}
template <class V>
void describe(V& v, FailoverProbe& p) {
  v.field(p.outageAt, F("outageAt", "When the primary's outage begins.").required().nonNegative());
  v.field(p.outageDuration, F("outageDuration", "How long the outage lasts.").required().positive());
}
template <class V>
void describe(V& v, CacheProbe& p) {
  v.field(p.repeatFraction,
          F("repeatFraction", "Share of prompts that repeat an earlier prefix.").withDefault().min(0).max(1));
  v.field(p.compareWithout, F("compareWithout", "Also run without reuse, to compare latency."));
}
template <class V>
void describe(V& v, Probes& p) {
  v.field(p.rateLimit, F("rateLimit", "Ramp until throttled; report the limits found."));
  v.field(p.warmup, F("warmup", "Idle, then step the load; with scaleRef, measure cold start and scale-up."));
  v.field(p.failover, F("failover", "Measure failover during a primary outage."));
  v.field(p.cache, F("cache", "Measure prefix-cache hit rate and its effect on latency."));
}

// ---- spec.budget, spec.limits ----
template <class V>
void describe(V& v, Pricing& p) {
  v.field(p.input, F("input", "USD per 1M input tokens, as a decimal string.").required().nonNegative());
  v.field(p.output, F("output", "USD per 1M output tokens, as a decimal string.").required().nonNegative());
  v.field(p.cachedInput,
          F("cachedInput", "USD per 1M cached input tokens. Default: the input price.").nonNegative());
}
template <class V>
void describe(V& v, Budget& b) {
  v.field(b.maxCost, F("maxCost",
                       "Spend cap in USD, as a decimal string (\"40.00\"). The test is aborted "
                       "(reason BudgetExceeded) when reached.")
                         .nonNegative());
  v.field(b.maxInputTokens, F("maxInputTokens", "Cap on input tokens.").positive());
  v.field(b.maxOutputTokens, F("maxOutputTokens", "Cap on output tokens.").positive());
  v.field(b.pricing, F("pricing", "Prices per 1M tokens."));
  v.field(b.pricingRef, F("pricingRef",
                          "ConfigMap key holding the pricing (YAML with input, output, "
                          "cachedInput)."));
}
template <class V>
void describe(V& v, ErrorRateAbort& a) {
  v.field(a.threshold, F("threshold", "Error rate that aborts the test.").required().min(0).max(1));
  v.field(a.window, F("window", "Sliding window the rate is computed over.").withDefault().positive());
}
template <class V>
void describe(V& v, Limits& l) {
  v.field(l.maxDuration,
          F("maxDuration", "Hard deadline for the whole test (reason DeadlineExceeded).").positive());
  v.field(l.abortOnErrorRate, F("abortOnErrorRate", "Abort when the error rate stays above a threshold."));
}

// ---- spec.thresholds ----
template <class V>
void describe(V& v, Threshold& t) {
  v.field(t.metric, F("metric", "Metric the threshold applies to (docs/metrics.md).").required());
  v.field(t.stat, F("stat", "Statistic of a latency metric."));
  v.field(t.max, F("max", "Upper limit: a duration for latency metrics (\"800ms\"), else a number."));
  v.field(t.min, F("min", "Lower limit: a duration for latency metrics, else a number."));
  v.field(t.className, F("class", "Only this workload class."));
  v.field(t.stage, F("stage", "Only this stage."));
}

// ---- spec.runners ----
template <class V>
void describe(V& v, Toleration& t) {
  v.field(t.key, F("key", "Taint key."));
  v.field(t.op, F("operator", "Exists or Equal."));
  v.field(t.value, F("value", "Taint value."));
  v.field(t.effect, F("effect", "NoSchedule, PreferNoSchedule or NoExecute."));
  v.field(t.tolerationSeconds, F("tolerationSeconds", "For NoExecute: how long the pod stays bound."));
}
template <class V>
void describe(V& v, ResourceRequirements& r) {
  v.field(r.requests, F("requests", "Resource requests of each runner pod."));
  v.field(r.limits, F("limits", "Resource limits of each runner pod."));
}
template <class V>
void describe(V& v, EnvVar& e) {
  v.field(e.name, F("name", "Variable name.").required());
  v.field(e.value, F("value", "Value (not a secret: use valueFrom.secretKeyRef)."));
  v.field(e.valueFrom, F("valueFrom", "A Kubernetes EnvVarSource."));
}
template <class V>
void describe(V& v, Runners& r) {
  v.field(r.count, F("count", "Parallel runner pods (an Indexed Job). Load is split evenly.")
                       .withDefault()
                       .min(1)
                       .max(1000));
  v.field(r.image, F("image", "Runner image. Default: the operator's own image."));
  v.field(r.imagePullPolicy, F("imagePullPolicy", "Image pull policy of runner pods."));
  v.field(r.resources, F("resources", "Resources of each runner pod."));
  v.field(r.nodeSelector, F("nodeSelector",
                            "Node labels runner pods must match (e.g. a GPU or load-generator "
                            "node pool)."));
  v.field(r.tolerations, F("tolerations", "Tolerations of runner pods."));
  v.field(r.affinity, F("affinity", "A Kubernetes Affinity for runner pods."));
  v.field(r.priorityClassName, F("priorityClassName", "PriorityClass of runner pods."));
  v.field(r.serviceAccountName, F("serviceAccountName",
                                  "ServiceAccount of runner pods. Default: "
                                  "tokenstorm-runner."));
  v.field(r.env, F("env", "Extra environment variables of runner pods."));
}
template <class V>
void describe(V& v, ReportSpec& r) {
  v.field(r.interval, F("interval", "Progress snapshot period.").withDefault().positive());
  v.field(r.timeSeries, F("timeSeries", "Keep a time series in the full report.").withDefault());
}
template <class V>
void describe(V& v, LoadTestSpec& s) {
  v.field(s.target, F("target", "What is under test.").required());
  v.field(s.workload, F("workload", "What each request looks like.").required());
  v.field(s.load, F("load", "How much load, and when.").required());
  v.field(s.probes, F("probes", "Questions the test answers besides the load itself."));
  v.field(s.budget, F("budget", "Spend caps and pricing."));
  v.field(s.limits, F("limits", "Deadline and error-rate abort."));
  v.field(s.thresholds, F("thresholds", "Pass/fail criteria; all must hold for verdict Pass.").items(0, 100));
  v.field(s.runners, F("runners", "Where load comes from (ignored by `tokenstorm run`)."));
  v.field(s.report, F("report", "Progress and report options."));
  v.field(s.ttlSecondsAfterFinished, F("ttlSecondsAfterFinished",
                                       "Delete Jobs and snapshots (never the "
                                       "LoadTest) this long after completion.")
                                         .nonNegative());
  v.field(s.suspend, F("suspend", "Setting true on a running test aborts it, keeping the results so far."));
  v.field(s.runId, F("runId", "Bump to run the same LoadTest again."));
}

// ---- status ----
template <class V>
void describe(V& v, Condition& c) {
  v.field(c.type, F("type", "Condition type.").required());
  v.field(c.status, F("status", "True, False or Unknown.").required());
  v.field(c.reason, F("reason", "CamelCase reason."));
  v.field(c.message, F("message", "Human-readable detail."));
  v.field(c.lastTransitionTime, F("lastTransitionTime", "When the status last changed (RFC 3339)."));
  v.field(c.observedGeneration, F("observedGeneration", "Generation the condition was computed for."));
}
template <class V>
void describe(V& v, RunnersStatus& r) {
  v.field(r.desired, F("desired", "Runner pods wanted."));
  v.field(r.ready, F("ready", "Runner pods ready."));
  v.field(r.active, F("active", "Runner pods running."));
  v.field(r.succeeded, F("succeeded", "Runner pods finished."));
  v.field(r.failed, F("failed", "Runner pods failed."));
  v.field(r.startSkew, F("startSkew", "Spread of the runners' measured start instants."));
}
template <class V>
void describe(V& v, StageStatus& s) {
  v.field(s.index, F("index", "Index of the current stage."));
  v.field(s.name, F("name", "Name of the current stage."));
}
template <class V>
void describe(V& v, Percentiles& p) {
  v.field(p.p50, F("p50", "Median."));
  v.field(p.p90, F("p90", "90th percentile."));
  v.field(p.p95, F("p95", "95th percentile."));
  v.field(p.p99, F("p99", "99th percentile."));
  v.field(p.p999, F("p999", "99.9th percentile."));
  v.field(p.min, F("min", "Smallest value."));
  v.field(p.max, F("max", "Largest value."));
  v.field(p.mean, F("mean", "Mean."));
}
template <class V>
void describe(V& v, RequestCounts& r) {
  v.field(r.total, F("total", "Logical requests finished."));
  v.field(r.ok, F("ok", "Requests that succeeded."));
  v.field(r.failed, F("failed", "Requests that failed (after retries)."));
  v.field(r.cancelled, F("cancelled", "Requests the client cancelled on purpose (never errors)."));
}
template <class V>
void describe(V& v, ErrorCounts& e) {
  v.field(e.http429, F("http429", "429 Too Many Requests."));
  v.field(e.http4xx, F("http4xx", "Other 4xx."));
  v.field(e.http5xx, F("http5xx", "5xx."));
  v.field(e.timeout, F("timeout", "Timeouts."));
  v.field(e.connect, F("connect", "Connection failures."));
  v.field(e.tls, F("tls", "TLS failures."));
  v.field(e.streamError, F("streamError", "Error object inside a 200 stream, or a cut stream."));
  v.field(e.protocol, F("protocol", "Unparseable responses."));
}
template <class V>
void describe(V& v, CostSummary& c) {
  v.field(c.spentUsd, F("spentUsd", "Spent so far, USD."));
  v.field(c.budgetUsd, F("budgetUsd", "budget.maxCost, USD."));
  v.field(c.estimated,
          F("estimated", "True when some token counts were estimated, not reported by the server."));
}
template <class V>
void describe(V& v, ClientHealth& c) {
  v.field(c.schedLagMs, F("schedLagMs", "Scheduling lag (actual send - planned start), ms."));
  v.field(c.droppedArrivals, F("droppedArrivals", "Arrivals dropped by maxInFlight."));
}
template <class V>
void describe(V& v, Summary& s) {
  v.field(s.requests, F("requests", "Request counts."));
  v.field(s.requestsPerSecond, F("requestsPerSecond", "Completed requests per second."));
  v.field(s.inputTokensPerSecond, F("inputTokensPerSecond", "Input tokens per second."));
  v.field(s.outputTokensPerSecond, F("outputTokensPerSecond", "Output tokens per second."));
  v.field(s.goodputPerSecond, F("goodputPerSecond", "Requests meeting every latency threshold, per second."));
  v.field(s.ttftMs, F("ttftMs", "Time to first token (from send), ms."));
  v.field(s.ttftSchedMs, F("ttftSchedMs", "Time to first token from the planned start, ms."));
  v.field(s.ttfoMs, F("ttfoMs", "Time to first non-reasoning output, ms."));
  v.field(s.e2eMs, F("e2eMs", "End-to-end latency, ms."));
  v.field(s.tpotMs, F("tpotMs", "Time per output token after the first, ms."));
  v.field(s.itlMs, F("itlMs", "Inter-token latency, ms."));
  v.field(s.interChunkMs, F("interChunkMs", "Gaps between streamed chunks, ms."));
  v.field(s.errors, F("errors", "Errors by kind."));
  v.field(s.retries, F("retries", "Retry attempts."));
  v.field(s.cacheHitRate, F("cacheHitRate", "Cached prompt tokens / prompt tokens."));
  v.field(s.cost, F("cost", "Spend."));
  v.field(s.client, F("client", "Load generator health."));
}
template <class V>
void describe(V& v, StageSummary& s) {
  v.field(s.name, F("name", "Stage name."));
  v.field(s.startS, F("startS", "Stage start, seconds since the test start."));
  v.field(s.endS, F("endS", "Stage end, seconds since the test start."));
  v.field(s.summary, F("summary", "Summary of the stage."));
}
template <class V>
void describe(V& v, ThresholdResult& t) {
  v.field(t.metric, F("metric", "Metric."));
  v.field(t.stat, F("stat", "Statistic."));
  v.field(t.limit, F("limit", "The limit, e.g. \"max 800ms\"."));
  v.field(t.value, F("value", "Measured value (ms for latency metrics)."));
  v.field(t.passed, F("passed", "Whether the threshold held."));
  v.field(t.className, F("class", "Class the threshold applies to."));
  v.field(t.stage, F("stage", "Stage the threshold applies to."));
}
template <class V>
void describe(V& v, CapacityResult& c) {
  v.field(c.lastGoodRate, F("lastGoodRate", "Highest sweep rate that met every threshold."));
  v.field(c.firstFailingStage, F("firstFailingStage", "First sweep step that broke a threshold."));
}
template <class V>
void describe(V& v, RateLimitResult& r) {
  v.field(r.requestsPerMinuteAtFirst429, F("requestsPerMinuteAtFirst429", "Request rate at the first 429."));
  v.field(r.tokensPerMinuteAtFirst429, F("tokensPerMinuteAtFirst429", "Token rate at the first 429."));
  v.field(r.sustainedRequestsPerMinute, F("sustainedRequestsPerMinute", "Accepted requests per minute."));
  v.field(r.sustainedTokensPerMinute, F("sustainedTokensPerMinute", "Accepted tokens per minute."));
  v.field(r.headers, F("headers", "Rate-limit headers as last seen."));
  v.field(r.recoveryTime, F("recoveryTime", "Time to recover once load dropped."));
}
template <class V>
void describe(V& v, ReplicaPoint& p) {
  v.field(p.tS, F("tS", "Seconds since the test start."));
  v.field(p.replicas, F("replicas", "Desired replicas."));
  v.field(p.ready, F("ready", "Ready replicas."));
}
template <class V>
void describe(V& v, AutoscalingStep& s) {
  v.field(s.stage, F("stage", "Stage that steps the load up."));
  v.field(s.startS, F("startS", "Step start, seconds since the test start."));
  v.field(s.from, F("from", "Target (rate or users) before the step."));
  v.field(s.to, F("to", "Target at the step."));
  v.field(s.replicasBefore, F("replicasBefore", "Desired replicas at the step."));
  v.field(s.replicasMax, F("replicasMax", "Most desired replicas within the step."));
  v.field(s.timeToScaleDecision, F("timeToScaleDecision", "Step to the first rise of desired replicas."));
  v.field(s.timeToFirstReadyReplica,
          F("timeToFirstReadyReplica", "Step to the first rise of ready replicas."));
  v.field(s.timeToAllReady, F("timeToAllReady", "Step until ready replicas reach the most desired."));
  v.field(s.timeToP95Recovered, F("timeToP95Recovered",
                                  "Step until p95 TTFT is back under its threshold (or within 20% of the "
                                  "pre-step level) for 3 s."));
  v.field(s.warmupTtftP95, F("warmupTtftP95", "p95 TTFT from the step to the first new ready replica."));
  v.field(s.warmupRequests,
          F("warmupRequests", "Requests finished from the step to the first new ready replica."));
  v.field(s.warmupErrors, F("warmupErrors", "Failed requests from the step to the first new ready replica."));
}
template <class V>
void describe(V& v, AutoscalingResult& a) {
  v.field(a.coldStartTtft, F("coldStartTtft", "TTFT of the first request to a cold target."));
  v.field(a.coldStartTtftP50, F("coldStartTtftP50", "Median TTFT of the first 5 requests to a cold target."));
  v.field(a.timeToScaleDecision, F("timeToScaleDecision", "Load step to the autoscaler raising replicas."));
  v.field(a.timeToFirstReadyReplica,
          F("timeToFirstReadyReplica", "Load step to the first new ready replica."));
  v.field(a.timeToAllReady, F("timeToAllReady", "Load step until ready replicas reach the most desired."));
  v.field(a.timeToP95Recovered,
          F("timeToP95Recovered", "Load step until p95 TTFT is back under its threshold."));
  v.field(a.warmupTtftP95, F("warmupTtftP95", "p95 TTFT from the load step to the first new ready replica."));
  v.field(a.warmupRequests, F("warmupRequests", "Requests finished during the warm-up window."));
  v.field(a.warmupErrors, F("warmupErrors", "Failed requests during the warm-up window."));
  v.field(a.message, F("message", "Why replica-based numbers are absent (scaleRef not found, no RBAC)."));
  v.field(a.steps, F("steps", "Every load step, with the same numbers."));
  v.field(a.replicas, F("replicas", "Replica timeline."));
}
template <class V>
void describe(V& v, FailoverResult& f) {
  v.field(f.timeToFailover, F("timeToFailover", "Outage start to the first success on the next endpoint."));
  v.field(f.failbackTime, F("failbackTime", "Outage end to the first success on the primary again."));
  v.field(f.errorsDuringSwitch, F("errorsDuringSwitch", "Errors while switching."));
  v.field(f.servedShare, F("servedShare", "Share of requests served by each backend."));
}
template <class V>
void describe(V& v, CacheResult& c) {
  v.field(c.hitRate, F("hitRate", "Cached prompt tokens / prompt tokens."));
  v.field(c.ttftP95WithMs, F("ttftP95WithMs", "p95 TTFT with reuse, ms."));
  v.field(c.ttftP95WithoutMs, F("ttftP95WithoutMs", "p95 TTFT without reuse, ms."));
}
template <class V>
void describe(V& v, LoadTestStatus& s) {
  v.field(s.phase, F("phase", "Pending, Provisioning, WarmingUp, Running, Succeeded, Failed or Aborted."));
  v.field(s.observedGeneration, F("observedGeneration", "Generation of the spec the status describes."));
  v.field(s.runId, F("runId", "spec.runId of the run this status describes."));
  v.field(s.conditions, F("conditions",
                          "Ready, Reconciling, Stalled, Complete, BudgetExceeded, ThresholdsMet, "
                          "TargetWarm."));
  v.field(s.startTime, F("startTime", "When the runners started (RFC 3339)."));
  v.field(s.completionTime, F("completionTime", "When the test ended (RFC 3339)."));
  v.field(s.runners, F("runners", "Runner pods."));
  v.field(s.stage, F("stage", "Current stage."));
  v.field(s.summary, F("summary", "Results so far: the summary shape of report.json."));
  v.field(s.stages, F("stages", "Per-stage summaries."));
  v.field(s.thresholds, F("thresholds", "Each threshold with its value and whether it held."));
  v.field(s.verdict, F("verdict", "Pass or Fail."));
  v.field(s.capacity, F("capacity", "Sweep result."));
  v.field(s.rateLimit, F("rateLimit", "Rate-limit probe result."));
  v.field(s.autoscaling, F("autoscaling", "Warm-up / cold-start result."));
  v.field(s.failover, F("failover", "Failover probe result."));
  v.field(s.cache, F("cache", "Cache probe result."));
  v.field(s.reportRef, F("reportRef", "ConfigMap key holding the full report (report.json)."));
}

// ---- the object ----
template <class V>
void describe(V& v, ObjectMeta& m) {
  v.lenient();  // metadata read back from the API carries many server-set fields we do not model
  v.field(m.name, F("name", "Name."));
  v.field(m.generateName, F("generateName", "Name prefix."));
  v.field(m.ns, F("namespace", "Namespace."));
  v.field(m.labels, F("labels", "Labels."));
  v.field(m.annotations, F("annotations", "Annotations."));
  v.field(m.uid, F("uid", "UID."));
  v.field(m.resourceVersion, F("resourceVersion", "Resource version."));
  v.field(m.generation, F("generation", "Generation."));
  v.field(m.creationTimestamp, F("creationTimestamp", "Creation time."));
}
template <class V>
void describe(V& v, LoadTest& t) {
  v.field(t.apiVersion, F("apiVersion", "tokenstorm.dev/v1alpha1").required());
  v.field(t.kind, F("kind", "LoadTest").required());
  v.field(t.metadata, F("metadata", "Standard object metadata.").required());
  v.field(t.spec, F("spec", "The test.").required());
  v.field(t.status, F("status", "Written by the operator."));
}

}  // namespace tokenstorm::core
