// Certificates for the test server's TLS (OpenSSL 3): a self-signed CA generated at start, a serving
// certificate for 127.0.0.1/localhost signed by it, and client certificates (CN = user, O = groups) that
// the server accepts as credentials, the way kube-apiserver's x509 authenticator does. Keys are ECDSA
// P-256, which OpenSSL, Go's crypto/tls (kubectl) and cpprestsdk all accept. Nothing here is for real use.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tokenstorm::kts {

// A certificate and its private key, both PEM ("CERTIFICATE" and PKCS#8 "PRIVATE KEY").
struct CertificateAndKey {
  std::string certPem;
  std::string keyPem;
};
using ClientCertificate = CertificateAndKey;

class CertificateAuthority {
 public:
  // A fresh CA named `common_name`, valid from an hour ago for ten years. nullopt with *error on failure.
  static std::optional<CertificateAuthority> create(const std::string& common_name, std::string* error);

  const std::string& certPem() const { return ca_.certPem; }
  const std::string& keyPem() const { return ca_.keyPem; }

  // A serving certificate (serverAuth) with these DNS names and IP addresses as subject alternative names.
  std::optional<CertificateAndKey> issueServer(const std::vector<std::string>& dns_names,
                                               const std::vector<std::string>& ip_addresses,
                                               std::string* error) const;
  // A client certificate (clientAuth): CN = user name, one O per group.
  std::optional<ClientCertificate> issueClient(const std::string& common_name,
                                               const std::vector<std::string>& organizations,
                                               std::string* error) const;

 private:
  struct Keys;
  CertificateAuthority() = default;
  CertificateAndKey ca_;
  std::shared_ptr<Keys> keys_;  // the parsed CA certificate and key, shared by copies
};

}  // namespace tokenstorm::kts
