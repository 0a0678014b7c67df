// events.k8s.io/v1 Events: what the operator records about the objects it manages (Client::createEvent
// sends one). Pure builders, so the Event's shape is tested without a server.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace tokenstorm::kube {

// An events.k8s.io/v1 Event about `regarding` (an ObjectReference, see objectReference()).
struct EventRecord {
  nlohmann::json regarding;
  std::string type = "Normal";  // "Normal" or "Warning"
  std::string reason;           // UpperCamelCase, e.g. "BudgetExceeded"
  std::string action;           // what was done, e.g. "Abort"
  std::string note;             // human-readable, at most 1 kB
  std::string reportingController = "tokenstorm.dev/operator";
  std::string reportingInstance;  // e.g. the pod name
  std::string ns;                 // "" : regarding's namespace, else "default"
};
// metav1.MicroTime: "2026-01-02T03:04:05.123456Z".
std::string formatMicroTime(std::chrono::system_clock::time_point at);
// apiVersion, kind, namespace, name, uid, resourceVersion of an object.
nlohmann::json objectReference(const nlohmann::json& object);
// The Event object (name REGARDING.HEX(wall nanos), eventTime in MicroTime) as createEvent sends it.
nlohmann::json buildEvent(const EventRecord& record, std::chrono::system_clock::time_point wall_now);

}  // namespace tokenstorm::kube
