// Reading the scale target and its pods as a watch delivers them (unstructured JSON) into the plain
// observations of core/autoscaling.h. Pure: the caller says when the event was seen (seconds since the
// test start) and feeds the results to core::deriveAutoscaling.
//
//   Deployment / StatefulSet ─┐
//   HorizontalPodAutoscaler ──┼─▶ readScaleTarget ─▶ ScaleObservation {ReplicaSample, metrics, conditions}
//   KEDA ScaledObject ────────┤
//   KServe InferenceService ──┘
//   Pod ───────────────────────▶ readPod ─▶ core::PodEvent
//
// The objects are untrusted: a missing field reads as absent, a field of the wrong type as absent plus an
// error naming the object and field ("Deployment vllm: status.readyReplicas: expected an integer, got
// string"); nothing throws.
//
// One deliberate exception to "missing is absent": Deployment and StatefulSet status counts are omitted
// by the API server when they are 0 (omitempty), so once `status` is there a missing count reads as 0.
// Without that, a target scaled to zero would look unobserved and no cold start could be recognised.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tokenstorm/core/autoscaling.h"

namespace tokenstorm::op {

struct ConditionSeen {
  std::string type;
  std::string status;  // "True" | "False" | "Unknown" (as given)
  std::string reason;
  std::string message;
  friend bool operator==(const ConditionSeen&, const ConditionSeen&) = default;
};

struct ScaleObservation {
  std::optional<core::ReplicaSample> sample;      // nullopt when no replica field was readable
  std::vector<core::ServerMetricSample> metrics;  // HPA currentMetrics as "hpa:<type>:<name>"
  std::vector<ConditionSeen> conditions;          // status.conditions
  std::vector<std::string> errors;
};

// One observation of a scale target of any supported kind; the object's `kind` picks the reading.
// Deployment, StatefulSet: spec.replicas, status.replicas, readyReplicas, availableReplicas.
// HorizontalPodAutoscaler (autoscaling/v2): status.desiredReplicas, currentReplicas, currentMetrics.
// Any other kind (KEDA ScaledObject, KServe InferenceService, ...): status.conditions and whichever of
// spec.replicas, status.{replicas, desiredReplicas, currentReplicas, readyReplicas, availableReplicas}
// are present.
ScaleObservation readScaleTarget(const nlohmann::json& object, double tS);

// A pod's lifecycle, times relative to `test_start`: metadata.creationTimestamp (required), PodScheduled
// and Ready conditions' lastTransitionTime while True, and the earliest containerStatuses[].state.running
// .startedAt. nullopt with *error naming the field when the pod has no name or no readable creation time.
std::optional<core::PodEvent> readPod(const nlohmann::json& pod,
                                      std::chrono::system_clock::time_point test_start, std::string* error);

// The ready count implied by pod events at each Ready transition (pods that were never Ready do not count):
// a replica timeline when only pods can be watched. Sorted by time.
std::vector<core::ReplicaSample> readySamplesFromPods(const std::vector<core::PodEvent>& pods);

}  // namespace tokenstorm::op
