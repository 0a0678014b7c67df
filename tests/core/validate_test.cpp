#include "tokenstorm/core/validate.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/case_file.h"
#include "support/fixtures.h"
#include "tokenstorm/core/loadtest_io.h"

namespace tokenstorm::core {
namespace {

std::vector<std::string> allErrors(std::string_view text) {
  LoadResult r = parseLoadTests(text);
  for (const auto& t : r.tests) {
    validate(t, &r.errors);
  }
  std::vector<std::string> out;
  for (const auto& e : r.errors) {
    out.push_back(e.str());
  }
  return out;
}

// tests/data/validate/*.case: an invalid LoadTest and exactly the errors it must produce.
TEST(ValidateCasesTest, EachInvalidCaseFailsWithExactlyItsErrors) {
  for (const auto& c : testing::loadCases("validate")) {
    SCOPED_TRACE(c.path + " — " + c.title);
    std::vector<std::string> got = allErrors(c.input);
    std::vector<std::string> want = c.expected;
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_FALSE(want.empty()) << "a case must expect at least one error";
    EXPECT_EQ(got, want);
  }
}

TEST(ValidateTest, TheMinimalTestIsValid) {
  EXPECT_TRUE(allErrors(testing::kMinimalLoadTest).empty());
}

TEST(ValidateTest, ExternalTargetsNeedOptInAndBudget) {
  std::string text = testing::kMinimalLoadTest;
  text.replace(text.find("sim://"), 6, "https://api.openai.com");
  auto errors = allErrors(text);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].rfind("spec.target.allowExternal: must be true", 0), 0u);
  EXPECT_EQ(errors[1].rfind("spec.budget.maxCost: is required for an external target", 0), 0u);
}

TEST(ValidateTest, ClassifiesInternalAndExternalHosts) {
  for (const char* url : {"sim://", "http://vllm.ml-serving.svc:8000", "http://vllm", "http://localhost:8000",
                          "http://127.0.0.1:1", "http://10.1.2.3", "http://172.16.0.1",
                          "http://172.31.255.255", "http://192.168.1.1/v1", "http://[::1]:8000",
                          "http://[fd00::1]", "https://x.svc.cluster.local", "http://169.254.1.1"}) {
    EXPECT_TRUE(isInternalUrl(url)) << url;
  }
  for (const char* url :
       {"https://api.openai.com", "http://8.8.8.8", "http://172.32.0.1", "http://192.169.0.1",
        "https://api.anthropic.com/v1", "http://[2001:db8::1]", "http://svc.example.com", "not a url"}) {
    EXPECT_FALSE(isInternalUrl(url)) << url;
  }
}

TEST(ValidateTest, SplitsUrls) {
  UrlParts u;
  ASSERT_TRUE(splitUrl("https://user:pw@Host.Example:8443/v1?x=1", &u));
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.userinfo, "user:pw");
  EXPECT_EQ(u.host, "host.example");
  EXPECT_EQ(u.port, "8443");
  EXPECT_EQ(u.path, "/v1?x=1");
  EXPECT_FALSE(splitUrl("http://host:99999", &u));
  EXPECT_FALSE(splitUrl("http://host:8x", &u));
  EXPECT_FALSE(splitUrl("://host", &u));
  EXPECT_FALSE(splitUrl("http://", &u));
  EXPECT_TRUE(splitUrl("sim://", &u));
}

}  // namespace
}  // namespace tokenstorm::core
