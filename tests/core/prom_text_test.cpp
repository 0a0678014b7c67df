// The Prometheus text parser on real-shaped scrapes (vLLM, TGI, the simulator) and on hostile ones.
#include "tokenstorm/core/prom_text.h"

#include <gtest/gtest.h>

#include <cmath>

namespace tokenstorm::core {
namespace {

constexpr const char* kVllm =
    R"(# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="Qwen/Qwen3-0.6B"} 3.0
vllm:num_requests_running{engine="1",model_name="Qwen/Qwen3-0.6B"} 4.0
# HELP vllm:num_requests_waiting Number of requests waiting to be processed.
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen3-0.6B"} 12.0
# TYPE vllm:kv_cache_usage_perc gauge
vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen3-0.6B"} 0.25
# TYPE vllm:prompt_tokens_total counter
vllm:prompt_tokens_total{engine="0",model_name="Qwen/Qwen3-0.6B"} 1.234e+06
)";

TEST(PromTextTest, ReadsVllmAndSumsOverLabelSets) {
  auto p = parsePromText(kVllm);
  EXPECT_EQ(p.errorCount, 0) << (p.errors.empty() ? "" : p.errors[0]);
  ASSERT_EQ(p.samples.size(), 5u);
  EXPECT_EQ(p.samples[0].labels.size(), 2u);
  EXPECT_EQ(p.samples[0].labels[1].second, "Qwen/Qwen3-0.6B");
  auto sums = sumByName(p.samples, defaultServerMetricNames());
  EXPECT_EQ(sums.size(), 3u);  // the counter is not a default name
  EXPECT_EQ(sums["vllm:num_requests_running"], 7);
  EXPECT_EQ(sums["vllm:num_requests_waiting"], 12);
  EXPECT_EQ(sums["vllm:kv_cache_usage_perc"], 0.25);
  auto samples = serverMetricSamples(4.5, sums);
  ASSERT_EQ(samples.size(), 3u);
  EXPECT_EQ(samples[0], (ServerMetricSample{4.5, "vllm:kv_cache_usage_perc", 0.25}));
}

TEST(PromTextTest, ReadsTgiWithoutLabelsAndTimestamps) {
  auto p = parsePromText("tgi_queue_size 5\ntgi_batch_current_size 32 1700000000000\r\n\n   \n");
  EXPECT_EQ(p.errorCount, 0);
  ASSERT_EQ(p.samples.size(), 2u);
  EXPECT_EQ(p.samples[1].timestampMs, 1700000000000);
  auto sums = sumByName(p.samples, defaultServerMetricNames());
  EXPECT_EQ(sums["tgi_queue_size"], 5);
  EXPECT_EQ(sums["tgi_batch_current_size"], 32);
}

TEST(PromTextTest, SimulatorGaugesBecomeAReplicaSample) {
  auto p = parsePromText("tokenstorm_sim_replicas 3\ntokenstorm_sim_replicas_ready 2\n");
  auto s = simReplicaSample(7, sumByName(p.samples, defaultServerMetricNames()));
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, (ReplicaSample{7, 3, std::nullopt, 2, std::nullopt}));
  EXPECT_FALSE(simReplicaSample(7, {}));
  EXPECT_FALSE(simReplicaSample(7, {{kSimReplicas, -1.0}}));
  EXPECT_FALSE(simReplicaSample(7, {{kSimReplicas, std::nan("")}}));
}

TEST(PromTextTest, LabelValuesKeepEscapesAndCommasAndBraces) {
  auto p = parsePromText(R"(m{a="x\"y",b="c,d}e",c="l1\nl2",d="back\\slash",} 1)");
  ASSERT_EQ(p.errorCount, 0) << p.errors[0];
  ASSERT_EQ(p.samples[0].labels.size(), 4u);
  EXPECT_EQ(p.samples[0].labels[0].second, "x\"y");
  EXPECT_EQ(p.samples[0].labels[1].second, "c,d}e");
  EXPECT_EQ(p.samples[0].labels[2].second, "l1\nl2");
  EXPECT_EQ(p.samples[0].labels[3].second, "back\\slash");
}

