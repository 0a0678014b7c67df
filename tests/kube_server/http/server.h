// The test server's HTTP(S) front: Boost.Beast HTTP/1.1 with keep-alive, one thread per connection doing
// synchronous I/O (request rates are low and watches are long-lived, so this is the simple shape). Requests
// go through authentication (a bearer token from a set tests can rotate at run time, or a client
// certificate signed by the server's CA), fault injection (faults.h), then the Router; watches stream as
// chunked JSON lines, with BOOKMARKs after an idle interval and a clean end at timeoutSeconds (or the
// server's jittered default, as kube-apiserver does). A reaper thread enforces I/O deadlines (idle
// keep-alive, slow headers, a client that stops reading) by shutting sockets down.
//
// Used in-process by tests (start(), port(), faults(), setTokens(), issueClientCertificate()) and by the
// kube-test-server executable (main.cpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/api_store.h"
#include "http/certs.h"
#include "http/faults.h"
#include "tokenstorm/core/clock.h"

namespace tokenstorm::kts {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port
  bool tls = true;
  std::string dataDir;  // when set: ca.crt, ca.key, server.crt, server.key and token are written there
  std::vector<std::string> tokens;  // accepted bearer tokens; empty: a random one is generated
  bool verbose = false;             // one line per request on stderr
  std::chrono::milliseconds bookmarkInterval{5000};  // idle time before a BOOKMARK (when allowed)
  std::chrono::seconds watchTimeout{300};  // without timeoutSeconds: a watch ends after this, plus jitter
                                           // of up to the same again
  std::chrono::seconds idleTimeout{120};   // a keep-alive connection with no request
  std::chrono::seconds ioTimeout{30};      // reading a request once it started, writing a response
  size_t maxHeaderBytes = 64 * 1024;
  size_t maxBodyBytes = 16 * 1024 * 1024;
  // Where the process kubelet keeps its pods (<uid>/logs/<container>/<restartCount>.log): serves the
  // pods/log subresource (`kubectl logs`). Empty: pods/log answers 404.
  std::string podsDir;
};

struct KubeconfigOptions {
  std::string token;                             // empty: the server's first token
  std::optional<ClientCertificate> certificate;  // instead of the token
  std::string ns = "default";
  std::string contextName = "kube-test-server";
};

class Server {
 public:
  Server(ApiStore& store, const core::Clock& clock, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Generates the certificates (TLS), binds and starts serving. False with *error on failure.
  bool start(std::string* error);
  // Closes the listener, every connection and every watch; joins the threads. Idempotent.
  void stop();

  uint16_t port() const;
  std::string url() const;  // "https://127.0.0.1:PORT" (http:// without TLS)

  Faults& faults();
  // Drops every open watch now (clients see the stream end cleanly).
  void dropWatches();

  // Token rotation: replaces the accepted set, or adds one token to it.
  void setTokens(std::vector<std::string> tokens);
  void addToken(std::string token);
  std::vector<std::string> tokens() const;

  // nullptr before start() or without TLS.
  const CertificateAuthority* certificateAuthority() const;
  std::optional<ClientCertificate> issueClientCertificate(const std::string& common_name,
                                                          const std::vector<std::string>& organizations,
                                                          std::string* error) const;

  // A kubeconfig (cluster with certificate-authority-data, a user with a token or a client certificate,
  // one context, current-context) for kubectl and our client.
  std::string kubeconfig(const KubeconfigOptions& options = {}) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tokenstorm::kts
