// The SSE parser: data-driven cases (tests/data/runner/sse/*.case), and a property test that every way of
// splitting one stream into reads gives the same events, stamped by the first-byte rule.
//
// Case input:   line 1    "# what the case checks"
//               "max N"   optional: the event size limit in bytes (default 1 MiB)
//               "> BYTES" one read, with escapes \n \r \t \0 \\ \xHH (a line ">" alone is an empty read);
//                         read k is stamped with time k
// Expected:     one line per event: "@READ TYPE DATA" (TYPE "message" when the stream named none; DATA
//               quoted with the same escapes) and " id ID" when the event has one; then "comments N"; then
//               "end clean" or "end cut" (what finish() said), or "error MESSAGE" if a read failed.
#include "tokenstorm/runner/sse.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <vector>

#include "support/case_file.h"

namespace tokenstorm::runner {
namespace {

std::string escape(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (c < 0x20 || c >= 0x7F) {
          char hex[5];
          std::snprintf(hex, sizeof hex, "\\x%02x", c);
          out += hex;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

std::vector<std::string> run(const std::string& input) {
  testing::ScriptedReads script = testing::parseReads(input);
  size_t max_bytes = script.maxBytes.value_or(1 << 20);
  const std::vector<std::string>& reads = script.reads;
  std::vector<std::string> got;
  SseParser parser(
      [&](SseEvent& e) {
        std::string text = "@" + std::to_string(e.at) + " " + (e.event.empty() ? "message" : e.event) +
                           " \"" + escape(e.data) + "\"";
        if (!e.id.empty()) {
          text += " id \"" + escape(e.id) + "\"";
        }
        got.push_back(text);
      },
      max_bytes);
  std::string error;
  bool failed = false;
  size_t total = 0;  // bytes fed up to the failing read: later reads are ignored, not counted
  for (size_t i = 0; i < reads.size(); ++i) {
    total += failed ? 0 : reads[i].size();
    std::string again;
    bool ok = parser.feed(reads[i], static_cast<core::MonoNanos>(i + 1), failed ? &again : &error);
    if (failed) {
      EXPECT_FALSE(ok) << "a failed parser must refuse later reads";
      EXPECT_EQ(again, error) << "a failed parser repeats its error";
    }
    failed = failed || !ok;
  }
  got.push_back("comments " + std::to_string(parser.comments()));
  bool cut = parser.finish();
  if (failed) {
    EXPECT_FALSE(cut) << "after an error, finish() has nothing pending";
    got.push_back("error " + error);
  } else {
    got.push_back(cut ? "end cut" : "end clean");
  }
  EXPECT_EQ(parser.bytes(), total);
  return got;
}

TEST(SseCasesTest, EachStreamGivesExactlyItsEvents) {
  testing::checkCases("runner/sse", run);
}

// --- Property: splitting does not matter, and stamps follow the first byte ----------------------------

struct Piece {
  std::string bytes;
  bool startsEvent;  // this line is the first line of an event that is dispatched
};

// Every rule at once: BOM, comments (alone and inside an event), CRLF, lone CR, LF, a field without a space,
// two spaces, an ignored retry, an event with no data, `data` without a colon, an id that carries over.
const std::vector<Piece>& pieces() {
  static const std::vector<Piece> p = {
      {"\xEF\xBB\xBF", false},  {": keepalive\r\n", false},
      {"\r\n", false},          {"event: a\r\n", true},
      {"data: one\r\n", false}, {"data:two\r\n", false},
      {"\r\n", false},          {": c\n", false},
      {"id: 7\n", true},        {"data:  three\n", false},
      {"retry: 10\n", false},   {"\n", false},
      {"data: four\r", true},   {"\r", false},
      {"event: x\n", false},    {"\n", false},
      {"data\n", true},         {"\n", false},
      {"data: five\r\n", true}, {"\r\n", false},
  };
  return p;
}

struct Seen {
  std::string event, data, id;
  core::MonoNanos at;
  bool operator==(const Seen&) const = default;
};

std::vector<Seen> parseInReads(const std::string& stream, const std::vector<size_t>& cuts) {
  std::vector<Seen> seen;
  SseParser parser([&](SseEvent& e) { seen.push_back({e.event, e.data, e.id, e.at}); });
  size_t from = 0;
  for (size_t i = 0; i <= cuts.size(); ++i) {
    size_t to = i < cuts.size() ? cuts[i] : stream.size();
    std::string error;
    EXPECT_TRUE(parser.feed(std::string_view(stream).substr(from, to - from),
                            static_cast<core::MonoNanos>(i + 1), &error))
        << error;
    from = to;
  }
  EXPECT_FALSE(parser.finish());
  return seen;
}

TEST(SsePropertyTest, EverySplitIntoTwoOrThreeReadsGivesTheSameEventsStampedByTheirFirstByte) {
  std::string stream;
  std::vector<size_t> first_bytes;
  for (const auto& piece : pieces()) {
    if (piece.startsEvent) {
      first_bytes.push_back(stream.size());
    }
    stream += piece.bytes;
  }
  const std::vector<Seen> whole = parseInReads(stream, {});
  const std::vector<Seen> expected_fields = {
      {"a", "one\ntwo", "", 1}, {"", " three", "7", 1}, {"", "four", "7", 1},
      {"", "", "7", 1},         {"", "five", "7", 1},
  };
  ASSERT_EQ(whole, expected_fields);
  ASSERT_EQ(first_bytes.size(), whole.size());

  // The read (1-based) holding byte `offset`, given the cut points.
  auto readOf = [](size_t offset, const std::vector<size_t>& cuts) {
    core::MonoNanos read = 1;
    for (size_t cut : cuts) {
      read += offset >= cut ? 1 : 0;
    }
    return read;
  };
  auto expectFor = [&](const std::vector<size_t>& cuts) {
    std::vector<Seen> want = whole;
    for (size_t e = 0; e < want.size(); ++e) {
      want[e].at = readOf(first_bytes[e], cuts);
    }
    return want;
  };
  size_t checked = 0;
  for (size_t i = 0; i <= stream.size(); ++i) {
    std::vector<size_t> two = {i};
    ASSERT_EQ(parseInReads(stream, two), expectFor(two)) << "split at " << i;
    for (size_t j = i; j <= stream.size(); ++j) {
      std::vector<size_t> three = {i, j};
      ASSERT_EQ(parseInReads(stream, three), expectFor(three)) << "split at " << i << ", " << j;
      ++checked;
    }
  }
  EXPECT_GT(checked, stream.size() * stream.size() / 2);

  // One byte per read, read k at time k: each event is stamped with exactly its first byte's position.
  std::vector<size_t> every;
  for (size_t i = 1; i < stream.size(); ++i) {
    every.push_back(i);
  }
  std::vector<Seen> bytewise = parseInReads(stream, every);
  ASSERT_EQ(bytewise.size(), first_bytes.size());
  for (size_t e = 0; e < bytewise.size(); ++e) {
    EXPECT_EQ(bytewise[e].at, static_cast<core::MonoNanos>(first_bytes[e] + 1)) << "event " << e;
  }
}

TEST(SsePropertyTest, FinishReportsACutExactlyWhenTheStreamStopsInsideAnEvent) {
  // Nothing is lost at 0, after each blank line (9, 17, 35), or after the whole comment line (16): a comment
  // is not an event. Anywhere else the stream stops inside an event or a line, and is cut.
  const std::string stream = "data: a\n\n: ping\n\nevent: e\ndata: b\n\n";
  for (size_t n = 0; n <= stream.size(); ++n) {
    SseParser parser([](SseEvent&) {});
    std::string error;
    ASSERT_TRUE(parser.feed(std::string_view(stream).substr(0, n), 1, &error));
    bool boundary = n == 0 || n == 9 || n == 16 || n == 17 || n == stream.size();
    EXPECT_EQ(parser.finish(), !boundary) << "prefix of " << n << " bytes";
  }
}

TEST(SseParserTest, AcceptsANullErrorPointerAndKeepsFailing) {
  int events = 0;
  SseParser parser([&](SseEvent&) { ++events; });
  EXPECT_FALSE(parser.feed(std::string_view("data: a\n\ndata: \0\n\n", 19), 1, nullptr));
  EXPECT_EQ(events, 1);
  std::string error;
  EXPECT_FALSE(parser.feed("data: b\n\n", 2, &error));
  EXPECT_EQ(error, "sse: NUL byte at byte offset 15");
  EXPECT_EQ(events, 1);
}

TEST(SseParserTest, TheHandlerMayTakeTheDataAndTheParserStillWorks) {
  std::vector<std::string> taken;
  SseParser parser([&](SseEvent& e) { taken.push_back(std::move(e.data)); });
  std::string error;
  ASSERT_TRUE(parser.feed("data: first\n\ndata: second\ndata: line\n\n", 1, &error));
  EXPECT_EQ(taken, (std::vector<std::string>{"first", "second\nline"}));
}

TEST(SseParserTest, ALongStreamOfLoneCrLinesIsNotQuadratic) {
  // 200,000 CR-terminated lines in one read: a parser that rescans the read for LF per line would take
  // minutes here; the test's timeout catches it.
  std::string stream;
  for (int i = 0; i < 100000; ++i) {
    stream += "data: x\r\r";
  }
  int events = 0;
  SseParser parser([&](SseEvent&) { ++events; });
  std::string error;
  ASSERT_TRUE(parser.feed(stream, 1, &error));
  EXPECT_EQ(events, 100000);
}

}  // namespace
}  // namespace tokenstorm::runner
