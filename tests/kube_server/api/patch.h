// The three patch formats kube-apiserver accepts, applied to a JSON document:
// - JSON merge patch (RFC 7386): objects merge, null deletes, everything else replaces.
// - JSON patch (RFC 6902): add/remove/replace/move/copy/test on JSON pointers (RFC 6901: ~0 ~1, "-" as
//   the end of an array); the operations apply in order and all-or-nothing.
// - Strategic merge patch (built-in kinds): a merge patch in which lists of known fields merge by their
//   merge key (containers/initContainers/ephemeralContainers/volumes/env/imagePullSecrets by name,
//   volumeMounts by mountPath, ports by containerPort (port in Services), conditions by type,
//   ownerReferences by uid, hostAliases by ip; finalizers merge as a set), other lists are replaced, and
//   the directives `$patch: replace|delete|merge`, `$retainKeys`, `$deleteFromPrimitiveList/<field>` and
//   `$setElementOrder/<field>` are honoured, which is what `kubectl apply` and `kubectl patch` send. Field
//   names select the merge key whatever the kind, which holds for the kinds we serve.
//
// Errors are values: 400 BadRequest for a patch that is not what its format says (bad JSON, an operation
// without a path, a malformed pointer), 422 Invalid for one that does not apply (a path that does not
// exist, a failed test). Messages name the operation index and path. Never throws.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "api/api_store.h"

namespace tokenstorm::kts {

// Parses `patch_text` as the format says and applies it to `target`; the result's object is the new document.
Result applyPatch(PatchType type, const nlohmann::json& target, const std::string& patch_text);

nlohmann::json mergePatch(const nlohmann::json& target, const nlohmann::json& patch);
Result jsonPatch(const nlohmann::json& target, const nlohmann::json& operations);
Result strategicMergePatch(const nlohmann::json& target, const nlohmann::json& patch);

}  // namespace tokenstorm::kts
