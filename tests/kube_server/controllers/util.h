// Small helpers the controllers share: RFC 3339 times, base64, conditions, owner references.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenstorm/kube/object.h"

namespace tokenstorm::kts {

using WallTime = std::chrono::system_clock::time_point;

// "2026-11-18T09:30:00Z" (seconds, UTC), as metav1.Time is written.
std::string formatTime(WallTime t);
// Parses formatTime()'s form (fractional seconds and a numeric offset are accepted too).
std::optional<WallTime> parseTime(std::string_view text);

// Tolerant reads of objects (stringAt, intAt, arrayAt, member): the client library's (kube/object.h).
using kube::arrayAt;
using kube::intAt;
using kube::member;
using kube::stringAt;

// The condition of `type` in a conditions list (nullptr when absent).
const nlohmann::json* findCondition(const nlohmann::json& conditions, std::string_view type);
bool conditionTrue(const nlohmann::json& conditions, std::string_view type);
// Sets a condition, keeping lastTransitionTime when the status does not change (as controllers do).
// `probeTime` adds lastProbeTime (Jobs write it; pods write null).
void setCondition(nlohmann::json& conditions, std::string_view type, std::string_view status,
                  std::string_view reason, std::string_view message, const std::string& now, bool probeTime);

// The uid of the controller owner of `kind` named in metadata.ownerReferences, or "".
std::string controllerOwnerUid(const nlohmann::json& object, std::string_view kind);

}  // namespace tokenstorm::kts
