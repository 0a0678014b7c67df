#include "api/conversion.h"

namespace tokenstorm::kts {
namespace {

using nlohmann::json;

struct FieldPair {
  const char* eventsV1;
  const char* core;
};

// Every field of an Event but metadata, apiVersion and kind (conversion.h has the table's source).
constexpr FieldPair kEventFields[] = {
    {"regarding", "involvedObject"},
    {"related", "related"},
    {"note", "message"},
    {"reason", "reason"},
    {"type", "type"},
    {"action", "action"},
    {"reportingController", "reportingComponent"},
    {"reportingInstance", "reportingInstance"},
    {"eventTime", "eventTime"},
    {"series", "series"},
    {"deprecatedSource", "source"},
    {"deprecatedFirstTimestamp", "firstTimestamp"},
    {"deprecatedLastTimestamp", "lastTimestamp"},
    {"deprecatedCount", "count"},
};

// Copies metadata and the mapped fields of `in`, reading names from one side of kEventFields and writing
// the other side's.
json convertEvent(const json& in, bool to_core) {
  json out = json::object();
  if (in.contains("metadata")) {
    out["metadata"] = in["metadata"];
  }
  for (const auto& f : kEventFields) {
    const char* from = to_core ? f.eventsV1 : f.core;
    const char* to = to_core ? f.core : f.eventsV1;
    if (auto it = in.find(from); it != in.end()) {
      out[to] = *it;
    }
  }
  return out;
}

}  // namespace

bool isEventsV1(const ResourceType& type) {
  return type.builtin && type.group == "events.k8s.io" && type.plural == "events";
}

json present(const ResourceType& type, json stored) {
  if (isEventsV1(type) && stored.is_object()) {
    stored = convertEvent(stored, false);
  }
  stored["apiVersion"] = type.apiVersion();
  stored["kind"] = type.kind;
  return stored;
}

json toStorage(const ResourceType& type, json object) {
  if (!object.is_object()) {
    return object;
  }
  if (isEventsV1(type)) {
    object = convertEvent(object, true);
    object["apiVersion"] = "v1";
    object["kind"] = "Event";
    return object;
  }
  object["apiVersion"] = type.apiVersion();
  object["kind"] = type.kind;
  return object;
}

}  // namespace tokenstorm::kts
