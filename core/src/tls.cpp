#include "tokenstorm/core/tls.h"

#include <boost/asio/ssl/context.hpp>

#include <fstream>

namespace tokenstorm::core {

std::shared_ptr<boost::asio::ssl::context> makeServerTlsContext(const std::string& cert_chain_file,
                                                                const std::string& private_key_file,
                                                                std::string* error) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  for (const auto& file : {cert_chain_file, private_key_file}) {
    if (!std::ifstream(file)) {
      *error = file + ": cannot read the file";
      return nullptr;
    }
  }
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_chain_file, ec);
  if (ec) {
    *error = cert_chain_file + ": cannot load the certificate chain: " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(private_key_file, ssl::context::pem, ec);
  if (ec) {
    *error = private_key_file + ": cannot load the private key: " + ec.message();
    return nullptr;
  }
  return ctx;
}

}  // namespace tokenstorm::core
