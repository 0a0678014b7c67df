// CpprestTransport: see the header. cpprest is included only here, with _TURN_OFF_PLATFORM_STRING so its
// U() macro does not leak (architecture.md: it breaks GoogleTest); strings are std::string on Linux.
#define _TURN_OFF_PLATFORM_STRING
#include "tokenstorm/kube/cpprest_transport.h"

#include <cpprest/http_client.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <boost/asio/ssl/context.hpp>
#include <cctype>
#include <chrono>
#include <map>
#include <mutex>
#include <vector>

namespace tokenstorm::kube {
namespace {

using web::http::client::http_client;
using web::http::client::http_client_config;

constexpr size_t kStreamBufferBytes = 64 * 1024;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string opensslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown OpenSSL error";
  }
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDeleter>;

BioPtr memoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate of a PEM bundle; an error when there is none or one does not parse.
Expected<std::vector<X509Ptr>> readCertificates(const std::string& pem, const char* what) {
  std::vector<X509Ptr> certs;
  BioPtr bio = memoryBio(pem);
  while (true) {
    X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (cert == nullptr) {
      break;
    }
    certs.emplace_back(cert);
  }
  unsigned long last = ERR_peek_last_error();
  // Reading stops with "no start line" at the end of the data (or when there is no PEM at all).
  if (last == 0 || ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    if (certs.empty()) {
      return fail(std::string(what) + ": no PEM certificate found");
    }
    return certs;
  }
  return fail(std::string(what) + ": not a PEM certificate (" + opensslError() + ")");
}

Expected<Ok> checkOptions(const TransportOptions& o) {
  if (o.server.rfind("https://", 0) != 0 && o.server.rfind("http://", 0) != 0) {
    return fail("server \"" + o.server + "\": not an http:// or https:// URL");
  }
  if (!web::uri::validate(o.server)) {
    return fail("server \"" + o.server + "\": not a valid URL");
  }
  if (!o.caPem.empty()) {
    auto certs = readCertificates(o.caPem, "certificate-authority");
    if (!certs) {
      return fail(certs.error());
    }
  }
  if (o.clientCertPem.empty() != o.clientKeyPem.empty()) {
    return fail(o.clientCertPem.empty() ? "client-key given without client-certificate"
                                        : "client-certificate given without client-key");
  }
  if (!o.clientCertPem.empty()) {
    auto certs = readCertificates(o.clientCertPem, "client-certificate");
    if (!certs) {
      return fail(certs.error());
    }
    BioPtr bio = memoryBio(o.clientKeyPem);
    KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (!key) {
      return fail("client-key: not a PEM private key (" + opensslError() + ")");
    }
    if (X509_check_private_key(certs->front().get(), key.get()) != 1) {
      ERR_clear_error();
      return fail("client-key: does not match client-certificate");
    }
  }
  return Ok{};
}

// Runs inside cpprest when a TLS connection is set up. The options were checked in create(), so the
// calls below fail only on allocation failure; Boost.Asio then throws and cpprest reports the request
// as failed.
void configureTls(const TransportOptions& o, boost::asio::ssl::context& ctx) {
  SSL_CTX* native = ctx.native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (!o.caPem.empty()) {
    // Replace the default store cpprest loaded: only the cluster's CA is trusted.
    X509_STORE* store = X509_STORE_new();
    auto certs = readCertificates(o.caPem, "certificate-authority");
    if (certs) {
      for (auto& cert : *certs) {
        X509_STORE_add_cert(store, cert.get());
      }
    }
    SSL_CTX_set_cert_store(native, store);  // takes ownership
  }
  if (!o.clientCertPem.empty()) {
    ctx.use_certificate_chain(boost::asio::buffer(o.clientCertPem));
    ctx.use_private_key(boost::asio::buffer(o.clientKeyPem), boost::asio::ssl::context::pem);
  }
}

std::string describeException(const std::exception& e) {
  std::string what = e.what();
  return what.empty() ? "request failed" : what;
}

void copyHeaders(const web::http::http_response& response, HttpResponse* out) {
  for (const auto& [name, value] : response.headers()) {
    out->headers[lower(name)] = value;
  }
}

web::http::http_request toCpprest(const HttpRequest& request) {
  web::http::http_request req(request.method);
  req.set_request_uri(request.target);
  std::string content_type = "application/json";
  for (const auto& [name, value] : request.headers) {
    if (lower(name) == "content-type") {
      content_type = value;
      continue;
    }
    req.headers().add(name, value);
  }
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT" ||
      request.method == "PATCH") {
    req.set_body(request.body, content_type);
  }
  return req;
}

}  // namespace

