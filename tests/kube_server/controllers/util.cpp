#include "util.h"

#include <array>
#include <cstdio>
#include <ctime>

namespace tokenstorm::kts {

std::string formatTime(WallTime t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 32> buffer{};
  std::strftime(buffer.data(), buffer.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer.data();
}

std::optional<WallTime> parseTime(std::string_view text) {
  std::tm tm{};
  const std::string s(text);
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    return std::nullopt;
  }
  if (*rest == '.') {  // fractional seconds: dropped
    ++rest;
    while (*rest >= '0' && *rest <= '9') {
      ++rest;
    }
  }
  int64_t offset_s = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if (*rest == '+' || *rest == '-') {
    int hours = 0;
    int minutes = 0;
    if (std::sscanf(rest + 1, "%2d:%2d", &hours, &minutes) != 2) {
      return std::nullopt;
    }
    offset_s = (*rest == '+' ? 1 : -1) * (hours * 3600 + minutes * 60);
    rest += 6;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') {
    return std::nullopt;
  }
  const std::time_t seconds = timegm(&tm) - offset_s;
  return std::chrono::system_clock::from_time_t(seconds);
}

const nlohmann::json* findCondition(const nlohmann::json& conditions, std::string_view type) {
  if (!conditions.is_array()) {
    return nullptr;
  }
  for (const auto& c : conditions) {
    if (c.is_object() && stringAt(c, {"type"}) == type) {
      return &c;
    }
  }
  return nullptr;
}

bool conditionTrue(const nlohmann::json& conditions, std::string_view type) {
  const nlohmann::json* c = findCondition(conditions, type);
  return c != nullptr && stringAt(*c, {"status"}) == "True";
}

void setCondition(nlohmann::json& conditions, std::string_view type, std::string_view status,
                  std::string_view reason, std::string_view message, const std::string& now, bool probeTime) {
  if (!conditions.is_array()) {
    conditions = nlohmann::json::array();
  }
  nlohmann::json* existing = nullptr;
  for (auto& c : conditions) {
    if (c.is_object() && stringAt(c, {"type"}) == type) {
      existing = &c;
    }
  }
  nlohmann::json condition = {{"type", type}, {"status", status}};
  if (probeTime) {
    condition["lastProbeTime"] = now;
  } else {
    condition["lastProbeTime"] = nullptr;
  }
  condition["lastTransitionTime"] = now;
  if (!reason.empty()) {
    condition["reason"] = reason;
  }
  if (!message.empty()) {
    condition["message"] = message;
  }
  if (existing == nullptr) {
    conditions.push_back(std::move(condition));
    return;
  }
  if (stringAt(*existing, {"status"}) == status) {
    condition["lastTransitionTime"] = (*existing)["lastTransitionTime"];
    if (stringAt(*existing, {"reason"}) == reason && stringAt(*existing, {"message"}) == message) {
      return;  // unchanged: keep the probe time too, so the object does not change
    }
  }
  *existing = std::move(condition);
}

std::string controllerOwnerUid(const nlohmann::json& object, std::string_view kind) {
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) {
    return "";
  }
  const auto refs = metadata->find("ownerReferences");
  if (refs == metadata->end() || !refs->is_array()) {
    return "";
  }
  for (const auto& ref : *refs) {
    if (ref.is_object() && ref.value("controller", false) && stringAt(ref, {"kind"}) == kind) {
      return stringAt(ref, {"uid"});
    }
  }
  return "";
}

}  // namespace tokenstorm::kts
