// The watch stream decoder: data-driven cases (tests/data/kube/watch_stream/*.case), and a property test
// that every way of splitting one body into two reads gives the same events.
//
// Case input:   line 1    "# what the case checks"
//               "max N"   optional: the line length limit in bytes (default 16 MiB)
//               "> BYTES" one read, with escapes \n \r \t \\ \xHH (a line ">" alone is an empty read)
// Expected:     one line per event: "@READ line L TYPE rv RV OBJECT" (READ the 1-based read that completed
//               it, or "end" for finish(); OBJECT compact JSON), for ERROR "@READ line L ERROR code C
//               reason R message M" plus " gone" when it is a 410; then "end clean", or "error MESSAGE"
//               if a read or finish() failed.
#include "tokenstorm/kube/watch_stream.h"

#include <gtest/gtest.h>

#include <sstream>

#include "support/case_file.h"

namespace tokenstorm::kube {
namespace {

std::string describe(const WatchEvent& e) {
  std::string text = "line " + std::to_string(e.line) + " " + std::string(eventTypeName(e.type));
  if (e.type == WatchEventType::kError) {
    text += " code " + std::to_string(e.status.code) + " reason \"" + e.status.reason + "\" message \"" +
            e.status.message + "\"" + (e.status.gone() ? " gone" : "");
    return text;
  }
  return text + " rv \"" + e.resourceVersion + "\" " + e.object.dump();
}

std::vector<std::string> run(const std::string& input) {
  testing::ScriptedReads script = testing::parseReads(input);
  size_t max_bytes = script.maxBytes.value_or(WatchStreamDecoder::kDefaultMaxLineBytes);
  const std::vector<std::string>& reads = script.reads;
  std::vector<std::string> got;
  WatchStreamDecoder decoder(max_bytes);
  std::string error;
  for (size_t i = 0; i < reads.size() && error.empty(); ++i) {
    std::vector<WatchEvent> events;
    bool ok = decoder.feed(reads[i], &events, &error);
    for (const auto& e : events) {
      got.push_back("@" + std::to_string(i + 1) + " " + describe(e));
    }
    EXPECT_EQ(ok, error.empty());
  }
  if (!error.empty()) {
    EXPECT_TRUE(decoder.failed());
    std::vector<WatchEvent> events;
    std::string again;
    EXPECT_FALSE(decoder.feed("{}\n", &events, &again)) << "a failed decoder refuses later reads";
    EXPECT_EQ(again, error) << "a failed decoder repeats its error";
    EXPECT_TRUE(events.empty());
    got.push_back("error " + error);
    return got;
  }
  std::vector<WatchEvent> events;
  bool ok = decoder.finish(&events, &error);
  for (const auto& e : events) {
    got.push_back("@end " + describe(e));
  }
  got.push_back(ok ? "end clean" : "error " + error);
  return got;
}

TEST(WatchStreamCasesTest, EachBodyGivesExactlyItsEvents) {
  testing::checkCases("kube/watch_stream", run);
}

// --- Property: splitting does not matter ----------------------------------------------------------------

struct Seen {
  std::string type, rv, object;
  uint64_t line;
  int32_t code;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> decodeInReads(const std::string& body, const std::vector<size_t>& cuts) {
  WatchStreamDecoder decoder;
  std::vector<WatchEvent> events;
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    size_t to = i < cuts.size() ? cuts[i] : body.size();
    std::string error;
    EXPECT_TRUE(decoder.feed(std::string_view(body).substr(from, to - from), &events, &error)) << error;
    from = to;
  }
  std::string error;
  EXPECT_TRUE(decoder.finish(&events, &error)) << error;
  EXPECT_EQ(decoder.bytes(), body.size());
  std::vector<Seen> seen;
  for (const auto& e : events) {
    seen.push_back(
        {std::string(eventTypeName(e.type)), e.resourceVersion, e.object.dump(), e.line, e.status.code});
  }
  return seen;
}

TEST(WatchStreamPropertyTest, EverySplitIntoTwoReadsGivesTheSameEvents) {
  const std::string body =
      "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"10\"},\"n\":"
      "\"\xc3\xa9\"}}\n"
      "\r\n"
      "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"11\"}}}\r\n"
      "{ \"object\" : {\"metadata\":{\"resourceVersion\":\"12\"}}, \"type\" : \"BOOKMARK\" }\n"
      "\n"
      "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"13\"}}}\n"
      "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\","
      "\"message\":\"too old resource version: 1 (13)\"}}";  // the last line has no LF
  const std::vector<Seen> whole = decodeInReads(body, {});
  ASSERT_EQ(whole.size(), 5u);
  EXPECT_EQ(whole[0].rv, "10");
  EXPECT_EQ(whole[2].type, "BOOKMARK");
  EXPECT_EQ(whole[2].rv, "12");
  EXPECT_EQ(whole[3].line, 6u);
  EXPECT_EQ(whole[4].code, 410);
  for (size_t cut = 0; cut <= body.size(); ++cut) {
    ASSERT_EQ(decodeInReads(body, {cut}), whole) << "cut at " << cut;
  }
  // And byte by byte.
  std::vector<size_t> every;
  for (size_t i = 1; i < body.size(); ++i) {
    every.push_back(i);
  }
  EXPECT_EQ(decodeInReads(body, every), whole);
}

TEST(WatchStreamTest, LineLimitHoldsWithoutANewline) {
  WatchStreamDecoder decoder(8);
  std::vector<WatchEvent> events;
  std::string error;
  EXPECT_TRUE(decoder.feed("12345678", &events, &error));
  EXPECT_FALSE(decoder.feed("9", &events, &error));
  EXPECT_EQ(error, "line 1: longer than 8 bytes");
}

TEST(WatchStreamTest, StatusExtraction) {
  auto s =
      statusFromJson(nlohmann::json::parse(R"({"code":429,"reason":"TooManyRequests","message":"slow"})"));
  EXPECT_EQ(s, (ApiStatus{429, "TooManyRequests", "slow"}));
  EXPECT_FALSE(s.gone());
  EXPECT_TRUE(statusFromJson(nlohmann::json::parse(R"({"reason":"Expired"})")).gone());
  EXPECT_EQ(statusFromJson(nlohmann::json::parse(R"({"code":"x"})")).code, 0);
  EXPECT_EQ(statusFromJson(nlohmann::json::parse("[1]")).code, 0);
}

}  // namespace
}  // namespace tokenstorm::kube
