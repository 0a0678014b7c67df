// Every file in examples/ is a valid LoadTest: users copy them.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/case_file.h"
#include "tokenstorm/core/loadtest_io.h"
#include "tokenstorm/core/validate.h"

namespace tokenstorm::core {
namespace {

TEST(ExamplesTest, AllExamplesValidate) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(testing::sourcePath("examples"))) {
    if (entry.path().extension() != ".yaml") {
      continue;
    }
    SCOPED_TRACE(entry.path().string());
    LoadResult r = parseLoadTests(testing::readFile(entry.path().string()));
    ASSERT_EQ(r.tests.size(), 1u);
    validate(r.tests[0], &r.errors);
    for (const auto& e : r.errors) {
      ADD_FAILURE() << e.str(entry.path().string());
    }
    names.push_back(entry.path().stem().string());
  }
  // The catalogue promised in the docs.
  for (const char* want :
       {"quickstart", "baseline", "spike", "burst", "soak", "sweep", "rate-limit-probe", "warmup-probe",
        "failover", "cache", "budget-capped-external", "ci-gate", "gpu-node-pool"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), want), names.end())
        << "missing examples/" << want << ".yaml";
  }
}

// The Argo CD health check's fixtures are LoadTests with a status as the operator writes it: they must
// decode with the real model, or the fixtures test a status shape that does not exist.
TEST(ExamplesTest, HealthCheckFixturesAreRealLoadTests) {
  namespace fs = std::filesystem;
  int count = 0;
  for (const auto& entry : fs::directory_iterator(testing::sourcePath("charts/tokenstorm/testdata"))) {
    SCOPED_TRACE(entry.path().string());
    const std::string text = testing::readFile(entry.path().string());
    LoadResult r = parseLoadTests(text);
    if (text.find("reason: InvalidSpec") != std::string::npos) {
      // The operator's record of a spec it refused: the validator must refuse it too, for the reason
      // the status gives.
      ASSERT_FALSE(r.errors.empty());
      ASSERT_FALSE(r.errors.front().path.empty());
      EXPECT_NE(text.find(r.errors.front().path), std::string::npos) << r.errors.front().str();
      ++count;
      continue;
    }
    ASSERT_EQ(r.tests.size(), 1u);
    validate(r.tests[0], &r.errors);
    for (const auto& e : r.errors) {
      ADD_FAILURE() << e.str(entry.path().string());
    }
    ++count;
  }
  EXPECT_GE(count, 5);
}

}  // namespace
}  // namespace tokenstorm::core
