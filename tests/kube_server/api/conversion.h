// One resource served in several versions, one storage form: kube-apiserver keeps a resource in one
// storage and converts at the boundary, request bodies to the storage form and every response (get, list
// items, watch events, the results of writes) to the version the client asked for. Here that matters for
// Events: core/v1 Events and events.k8s.io/v1 Events are one resource (storageKey "/events"), stored as
// core/v1, so an Event written through either group is read and watched through both. The field mapping
// is k8s.io/kubernetes pkg/apis/events/v1/conversion.go's:
//   events.k8s.io/v1           core/v1
//   regarding                  involvedObject
//   note                       message
//   reportingController        reportingComponent
//   deprecatedSource           source
//   deprecatedFirstTimestamp   firstTimestamp
//   deprecatedLastTimestamp    lastTimestamp
//   deprecatedCount            count
//   related, reason, type, action, reportingInstance, eventTime, series: same name in both
// Fields the other version does not have are dropped on conversion, as decoding into the typed object
// drops them upstream. Every other type is stored as it is served (a CRD's versions share their objects
// unconverted, the `None` conversion strategy). Pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include "api/api_store.h"

namespace tokenstorm::kts {

// Whether `type` is events.k8s.io/v1 Event, the one type stored in another type's form.
bool isEventsV1(const ResourceType& type);

// A stored object as `type` shows it, stamped with type's apiVersion and kind.
nlohmann::json present(const ResourceType& type, nlohmann::json stored);

// A request body for `type` in the storage form, stamped with the storage version's apiVersion and kind.
// Anything but a JSON object is returned unchanged (the write path rejects it).
nlohmann::json toStorage(const ResourceType& type, nlohmann::json object);

}  // namespace tokenstorm::kts
