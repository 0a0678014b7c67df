// Base64 (RFC 4648, standard alphabet): the one encoder and decoder of the project — histogram encodings
// in snapshots, kubeconfig *-data fields, Secret data, continue tokens, certificates in kubeconfigs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tokenstorm::core {

std::string encodeBase64(std::string_view bytes);  // with padding

// Strict decoding of untrusted text: the standard alphabet only; padding optional, but when present it
// must complete the last group; ASCII whitespace (line breaks in wrapped data) is skipped. On failure
// returns nullopt and, when `error` is given, says why ("is not base64 (unexpected character at offset
// 3)").
std::optional<std::string> decodeBase64(std::string_view text, std::string* error = nullptr);

}  // namespace tokenstorm::core
