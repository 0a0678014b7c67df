// The watch state machine (list, then watch from the list's resourceVersion, resync on 410), as pure
// logic. It does no I/O and reads no clock: the caller performs the requests it asks for and feeds back
// what happened, with the monotonic time at which it happened; every input returns the actions to take,
// in order. Modelled on client-go's reflector and kube-rs's watcher.
//
// Actions: StartList (a list request; `limit` pages it, `continue` asks for the next page), StartWatch
// (watch from a resourceVersion with allowWatchBookmarks), WaitUntil (arm a timer, then call onTimer),
// and the cache updates ReplaceAll (after a complete list: the new contents, so objects deleted while we
// were not watching disappear), Upsert and Delete. A StartList or StartWatch replaces whatever request is
// in flight: the caller closes the current stream first and delivers nothing more from it.
//
// clang-format off
//   state      | input                                      | next state | actions
//   -----------+--------------------------------------------+------------+-------------------------------
//   idle       | start                                      | listing    | StartList(limit)
//   listing    | page with a continue token                 | listing    | StartList(limit, continue)
//   listing    | last page (resourceVersion RV)             | watching   | ReplaceAll(all pages), StartWatch(RV)
//   listing    | list failed 410 (continue token expired)   | listing    | StartList(limit): pages dropped
//   listing    | list failed (other code, network)          | backoff    | WaitUntil(backoff)
//   watching   | ADDED / MODIFIED                           | watching   | Upsert(object); RV = its RV
//   watching   | DELETED                                    | watching   | Delete(object); RV = its RV
//   watching   | BOOKMARK                                   | watching   | (none); RV = its RV
//   watching   | ERROR 410, or watch failed 410             | listing    | StartList(limit): a relist
//   watching   | ERROR (other)                              | backoff    | WaitUntil(backoff)
//   watching   | watch ended cleanly by the server          | watching   | StartWatch(RV): no relist
//   watching   | watch failed (network drop, 429, 5xx)      | backoff    | WaitUntil(backoff)
//   backoff    | timer, at or after the instant             | listing /  | StartList(limit) if the list
//              |                                            | watching   | failed, else StartWatch(RV)
//   any        | an input that does not fit the state       | unchanged  | none (a stale result)
// clang-format on
//
// Backoff (client-go's reflector numbers): a base of 800 ms doubling per consecutive failure up to
// 30 s; the wait is the base minus up to a quarter of it at random (jitter in (0.75 base, base], so
// clients restarted together spread out, and the cap is never exceeded); a Retry-After longer than
// that is honoured as given. The failure count resets when the connection had been healthy (a list
// completed, or a watch delivered events) for 2 minutes before the failure. A watch that the server
// ends cleanly within 1 s of starting without delivering any event counts as a failure, so a
// misbehaving server cannot make us spin. A list that completes without a resourceVersion is a failure
// (a watch from "" would skip changes).
//
// Lists use no resourceVersion (a consistent read), so the replaced cache is never older than what we
// had. The initial state is idle; call start().
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/watch_stream.h"

namespace tokenstorm::kube {

struct StartList {
  int64_t limit = 0;  // 0: no limit
  std::string continueToken;
  bool operator==(const StartList&) const = default;
};
struct StartWatch {
  std::string resourceVersion;
  bool allowWatchBookmarks = true;
  bool operator==(const StartWatch&) const = default;
};
struct WaitUntil {
  core::MonoNanos at = 0;
  bool operator==(const WaitUntil&) const = default;
};
struct ReplaceAll {
  std::vector<nlohmann::json> objects;
  bool operator==(const ReplaceAll&) const = default;
};
struct Upsert {
  nlohmann::json object;
  bool operator==(const Upsert&) const = default;
};
struct Delete {
  nlohmann::json object;
  bool operator==(const Delete&) const = default;
};
using WatcherAction = std::variant<StartList, StartWatch, WaitUntil, ReplaceAll, Upsert, Delete>;
using WatcherActions = std::vector<WatcherAction>;

// A failed request: the HTTP status (0 for a network failure or a stream that broke) and the server's
// Retry-After, converted by the caller to nanoseconds (0 when absent).
struct RequestFailure {
  int32_t code = 0;
  core::MonoNanos retry_after_ns = 0;
};

struct WatcherOptions {
  int64_t page_limit = 500;  // the `limit` of list requests; 0 lists in one response
  core::MonoNanos backoff_base_ns = 800'000'000;
  core::MonoNanos backoff_max_ns = 30'000'000'000;
  core::MonoNanos healthy_reset_ns = 120'000'000'000;  // 2 min healthy resets the failure count
  core::MonoNanos min_watch_ns = 1'000'000'000;        // a shorter, empty, clean watch is a failure
};

class Watcher {
 public:
  enum class State { kIdle, kListing, kWatching, kBackoff };

  // `random01` gives numbers in [0, 1) for jitter; the default is a seeded PRNG. Tests pass a constant.
  explicit Watcher(WatcherOptions options = {}, std::function<double()> random01 = {});

  WatcherActions start(core::MonoNanos now);
  WatcherActions onListPage(std::vector<nlohmann::json> items, const std::string& resource_version,
                            const std::string& continue_token, core::MonoNanos now);
  WatcherActions onListFailed(RequestFailure failure, core::MonoNanos now);
  WatcherActions onWatchEvent(const WatchEvent& event, core::MonoNanos now);
  WatcherActions onWatchClosed(core::MonoNanos now);  // the server ended the watch cleanly
  WatcherActions onWatchFailed(RequestFailure failure, core::MonoNanos now);
  WatcherActions onTimer(core::MonoNanos now);

  State state() const { return state_; }
  const std::string& resourceVersion() const { return resource_version_; }
  uint32_t failures() const { return failures_; }  // consecutive failures counted by the backoff

 private:
  WatcherActions list();
  WatcherActions watch(core::MonoNanos now);
  WatcherActions backoff(bool relist, RequestFailure failure, core::MonoNanos now);
  void healthy(core::MonoNanos now);

  WatcherOptions options_;
  std::function<double()> random01_;
  State state_ = State::kIdle;
  std::string resource_version_;
  std::vector<nlohmann::json> pages_;  // items of the list pages received so far
  bool continuing_ = false;            // the list in flight asked for a next page
  bool retry_is_list_ = false;         // in backoff: what to retry
  core::MonoNanos wake_at_ = 0;
  core::MonoNanos watch_started_at_ = 0;
  bool watch_saw_event_ = false;
  std::optional<core::MonoNanos> healthy_since_;  // since when the connection has been working
  uint32_t failures_ = 0;
};

}  // namespace tokenstorm::kube
