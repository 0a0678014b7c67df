#include "tokenstorm/kube/events.h"

#include <cstdio>
#include <ctime>

namespace tokenstorm::kube {

std::string formatMicroTime(std::chrono::system_clock::time_point at) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(micros / 1'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<long long>(micros % 1'000'000));
  return text;
}

nlohmann::json objectReference(const nlohmann::json& object) {
  nlohmann::json ref = nlohmann::json::object();
  for (const char* key : {"apiVersion", "kind"}) {
    if (auto it = object.find(key); it != object.end() && it->is_string()) {
      ref[key] = *it;
    }
  }
  if (auto metadata = object.find("metadata"); metadata != object.end() && metadata->is_object()) {
    for (const char* key : {"namespace", "name", "uid", "resourceVersion"}) {
      if (auto it = metadata->find(key); it != metadata->end() && it->is_string()) {
        ref[key] = *it;
      }
    }
  }
  return ref;
}

nlohmann::json buildEvent(const EventRecord& record, std::chrono::system_clock::time_point wall_now) {
  std::string ns = !record.ns.empty() ? record.ns : record.regarding.value("namespace", "");
  if (ns.empty()) {
    ns = "default";
  }
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(wall_now.time_since_epoch()).count();
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(nanos));
  std::string regarding_name = record.regarding.value("name", "event");
  std::string note = record.note.size() > 1024 ? record.note.substr(0, 1024) : record.note;
  return {{"apiVersion", "events.k8s.io/v1"},
          {"kind", "Event"},
          {"metadata", {{"name", regarding_name + "." + suffix}, {"namespace", ns}}},
          {"eventTime", formatMicroTime(wall_now)},
          {"type", record.type},
          {"reason", record.reason},
          {"action", record.action},
          {"note", note},
          {"regarding", record.regarding},
          {"reportingController", record.reportingController},
          {"reportingInstance", record.reportingInstance}};
}

}  // namespace tokenstorm::kube
