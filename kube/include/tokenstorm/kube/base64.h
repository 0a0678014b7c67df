// Base64 (RFC 4648 standard alphabet) for kubeconfig *-data fields and exec plugins' cluster info.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tokenstorm::kube {

std::string encodeBase64(std::string_view bytes);  // with padding
// Strict: standard alphabet, padding optional, whitespace ignored; nullopt when not base64.
std::optional<std::string> decodeBase64(std::string_view text);

}  // namespace tokenstorm::kube