struct CpprestTransport::State {
  TransportOptions options;
  std::mutex mutex;
  // One cpprest client per timeout, since cpprest sets timeouts per client (each pools its connections).
  std::map<core::MonoNanos, std::shared_ptr<http_client>> clients;

  std::shared_ptr<http_client> client(core::MonoNanos timeout_ns) {
    std::lock_guard<std::mutex> lock(mutex);
    auto& slot = clients[timeout_ns];
    if (!slot) {
      http_client_config config;
      config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::nanoseconds(std::max<core::MonoNanos>(timeout_ns, 1'000'000))));
      config.set_validate_certificates(!options.insecureSkipTlsVerify);
      const TransportOptions* o = &options;  // State outlives its clients
      config.set_ssl_context_callback([o](boost::asio::ssl::context& ctx) { configureTls(*o, ctx); });
      slot = std::make_shared<http_client>(web::uri(options.server), config);
    }
    return slot;
  }
};

Expected<std::unique_ptr<CpprestTransport>> CpprestTransport::create(TransportOptions options) {
  auto checked = checkOptions(options);
  if (!checked) {
    return fail(checked.error());
  }
  auto state = std::make_unique<State>();
  state->options = std::move(options);
  return std::unique_ptr<CpprestTransport>(new CpprestTransport(std::move(state)));
}

CpprestTransport::CpprestTransport(std::unique_ptr<State> state) : state_(std::move(state)) {}
CpprestTransport::~CpprestTransport() = default;

HttpResponse CpprestTransport::request(const HttpRequest& request) {
  HttpResponse out;
  try {
    auto client = state_->client(request.timeout_ns > 0 ? request.timeout_ns : state_->options.timeout_ns);
    web::http::http_response response = client->request(toCpprest(request)).get();
    copyHeaders(response, &out);
    std::vector<unsigned char> body = response.extract_vector().get();
    out.body.assign(body.begin(), body.end());
    out.status = static_cast<int32_t>(response.status_code());
  } catch (const std::exception& e) {
    out = HttpResponse{};
    out.error = describeException(e);
  }
  return out;
}

HttpResponse CpprestTransport::stream(const HttpRequest& request, const ChunkCallback& on_chunk,
                                      Cancellation& cancellation) {
  HttpResponse out;
  pplx::cancellation_token_source source;
  if (!cancellation.setHook([source] { source.cancel(); })) {
    out.cancelled = true;
    out.error = "cancelled";
    return out;
  }
  struct ClearHook {
    Cancellation& c;
    ~ClearHook() { c.clearHook(); }
  } clear{cancellation};

  web::http::http_response response;
  try {
    auto timeout = request.timeout_ns > 0 ? request.timeout_ns : state_->options.stream_idle_timeout_ns;
    response = state_->client(timeout)->request(toCpprest(request), source.get_token()).get();
    copyHeaders(response, &out);
    out.status = static_cast<int32_t>(response.status_code());
    if (out.status < 200 || out.status >= 300) {
      std::vector<unsigned char> body = response.extract_vector().get();
      out.body.assign(body.begin(), body.end());
      return out;
    }
  } catch (const std::exception& e) {
    out = HttpResponse{};
    out.cancelled = cancellation.cancelled();
    out.error = out.cancelled ? "cancelled" : describeException(e);
    return out;
  }

  // Read what has arrived, chunk by chunk: wait for one byte (bumpc), then take whatever else is
  // already buffered (getn of in_avail() completes at once), so events reach the caller as they come.
  auto buffer = response.body().streambuf();
  std::vector<char> chunk(kStreamBufferBytes);
  try {
    while (true) {
      auto first = buffer.bumpc().get();
      if (first == decltype(buffer)::traits::eof()) {
        break;
      }
      chunk[0] = static_cast<char>(first);
      size_t size = 1;
      size_t available = std::min(buffer.in_avail(), chunk.size() - 1);
      if (available > 0) {
        size += buffer.getn(reinterpret_cast<uint8_t*>(chunk.data() + 1), available).get();
      }
      if (!on_chunk(std::string_view(chunk.data(), size))) {
        out.cancelled = true;
        source.cancel();
        return out;
      }
    }
    // A body that ended with an error (connection reset, timeout) reports it through the stream.
    if (buffer.exception()) {
      std::rethrow_exception(buffer.exception());
    }
  } catch (const std::exception& e) {
    out.cancelled = cancellation.cancelled();
    out.error = out.cancelled ? "cancelled" : describeException(e);
  }
  return out;
}

}  // namespace tokenstorm::kube
