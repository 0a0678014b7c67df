// Request bodies in Kubernetes' protobuf encoding (Content-Type: application/vnd.kubernetes.protobuf),
// which kubectl's typed clients send for built-in kinds: `kubectl create namespace`, `create configmap`,
// `create secret generic`, `create serviceaccount`. The body is the magic "k8s\0" followed by a
// runtime.Unknown {typeMeta, raw} whose raw bytes are the object's generated.proto message. We decode the
// kinds kubectl creates in our tests (Namespace, ConfigMap, Secret, ServiceAccount, with their full
// ObjectMeta) into the same JSON the object would have been sent as, so the rest of the server sees JSON;
// other kinds are refused with a message asking for JSON. Responses are always JSON (kubectl's Accept
// lists application/json after protobuf). Field numbers come from k8s.io/api/core/v1/generated.proto
// and k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace tokenstorm::kts {

// The object as JSON; nullopt with *error naming the problem for malformed input or an unsupported kind.
std::optional<nlohmann::json> decodeKubernetesProtobuf(const std::string& body, std::string* error);

}  // namespace tokenstorm::kts