TEST(PromTextTest, NanAndInfParseButStayOutOfSums) {
  auto p = parsePromText("tgi_queue_size NaN\ntgi_queue_size +Inf\ntgi_queue_size -Inf\ntgi_queue_size 2\n");
  EXPECT_EQ(p.errorCount, 0);
  ASSERT_EQ(p.samples.size(), 4u);
  EXPECT_TRUE(std::isnan(p.samples[0].value));
  EXPECT_TRUE(std::isinf(p.samples[1].value));
  EXPECT_EQ(sumByName(p.samples, {"tgi_queue_size"})["tgi_queue_size"], 2);
}

TEST(PromTextTest, BadLinesAreSkippedWithTheLineNamed) {
  auto p = parsePromText(
      "good 1\n"
      "bad_number abc\n"
      "unterminated{a=\"x} 1\n"
      "no_value\n"
      "{a=\"b\"} 1\n"
      "lower_inf inf\n"
      "trailing 1 2 3\n"
      "bad_ts 1 12.5\n"
      "label{1a=\"x\"} 1\n"
      "nolabelend{a=\"x\" 1\n"
      "hex 0x10\n"
      "also_good{a=\"1\"} -2.5e-3\n");
  ASSERT_EQ(p.samples.size(), 2u);
  EXPECT_EQ(p.samples[1].value, -2.5e-3);
  EXPECT_EQ(p.errorCount, 10);
  ASSERT_EQ(p.errors.size(), 10u);
  EXPECT_EQ(p.errors[0], "line 2: metric bad_number: value \"abc\" is not a number");
  EXPECT_EQ(p.errors[1], "line 3: metric unterminated: label a: unterminated label value");
  EXPECT_EQ(p.errors[2], "line 4: metric no_value: no value");
  EXPECT_EQ(p.errors[3], "line 5: expected a metric name at \"{a=\"b\"} 1\"");
  EXPECT_EQ(p.errors[4], "line 6: metric lower_inf: value \"inf\" is not a number");
  EXPECT_EQ(p.errors[5], "line 7: metric trailing: unexpected \"3\"");
  EXPECT_EQ(p.errors[6], "line 8: metric bad_ts: timestamp \"12.5\" is not an integer");
  EXPECT_EQ(p.errors[7], "line 9: metric label: bad label name at \"1a=\"x\"} 1\"");
  EXPECT_EQ(p.errors[8], "line 10: metric nolabelend: label a: expected , or } after its value");
  EXPECT_EQ(p.errors[9], "line 11: metric hex: value \"0x10\" is not a number");
}

TEST(PromTextTest, SizesAreBounded) {
  PromLimits limits;
  limits.maxLineBytes = 100;
  limits.maxSamples = 3;
  limits.maxErrors = 2;
  limits.maxLabels = 2;
  std::string body =
      "a 1\n" + std::string(500, 'x') + " 1\nb{x=\"1\",y=\"2\",z=\"3\"} 1\nc 1\nd 1\ne 1\nf 1\n";
  auto p = parsePromText(body, limits);
  ASSERT_EQ(p.samples.size(), 3u);  // a, c, d
  EXPECT_EQ(p.samples[2].name, "d");
  EXPECT_EQ(p.errorCount, 3);  // the long line, the labels, the sample limit
  ASSERT_EQ(p.errors.size(), 2u);
  EXPECT_EQ(p.errors[0], "line 2: line of 502 bytes exceeds 100");

  limits = PromLimits{};
  limits.maxBodyBytes = 8;
  p = parsePromText("a 1\nb 2\nc 3\n", limits);
  EXPECT_EQ(p.samples.size(), 2u);
  EXPECT_EQ(p.errorCount, 1);
}

TEST(PromTextTest, BinaryGarbageNeverCrashes) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 20000; ++i) {
    x = x * 1103515245 + 12345;
    garbage += static_cast<char>(x >> 24);
  }
  auto p = parsePromText(garbage);
  EXPECT_GT(p.errorCount, 0);
  EXPECT_LE(p.errors.size(), PromLimits{}.maxErrors);
  EXPECT_TRUE(parsePromText("").samples.empty());
  EXPECT_TRUE(parsePromText("m{").samples.empty());
  EXPECT_TRUE(parsePromText("m{a=\"\\").samples.empty());
  auto open = parsePromText("m{a=\"x\"");
  ASSERT_EQ(open.errors.size(), 1u);
  EXPECT_EQ(open.errors[0], "line 1: metric m: unterminated label set");
}

}  // namespace
}  // namespace tokenstorm::core
