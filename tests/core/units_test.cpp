#include "tokenstorm/core/units.h"

#include <gtest/gtest.h>

namespace tokenstorm::core {
namespace {

int64_t nanos(std::string_view text) {
  auto d = Duration::parse(text);
  EXPECT_TRUE(d.has_value()) << text;
  return d ? d->nanos : -1;
}

std::string durationError(std::string_view text) {
  std::string why;
  EXPECT_FALSE(Duration::parse(text, &why).has_value()) << text;
  return why;
}

TEST(DurationTest, ParsesGoStyleDurations) {
  EXPECT_EQ(nanos("500ms"), 500'000'000);
  EXPECT_EQ(nanos("2m"), 120'000'000'000);
  EXPECT_EQ(nanos("1h30m"), 5'400'000'000'000);
  EXPECT_EQ(nanos("1.5s"), 1'500'000'000);
  EXPECT_EQ(nanos(".5s"), 500'000'000);
  EXPECT_EQ(nanos("250us"), 250'000);
  EXPECT_EQ(nanos("250\xC2\xB5s"), 250'000);
  EXPECT_EQ(nanos("7ns"), 7);
  EXPECT_EQ(nanos("0"), 0);
  EXPECT_EQ(nanos("-5s"), -5'000'000'000);
  EXPECT_EQ(nanos("1h0m0.001s"), 3'600'001'000'000);
}

TEST(DurationTest, RejectsMalformedText) {
  EXPECT_NE(durationError("").find("empty"), std::string::npos);
  EXPECT_NE(durationError("5").find("unit is missing"), std::string::npos);
  EXPECT_NE(durationError("5d").find("unknown unit \"d\""), std::string::npos);
  EXPECT_NE(durationError("s").find("needs a number"), std::string::npos);
  EXPECT_NE(durationError("1.2.3s").find("unit is missing"), std::string::npos);
  EXPECT_EQ(Duration::fromSeconds(INT64_MAX / 1'000'000'000) + Duration::fromSeconds(10),
            Duration{INT64_MAX});
  EXPECT_NE(durationError("99999999999999999999h").find("too large"), std::string::npos);
  EXPECT_NE(durationError("3000000h").find("too large"), std::string::npos);
}

TEST(DurationTest, FormatsCanonically) {
  EXPECT_EQ(Duration::fromSeconds(90).str(), "1m30s");
  EXPECT_EQ(Duration::fromMillis(1500).str(), "1.5s");
  EXPECT_EQ(Duration::fromMillis(250).str(), "250ms");
  EXPECT_EQ(Duration::fromSeconds(5400).str(), "1h30m");
  EXPECT_EQ(Duration{}.str(), "0s");
  EXPECT_EQ(Duration::fromNanos(1500).str(), "1500ns");
  EXPECT_EQ(Duration::fromSeconds(-5).str(), "-5s");
  for (const char* text : {"1h30m", "1.5s", "250ms", "2m", "1h0m0.001s", "45us"}) {
    Duration d = *Duration::parse(text);
    EXPECT_EQ(Duration::parse(d.str())->nanos, d.nanos) << text << " -> " << d.str();
  }
}

TEST(DecimalTest, ParsesExactly) {
  EXPECT_EQ(Decimal::parse("40.00")->nanos, 40'000'000'000);
  EXPECT_EQ(Decimal::parse("0.2")->nanos, 200'000'000);
  EXPECT_EQ(Decimal::parse("0.000000001")->nanos, 1);
  EXPECT_EQ(Decimal::parse("7")->nanos, 7'000'000'000);
  std::string why;
  EXPECT_FALSE(Decimal::parse("0.0000000001", &why));
  EXPECT_NE(why.find("9 decimal places"), std::string::npos);
  EXPECT_FALSE(Decimal::parse("1e3"));
  EXPECT_FALSE(Decimal::parse("12."));
  EXPECT_FALSE(Decimal::parse(".5"));
  EXPECT_FALSE(Decimal::parse("$5"));
  EXPECT_FALSE(Decimal::parse("99999999999"));
}

TEST(DecimalTest, FormatsMoney) {
  EXPECT_EQ(Decimal::parse("40")->money(), "40.00");
  EXPECT_EQ(Decimal::parse("0.125")->money(), "0.125");
  EXPECT_EQ(Decimal::parse("3.5")->money(), "3.50");
  EXPECT_EQ(Decimal::parse("0.000001")->str(), "0.000001");
}

TEST(DecimalTest, CostOfTokensIsExactAndRoundsHalfUp) {
  Decimal price = *Decimal::parse("0.60");  // per 1M tokens
  EXPECT_EQ(costOfTokens(1'000'000, price), price);
  EXPECT_EQ(costOfTokens(1, price).nanos, 600);  // 0.6e-6 USD = 600 nano-USD
  // 0.15 per 1M: one token costs 150 nano-USD; 3 tokens at 0.0000005/1M is 0.0000015 nano → rounds to 0.
  EXPECT_EQ(costOfTokens(3, *Decimal::parse("0.0000005")).nanos, 0);
  EXPECT_EQ(costOfTokens(1, *Decimal::parse("0.0005")).nanos, 1);  // exactly half a nano rounds up
  // Summing per-request costs equals the cost of the summed tokens when each is a whole nano-unit.
  Decimal sum;
  for (int i = 0; i < 1000; ++i) {
    sum = sum + costOfTokens(1000, price);
  }
  EXPECT_EQ(sum, costOfTokens(1'000'000, price));
  EXPECT_EQ(costOfTokens(UINT64_MAX, *Decimal::parse("1000000")).nanos, INT64_MAX);  // saturates
}

TEST(QuantityTest, AcceptsKubernetesQuantities) {
  for (const char* q : {"2", "500m", "1Gi", "1.5", "128Mi", "1e3", "2E", "0.5Ki"}) {
    EXPECT_TRUE(Quantity::parse(q).has_value()) << q;
  }
  for (const char* q : {"", "Gi", "1GB", "1.2.3", "abc", "1 Gi"}) {
    EXPECT_FALSE(Quantity::parse(q).has_value()) << q;
  }
}

}  // namespace
}  // namespace tokenstorm::core
