// TLS contexts (OpenSSL via Boost.Asio), shared by the simulator's server and, later, the engine's client.
#pragma once

#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace tokenstorm::core {

// A server context from PEM files (certificate chain and private key), TLS 1.2 or newer. On failure returns
// nullptr and sets *error to what OpenSSL said, naming the file.
std::shared_ptr<boost::asio::ssl::context> makeServerTlsContext(const std::string& cert_chain_file,
                                                                const std::string& private_key_file,
                                                                std::string* error);

}  // namespace tokenstorm::core
