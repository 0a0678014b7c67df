#include "http/certs.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>

namespace tokenstorm::kts {

namespace {

constexpr long kBackdateSeconds = 3600;  // tolerate small clock differences between processes
constexpr long kCaValiditySeconds = 10L * 365 * 24 * 3600;
constexpr long kLeafValiditySeconds = 2L * 365 * 24 * 3600;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

std::string opensslError(const std::string& what) {
  std::string out = what;
  unsigned long code = ERR_get_error();
  if (code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    out += ": ";
    out += buf;
  }
  ERR_clear_error();
  return out;
}

PkeyPtr newKey() {
  return PkeyPtr(EVP_EC_gen("P-256"));
}

std::string bioString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

std::optional<CertificateAndKey> toPem(X509* cert, EVP_PKEY* key) {
  BioPtr cb(BIO_new(BIO_s_mem()));
  BioPtr kb(BIO_new(BIO_s_mem()));
  if (!cb || !kb || PEM_write_bio_X509(cb.get(), cert) != 1 ||
      PEM_write_bio_PrivateKey(kb.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return std::nullopt;
  }
  return CertificateAndKey{bioString(cb.get()), bioString(kb.get())};
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return false;
  }
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1;
}

// A certificate for `key` with `subject`, valid for `validity_s`; extensions are added by the caller
// before signing.
X509Ptr newCertificate(EVP_PKEY* key, const std::vector<std::pair<std::string, std::string>>& subject,
                       long validity_s) {
  X509Ptr cert(X509_new());
  if (!cert) {
    return nullptr;
  }
  X509_set_version(cert.get(), 2);  // v3
  uint64_t serial = 0;
  RAND_bytes(reinterpret_cast<unsigned char*>(&serial), sizeof(serial));
  serial &= 0x7fffffffffffffffULL;  // positive
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), validity_s);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  for (const auto& [field, value] : subject) {
    X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  }
  return cert;
}

}  // namespace

struct CertificateAuthority::Keys {
  PkeyPtr key;
  X509Ptr cert;
};

std::optional<CertificateAuthority> CertificateAuthority::create(const std::string& common_name,
                                                                 std::string* error) {
  auto keys = std::make_shared<Keys>();
  keys->key = newKey();
  if (!keys->key) {
    *error = opensslError("cannot generate the CA key");
    return std::nullopt;
  }
  keys->cert = newCertificate(keys->key.get(), {{"CN", common_name}}, kCaValiditySeconds);
  X509* cert = keys->cert.get();
  if (cert == nullptr || X509_set_issuer_name(cert, X509_get_subject_name(cert)) != 1 ||
      !addExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE") ||
      !addExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") ||
      !addExtension(cert, cert, NID_subject_key_identifier, "hash") ||
      X509_sign(cert, keys->key.get(), EVP_sha256()) == 0) {
    *error = opensslError("cannot create the CA certificate");
    return std::nullopt;
  }
  auto pem = toPem(cert, keys->key.get());
  if (!pem) {
    *error = opensslError("cannot encode the CA certificate");
    return std::nullopt;
  }
  CertificateAuthority ca;
  ca.ca_ = *pem;
  ca.keys_ = std::move(keys);
  return ca;
}

namespace {

std::optional<CertificateAndKey> issue(X509* ca_cert, EVP_PKEY* ca_key,
                                       const std::vector<std::pair<std::string, std::string>>& subject,
                                       const std::string& extended_usage, const std::string& san,
                                       std::string* error) {
  PkeyPtr key = newKey();
  if (!key) {
    *error = opensslError("cannot generate a key");
    return std::nullopt;
  }
  X509Ptr cert = newCertificate(key.get(), subject, kLeafValiditySeconds);
  bool ok = cert != nullptr && X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert)) == 1 &&
            addExtension(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE") &&
            addExtension(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
            addExtension(cert.get(), ca_cert, NID_ext_key_usage, extended_usage) &&
            addExtension(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always") &&
            (san.empty() || addExtension(cert.get(), ca_cert, NID_subject_alt_name, san)) &&
            X509_sign(cert.get(), ca_key, EVP_sha256()) != 0;
  if (!ok) {
    *error = opensslError("cannot create the certificate");
    return std::nullopt;
  }
  auto pem = toPem(cert.get(), key.get());
  if (!pem) {
    *error = opensslError("cannot encode the certificate");
  }
  return pem;
}

}  // namespace

std::optional<CertificateAndKey> CertificateAuthority::issueServer(
    const std::vector<std::string>& dns_names, const std::vector<std::string>& ip_addresses,
    std::string* error) const {
  std::string san;
  for (const auto& d : dns_names) {
    san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  }
  for (const auto& ip : ip_addresses) {
    san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  }
  std::string cn =
      dns_names.empty() ? (ip_addresses.empty() ? "kube-test-server" : ip_addresses[0]) : dns_names[0];
  return issue(keys_->cert.get(), keys_->key.get(), {{"CN", cn}}, "serverAuth", san, error);
}

std::optional<ClientCertificate> CertificateAuthority::issueClient(
    const std::string& common_name, const std::vector<std::string>& organizations, std::string* error) const {
  std::vector<std::pair<std::string, std::string>> subject;
  for (const auto& o : organizations) {
    subject.emplace_back("O", o);
  }
  subject.emplace_back("CN", common_name);
  return issue(keys_->cert.get(), keys_->key.get(), subject, "clientAuth", "", error);
}

}  // namespace tokenstorm::kts
