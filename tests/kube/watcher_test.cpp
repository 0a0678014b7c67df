// The watch state machine: scenarios as data (tests/data/kube/watcher/*.case), inputs in, actions out.
//
// Case input:   line 1                  "# what the case checks"
//               "limit N"               optional: the page limit (default 500)
//               "jitter X"              optional: the constant random number in [0, 1) (default 0: no jitter)
//               "MS INPUT"              an input at time MS (milliseconds), one of
//                   start | timer | closed
//                   page rv=RV [continue=TOKEN] [items=NAME@RV,...]
//                   list-failed code=C [retry-after=MS]
//                   failed code=C [retry-after=MS]        (the watch failed; code 0: network drop)
//                   event ADDED|MODIFIED|DELETED NAME@RV | event BOOKMARK @RV | event ERROR CODE
// Expected:     for each input, its actions in order as "@MS ACTION" (or "@MS none"):
//                   list limit=N [continue=TOKEN] | watch rv=RV bookmarks | wait until=MS
//                   replace NAME@RV,... | upsert NAME@RV | delete NAME@RV
//               then "state STATE rv=RV failures=N".
#include "tokenstorm/kube/watcher.h"

#include <gtest/gtest.h>

#include <sstream>

#include "support/case_file.h"

namespace tokenstorm::kube {
namespace {

constexpr core::MonoNanos kMs = 1'000'000;

nlohmann::json objectOf(const std::string& name_at_rv) {
  size_t at = name_at_rv.find('@');
  nlohmann::json meta = nlohmann::json::object();
  if (at != 0) {
    meta["name"] = name_at_rv.substr(0, at);
  }
  if (at != std::string::npos) {
    meta["resourceVersion"] = name_at_rv.substr(at + 1);
  }
  return {{"metadata", meta}};
}

std::string nameOf(const nlohmann::json& object) {
  const auto& meta = object.at("metadata");
  return meta.value("name", "") + "@" + meta.value("resourceVersion", "");
}

std::string describe(const WatcherAction& action) {
  if (const auto* l = std::get_if<StartList>(&action)) {
    return "list limit=" + std::to_string(l->limit) +
           (l->continueToken.empty() ? "" : " continue=" + l->continueToken);
  }
  if (const auto* w = std::get_if<StartWatch>(&action)) {
    return "watch rv=" + w->resourceVersion + (w->allowWatchBookmarks ? " bookmarks" : "");
  }
  if (const auto* u = std::get_if<WaitUntil>(&action)) {
    // Milliseconds, with the remainder shown when there is one (jitter).
    std::string text = "wait until=" + std::to_string(u->at / kMs);
    return u->at % kMs == 0 ? text : text + "+" + std::to_string(u->at % kMs) + "ns";
  }
  if (const auto* r = std::get_if<ReplaceAll>(&action)) {
    std::string text = "replace";
    for (size_t i = 0; i < r->objects.size(); ++i) {
      text += (i == 0 ? " " : ",") + nameOf(r->objects[i]);
    }
    return text;
  }
  if (const auto* up = std::get_if<Upsert>(&action)) {
    return "upsert " + nameOf(up->object);
  }
  return "delete " + nameOf(std::get<Delete>(action).object);
}

// "key=value" words after the input's name.
std::map<std::string, std::string> argsOf(std::istringstream& words) {
  std::map<std::string, std::string> args;
  for (std::string w; words >> w;) {
    size_t eq = w.find('=');
    args[w.substr(0, eq)] = eq == std::string::npos ? "" : w.substr(eq + 1);
  }
  return args;
}

RequestFailure failureOf(std::map<std::string, std::string>& args) {
  RequestFailure f;
  f.code = std::stoi(args["code"]);
  f.retry_after_ns = args.count("retry-after") != 0 ? std::stoll(args["retry-after"]) * kMs : 0;
  return f;
}

std::vector<std::string> run(const std::string& input) {
  std::istringstream in(input);
  std::string line;
  std::getline(in, line);  // title
  WatcherOptions options;
  double jitter = 0;
  std::vector<std::string> steps;
  while (std::getline(in, line)) {
    if (line.rfind("limit ", 0) == 0) {
      options.page_limit = std::stoll(line.substr(6));
    } else if (line.rfind("jitter ", 0) == 0) {
      jitter = std::stod(line.substr(7));
    } else if (!line.empty()) {
      steps.push_back(line);
    }
  }
  Watcher watcher(options, [jitter] { return jitter; });
  std::vector<std::string> got;
  for (const auto& step : steps) {
    std::istringstream words(step);
    int64_t ms = 0;
    std::string what;
    words >> ms >> what;
    core::MonoNanos now = ms * kMs;
    WatcherActions actions;
    if (what == "start") {
      actions = watcher.start(now);
    } else if (what == "timer") {
      actions = watcher.onTimer(now);
    } else if (what == "closed") {
      actions = watcher.onWatchClosed(now);
    } else if (what == "page") {
      auto args = argsOf(words);
      std::vector<nlohmann::json> items;
      std::istringstream list(args["items"]);
      for (std::string item; std::getline(list, item, ',');) {
        items.push_back(objectOf(item));
      }
      actions = watcher.onListPage(std::move(items), args["rv"], args["continue"], now);
    } else if (what == "list-failed") {
      auto args = argsOf(words);
      actions = watcher.onListFailed(failureOf(args), now);
    } else if (what == "failed") {
      auto args = argsOf(words);
      actions = watcher.onWatchFailed(failureOf(args), now);
    } else if (what == "event") {
      std::string type, arg;
      words >> type >> arg;
      WatchEvent e;
      if (type == "ERROR") {
        e.type = WatchEventType::kError;
        e.status.code = std::stoi(arg);
        e.object = {{"kind", "Status"}, {"code", e.status.code}};
      } else {
        e.type = type == "ADDED"      ? WatchEventType::kAdded
                 : type == "MODIFIED" ? WatchEventType::kModified
                 : type == "DELETED"  ? WatchEventType::kDeleted
                                      : WatchEventType::kBookmark;
        e.object = objectOf(arg);
        e.resourceVersion = e.object["metadata"].value("resourceVersion", "");
      }
      actions = watcher.onWatchEvent(e, now);
    } else {
      ADD_FAILURE() << "unexpected input line: " << step;
      continue;
    }
    if (actions.empty()) {
      got.push_back("@" + std::to_string(ms) + " none");
    }
    for (const auto& a : actions) {
      got.push_back("@" + std::to_string(ms) + " " + describe(a));
    }
  }
  const char* states[] = {"idle", "listing", "watching", "backoff"};
  got.push_back(std::string("state ") + states[static_cast<int>(watcher.state())] +
                " rv=" + watcher.resourceVersion() + " failures=" + std::to_string(watcher.failures()));
  return got;
}

TEST(WatcherCasesTest, EachScenarioGivesExactlyItsActions) {
  testing::checkCases("kube/watcher", run);
}

// Backoff stays within (0.75 base, base] for any random number, and never passes the cap.
TEST(WatcherTest, JitteredBackoffStaysWithinItsBoundsAndTheCap) {
  for (double r : {0.0, 0.25, 0.5, 0.999999}) {
    Watcher w({}, [r] { return r; });
    core::MonoNanos now = 0;
    w.start(now);
    w.onListPage({}, "1", "", now);
    core::MonoNanos base = 800 * kMs;
    for (int i = 0; i < 12; ++i) {
      auto actions = w.onWatchFailed({}, now);
      ASSERT_EQ(actions.size(), 1u);
      core::MonoNanos wait = std::get<WaitUntil>(actions[0]).at - now;
      EXPECT_GT(wait, base * 3 / 4) << "failure " << i << " r " << r;
      EXPECT_LE(wait, base) << "failure " << i << " r " << r;
      EXPECT_LE(wait, 30'000 * kMs);
      now += wait;
      ASSERT_EQ(w.onTimer(now).size(), 1u);
      base = std::min(base * 2, 30'000 * kMs);
    }
  }
}

}  // namespace
}  // namespace tokenstorm::kube
