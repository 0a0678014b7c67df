// The LoadTest CustomResourceDefinition, generated from the model's field descriptions.
// crds/loadtests.tokenstorm.dev.yaml is this output; a test fails when they differ.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>

namespace tokenstorm::core {

nlohmann::ordered_json generateCrd();
std::string generateCrdYaml();  // with a "generated, do not edit" header

}  // namespace tokenstorm::core
