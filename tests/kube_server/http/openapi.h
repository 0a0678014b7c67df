// The OpenAPI v3 documents kubectl needs, and no more. kubectl apply (validate=strict) asks the server
// whether it supports the fieldValidation query parameter by looking, in /openapi/v3/{api/v1 | apis/g/v},
// for the PATCH operation tagged with the kind's x-kubernetes-group-version-kind; when it finds the
// parameter it leaves validation to the server (the store checks CRD types and required fields), and when
// it finds no document at all it fails. So each group/version gets a document with one PATCH operation per
// kind that lists fieldValidation, and no schemas: kubectl then builds strategic merge patches for
// built-ins from its compiled-in types, as it does for servers without schemas. /openapi/v2 is 404 (kubectl
// asks for protobuf there and treats a missing document as "no schema").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_store.h"

namespace tokenstorm::kts {

// /openapi/v3: {"paths": {"api/v1": {"serverRelativeURL": "/openapi/v3/api/v1?hash=..."}, ...}}.
nlohmann::json openApiV3Root(const std::vector<ResourceType>& types);
// /openapi/v3/api/v1 or /openapi/v3/apis/{g}/{v} (`gv_path` without the /openapi/v3/ prefix); nullopt
// when nothing is served there.
std::optional<nlohmann::json> openApiV3GroupVersion(const std::vector<ResourceType>& types,
                                                    const std::string& gv_path);

}  // namespace tokenstorm::kts
