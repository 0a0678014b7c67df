// How the client authenticates each request: an Authenticator gives the Authorization header and is told
// when the server answered 401, so the next request uses fresh credentials.
//
// - StaticTokenAuth: a fixed bearer token (kubeconfig `token`).
// - TokenSource / TokenFileAuth: a token read from a file, re-read at most every `refresh_ns` (default
//   1 min, as client-go's cached file token source) and at once after a 401. The kubelet rotates
//   projected service account tokens in place, so a long-running pod must not keep the first one. A
//   read failure after a successful read keeps the last token (the file may be mid-rotation).
// - ExecAuth: a credential plugin (client.authentication.k8s.io/v1 or v1beta1, as EKS and GKE use).
//   It runs command + args with the plugin's env added to ours and KUBERNETES_EXEC_INFO set to an
//   ExecCredential with spec.interactive false (and spec.cluster when provideClusterInfo), reads an
//   ExecCredential from stdout, and caches status.token until status.expirationTimestamp (no expiry:
//   until a 401). Client certificates from a plugin (clientCertificateData/clientKeyData) are parsed and
//   returned by credential(), but the transport takes client certificates only when it is created, so
//   Client::fromConfig runs the plugin once up front for them; they are not rotated later.
//
// Time comes from a core::Clock (monotonic for re-read intervals, wall for expirationTimestamp).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "tokenstorm/core/clock.h"
#include "tokenstorm/kube/config.h"
#include "tokenstorm/kube/result.h"

namespace tokenstorm::kube {

class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // The Authorization header's value ("Bearer ..."), "" for none, or why credentials are unavailable.
  virtual Expected<std::string> authorization() = 0;
  // The server answered 401 Unauthorized: drop cached credentials.
  virtual void unauthorized() = 0;
};

class StaticTokenAuth final : public Authenticator {
 public:
  explicit StaticTokenAuth(std::string token) : token_(std::move(token)) {}
  // Authenticator
  Expected<std::string> authorization() override { return "Bearer " + token_; }
  void unauthorized() override {}

 private:
  std::string token_;
};

class TokenSource {
 public:
  static constexpr core::MonoNanos kDefaultRefreshNs = 60'000'000'000;

  TokenSource(std::string path, const core::Clock& clock, core::MonoNanos refresh_ns = kDefaultRefreshNs);
  // The token (trailing whitespace trimmed); re-reads the file when due. Thread-safe.
  Expected<std::string> token();
  void invalidate();  // re-read on the next token()
  uint64_t reads() const;

 private:
  std::string path_;
  const core::Clock& clock_;
  core::MonoNanos refresh_ns_;
  mutable std::mutex mutex_;
  std::optional<std::string> token_;
  core::MonoNanos read_at_ = 0;
  bool stale_ = true;
  uint64_t reads_ = 0;
};

class TokenFileAuth final : public Authenticator {
 public:
  TokenFileAuth(std::string path, const core::Clock& clock,
                core::MonoNanos refresh_ns = TokenSource::kDefaultRefreshNs)
      : source_(std::move(path), clock, refresh_ns) {}
  // Authenticator
  Expected<std::string> authorization() override;
  void unauthorized() override { source_.invalidate(); }

  TokenSource& source() { return source_; }

 private:
  TokenSource source_;
};

// What a credential plugin printed (status of an ExecCredential).
struct ExecCredential {
  std::string token;
  std::optional<std::chrono::system_clock::time_point> expiration;
  std::string clientCertificatePem;
  std::string clientKeyPem;
};

// Parses the plugin's stdout; `api_version` is the one the kubeconfig asked for (it must match).
Expected<ExecCredential> parseExecCredential(const std::string& json, const std::string& api_version);
// RFC 3339 ("2026-01-02T03:04:05Z", fractions and offsets allowed); nullopt when not one.
std::optional<std::chrono::system_clock::time_point> parseRfc3339(const std::string& text);

// Runs a plugin: returns its stdout, or why it failed (exit status and the install hint). The real one
// forks the command; tests pass a fake.
using ExecRunner = std::function<Expected<std::string>(const ExecConfig& exec, const std::string& exec_info)>;
ExecRunner processExecRunner();

class ExecAuth final : public Authenticator {
 public:
  ExecAuth(ExecConfig exec, std::string server, std::string ca_pem, const core::Clock& clock,
           ExecRunner runner = processExecRunner());
  // Authenticator
  Expected<std::string> authorization() override;
  void unauthorized() override;

  // The current credential, running the plugin when none is cached or it expired.
  Expected<ExecCredential> credential();
  uint64_t runs() const;

 private:
  std::string execInfo() const;

  ExecConfig exec_;
  std::string server_;
  std::string ca_pem_;
  const core::Clock& clock_;
  ExecRunner runner_;
  mutable std::mutex mutex_;
  std::optional<ExecCredential> cached_;
  uint64_t runs_ = 0;
};

// The Authenticator a ClusterConfig asks for (exec, then tokenFile, then token), or nullptr for none.
std::shared_ptr<Authenticator> makeAuthenticator(const ClusterConfig& config, const core::Clock& clock);

}  // namespace tokenstorm::kube
